"""IMDB and Reuters: fixture .npz files in the published layout (object arrays of lists,
pickled by numpy), compared with Keras for the same arguments and seed; the restricted
pickle reader refuses anything else."""

from __future__ import annotations

import hashlib
import io
import json
import os
import pickle
import zipfile

import numpy as np
import pytest

import cornu.datasets
from cornu.data.datasets import ChecksumError, DatasetUnavailableError, _npz
from cornu.data.datasets import imdb as imdb_impl
from cornu.data.datasets import reuters as reuters_impl

RNG = np.random.default_rng(0)


def _lists(n: int, vocab: int = 40) -> np.ndarray:
    out = np.empty(n, dtype=object)
    for i in range(n):
        out[i] = RNG.integers(1, vocab, size=int(RNG.integers(1, 12))).tolist()
    return out


def _npz_bytes(**arrays) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def _npy_with_pickle(payload: bytes, shape=(1,)) -> bytes:
    """An object-array .npy member whose pickle is `payload`."""
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        buffer, {"descr": "|O", "fortran_order": False, "shape": shape})
    return buffer.getvalue() + payload


def _npz_members(**members: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(f"{name}.npy", data)
    return buffer.getvalue()


def _npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=True)
    return buffer.getvalue()


IMDB = {"x_train": _lists(12), "y_train": RNG.integers(0, 2, 12),
        "x_test": _lists(9), "y_test": RNG.integers(0, 2, 9)}
REUTERS = {"x": _lists(20), "y": RNG.integers(0, 46, 20)}


@pytest.fixture
def imdb_file(datasets_env, monkeypatch):
    data = _npz_bytes(**IMDB)
    path = datasets_env.put("imdb", "imdb.npz", data)
    monkeypatch.setitem(imdb_impl.SOURCE.files, "imdb.npz",
                        (hashlib.sha256(data).hexdigest(), 1_000_000))
    return path


@pytest.fixture
def reuters_file(datasets_env, monkeypatch):
    data = _npz_bytes(**REUTERS)
    path = datasets_env.put("reuters", "reuters.npz", data)
    monkeypatch.setitem(reuters_impl.SOURCE.files, "reuters.npz",
                        (hashlib.sha256(data).hexdigest(), 1_000_000))
    return path


def _keras_load(module: str, path, **kwargs):
    import importlib

    keras_module = importlib.import_module(f"keras.src.datasets.{module}")
    real = keras_module.get_file
    keras_module.get_file = lambda *args, **kw: str(path)
    try:
        return keras_module.load_data(**kwargs)
    finally:
        keras_module.get_file = real


def _same(ours, theirs):
    (a_train, b_train), (a_test, b_test) = ours
    (c_train, d_train), (c_test, d_test) = theirs
    assert [list(x) for x in a_train] == [list(x) for x in c_train]
    assert [list(x) for x in a_test] == [list(x) for x in c_test]
    assert a_train.dtype == object and a_train.ndim == 1
    np.testing.assert_array_equal(b_train, d_train)
    np.testing.assert_array_equal(b_test, d_test)
    assert np.asarray(b_train).dtype == np.asarray(d_train).dtype


IMDB_ARGS = [
    {},
    {"num_words": 20},
    {"num_words": 20, "skip_top": 6, "seed": 7},
    {"maxlen": 8},
    {"start_char": None, "oov_char": None, "index_from": 0, "num_words": 15},
    {"start_char": None, "index_from": 2, "seed": 1},
]


@pytest.mark.parametrize("kwargs", IMDB_ARGS)
def test_imdb_matches_keras(imdb_file, kwargs):
    ours = cornu.datasets.imdb.load_data(**kwargs)
    _same(ours, _keras_load("imdb", imdb_file, **kwargs))


def test_imdb_shapes_and_arguments(imdb_file):
    (x_train, y_train), (x_test, y_test) = cornu.datasets.imdb.load_data(num_words=10)
    assert x_train.shape == (12,) and x_test.shape == (9,)
    assert y_train.shape == (12,) and y_train.dtype == np.int64
    assert set(np.unique(y_train)) <= {0, 1}
    assert all(x[0] == 1 and max(x) < 10 for x in x_train)
    with pytest.raises(ValueError, match="Increase maxlen"):
        cornu.datasets.imdb.load_data(maxlen=1)
    with pytest.raises(TypeError, match="bogus"):
        cornu.datasets.imdb.load_data(bogus=1)
    with pytest.warns(DeprecationWarning, match="num_words"):
        (x_old, _), _ = cornu.datasets.imdb.load_data(nb_words=10)
    assert [list(x) for x in x_old] == [list(x) for x in x_train]


