"""`PyDataset` (alias `Sequence`): batches produced by Python code, as `keras.utils`'.

A PyDataset is indexed by batch: `dataset[i]` returns the whole batch number `i`, as
`(x,)`, `(x, y)` or `(x, y, sample_weight)` (arrays, or dicts of arrays), and
`len(dataset)` (or the `num_batches` property, which may be None for an endless
dataset) says how many there are. Keras' behaviour (keras/src/trainers/data_adapters/
py_dataset_adapter.py) is kept: `workers`, `use_multiprocessing` and `max_queue_size`
are given to `super().__init__(**kwargs)` and only say how a run iterates; indexing a
PyDataset by hand applies no parallelism.

`iter_batches` is the one iteration that the fit, evaluate and predict runs use: the
batches of one epoch in the order asked, read by a pool of `workers` threads with at most
`max_queue_size` batches read ahead of the consumer. `use_multiprocessing=True` is
accepted and runs with the same threads: cornu does not fork or pickle the dataset.
Threads help where `__getitem__` waits on files or releases the GIL (NumPy, Pillow's
decoders); pure-Python work per batch is not sped up by them.
"""

from __future__ import annotations

import collections
import concurrent.futures
import itertools
import warnings
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np

__all__ = ["PyDataset", "SampleBatches", "Sequence", "iter_batches", "standardize_batch"]


class PyDataset:
    """Base class for a dataset of batches written in Python, as `keras.utils.PyDataset`.

    Subclasses implement `__getitem__(index)` (one whole batch) and `__len__` (the number
    of batches) or the `num_batches` property (None for an endless dataset), and may
    implement `on_epoch_begin` / `on_epoch_end` (for example to reshuffle). Their
    `__init__` passes `**kwargs` on: `super().__init__(**kwargs)`.

    Args:
        workers: how many threads read batches while a model trains (1: batches are
            read one after the other in the training thread).
        use_multiprocessing: accepted for Keras compatibility; cornu reads with threads
            either way (it does not fork the process or pickle the dataset).
        max_queue_size: the most batches read ahead of the one being consumed.

    Example:

    ```python
    class Batches(cornu.utils.PyDataset):
        def __init__(self, x, y, batch_size, **kwargs):
            super().__init__(**kwargs)
            self.x, self.y, self.batch_size = x, y, batch_size

        def __len__(self):
            return math.ceil(len(self.x) / self.batch_size)

        def __getitem__(self, index):
            part = slice(index * self.batch_size, (index + 1) * self.batch_size)
            return self.x[part], self.y[part]
    ```
    """

    def __init__(self, workers: int = 1, use_multiprocessing: bool = False,
                 max_queue_size: int = 10):
        self._workers = workers
        self._use_multiprocessing = use_multiprocessing
        self._max_queue_size = max_queue_size

    def _warn_if_super_not_called(self) -> None:
        missing = False
        for name, default in (("_workers", 1), ("_use_multiprocessing", False),
                              ("_max_queue_size", 10)):
            if not hasattr(self, name):
                setattr(self, name, default)
                missing = True
        if missing:
            warnings.warn(
                f"{type(self).__name__} should call `super().__init__(**kwargs)` in its "
                "constructor. `**kwargs` can include `workers`, `use_multiprocessing` and "
                "`max_queue_size`. Do not pass these arguments to `fit()`: they would be "
                "ignored.",
                stacklevel=3,
            )

    @property
    def workers(self) -> int:
        self._warn_if_super_not_called()
        return self._workers

    @workers.setter
    def workers(self, value: int) -> None:
        self._workers = value

    @property
    def use_multiprocessing(self) -> bool:
        self._warn_if_super_not_called()
        return self._use_multiprocessing

    @use_multiprocessing.setter
    def use_multiprocessing(self, value: bool) -> None:
        self._use_multiprocessing = value

    @property
    def max_queue_size(self) -> int:
        self._warn_if_super_not_called()
        return self._max_queue_size

    @max_queue_size.setter
    def max_queue_size(self, value: int) -> None:
        self._max_queue_size = value

    def __getitem__(self, index: int):
        """The batch at position `index`: `(x,)`, `(x, y)` or `(x, y, sample_weight)`."""
        del index
        raise NotImplementedError

    @property
    def num_batches(self) -> int | None:
        """The number of batches, or None for an endless dataset (`len(self)` if defined)."""
        if hasattr(self, "__len__"):
            return len(self)
        raise NotImplementedError(
            f"{type(self).__name__} needs `__len__` or the `num_batches` property:\n\n"
            "@property\ndef num_batches(self):\n    return ..."
        )

    def __iter__(self) -> Iterator[Any]:
        """The batches in order, read in this thread (as Keras: no workers here)."""
        count = self.num_batches
        indices = itertools.count() if count is None else range(count)
        for index in indices:
            yield self[index]

    def on_epoch_begin(self) -> None:
        """Called at the beginning of every epoch."""

    def on_epoch_end(self) -> None:
        """Called at the end of every epoch."""


