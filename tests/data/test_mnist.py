"""MNIST loading: real files via CORNU_DATA, the cache and the clone's copy, downloads
over loopback, checksums wherever a file is found, strict parsing."""

import functools
import gzip
import http.server
import os
import re
import shutil
import threading
import traceback
from pathlib import Path

import numpy as np
import pytest

import cornu.datasets
import cornu.datasets.mnist
from cornu.data.datasets import ChecksumError, DatasetUnavailableError, _cache
from cornu.data.datasets import mnist as mnist_impl

REPO = Path(__file__).resolve().parents[2]
CLONE_MNIST = REPO / "data" / "mnist"
REAL_PACKAGE_DIR = _cache.PACKAGE_DIR  # before any test hides the clone
NAMES = mnist_impl.FILE_NAMES
GZ_NAMES = sorted(f"{name}.gz" for name in NAMES)
UNREACHABLE = "http://127.0.0.1:9/"
TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]


@pytest.fixture(scope="session")
def real_data() -> Path:
    """The folder holding mnist/ with the four real files: the clone's data/."""
    folder = CLONE_MNIST
    if not all(_cache.find_file(folder, name) for name in NAMES):
        pytest.skip(f"the real MNIST files are not in {folder} (the repository's copy)")
    return folder.parent


@pytest.fixture(autouse=True)
def isolated_env(monkeypatch, tmp_path):
    """No test reads the user's cache, the clone's copy (unless it asks for it with
    `from_clone`) or reaches the internet."""
    monkeypatch.delenv("CORNU_DATA", raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setenv("CORNU_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("CORNU_MNIST_MIRROR", UNREACHABLE)
    # as if pip-installed: no pyproject.toml and data/ beside the package
    monkeypatch.setattr(_cache, "PACKAGE_DIR", tmp_path / "site-packages" / "cornu")


@pytest.fixture
def from_clone(monkeypatch):
    """cornu runs from this clone again (the package's real location)."""
    monkeypatch.setattr(_cache, "PACKAGE_DIR", REAL_PACKAGE_DIR)


@pytest.fixture
def use_real(monkeypatch, real_data):
    monkeypatch.setenv("CORNU_DATA", str(real_data))
    return real_data / "mnist"


class _Server:
    def __init__(self, folder: Path):
        self.requests: list[str] = []
        requests = self.requests

        class Handler(http.server.SimpleHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                requests.append(self.path)
                super().do_GET()

        handler = functools.partial(Handler, directory=str(folder))
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join()


@pytest.fixture
def serve(tmp_path):
    """serve(folder) -> a _Server on 127.0.0.1 serving `folder`; closed after the test."""
    servers = []

    def start(folder: Path) -> _Server:
        servers.append(_Server(folder))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


def _mirror_folder(tmp_path: Path, real: Path) -> Path:
    folder = tmp_path / "mirror"
    folder.mkdir()
    for name in NAMES:
        os.symlink(_cache.find_file(real, name), folder / f"{name}.gz")
    return folder


def _real_bytes(real: Path, name: str) -> bytes:
    return _cache.read_bytes(_cache.find_file(real, name), 60_000_000)


def test_load_data_shapes_dtypes_labels(use_real):
    (x_train, y_train), (x_test, y_test) = cornu.datasets.mnist.load_data()
    assert x_train.shape == (60000, 28, 28) and x_train.dtype == np.uint8
    assert y_train.shape == (60000,) and y_train.dtype == np.uint8
    assert x_test.shape == (10000, 28, 28) and x_test.dtype == np.uint8
    assert y_test.shape == (10000,) and y_test.dtype == np.uint8
    assert y_train[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    assert y_test[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]
    assert np.bincount(y_train, minlength=10).tolist() == TRAIN_COUNTS
    assert x_train.max() == 255 and x_train.min() == 0


def test_each_call_returns_fresh_writable_arrays(use_real, monkeypatch):
    (x1, y1), _ = mnist_impl.load_data()
    x1[:] = 7
    y1[0] = 99
    reads = []
    real_read = _cache.read_bytes
    monkeypatch.setattr(_cache, "read_bytes", lambda *a: reads.append(a) or real_read(*a))
    (x2, y2), _ = mnist_impl.load_data()
    assert reads == []  # parsed once per process
    assert y2[0] == 5 and x2[0].max() == 255
    assert x2.flags.writeable and not np.shares_memory(x1, x2)


def test_public_module_reexports():
    assert cornu.datasets.mnist.load_data is mnist_impl.load_data
    assert "mnist" in cornu.datasets.__all__


def test_uncompressed_files_are_read(use_real, tmp_path, monkeypatch):
    folder = tmp_path / "data" / "mnist"
    folder.mkdir(parents=True)
    for name in NAMES:
        (folder / name).write_bytes(_real_bytes(use_real, name))
    monkeypatch.setenv("CORNU_DATA", str(tmp_path / "data"))
    (_, y_train), (x_test, _) = mnist_impl.load_data()
    assert y_train[:3].tolist() == [5, 0, 4] and x_test.shape == (10000, 28, 28)


def test_cache_dir_is_used_when_cornu_data_lacks_files(real_data, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    cache.mkdir()
    for name in NAMES:
        os.symlink(_cache.find_file(real_data / "mnist", name), cache / f"{name}.gz")
    monkeypatch.setenv("CORNU_DATA", str(tmp_path / "empty"))
    (_, y_train), _ = mnist_impl.load_data()
    assert y_train[:3].tolist() == [5, 0, 4]


def test_cache_dir_resolution(monkeypatch, tmp_path):
    assert _cache.cache_dir("mnist") == tmp_path / "cache"
    monkeypatch.delenv("CORNU_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert _cache.cache_dir("mnist") == tmp_path / "xdg" / "cornu" / "datasets" / "mnist"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    expected = tmp_path / "home" / ".cache" / "cornu" / "datasets" / "mnist"
    assert _cache.cache_dir("mnist") == expected


def test_download_over_loopback(real_data, tmp_path, serve, monkeypatch):
    server = serve(_mirror_folder(tmp_path, real_data / "mnist"))
    monkeypatch.setenv("CORNU_MNIST_MIRROR", server.url.rstrip("/"))  # no trailing slash
    (x_train, y_train), (x_test, y_test) = mnist_impl.load_data()
    cache = tmp_path / "cache"
    assert sorted(os.listdir(cache)) == GZ_NAMES  # no temp files left
    assert y_train[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    assert y_test[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]
    assert x_train.shape == (60000, 28, 28) and x_test.shape == (10000, 28, 28)
    assert len(server.requests) == 4
    mnist_impl.load_data()
    assert len(server.requests) == 4  # found in the cache, not downloaded again


def test_download_falls_back_to_next_mirror(real_data, tmp_path, serve, monkeypatch):
    server = serve(_mirror_folder(tmp_path, real_data / "mnist"))
    monkeypatch.delenv("CORNU_MNIST_MIRROR")
    monkeypatch.setattr(mnist_impl, "MIRRORS", (UNREACHABLE, server.url + "missing/", server.url))
    (_, y_train), _ = mnist_impl.load_data()
    assert y_train[0] == 5
    assert sorted(os.listdir(tmp_path / "cache")) == GZ_NAMES


def test_corrupted_download_is_rejected_and_not_kept(real_data, tmp_path, serve, monkeypatch):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    real = real_data / "mnist"
    labels = bytearray(_real_bytes(real, mnist_impl.TRAIN_LABELS))
    labels[100] = (labels[100] + 1) % 10  # still a valid IDX file, wrong content
    (mirror / f"{mnist_impl.TRAIN_LABELS}.gz").write_bytes(gzip.compress(bytes(labels), 1))
    cache = tmp_path / "cache"
    cache.mkdir()
    shutil.copy(_cache.find_file(real, mnist_impl.TRAIN_IMAGES), cache)
    monkeypatch.setenv("CORNU_MNIST_MIRROR", serve(mirror).url)
    with pytest.raises(ChecksumError, match=f"{mnist_impl.TRAIN_LABELS}.gz.*sha256"):
        mnist_impl.load_data()
    assert os.listdir(cache) == [f"{mnist_impl.TRAIN_IMAGES}.gz"]


def test_non_gzip_download_is_rejected(tmp_path, serve, monkeypatch):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    (mirror / f"{mnist_impl.TRAIN_IMAGES}.gz").write_bytes(b"\x1f\x8bnot really gzip")
    monkeypatch.setenv("CORNU_MNIST_MIRROR", serve(mirror).url)
    with pytest.raises(ChecksumError, match="not a valid gzip"):
        mnist_impl.load_data()
    assert os.listdir(tmp_path / "cache") == []


def test_offline_error_names_folder_and_files(tmp_path):
    with pytest.raises(DatasetUnavailableError) as info:
        mnist_impl.load_data()
    assert isinstance(info.value, OSError)
    message = str(info.value)
    assert str(tmp_path / "cache") in message
    assert "CORNU_DATA" in message and "mnist/" in message
    for name in NAMES:
        assert name in message
    assert "127.0.0.1:9" in message
    assert not any((tmp_path / "cache").iterdir())


def test_offline_error_when_mirror_has_no_files(tmp_path, serve, monkeypatch):
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv("CORNU_MNIST_MIRROR", serve(empty).url)
    with pytest.raises(DatasetUnavailableError, match="HTTP 404"):
        mnist_impl.load_data()


def test_wrong_local_file_fails_checksum(real_data, tmp_path, monkeypatch):
    folder = tmp_path / "data" / "mnist"
    folder.mkdir(parents=True)
    images = bytearray(_real_bytes(real_data / "mnist", mnist_impl.TRAIN_IMAGES))
    images[-1] ^= 1
    path = folder / mnist_impl.TRAIN_IMAGES
    path.write_bytes(bytes(images))
    monkeypatch.setenv("CORNU_DATA", str(tmp_path / "data"))
    with pytest.raises(ChecksumError, match=str(path)):
        mnist_impl.load_data()


def _images_header(n=60000, rows=28, cols=28, magic=2051) -> bytes:
    return b"".join(v.to_bytes(4, "big") for v in (magic, n, rows, cols))


@pytest.mark.parametrize(
    "content, words",
    [
        (b"\x00\x00", "shorter than the 16-byte IDX header"),
        (_images_header(magic=2049) + bytes(60000 * 784), "magic number is 2049, expected 2051"),
        (_images_header(rows=27) + bytes(60000 * 27 * 28), "dimensions are (60000, 27, 28)"),
        (_images_header() + bytes(1000), "is truncated"),
        (_images_header() + bytes(60000 * 784 + 1), "is too long"),
        (b"\x1f\x8b\x08\x00garbage", "not a valid gzip file"),
        (gzip.compress(bytes(60_000_001), 1), "more than 60000000 bytes"),
    ],
)
def test_malformed_files_raise_value_error_naming_file(tmp_path, monkeypatch, content, words):
    folder = tmp_path / "data" / "mnist"
    folder.mkdir(parents=True)
    path = folder / mnist_impl.TRAIN_IMAGES
    path.write_bytes(content)
    monkeypatch.setenv("CORNU_DATA", str(tmp_path / "data"))
    with pytest.raises(ValueError) as info:
        mnist_impl.load_data()
    assert str(path) in str(info.value)
    assert words in str(info.value)


def test_parse_idx_labels():
    data = (2049).to_bytes(4, "big") + (3).to_bytes(4, "big") + bytes([1, 2, 3])
    out = mnist_impl.parse_idx(data, path=Path("x"), magic=2049, shape=(3,))
    assert out.dtype == np.uint8 and out.tolist() == [1, 2, 3]
    with pytest.raises(ValueError, match="expected 2051"):
        mnist_impl.parse_idx(data, path=Path("x"), magic=2051, shape=(3,))


def _record_locations(monkeypatch) -> list[Path]:
    """The paths `load_data` will take each file from, in the order it asks for them."""
    located: list[Path] = []
    real_locate = mnist_impl._locate

    def locate(name):
        found = real_locate(name)
        located.append(found[0])
        return found

    monkeypatch.setattr(mnist_impl, "_locate", locate)
    return located


def _fake_clone(root: Path) -> Path:
    """A folder laid out like a clone (pyproject.toml, cornu/, data/mnist/); its
    data/mnist/ folder."""
    (root / "cornu").mkdir(parents=True)
    (root / "pyproject.toml").write_text("[project]\nname = 'cornu'\n")
    (root / "data" / "mnist").mkdir(parents=True)
    return root / "data" / "mnist"


def test_clone_is_recognised_by_the_package_location(tmp_path):
    assert REAL_PACKAGE_DIR == REPO / "cornu"
    assert _cache.clone_data_dir("mnist", REAL_PACKAGE_DIR) == CLONE_MNIST
    assert _cache.clone_data_dir("mnist") is None  # isolated_env: as if pip-installed
    site = tmp_path / "site-packages"
    (site / "cornu").mkdir(parents=True)
    (site / "data" / "mnist").mkdir(parents=True)
    assert _cache.clone_data_dir("mnist", site / "cornu") is None  # no pyproject.toml
    half = tmp_path / "half"
    (half / "cornu").mkdir(parents=True)
    (half / "pyproject.toml").write_text("")
    assert _cache.clone_data_dir("mnist", half / "cornu") is None  # no data/mnist/
    clone = _fake_clone(tmp_path / "clone")
    assert _cache.clone_data_dir("mnist", tmp_path / "clone" / "cornu") == clone


def test_clone_copy_is_used_offline_whatever_the_working_directory(
    real_data, from_clone, tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)  # the clone is found from the package, not the cwd
    located = _record_locations(monkeypatch)
    (x_train, y_train), (_, y_test) = mnist_impl.load_data()
    assert y_train[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    assert y_test[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]
    assert x_train.shape == (60000, 28, 28)
    assert located == [CLONE_MNIST / f"{name}.gz" for name in NAMES]
    assert not (tmp_path / "cache").exists()  # no download was tried


def test_lookup_order_cornu_data_then_cache_then_clone(real_data, tmp_path, monkeypatch):
    real = real_data / "mnist"
    data = tmp_path / "data" / "mnist"
    cache = tmp_path / "cache"
    clone = _fake_clone(tmp_path / "clone")
    for folder, names in ((data, NAMES[:1]), (cache, NAMES[:2]), (clone, NAMES)):
        folder.mkdir(parents=True, exist_ok=True)
        for name in names:
            os.symlink(_cache.find_file(real, name), folder / f"{name}.gz")
    monkeypatch.setenv("CORNU_DATA", str(tmp_path / "data"))
    monkeypatch.setattr(_cache, "PACKAGE_DIR", clone.parents[1] / "cornu")
    located = _record_locations(monkeypatch)
    (_, y_train), _ = mnist_impl.load_data()
    assert y_train[0] == 5
    assert [path.parent for path in located] == [data, cache, clone, clone]


def _corrupt_labels_gz(real: Path) -> bytes:
    """Train labels with one label changed: still gzip, still well-formed IDX."""
    labels = bytearray(_real_bytes(real, mnist_impl.TRAIN_LABELS))
    labels[100] = (labels[100] + 1) % 10
    return gzip.compress(bytes(labels), 1)


@pytest.mark.parametrize("where", ["$CORNU_DATA/mnist/", "download cache", "clone"])
def test_corrupt_copy_is_refused_naming_the_file_and_the_folder(
    real_data, tmp_path, monkeypatch, where
):
    """A copy of the four files with one file corrupted is refused before use, wherever
    it was found; the message names the file and the folder."""
    real = real_data / "mnist"
    if where == "$CORNU_DATA/mnist/":
        folder = tmp_path / "data" / "mnist"
        folder.mkdir(parents=True)
        monkeypatch.setenv("CORNU_DATA", str(tmp_path / "data"))
    elif where == "download cache":
        folder = tmp_path / "cache"
        folder.mkdir()
    else:
        folder = _fake_clone(tmp_path / "clone")
        monkeypatch.setattr(_cache, "PACKAGE_DIR", folder.parents[1] / "cornu")
    for name in NAMES:
        shutil.copy(_cache.find_file(real, name), folder)
    bad = folder / f"{mnist_impl.TRAIN_LABELS}.gz"
    bad.write_bytes(_corrupt_labels_gz(real))
    with pytest.raises(ChecksumError) as info:
        mnist_impl.load_data()
    message = str(info.value)
    assert message.startswith(f"{bad} has the wrong content")
    assert f"The file {bad.name} in the folder {folder} (" in message
    assert "sha256" in message and mnist_impl._FILES[mnist_impl.TRAIN_LABELS][2] in message
    if where == "clone":
        assert "copy shipped in this clone" in message
        assert "git checkout -- data/mnist" in message
    else:
        assert where in message


def test_offline_error_is_one_paragraph_without_a_chained_traceback(tmp_path):
    with pytest.raises(DatasetUnavailableError) as info:
        mnist_impl.load_data()
    err = info.value
    assert err.__cause__ is None and err.__suppress_context__
    printed = "".join(traceback.format_exception(err))
    assert "direct cause" not in printed and "During handling" not in printed
    assert "\n" not in str(err)


def test_shipped_files_match_the_readme_and_the_loader(real_data):
    readme = (CLONE_MNIST / "README.md").read_text(encoding="utf-8")
    listed = {name: digest for digest, name in
              re.findall(r"^([0-9a-f]{64})  (\S+)$", readme, flags=re.MULTILINE)}
    assert sorted(listed) == sorted([*NAMES, *GZ_NAMES])
    for name in NAMES:
        gz = CLONE_MNIST / f"{name}.gz"
        assert _cache.sha256(gz.read_bytes()) == listed[gz.name]
        assert listed[name] == mnist_impl._FILES[name][2]  # what load_data verifies
    assert "CC BY-SA 3.0" in readme
    for author in ("Yann LeCun", "Corinna Cortes", "Burges"):
        assert author in readme
