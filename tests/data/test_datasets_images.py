"""Fashion-MNIST and CIFAR from fixture files in the published formats (IDX, the binary
CIFAR archives), the real Fashion-MNIST where Debian's package is installed, and
hostile archives (truncated, links, member paths leaving the folder)."""

from __future__ import annotations

import gzip
import hashlib
import io
import pickle
import tarfile
from pathlib import Path

import numpy as np
import pytest

import cornu.datasets
from cornu.data.datasets import ChecksumError, DatasetUnavailableError, _cache
from cornu.data.datasets import cifar10 as cifar10_impl
from cornu.data.datasets import cifar100 as cifar100_impl
from cornu.data.datasets import fashion_mnist as fashion_impl

DEBIAN = Path("/usr/share/datasets")
RNG = np.random.default_rng(1)


def _idx(array: np.ndarray, magic: int) -> bytes:
    header = magic.to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in array.shape)
    return header + array.astype(np.uint8).tobytes()


@pytest.fixture
def fashion_files(datasets_env, monkeypatch):
    arrays = {
        fashion_impl.TRAIN_IMAGES: RNG.integers(0, 256, (5, 28, 28)),
        fashion_impl.TRAIN_LABELS: RNG.integers(0, 10, 5),
        fashion_impl.TEST_IMAGES: RNG.integers(0, 256, (3, 28, 28)),
        fashion_impl.TEST_LABELS: RNG.integers(0, 10, 3),
    }
    for name, array in arrays.items():
        magic = fashion_impl.FILES[name][0]
        data = _idx(array, magic)
        datasets_env.put("fashion-mnist", f"{name}.gz", gzip.compress(data))
        monkeypatch.setitem(fashion_impl.FILES, name,
                            (magic, array.shape, hashlib.sha256(data).hexdigest()))
    return arrays


def test_fashion_mnist_fixture(fashion_files):
    (x_train, y_train), (x_test, y_test) = cornu.datasets.fashion_mnist.load_data()
    assert x_train.shape == (5, 28, 28) and x_train.dtype == np.uint8
    assert y_train.dtype == np.uint8 and y_test.shape == (3,)
    np.testing.assert_array_equal(x_test, fashion_files[fashion_impl.TEST_IMAGES])
    np.testing.assert_array_equal(y_train, fashion_files[fashion_impl.TRAIN_LABELS])
    assert len(cornu.datasets.fashion_mnist.CLASS_NAMES) == 10


def test_fashion_mnist_wrong_checksum_and_truncated(fashion_files, datasets_env, monkeypatch):
    labels = fashion_files[fashion_impl.TRAIN_LABELS].copy()
    labels[0] = (labels[0] + 1) % 10
    bad = datasets_env.put("fashion-mnist", f"{fashion_impl.TRAIN_LABELS}.gz",
                           gzip.compress(_idx(labels, 2049)))
    with pytest.raises(ChecksumError) as info:
        cornu.datasets.fashion_mnist.load_data()
    assert f"The file {bad.name} in the folder {bad.parent} ($CORNU_DATA/fashion-mnist/)" in (
        str(info.value))
    truncated = _idx(fashion_files[fashion_impl.TRAIN_LABELS], 2049)[:-2]
    datasets_env.put("fashion-mnist", f"{fashion_impl.TRAIN_LABELS}.gz",
                     gzip.compress(truncated))
    with pytest.raises(ValueError, match="is truncated.*a Fashion-MNIST labels file"):
        cornu.datasets.fashion_mnist.load_data()


def test_fashion_mnist_offline_message(datasets_env, tmp_path):
    with pytest.raises(DatasetUnavailableError) as info:
        cornu.datasets.fashion_mnist.load_data()
    message = str(info.value)
    assert message.startswith("Fashion-MNIST is not on this machine")
    assert f"in {tmp_path / 'data' / 'fashion-mnist'} (CORNU_DATA is set)" in message
    for name in fashion_impl.FILE_NAMES:
        assert name in message


