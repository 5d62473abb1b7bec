"""Boston and California housing from fixture .npz files, compared with Keras; the shared
machinery for files that are not gzipped (lookup order, download over loopback checked
against sha256 and md5, the offline message)."""

from __future__ import annotations

import functools
import hashlib
import http.server
import io
import json
import os
import threading

import numpy as np
import pytest

import cornu.datasets
from cornu.data.datasets import ChecksumError, DatasetUnavailableError, _cache
from cornu.data.datasets import boston_housing as boston_impl
from cornu.data.datasets import california_housing as california_impl
from cornu.data.datasets import imdb as imdb_impl

RNG = np.random.default_rng(2)


def _npz(**arrays) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def _put(datasets_env, monkeypatch, module, data: bytes):
    path = datasets_env.put(module.SOURCE.name, module.DATA, data)
    monkeypatch.setitem(module.SOURCE.files, module.DATA,
                        (hashlib.sha256(data).hexdigest(), 1_000_000))
    return path


@pytest.fixture
def boston(datasets_env, monkeypatch):
    data = _npz(x=RNG.normal(size=(31, 13)), y=RNG.uniform(5, 50, 31))
    return _put(datasets_env, monkeypatch, boston_impl, data)


@pytest.fixture
def california(datasets_env, monkeypatch):
    x = RNG.normal(size=(700, 8)).astype(np.float32)
    data = _npz(x=x, y=RNG.uniform(1e4, 5e5, 700).astype(np.float32))
    return _put(datasets_env, monkeypatch, california_impl, data)


def _keras(module: str, path, **kwargs):
    import importlib

    keras_module = importlib.import_module(f"keras.src.datasets.{module}")
    real = keras_module.get_file
    keras_module.get_file = lambda *args, **kw: str(path)
    try:
        return keras_module.load_data(**kwargs)
    finally:
        keras_module.get_file = real


def _same(ours, theirs):
    for a, b in zip((*ours[0], *ours[1]), (*theirs[0], *theirs[1]), strict=True):
        np.testing.assert_array_equal(a, b)
        assert a.dtype == b.dtype and a.shape == b.shape


@pytest.mark.parametrize("kwargs", [{}, {"test_split": 0.5, "seed": 4}, {"test_split": 0.0}])
def test_boston_matches_keras(boston, kwargs):
    ours = cornu.datasets.boston_housing.load_data(**kwargs)
    _same(ours, _keras("boston_housing", boston, **kwargs))
    if not kwargs:
        assert ours[0][0].shape == (24, 13) and ours[1][0].shape == (7, 13)
        assert ours[0][1].dtype == np.float64


@pytest.mark.parametrize("kwargs", [{}, {"version": "small"},
                                    {"version": "small", "test_split": 0.25, "seed": 0}])
def test_california_matches_keras(california, kwargs):
    ours = cornu.datasets.california_housing.load_data(**kwargs)
    _same(ours, _keras("california_housing", california, **kwargs))
    if kwargs.get("version") == "small" and "seed" not in kwargs:
        assert ours[0][0].shape == (480, 8) and ours[1][0].shape == (120, 8)


def test_arguments_are_checked():
    with pytest.raises(ValueError, match="test_split.*1.0"):
        cornu.datasets.boston_housing.load_data(test_split=1.0)
    with pytest.raises(ValueError, match="version='medium'"):
        cornu.datasets.california_housing.load_data(version="medium")


def test_mismatched_members_and_object_arrays_are_refused(datasets_env, monkeypatch):
    _put(datasets_env, monkeypatch, boston_impl, _npz(x=np.zeros((3, 13)), y=np.zeros(2)))
    with pytest.raises(ValueError, match="3 samples but 2 targets"):
        cornu.datasets.boston_housing.load_data()
    objects = np.empty(1, dtype=object)
    objects[0] = [1]
    path = _put(datasets_env, monkeypatch, boston_impl,
                _npz_pickled(x=objects, y=np.zeros(1)))
    with pytest.raises(ValueError, match=f"{path} \\(member x.npy\\) has dtype '\\|O'"):
        cornu.datasets.boston_housing.load_data()


def _npz_pickled(**arrays) -> bytes:
    buffer = io.BytesIO()
    import zipfile

    with zipfile.ZipFile(buffer, "w") as archive:
        for name, array in arrays.items():
            member = io.BytesIO()
            np.save(member, array, allow_pickle=True)
            archive.writestr(f"{name}.npy", member.getvalue())
    return buffer.getvalue()