@pytest.mark.parametrize("kwargs", [{}, {"test_split": 0.5, "seed": 3}, {"num_words": 12},
                                    {"maxlen": 6, "skip_top": 3}, {"test_split": 0.0}])
def test_reuters_matches_keras(reuters_file, kwargs):
    ours = cornu.datasets.reuters.load_data(**kwargs)
    _same(ours, _keras_load("reuters", reuters_file, **kwargs))


def test_reuters_split_labels_and_names(reuters_file):
    (x_train, y_train), (x_test, y_test) = cornu.datasets.reuters.load_data()
    assert len(x_train) == 16 and len(x_test) == 4
    assert y_train.max() < 46 and y_train.min() >= 0
    names = cornu.datasets.reuters.get_label_names()
    import keras

    assert names == keras.datasets.reuters.get_label_names() and len(names) == 46
    with pytest.raises(ValueError, match="test_split=1.5"):
        cornu.datasets.reuters.load_data(test_split=1.5)


def test_explicit_path_is_read_and_checked(imdb_file, tmp_path):
    copy = tmp_path / "elsewhere" / "my_imdb.npz"
    copy.parent.mkdir()
    copy.write_bytes(imdb_file.read_bytes())
    (x_train, _), _ = cornu.datasets.imdb.load_data(path=str(copy))
    assert len(x_train) == 12
    copy.write_bytes(imdb_file.read_bytes() + b"\0")
    with pytest.raises(ChecksumError, match="my_imdb.npz"):
        cornu.datasets.imdb.load_data(path=str(copy))
    with pytest.raises(DatasetUnavailableError, match="does not exist"):
        cornu.datasets.imdb.load_data(path=str(tmp_path / "missing" / "imdb.npz"))


@pytest.mark.parametrize("module, file_name", [(imdb_impl, "imdb_word_index.json"),
                                               (reuters_impl, "reuters_word_index.json")])
def test_word_index_is_plain_json_checked_by_md5(datasets_env, monkeypatch, module,
                                                 file_name):
    data = json.dumps({"the": 1, "and": 2, "film": 19}).encode()
    datasets_env.put(module.SOURCE.name, file_name, data)
    monkeypatch.setitem(module.SOURCE.files, file_name,
                        (hashlib.md5(data).hexdigest(), 10_000))
    assert module.get_word_index() == {"the": 1, "and": 2, "film": 19}
    datasets_env.put(module.SOURCE.name, file_name, data.replace(b"19", b"18"))
    with pytest.raises(ChecksumError, match=f"md5.*{file_name}"):
        module.get_word_index()
    bad = b'["not", "a", "dict"]'
    datasets_env.put(module.SOURCE.name, file_name, bad)
    monkeypatch.setitem(module.SOURCE.files, file_name, (hashlib.md5(bad).hexdigest(), 10_000))
    with pytest.raises(ValueError, match="not a word index"):
        module.get_word_index()


def test_wrong_checksum_names_file_and_folder(imdb_file):
    imdb_file.write_bytes(imdb_file.read_bytes() + b"\0")
    with pytest.raises(ChecksumError) as info:
        cornu.datasets.imdb.load_data()
    message = str(info.value)
    assert f"The file imdb.npz in the folder {imdb_file.parent} ($CORNU_DATA/imdb/)" in message
    assert "sha256" in message


def test_truncated_npz_is_refused(datasets_env, monkeypatch):
    data = _npz_bytes(**IMDB)[:-200]
    path = datasets_env.put("imdb", "imdb.npz", data)
    monkeypatch.setitem(imdb_impl.SOURCE.files, "imdb.npz",
                        (hashlib.sha256(data).hexdigest(), 1_000_000))
    with pytest.raises(ValueError, match=f"{path} is not a valid .npz"):
        cornu.datasets.imdb.load_data()


def test_offline_message_names_folder_and_file(datasets_env, tmp_path):
    with pytest.raises(DatasetUnavailableError) as info:
        cornu.datasets.reuters.load_data()
    message = str(info.value)
    assert f"in {tmp_path / 'data' / 'reuters'} (CORNU_DATA is set)" in message
    assert "reuters.npz" in message and "CORNU_DATA" in message
    assert "\n" not in message and info.value.__cause__ is None


