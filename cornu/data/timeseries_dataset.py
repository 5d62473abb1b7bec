"""`timeseries_dataset_from_array`: sliding windows over an array, as `keras.utils`'.

Keras' windows and targets (keras/src/utils/timeseries_dataset_utils.py) are kept:
window `i` starts at `start_index + p_i`, with `p_i` in
`range(0, num_seqs, sequence_stride)` where
`num_seqs = end_index - start_index - (sequence_length - 1) * sampling_rate`
(and at most `len(targets)`), takes `sequence_length` rows `sampling_rate` apart, and its
target is `targets[start_index + p_i]`. With `shuffle` the start positions are shuffled
with `numpy.random.RandomState(seed)`, as Keras.

cornu returns a PyDataset that gathers one batch of windows when it is asked for, so a
memory-mapped `data` is read batch by batch, never copied whole. Where Keras' tf.data
pipeline then shuffles again inside a buffer at each epoch, cornu keeps Keras' first
order for the first epoch and draws a new order of the windows from `(seed, epoch)` at
each `on_epoch_end`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from cornu.data.pydataset import SampleBatches

__all__ = ["TimeseriesDataset", "timeseries_dataset_from_array"]


class TimeseriesDataset(SampleBatches):
    """The PyDataset `timeseries_dataset_from_array` returns.

    Items are `(windows, targets)`, or `windows` alone without targets: windows are
    `(batch, sequence_length, *data.shape[1:])` in `data`'s dtype, targets
    `(batch, *targets.shape[1:])`.

    Attributes:
        start_positions: the first row of each window, relative to `start_index`, in
            the order of the first epoch.
    """

    def __init__(self, data: Any, targets: Any, start_positions: np.ndarray, *,
                 sequence_length: int, sampling_rate: int, start_index: int,
                 batch_size: int | None, shuffle: bool, seed: int | None, **kwargs):
        super().__init__(len(start_positions), batch_size, shuffle=shuffle, seed=seed,
                         **kwargs)
        self.data = data
        self.targets = targets
        self.start_positions = start_positions
        self.sequence_length = sequence_length
        self.sampling_rate = sampling_rate
        self.start_index = start_index
        self._offsets = np.arange(sequence_length, dtype=np.int64) * sampling_rate

    def _load(self, positions: np.ndarray):
        starts = self.start_index + self.start_positions[positions].astype(np.int64)
        windows = np.asarray(self.data[(starts[:, None] + self._offsets).reshape(-1)])
        windows = windows.reshape(len(starts), self.sequence_length, *windows.shape[1:])
        if self.targets is None:
            return windows
        return windows, np.asarray(self.targets[starts])


def _int_arg(name: str, value: Any, *, allow_none: bool = False) -> int | None:
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise ValueError(f"{name} must be an integer. Received: {name}={value!r}")
    return int(value)


def _as_indexable(array: Any, name: str):
    if isinstance(array, np.ndarray):
        return array  # np.memmap included: rows are read when a batch is built
    if hasattr(array, "__array__") or isinstance(array, list | tuple):
        return np.asarray(array)
    raise ValueError(f"{name} must be an array. Received: {type(array).__name__}")


def timeseries_dataset_from_array(
    data,
    targets,
    sequence_length,
    sequence_stride=1,
    sampling_rate=1,
    batch_size=128,
    shuffle=False,
    seed=None,
    start_index=None,
    end_index=None,
    **kwargs,
):
    """Batches of sliding windows over a timeseries, as `keras.utils`'.

    Args:
        data: an array (or `np.memmap`) whose first axis is time.
        targets: the target of the window starting at row `t` is `targets[t]`; None
            for windows alone.
        sequence_length: rows per window.
        sequence_stride: distance between the starts of consecutive windows.
        sampling_rate: distance between the rows taken inside a window.
        batch_size: windows per batch (128); None for single windows.
        shuffle: shuffle the windows (with `seed`).
        seed: the seed of the shuffles.
        start_index, end_index: only rows `start_index` to `end_index - 1` are used
            in windows (targets are still read at the window start).
        **kwargs: `workers`, `use_multiprocessing`, `max_queue_size` for the PyDataset.

    Returns:
        A `TimeseriesDataset` (a PyDataset) of `(windows, targets)` batches, or
        `windows` alone when `targets` is None.

    Example (Keras' own): `data = np.arange(100)`, `sequence_length=10`,
    `sampling_rate=2`, `sequence_stride=3`: the windows are `[0, 2, ..., 18]`,
    `[3, 5, ..., 21]`, `[6, 8, ..., 24]`, ... `[81, 83, ..., 99]`.
    """
    data = _as_indexable(data, "data")
    if targets is not None:
        targets = _as_indexable(targets, "targets")
    if data.ndim < 1:
        raise ValueError(f"data must have a time axis. Received: shape {data.shape}")
    length = len(data)
    sequence_length = _int_arg("sequence_length", sequence_length)
    sequence_stride = _int_arg("sequence_stride", sequence_stride)
    sampling_rate = _int_arg("sampling_rate", sampling_rate)
    start_index = _int_arg("start_index", start_index, allow_none=True)
    end_index = _int_arg("end_index", end_index, allow_none=True)
    if sequence_length < 1:
        raise ValueError(
            f"sequence_length must be 1 or greater. Received: "
            f"sequence_length={sequence_length}"
        )
    if start_index:
        if start_index < 0:
            raise ValueError(
                f"start_index must be 0 or greater. Received: start_index={start_index}"
            )
        if start_index >= length:
            raise ValueError(
                "start_index must be lower than the length of the data. Received: "
                f"start_index={start_index}, for data of length {length}"
            )
    if end_index:
        if start_index and end_index <= start_index:
            raise ValueError(
                "end_index must be higher than start_index. Received: "
                f"start_index={start_index}, and end_index={end_index}"
            )
        if end_index >= length:
            raise ValueError(
                "end_index must be lower than the length of the data. Received: "
                f"end_index={end_index}, for data of length {length}"
            )
        if end_index <= 0:
            raise ValueError(f"end_index must be higher than 0. Received: end_index={end_index}")
    if sampling_rate <= 0:
        raise ValueError(
            f"sampling_rate must be higher than 0. Received: sampling_rate={sampling_rate}"
        )
    if sampling_rate >= length:
        raise ValueError(
            "sampling_rate must be lower than the length of the data. Received: "
            f"sampling_rate={sampling_rate}, for data of length {length}"
        )
    if sequence_stride <= 0:
        raise ValueError(
            f"sequence_stride must be higher than 0. Received: "
            f"sequence_stride={sequence_stride}"
        )
    if sequence_stride >= length:
        raise ValueError(
            "sequence_stride must be lower than the length of the data. Received: "
            f"sequence_stride={sequence_stride}, for data of length {length}"
        )
    if start_index is None:
        start_index = 0
    if end_index is None:
        end_index = length
    num_seqs = end_index - start_index - (sequence_length - 1) * sampling_rate
    if targets is not None:
        num_seqs = min(num_seqs, len(targets))
    start_positions = np.arange(0, max(num_seqs, 0), sequence_stride, dtype=np.int64)
    if shuffle:
        if seed is None:
            seed = int(np.random.randint(1e6))
        np.random.RandomState(seed).shuffle(start_positions)
    return TimeseriesDataset(
        data, targets, start_positions, sequence_length=sequence_length,
        sampling_rate=sampling_rate, start_index=start_index, batch_size=batch_size,
        shuffle=shuffle, seed=seed, **kwargs)