@pytest.mark.slow
def test_real_fashion_mnist_from_the_debian_package(monkeypatch, tmp_path):
    folder = DEBIAN / "fashion-mnist"
    if not all(_cache.find_file(folder, name) for name in fashion_impl.FILE_NAMES):
        pytest.skip(f"Fashion-MNIST is not in {folder}: install Debian's package "
                    "dataset-fashion-mnist (apt-get install dataset-fashion-mnist)")
    monkeypatch.setenv("CORNU_DATA", str(DEBIAN))
    monkeypatch.setenv("CORNU_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("CORNU_FASHION_MNIST_MIRROR", "http://127.0.0.1:9/")
    (x_train, y_train), (x_test, y_test) = cornu.datasets.fashion_mnist.load_data()
    assert x_train.shape == (60000, 28, 28) and x_test.shape == (10000, 28, 28)
    assert x_train.dtype == y_train.dtype == np.uint8
    assert np.bincount(y_train).tolist() == [6000] * 10
    assert np.bincount(y_test).tolist() == [1000] * 10
    assert y_train[:5].tolist() == [9, 0, 0, 3, 0]  # ankle boot, T-shirt, T-shirt, dress
    assert not (tmp_path / "cache").exists()  # nothing was downloaded


# --- CIFAR ---------------------------------------------------------------------------------

def _tar_gz(members: dict[str, bytes], *, extra=()) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        tops = sorted({name.split("/")[0] for name in members})
        for top in tops:
            info = tarfile.TarInfo(top)
            info.type = tarfile.DIRTYPE
            archive.addfile(info)
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
        for info in extra:
            archive.addfile(info, io.BytesIO(b"x" * info.size) if info.size else None)
    return buffer.getvalue()


def _records(n: int, label_counts: tuple[int, ...]):
    labels = [RNG.integers(0, c, n).astype(np.uint8) for c in label_counts]
    pixels = RNG.integers(0, 256, (n, 3072)).astype(np.uint8)
    data = np.concatenate([*(lab[:, None] for lab in labels), pixels], axis=1).tobytes()
    return data, labels, pixels


def _put_archive(datasets_env, monkeypatch, module, data: bytes) -> Path:
    path = datasets_env.put(module.SOURCE.name, module.ARCHIVE, data)
    monkeypatch.setitem(module.SOURCE.files, module.ARCHIVE,
                        (hashlib.sha256(data).hexdigest(), 10_000_000))
    return path


@pytest.fixture
def cifar10_archive(datasets_env, monkeypatch):
    batches = {name: _records(n, (10,)) for name, n in
               zip((*cifar10_impl.TRAIN, cifar10_impl.TEST), (3, 2, 4, 1, 2, 3), strict=True)}
    members = {f"cifar-10-batches-bin/{name}": data for name, (data, _, _) in batches.items()}
    members["cifar-10-batches-bin/batches.meta.txt"] = b"airplane\nautomobile\n"
    _put_archive(datasets_env, monkeypatch, cifar10_impl, _tar_gz(members))
    return batches


def test_cifar10_binary_archive(cifar10_archive):
    (x_train, y_train), (x_test, y_test) = cornu.datasets.cifar10.load_data()
    assert x_train.shape == (12, 32, 32, 3) and x_train.dtype == np.uint8
    assert y_train.shape == (12, 1) and y_train.dtype == np.uint8
    assert x_test.shape == (3, 32, 32, 3) and y_test.shape == (3, 1) and y_test.dtype == np.uint8
    train = [cifar10_archive[name] for name in cifar10_impl.TRAIN]
    pixels = np.concatenate([p for _, _, p in train])
    # Keras' layout of the same pixels: rows of 3072 (R, G, B planes) -> channels last
    np.testing.assert_array_equal(x_train, pixels.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1))
    np.testing.assert_array_equal(y_train[:, 0], np.concatenate([lab[0] for _, lab, _ in train]))
    assert y_train.max() <= 9


@pytest.mark.parametrize("label_mode", ["fine", "coarse"])
def test_cifar100_matches_keras_on_the_same_images(datasets_env, monkeypatch, tmp_path,
                                                   label_mode):
    import keras.src.datasets.cifar100 as keras_cifar100

    members, python_dir = {}, tmp_path / "keras" / "cifar-100-python"
    python_dir.mkdir(parents=True)
    for name, n in (("train", 5), ("test", 3)):
        data, (coarse, fine), pixels = _records(n, (20, 100))
        members[f"cifar-100-binary/{name}.bin"] = data
        batch = {b"data": pixels, b"fine_labels": fine.tolist(),
                 b"coarse_labels": coarse.tolist()}  # the python version's layout
        (python_dir / name).write_bytes(pickle.dumps(batch, protocol=4))
    _put_archive(datasets_env, monkeypatch, cifar100_impl, _tar_gz(members))
    monkeypatch.setattr(keras_cifar100, "get_file", lambda *a, **k: str(python_dir.parent))
    ours = cornu.datasets.cifar100.load_data(label_mode=label_mode)
    theirs = keras_cifar100.load_data(label_mode=label_mode)
    for a, b in zip((*ours[0], *ours[1]), (*theirs[0], *theirs[1]), strict=True):
        np.testing.assert_array_equal(a, b)
        assert a.dtype == b.dtype and a.shape == b.shape
    top = 100 if label_mode == "fine" else 20
    assert ours[0][1].max() < top