def test_lookup_order_and_cache_folder(datasets_env, monkeypatch, tmp_path):
    data = _npz(x=np.ones((5, 13)), y=np.ones(5))
    monkeypatch.setitem(boston_impl.SOURCE.files, boston_impl.DATA,
                        (hashlib.sha256(data).hexdigest(), 1_000_000))
    cache = tmp_path / "cache" / "boston_housing"  # $CORNU_CACHE_DIR/<name>, not mnist's
    assert _cache.cache_dir("boston_housing") == cache
    cache.mkdir(parents=True)
    (cache / boston_impl.DATA).write_bytes(data)
    path, where, _ = boston_impl.SOURCE.locate(boston_impl.DATA)
    assert path == cache / boston_impl.DATA and where == "cornu's download cache"
    datasets_env.put("boston_housing", boston_impl.DATA, data)
    path, where, _ = boston_impl.SOURCE.locate(boston_impl.DATA)
    assert where == "$CORNU_DATA/boston_housing/"


class _Server:
    def __init__(self, folder):
        handler = functools.partial(_Quiet, directory=str(folder))
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,),
                                       daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join()


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def mirror(tmp_path):
    folder = tmp_path / "mirror"
    folder.mkdir()
    server = _Server(folder)
    yield folder, server.url
    server.close()


def test_download_over_loopback_checks_sha256_and_md5(datasets_env, monkeypatch, tmp_path,
                                                      mirror, capsys):
    folder, url = mirror
    data = _npz(x=np.ones((5, 13)), y=np.arange(5.0))
    (folder / boston_impl.DATA).write_bytes(data)
    monkeypatch.setenv("CORNU_BOSTON_HOUSING_MIRROR", url)
    monkeypatch.setitem(boston_impl.SOURCE.files, boston_impl.DATA,
                        (hashlib.sha256(data).hexdigest(), 1_000_000))
    (x_train, _), _ = cornu.datasets.boston_housing.load_data()
    assert x_train.shape == (4, 13)
    cache = tmp_path / "cache" / "boston_housing"
    assert os.listdir(cache) == [boston_impl.DATA]  # no temporary files left
    assert "downloading" in capsys.readouterr().err

    words = json.dumps({"good": 1}).encode()
    (folder / imdb_impl.WORD_INDEX).write_bytes(words)
    monkeypatch.setenv("CORNU_IMDB_MIRROR", url)
    monkeypatch.setitem(imdb_impl.SOURCE.files, imdb_impl.WORD_INDEX,
                        (hashlib.md5(b"something else").hexdigest(), 10_000))
    with pytest.raises(ChecksumError, match="md5 of the content"):
        cornu.datasets.imdb.get_word_index()
    assert not (tmp_path / "cache" / "imdb").exists() or not os.listdir(
        tmp_path / "cache" / "imdb")
    monkeypatch.setitem(imdb_impl.SOURCE.files, imdb_impl.WORD_INDEX,
                        (hashlib.md5(words).hexdigest(), 10_000))
    assert cornu.datasets.imdb.get_word_index() == {"good": 1}


@pytest.mark.parametrize("module, name, file_name", [
    ("boston_housing", "boston_housing", "boston_housing.npz"),
    ("california_housing", "california_housing", "california_housing.npz"),
    ("imdb", "imdb", "imdb.npz"),
    ("cifar10", "cifar10", "cifar-10-binary.tar.gz"),
    ("cifar100", "cifar100", "cifar-100-binary.tar.gz"),
])
def test_offline_message_for_each_data_set(datasets_env, tmp_path, module, name, file_name):
    with pytest.raises(DatasetUnavailableError) as info:
        getattr(cornu.datasets, module).load_data()
    message = str(info.value)
    # CORNU_DATA is set: the message names the one folder to fill
    assert f"in {tmp_path / 'data' / name} (CORNU_DATA is set)" in message
    assert f"the file {file_name} (as published)" in message and "127.0.0.1:9" in message
    assert "\n" not in message and info.value.__cause__ is None


def test_docs_list_every_data_set_with_its_digests():
    from pathlib import Path

    from cornu.data.datasets import cifar10, cifar100, fashion_mnist, reuters

    doc = (Path(__file__).resolve().parents[2] / "docs" / "datasets.md").read_text()
    for module in (imdb_impl, reuters, boston_impl, california_impl, cifar10, cifar100):
        for file_name, (digest, _) in module.SOURCE.files.items():
            assert file_name in doc and digest in doc, file_name
    for _, _, digest in fashion_mnist.FILES.values():
        assert digest in doc
    for name in cornu.datasets.__all__:
        assert f"`{name}`" in doc