Sequence = PyDataset


def standardize_batch(batch: Any, index: int | None = None):
    """One batch as Keras' PyDataset adapter takes it: a tuple of 1 to 3, or a dict.

    An array becomes `(x,)` and a list a tuple; anything else is refused with a
    ValueError that names the batch index when given.
    """
    if isinstance(batch, dict):
        return batch
    if not isinstance(batch, (tuple, list)) and hasattr(batch, "__array__"):
        return (batch,)
    if isinstance(batch, list):
        batch = tuple(batch)
    if not isinstance(batch, tuple) or len(batch) not in (1, 2, 3):
        where = "" if index is None else f" (batch index {index})"
        raise ValueError(
            "PyDataset.__getitem__() must return a tuple or a dict. If a tuple, it must "
            "be (inputs,), (inputs, targets) or (inputs, targets, sample_weights). "
            f"Received{where}: {str(batch)[:100]} of type {type(batch).__name__}"
        )
    return batch


def _name_index(err: BaseException, dataset: Any, index: int) -> None:
    err.add_note(f"(raised by {type(dataset).__name__}.__getitem__ for batch index {index})")


def _read(dataset: Any, index: int):
    try:
        return dataset[index]
    except Exception as err:
        _name_index(err, dataset, index)
        raise


def iter_batches(
    dataset: Any,
    epoch_indices: Iterable[int] | None = None,
    *,
    workers: int | None = None,
    max_queue_size: int | None = None,
    epoch_hooks: bool = False,
) -> Iterator[Any]:
    """The batches `dataset[i]` for `i` in `epoch_indices`, in that order.

    Args:
        dataset: a PyDataset (or any object indexed by batch number).
        epoch_indices: the batch numbers of this epoch, in the order wanted (a shuffled
            permutation, or a tail to resume from). None: `range(dataset.num_batches)`,
            or every index from 0 on when `num_batches` is None.
        workers: threads reading batches; the dataset's `workers` by default. With 1 (or
            fewer) each batch is read in the consumer's thread when it is asked for.
        max_queue_size: the most batches read, or being read, ahead of the consumer (at
            least 1); the dataset's `max_queue_size` by default.
        epoch_hooks: call `dataset.on_epoch_begin()` before the first batch and
            `dataset.on_epoch_end()` after the last one (not when the consumer stops
            early or an error is raised). The fit run calls them itself and leaves this
            False.

    Yields:
        What `dataset[i]` returns, unchanged (see `standardize_batch`).

    An exception raised by `__getitem__` reaches the consumer unchanged, at the position
    of its batch, with a note naming the batch index. When the consumer stops early
    (closes the generator), batches not yet started are cancelled and the threads end.
    """
    if epoch_indices is None:
        count = dataset.num_batches
        epoch_indices = itertools.count() if count is None else range(count)
    if workers is None:
        workers = getattr(dataset, "workers", 1)
    if max_queue_size is None:
        max_queue_size = getattr(dataset, "max_queue_size", 10)
    workers = int(workers)
    ahead = max(1, int(max_queue_size))
    if epoch_hooks:
        dataset.on_epoch_begin()
    if workers <= 1:
        for index in epoch_indices:
            yield _read(dataset, index)
    else:
        yield from _threaded(dataset, iter(epoch_indices), workers, ahead)
    if epoch_hooks:
        dataset.on_epoch_end()


