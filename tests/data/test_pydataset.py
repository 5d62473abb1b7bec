"""PyDataset (Keras 3's API) and iter_batches: order, workers, read-ahead bound, errors."""

import threading
import time
import warnings

import numpy as np
import pytest

import cornu
from cornu.data.pydataset import PyDataset, iter_batches, standardize_batch


class Squares(PyDataset):
    """Batch i is (i * ones, i**2 * ones); records which indices were started."""

    def __init__(self, n=12, delay=0.0, fail_at=None, **kwargs):
        super().__init__(**kwargs)
        self.n, self.delay, self.fail_at = n, delay, fail_at
        self.started = []
        self.lock = threading.Lock()
        self.begins = self.ends = 0

    def __len__(self):
        return self.n

    def __getitem__(self, index):
        with self.lock:
            self.started.append(index)
        if self.delay:
            # uneven delays, so that threads finish out of order
            time.sleep(self.delay * ((index * 7) % 5) / 4)
        if index == self.fail_at:
            raise RuntimeError("bad batch")
        return np.full((2,), index), np.full((2,), index ** 2)

    def on_epoch_begin(self):
        self.begins += 1

    def on_epoch_end(self):
        self.ends += 1


def test_names_and_defaults():
    assert cornu.utils.PyDataset is PyDataset
    assert cornu.utils.Sequence is PyDataset
    ds = Squares()
    assert (ds.workers, ds.use_multiprocessing, ds.max_queue_size) == (1, False, 10)
    ds = Squares(workers=3, use_multiprocessing=True, max_queue_size=2)
    assert (ds.workers, ds.use_multiprocessing, ds.max_queue_size) == (3, True, 2)
    assert ds.num_batches == 12
    assert [int(x[0]) for x, _ in ds] == list(range(12))


def test_warns_when_super_init_is_not_called():
    class NoSuper(PyDataset):
        def __init__(self):
            pass

        def __len__(self):
            return 1

    with pytest.warns(UserWarning, match=r"super\(\).__init__"):
        assert NoSuper().workers == 1


def test_num_batches_property_without_len():
    class Endless(PyDataset):
        @property
        def num_batches(self):
            return None

        def __getitem__(self, index):
            return (np.array([index]),)

    ds = Endless()
    got = []
    for batch in iter_batches(ds, workers=3, max_queue_size=2):
        got.append(int(batch[0][0]))
        if len(got) == 7:
            break
    assert got == list(range(7))

    class Nothing(PyDataset):
        pass

    with pytest.raises(NotImplementedError, match="num_batches"):
        _ = Nothing().num_batches


@pytest.mark.parametrize("workers", [1, 4])
def test_order_and_epoch_hooks(workers):
    ds = Squares(delay=0.004, workers=workers)
    got = list(iter_batches(ds, epoch_hooks=True))
    assert [int(x[0]) for x, _ in got] == list(range(12))
    assert [int(y[0]) for _, y in got] == [i * i for i in range(12)]
    assert (ds.begins, ds.ends) == (1, 1)
    # a given order (a shuffle, or the tail of an epoch when resuming) is kept
    order = [5, 2, 11, 0, 7]
    got = [int(x[0]) for x, _ in iter_batches(ds, order)]
    assert got == order
    assert (ds.begins, ds.ends) == (1, 1)  # no hooks unless asked


def test_on_epoch_end_not_called_when_stopped_early():
    ds = Squares(workers=2)
    batches = iter_batches(ds, epoch_hooks=True)
    next(batches)
    batches.close()
    assert (ds.begins, ds.ends) == (1, 0)


@pytest.mark.parametrize("workers", [1, 4])
def test_error_names_the_index(workers):
    ds = Squares(fail_at=5, workers=workers)
    seen = []
    with pytest.raises(RuntimeError, match="bad batch") as info:
        for x, _ in iter_batches(ds, epoch_hooks=True):
            seen.append(int(x[0]))
    assert seen == [0, 1, 2, 3, 4]
    notes = "".join(getattr(info.value, "__notes__", []))
    assert "Squares.__getitem__" in notes and "batch index 5" in notes
    assert ds.ends == 0


@pytest.mark.parametrize("max_queue_size", [1, 3])
def test_read_ahead_is_bounded_by_max_queue_size(max_queue_size):
    ds = Squares(n=10, workers=4, max_queue_size=max_queue_size)
    for k, (x, _) in enumerate(iter_batches(ds)):
        assert int(x[0]) == k
        time.sleep(0.02)  # a slow consumer: the workers have time to run ahead
        with ds.lock:
            started = len(ds.started)
        # batches 0..k are consumed; at most max_queue_size more have been started
        assert started <= k + 1 + max_queue_size
        assert started == min(10, k + 1 + max_queue_size)  # and they do read ahead
    assert sorted(ds.started) == list(range(10))


def test_threads_end_when_consumer_stops():
    before = {t.name for t in threading.enumerate()}
    ds = Squares(n=50, delay=0.002, workers=4, max_queue_size=4)
    batches = iter_batches(ds)
    for _ in range(3):
        next(batches)
    batches.close()
    left = [t for t in threading.enumerate()
            if t.name.startswith("cornu-pydataset") and t.name not in before]
    assert left == []
    assert len(ds.started) <= 3 + 4


def test_use_multiprocessing_runs_with_threads():
    ds = Squares(workers=2, use_multiprocessing=True)
    got = [int(x[0]) for x, _ in iter_batches(ds)]
    assert got == list(range(12))


def test_standardize_batch():
    x = np.zeros((2, 3))
    assert standardize_batch(x)[0] is x
    assert standardize_batch([x, x]) == (x, x)
    d = {"a": x}
    assert standardize_batch(d) is d
    with pytest.raises(ValueError, match="batch index 4"):
        standardize_batch((x, x, x, x), index=4)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert standardize_batch((x,)) == (x,)