def test_cifar100_label_mode_is_checked():
    with pytest.raises(ValueError, match="label_mode='medium'"):
        cornu.datasets.cifar100.load_data(label_mode="medium")


def _hostile(kind: str) -> tuple[dict, list]:
    data, _, _ = _records(2, (10,))
    members = {f"cifar-10-batches-bin/{name}": data
               for name in (*cifar10_impl.TRAIN, cifar10_impl.TEST)}
    extra = []
    if kind in ("..", "absolute", "outside"):
        name = {"..": "cifar-10-batches-bin/../../escape.bin", "absolute": "/tmp/escape.bin",
                "outside": "other/escape.bin"}[kind]
        info = tarfile.TarInfo(name)
        info.size = 4
        extra.append(info)
    elif kind in ("symlink", "hardlink"):
        info = tarfile.TarInfo("cifar-10-batches-bin/link")
        info.type = tarfile.SYMTYPE if kind == "symlink" else tarfile.LNKTYPE
        info.linkname = "/etc/passwd"
        extra.append(info)
    return members, extra


@pytest.mark.parametrize("kind", ["..", "absolute", "outside", "symlink", "hardlink"])
def test_hostile_archive_members_are_refused(datasets_env, monkeypatch, tmp_path, kind):
    members, extra = _hostile(kind)
    path = _put_archive(datasets_env, monkeypatch, cifar10_impl, _tar_gz(members, extra=extra))
    before = sorted(p for p in tmp_path.rglob("*"))
    with pytest.raises(ValueError) as info:
        cornu.datasets.cifar10.load_data()
    assert str(path) in str(info.value)
    assert sorted(p for p in tmp_path.rglob("*")) == before  # nothing was written
    assert not Path("/tmp/escape.bin").exists()


def test_truncated_archive_and_batch_are_refused(datasets_env, monkeypatch):
    data, _, _ = _records(2, (10,))
    members = {f"cifar-10-batches-bin/{name}": data
               for name in (*cifar10_impl.TRAIN, cifar10_impl.TEST)}
    archive = _tar_gz(members)
    path = _put_archive(datasets_env, monkeypatch, cifar10_impl, archive[: len(archive) // 2])
    with pytest.raises(ValueError, match=f"{path} is not a valid .tar.gz"):
        cornu.datasets.cifar10.load_data()
    members["cifar-10-batches-bin/test_batch.bin"] = data[:-5]
    _put_archive(datasets_env, monkeypatch, cifar10_impl, _tar_gz(members))
    with pytest.raises(ValueError, match="test_batch.bin.*not a whole number"):
        cornu.datasets.cifar10.load_data()
    del members["cifar-10-batches-bin/data_batch_3.bin"]
    _put_archive(datasets_env, monkeypatch, cifar10_impl, _tar_gz(members))
    with pytest.raises(ValueError, match="lacks cifar-10-batches-bin/data_batch_3.bin"):
        cornu.datasets.cifar10.load_data()


def test_cifar_wrong_checksum_names_file_and_folder(datasets_env):
    bad = datasets_env.put("cifar100", "cifar-100-binary.tar.gz", b"not the archive")
    with pytest.raises(ChecksumError) as info:
        cornu.datasets.cifar100.load_data()
    message = str(info.value)
    assert f"The file {bad.name} in the folder {bad.parent} ($CORNU_DATA/cifar100/)" in message
    assert cifar100_impl.SOURCE.files[cifar100_impl.ARCHIVE][0] in message


def test_labels_outside_the_classes_are_refused(datasets_env, monkeypatch):
    data, _, _ = _records(2, (10,))
    bad = bytes([12]) + data[1:]
    members = {f"cifar-10-batches-bin/{name}": data
               for name in (*cifar10_impl.TRAIN, cifar10_impl.TEST)}
    members["cifar-10-batches-bin/data_batch_2.bin"] = bad
    _put_archive(datasets_env, monkeypatch, cifar10_impl, _tar_gz(members))
    with pytest.raises(ValueError, match="label 12, outside 0-9"):
        cornu.datasets.cifar10.load_data()