# --- the restricted pickle reader ----------------------------------------------------------

@pytest.mark.parametrize("protocol", [2, 3, 4, 5])
def test_reader_reads_every_protocol_numpy_writes(protocol):
    array = _lists(30, vocab=100_000)
    array[3] = []
    array[4] = [2**40, -5, 70000, 300]
    items = _npz.unpickle_int_lists(pickle.dumps(array, protocol=protocol), where="t")
    assert items == [list(x) for x in array]


def test_reader_reads_python2_layout():
    """Python 2's numpy wrote protocol 2 with numpy.core names and str (not bytes)."""
    array = _lists(5)
    data = pickle.dumps(array, protocol=2).replace(b"numpy._core.multiarray",
                                                   b"numpy.core.multiarray")
    assert _npz.unpickle_int_lists(data, where="t") == [list(x) for x in array]


class _RunsCode:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


class _Sneaky:
    """Names an allowed global but calls something else through it."""

    def __reduce__(self):
        return (np.dtype, ("O8", False, True, "extra"))


def _evil_payloads(marker):
    inside = np.empty(2, dtype=object)
    inside[0] = [1, 2]
    inside[1] = _RunsCode(marker)
    return {
        "top-level os.system": pickle.dumps(_RunsCode(marker), protocol=2),
        "os.system inside the list": pickle.dumps(inside, protocol=4),
        "builtins.eval": b"\x80\x02cbuiltins\neval\nq\x00X\x04\x00\x00\x001+1q\x01\x85q\x02Rq\x03.",
        "allowed name, wrong call": pickle.dumps(_Sneaky(), protocol=3),
        "a dict instead of lists": pickle.dumps({"a": 1}, protocol=4),
        "protocol 0": pickle.dumps([1, 2], protocol=0),
    }


@pytest.mark.parametrize("case", list(_evil_payloads("m")))
def test_hostile_pickles_are_refused_and_nothing_runs(datasets_env, monkeypatch, tmp_path,
                                                      case):
    marker = tmp_path / "ran"
    payload = _evil_payloads(marker)[case]
    data = _npz_members(x=_npy_with_pickle(payload), y=_npy(np.zeros(1, dtype=np.int64)))
    path = datasets_env.put("reuters", "reuters.npz", data)
    monkeypatch.setitem(reuters_impl.SOURCE.files, "reuters.npz",
                        (hashlib.sha256(data).hexdigest(), 1_000_000))
    with pytest.raises(ValueError) as info:
        cornu.datasets.reuters.load_data()
    assert str(path) in str(info.value) and "x.npy" in str(info.value)
    assert not marker.exists()


def test_truncated_pickle_and_trailing_bytes_are_refused():
    data = pickle.dumps(_lists(4), protocol=4)
    with pytest.raises(ValueError, match="truncated|without STOP"):
        _npz.unpickle_int_lists(data[:-7], where="t")
    with pytest.raises(ValueError, match="follow the pickle's STOP"):
        _npz.unpickle_int_lists(data + b"\0", where="t")


def test_numeric_members_refuse_objects_and_bad_lengths():
    with pytest.raises(ValueError, match="dtype '\\|O'"):
        _npz.parse_npy(_npy(_lists(2)), where="m", kind="numeric")
    good = _npy(np.arange(6, dtype=np.float64))
    with pytest.raises(ValueError, match="is truncated"):
        _npz.parse_npy(good[:-8], where="m", kind="numeric")
    huge = io.BytesIO()  # a header that claims far more than the data holds
    np.lib.format.write_array_header_1_0(
        huge, {"descr": "<f8", "fortran_order": False, "shape": (10**12,)})
    with pytest.raises(ValueError, match="is truncated"):
        _npz.parse_npy(huge.getvalue() + bytes(16), where="m", kind="numeric")
    assert _npz.parse_npy(good, where="m", kind="numeric").tolist() == list(range(6))


def test_public_modules_are_keras_names():
    import keras

    for name in ("fashion_mnist", "cifar10", "cifar100", "imdb", "reuters",
                 "boston_housing", "california_housing", "mnist"):
        assert name in cornu.datasets.__all__
        ours = getattr(cornu.datasets, name)
        theirs = getattr(keras.datasets, name)
        assert {n for n in dir(theirs) if not n.startswith("_")} <= set(dir(ours)), name
