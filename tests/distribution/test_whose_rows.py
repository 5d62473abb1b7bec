"""Whose rows the arrays of a call are, in a job of several processes (devices.whose_rows):
the fingerprint each process sends and the decision from all of them. The exchange
itself runs in test_two_processes.py (two processes with the same arrays, and each with
its own rows, without auto_shard_dataset=False)."""

from __future__ import annotations

import numpy as np
import pytest

from cornu import devices


def _data(seed=0, n=50):
    rng = np.random.default_rng(seed)
    return (rng.random((n, 3), dtype=np.float32), rng.integers(0, 4, n), None)


def test_equal_data_give_equal_fingerprints_and_different_rows_different_ones():
    a = devices.fingerprint(_data())
    assert a.dtype == np.uint32 and a.shape == (5,) and a[0] == 50
    assert (devices.fingerprint(_data()) == a).all()
    assert (devices.fingerprint(_data(seed=1)) != a).any()
    assert (devices.fingerprint(_data(n=49)) != a).any()
    x, y, _ = _data()
    middle = x.copy()
    middle[25, 1] += 1  # the middle row is among those sampled
    assert (devices.fingerprint((middle, y, None)) != a).any()
    assert (devices.fingerprint((x.astype(np.float64), y, None)) != a).any()
    # dicts by key, whatever their order
    assert (devices.fingerprint({"b": y, "a": x}) == devices.fingerprint({"a": x, "b": y})).all()


def test_the_fingerprint_reads_a_bounded_sample_of_rows():
    reads = []

    class Counted(np.ndarray):
        def __getitem__(self, index):
            reads.append(index)
            return np.asarray(self).__getitem__(index)

    big = np.zeros((100_000, 4), np.float32).view(Counted)
    assert devices.fingerprint(big)[0] == 100_000
    assert len(reads) <= devices.FINGERPRINT_ROWS + 1
    assert 0 in reads and 99_999 in reads and 50_000 in reads


def test_data_that_are_not_arrays_have_no_fingerprint():
    assert devices.fingerprint((iter([1, 2]), None)) is None
    assert devices.fingerprint(None) is not None  # nothing: equal everywhere


def test_the_decision_from_all_fingerprints():
    same, other = devices.fingerprint(_data()), devices.fingerprint(_data(seed=1))
    none = np.zeros_like(same)
    assert devices.decide_rows(np.stack([np.r_[same, none]] * 2)) is False
    assert devices.decide_rows(np.stack([np.r_[same, none], np.r_[other, none]])) is True
    # own training rows with the same validation data: own rows (validation follows)
    assert devices.decide_rows(np.stack([np.r_[same, same], np.r_[other, same]])) is True
    with pytest.raises(ValueError, match="different validation_data.*auto_shard_dataset"):
        devices.decide_rows(np.stack([np.r_[same, same], np.r_[same, other]]))


def test_one_process_decides_nothing():
    from cornu import distribution

    with distribution.DataParallel().scope(), devices.whose_rows(_data()):
        assert devices.per_process() is False