def _threaded(dataset: Any, indices: Iterator[int], workers: int, ahead: int):
    pending: collections.deque = collections.deque()
    pool = concurrent.futures.ThreadPoolExecutor(
        max_workers=min(workers, ahead), thread_name_prefix="cornu-pydataset"
    )

    def submit() -> bool:
        index = next(indices, None)
        if index is None:
            return False
        pending.append((index, pool.submit(dataset.__getitem__, index)))
        return True

    try:
        while len(pending) < ahead and submit():
            pass
        while pending:
            index, future = pending.popleft()
            try:
                batch = future.result()
            except Exception as err:
                _name_index(err, dataset, index)
                raise
            del future
            submit()
            yield batch
    finally:
        for _, future in pending:
            future.cancel()
        pool.shutdown(wait=True, cancel_futures=True)


class SampleBatches(PyDataset):
    """A PyDataset over `num_samples` samples read by position, in batches.

    The base of the datasets `image_dataset_from_directory` and
    `timeseries_dataset_from_array` return. Subclasses implement `_load(positions)`, the
    batch of the samples at those positions (an int array in epoch order).

    `batch_size=None` makes every item one sample (no batch axis), as Keras'
    `batch_size=None`. With `shuffle`, the first epoch reads the samples in the order
    they were given (already shuffled by the caller, as Keras does with `seed`) and
    every `on_epoch_end` draws a new order from `(seed, epoch)`, so a run is the same
    for the same seed; set `epoch` to continue the sequence of orders when resuming.
    """

    def __init__(self, num_samples: int, batch_size: int | None, *, shuffle: bool = False,
                 seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        if batch_size is not None and (isinstance(batch_size, bool)
                                       or not isinstance(batch_size, int | np.integer)
                                       or batch_size < 1):
            raise ValueError(
                f"batch_size must be a positive integer or None. Received: "
                f"batch_size={batch_size!r}"
            )
        self.num_samples = int(num_samples)
        self.batch_size = None if batch_size is None else int(batch_size)
        self.shuffle = bool(shuffle)
        self.seed = seed
        self._epoch = 0
        self._order = np.arange(self.num_samples)

    @property
    def epoch(self) -> int:
        """How many epochs have ended (`on_epoch_end` calls); it chooses the order."""
        return self._epoch

    @epoch.setter
    def epoch(self, value: int) -> None:
        self._epoch = int(value)
        if self._epoch == 0 or not self.shuffle:
            self._order = np.arange(self.num_samples)
        else:
            rng = np.random.default_rng([int(self.seed or 0), self._epoch])
            self._order = rng.permutation(self.num_samples)

    def __len__(self) -> int:
        if self.batch_size is None:
            return self.num_samples
        return -(-self.num_samples // self.batch_size)

    def __getitem__(self, index: int):
        count = len(self)
        if isinstance(index, bool) or not isinstance(index, int | np.integer):
            raise TypeError(f"A batch index must be an integer. Received: {index!r}")
        if index < 0:
            index += count
        if not 0 <= index < count:
            raise IndexError(f"Batch index {index} is out of range: the dataset has "
                             f"{count} batches.")
        if self.batch_size is None:
            return self._load_one(int(self._order[index]))
        start = int(index) * self.batch_size
        return self._load(self._order[start:start + self.batch_size])

    def _load(self, positions: np.ndarray):
        raise NotImplementedError

    def _load_one(self, position: int):
        """One sample without a batch axis: the batch of one, unstacked."""
        batch = self._load(np.array([position]))
        if isinstance(batch, tuple):
            return tuple(part[0] for part in batch)
        return batch[0]

    def on_epoch_end(self) -> None:
        self.epoch = self._epoch + 1
