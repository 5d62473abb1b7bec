"""timeseries_dataset_from_array against a NumPy construction of Keras' windows
(keras/src/utils/timeseries_dataset_utils.py; Keras' own needs TensorFlow or grain)."""

import numpy as np
import pytest

import cornu
from cornu.data.pydataset import iter_batches
from cornu.utils import timeseries_dataset_from_array


def keras_windows(data, targets, sequence_length, sequence_stride=1, sampling_rate=1,
                  shuffle=False, seed=None, start_index=None, end_index=None):
    """Keras' rule, written out: every window and target, in Keras' first order."""
    start = start_index or 0
    end = len(data) if end_index is None else end_index
    num_seqs = end - start - (sequence_length - 1) * sampling_rate
    if targets is not None:
        num_seqs = min(num_seqs, len(targets))
    positions = np.arange(0, num_seqs, sequence_stride)
    if shuffle:
        np.random.RandomState(seed).shuffle(positions)
    window_data = np.asarray(data)[start:end]
    xs = np.stack([window_data[p:p + sequence_length * sampling_rate:sampling_rate]
                   for p in positions])
    ys = None if targets is None else np.asarray(targets)[start:][positions]
    return xs, ys


def collect(ds):
    xs, ys = [], []
    for batch in ds:
        if isinstance(batch, tuple):
            xs.append(batch[0])
            ys.append(batch[1])
        else:
            xs.append(batch)
    return np.concatenate(xs), (np.concatenate(ys) if ys else None)


def test_keras_docstring_example():
    data = np.arange(100)
    ds = timeseries_dataset_from_array(data, None, sequence_length=10, sampling_rate=2,
                                       sequence_stride=3, batch_size=8)
    x, _ = collect(ds)
    np.testing.assert_array_equal(x[0], np.arange(0, 20, 2))
    np.testing.assert_array_equal(x[1], np.arange(3, 23, 2))
    np.testing.assert_array_equal(x[-1], np.arange(81, 101, 2))
    assert len(x) == 28 and len(ds) == 4


def test_regression_example_targets_are_ahead():
    data = np.arange(50, dtype=np.float32)
    ds = timeseries_dataset_from_array(data[:-10], data[10:], sequence_length=10,
                                       batch_size=16)
    x, y = collect(ds)
    np.testing.assert_array_equal(y, x[:, 0] + 10)
    assert len(x) == 31


@pytest.mark.parametrize("kwargs", [
    dict(sequence_length=5),
    dict(sequence_length=4, sequence_stride=3, sampling_rate=2),
    dict(sequence_length=3, start_index=7, end_index=40),
    dict(sequence_length=6, sampling_rate=3, shuffle=True, seed=4),
    dict(sequence_length=2, sequence_stride=5, start_index=3, shuffle=True, seed=9),
])
@pytest.mark.parametrize("with_targets", [True, False])
def test_windows_and_targets_match_keras_rule(kwargs, with_targets):
    rng = np.random.default_rng(0)
    data = rng.normal(size=(60, 3)).astype(np.float32)
    targets = rng.integers(0, 5, size=(60,)) if with_targets else None
    ds = timeseries_dataset_from_array(data, targets, batch_size=7, **kwargs)
    x, y = collect(ds)
    want_x, want_y = keras_windows(data, targets, **kwargs)
    np.testing.assert_array_equal(x, want_x)
    assert x.dtype == np.float32
    if with_targets:
        np.testing.assert_array_equal(y, want_y)
    else:
        assert y is None


def test_targets_shorter_than_data_limit_the_windows():
    data = np.arange(30)
    x, y = collect(timeseries_dataset_from_array(data, np.arange(12) * 10,
                                                 sequence_length=4))
    assert len(x) == 12
    np.testing.assert_array_equal(y, x[:, 0] * 10)


def test_unbatched_and_epochs():
    data = np.arange(20)
    ds = timeseries_dataset_from_array(data, data, sequence_length=3, batch_size=None)
    assert len(ds) == 18
    x, y = ds[4]
    np.testing.assert_array_equal(x, [4, 5, 6])
    assert y == 4
    shuffled = timeseries_dataset_from_array(data, None, sequence_length=3, batch_size=5,
                                             shuffle=True, seed=1, workers=3)
    first = np.concatenate(list(iter_batches(shuffled, epoch_hooks=True)))
    second = np.concatenate(list(iter_batches(shuffled, epoch_hooks=True)))
    assert shuffled.epoch == 2
    assert sorted(first[:, 0]) == sorted(second[:, 0]) == list(range(18))
    assert not np.array_equal(first, second)  # a new order each epoch, same windows
    again = timeseries_dataset_from_array(data, None, sequence_length=3, batch_size=5,
                                          shuffle=True, seed=1)
    np.testing.assert_array_equal(collect(again)[0], first)  # same seed, same run
    again.epoch = 1
    np.testing.assert_array_equal(collect(again)[0], second)  # resumable order


def test_memmap_is_read_batch_by_batch(tmp_path):
    path = tmp_path / "series.dat"
    data = np.memmap(path, dtype=np.float32, mode="w+", shape=(1000, 2))
    data[:] = np.arange(2000, dtype=np.float32).reshape(1000, 2)
    data.flush()
    view = np.memmap(path, dtype=np.float32, mode="r", shape=(1000, 2))
    ds = timeseries_dataset_from_array(view, None, sequence_length=10, batch_size=4)
    assert ds.data is view  # kept, not copied
    x = ds[2]
    assert x.shape == (4, 10, 2) and not isinstance(x, np.memmap)
    np.testing.assert_array_equal(x[0, :, 0], np.arange(8, 18) * 2)


def test_no_windows_gives_an_empty_dataset():
    ds = timeseries_dataset_from_array(np.arange(5), None, sequence_length=10)
    assert len(ds) == 0 and list(ds) == []


@pytest.mark.parametrize("kwargs,match", [
    (dict(start_index=-1), "start_index must be 0 or greater"),
    (dict(start_index=50), "start_index must be lower"),
    (dict(start_index=10, end_index=5), "end_index must be higher than start_index"),
    (dict(end_index=50), "end_index must be lower"),
    (dict(sampling_rate=0), "sampling_rate must be higher than 0"),
    (dict(sampling_rate=50), "sampling_rate must be lower"),
    (dict(sequence_stride=0), "sequence_stride must be higher than 0"),
    (dict(sequence_stride=50), "sequence_stride must be lower"),
    (dict(batch_size=0), "batch_size"),
    (dict(sequence_length=0), "sequence_length"),
])
def test_argument_errors(kwargs, match):
    args = dict(sequence_length=3) | kwargs
    with pytest.raises(ValueError, match=match):
        timeseries_dataset_from_array(np.arange(50), None, **args)


def test_exported():
    assert cornu.utils.timeseries_dataset_from_array is timeseries_dataset_from_array
    assert isinstance(timeseries_dataset_from_array(np.arange(9), None, 3),
                      cornu.utils.PyDataset)
