"""The data-source seam: what fit, evaluate and predict read batches from.

Arrays (and lists or dicts of them) that fit in memory take the compiled engine's
device-resident path (training/loop.py). Everything else is a *stream* of batches:

- a `cornu.utils.PyDataset` (or Keras' `Sequence` alias): `__len__` batches, read by
  index, in a shuffled order when fit's `shuffle` is true, `on_epoch_end` after each pass;
- a Python generator or iterator: read once, until it is exhausted (pass
  `steps_per_epoch` to read an endless one epoch by epoch);
- anything else iterable that yields batches of array-likes: a tf.data Dataset, a torch
  DataLoader, a grain DataLoader... each pass is a fresh `iter()`. cornu imports none of
  them: their batches are read with `numpy.asarray`.

A batch is `x`, `(x,)`, `(x, y)` or `(x, y, sample_weight)` (a list is read as a tuple,
as Keras does), where x and y are arrays, lists or dicts of arrays. `EpochIterator`
gives each epoch's batches with Keras 3's rules for `steps_per_epoch` and exhaustion.
"""

from __future__ import annotations

import itertools
import mmap
import os
import warnings
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import numpy as np

__all__ = ["ArrayBatches", "EpochIterator", "is_stream", "stream_of", "unpack"]

RAN_OUT = ("Your input ran out of data; interrupting training. Make sure that your dataset "
           "or generator can generate at least `steps_per_epoch * epochs` batches.")


def is_stream(x: Any) -> bool:
    """Whether `x` is read batch by batch (not an array, a list/tuple or a dict of them)."""
    if x is None or isinstance(x, np.ndarray | list | tuple | Mapping | str | bytes):
        return False
    if hasattr(x, "__array__") or hasattr(x, "__jax_array__") or np.isscalar(x):
        return False
    return _is_indexed(x) or isinstance(x, Iterable) or hasattr(x, "__next__")


def _is_indexed(x: Any) -> bool:
    """A PyDataset / Sequence: batches by index, a known number of them."""
    from cornu.data.pydataset import PyDataset

    return isinstance(x, PyDataset)


def unpack(data: Any) -> tuple[Any, Any, Any]:
    """(x, y, sample_weight) of a batch given as x, (x,), (x, y) or (x, y, sw)."""
    if isinstance(data, list):
        data = tuple(data)
    if not isinstance(data, tuple):
        return data, None, None
    if len(data) in (1, 2, 3):
        return (*data, *(None,) * (3 - len(data)))  # type: ignore[return-value]
    raise ValueError("A batch must be x, (x,), (x, y) or (x, y, sample_weight). Received a "
                     f"tuple of {len(data)} elements.")


def to_numpy(tree: Any) -> Any:
    """Every leaf of a batch as a numpy array (torch and TensorFlow tensors included)."""
    if tree is None:
        return None
    if isinstance(tree, Mapping):
        return {k: to_numpy(v) for k, v in tree.items()}
    if isinstance(tree, list | tuple):
        return type(tree)(to_numpy(v) for v in tree)
    if isinstance(tree, np.ndarray):
        return tree
    numpy = getattr(tree, "numpy", None)  # TensorFlow eager tensors, torch CPU tensors
    if callable(numpy) and not hasattr(tree, "__jax_array__"):
        try:
            return np.asarray(numpy())
        except (TypeError, RuntimeError):  # a torch tensor that requires grad, on a GPU...
            pass
    return np.asarray(tree)


_EMPTY = object()


class ArrayBatches:
    """Arrays read in batches: the stream form of in-memory data, for the runs that read
    batch by batch. A fresh order per pass when shuffled, drawn from the seed and the
    pass number, so a pass can be resumed at any batch."""

    #: a pass has no side effects: the next one may be read while this one trains
    read_ahead = True

    def __init__(self, xs: list[np.ndarray], ys: list[np.ndarray] | None, sw: Any,
                 batch_size: int, shuffle: bool = False, seed: Any = None) -> None:
        self.xs, self.ys, self.sw = xs, ys or [], sw
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.seed = _seed_list(seed)
        self.passes = 0
        n = xs[0].shape[0]
        self.num_batches = -(-n // batch_size)

    def __iter__(self) -> Iterator[tuple]:
        return self.resume({"pass": self.passes}, 0)

    def state(self) -> dict[str, Any]:
        return {"kind": "arrays", "pass": self.passes - 1}

    def peek(self) -> Any:
        """The first batch of the arrays' order (without starting a pass)."""
        return next(self._batches(None, 0), None)

    def resume(self, position: dict[str, Any], seen: int) -> Iterator[tuple]:
        pass_number = int(position["pass"])
        self.passes = pass_number + 1
        n = self.xs[0].shape[0]
        order = (np.random.default_rng([*self.seed, pass_number]).permutation(n)
                 if self.shuffle else None)
        return self._batches(order, seen * self.batch_size)

    def _batches(self, order: np.ndarray | None, first: int,
                 take: Any = None) -> Iterator[tuple]:
        """The batches from row `first` of `order` (None: in order); `take(array, idx)`
        reads a batch's rows of an array (by default `array[idx]`)."""
        n = self.xs[0].shape[0]
        take = take or _rows_at
        for start in range(first, n, self.batch_size):
            idx = slice(start, start + self.batch_size) if order is None \
                else order[start:start + self.batch_size]
            x = [take(a, idx) for a in self.xs]
            x = x[0] if len(x) == 1 else x
            if not self.ys:
                yield x if not isinstance(x, list) else (x,)
                continue
            y = [take(a, idx) for a in self.ys]
            y = y[0] if len(y) == 1 else y
            yield (x, y) if self.sw is None else (x, y, take(self.sw, idx))

    def on_epoch_begin(self) -> None:
        pass

    def on_epoch_end(self) -> None:
        pass


def mapping_of(array: Any) -> mmap.mmap | None:
    """The file mapping an array reads (np.memmap, np.load(mmap_mode=...), their views),
    or None for an array in memory."""
    seen = 0
    while array is not None and seen < 32:
        if isinstance(array, mmap.mmap):
            return array
        mapped = getattr(array, "_mmap", None)
        if isinstance(mapped, mmap.mmap):
            return mapped
        array, seen = getattr(array, "base", None), seen + 1
    return None


def is_mapped(data: Any) -> bool:
    """Whether x (an array, or a list/tuple/dict of them) reads a file mapping: such data
    are read batch by batch, never copied whole."""
    if isinstance(data, Mapping):
        return any(is_mapped(v) for v in data.values())
    if isinstance(data, list | tuple):
        return any(is_mapped(v) for v in data)
    return isinstance(data, np.ndarray) and mapping_of(data) is not None


class MappedBatches(ArrayBatches):
    """Arrays in file mappings read batch by batch: rows are copied out of the mapping
    when the reader stacks each batch, and every RELEASE_BYTES the mappings' pages are
    handed back (they stay in the page cache), so the process's memory stays bounded by
    the batches, not by the file.

    In a shuffled order, rows are read from the file with `os.pread` instead
    (`FileRows`): each row read through the mapping maps the pages around it too (about
    2 MB a row on a kernel with large folios: 1.1 GB resident for a 1 GB file), while a
    read copies the row alone, through the page cache. Files opened copy-on-write
    (mode "c"), arrays that are not C-contiguous (Fortran order, strided views) and
    memory-mapped objects other than np.memmap are read through the mapping."""

    RELEASE_BYTES = 16 << 20

    def __init__(self, xs: list[np.ndarray], ys: list[np.ndarray] | None, sw: Any,
                 batch_size: int, shuffle: bool = False, seed: Any = None) -> None:
        super().__init__(xs, ys, sw, batch_size, shuffle, seed)
        arrays = [a for a in [*xs, *(ys or []), sw] if a is not None]
        self.mappings = {id(m): m for a in arrays for m in [mapping_of(a)] if m is not None}
        self.row_bytes = sum(a[:1].nbytes for a in [*xs, *(ys or [])])
        self.file_rows = {id(a): rows for a in arrays
                          for rows in [FileRows.of(a) if shuffle else None]
                          if rows is not None}
        # rows in a shuffled order: no read-ahead around each one (it would bring in
        # pages of rows this pass reads much later)
        self._advise(mmap.MADV_RANDOM if shuffle else mmap.MADV_SEQUENTIAL)


    def _batches(self, order: np.ndarray | None, first: int) -> Iterator[tuple]:
        # a row read out of order maps the pages around it too (the kernel's fault-around,
        # 64 KiB at least): count what the process holds, not what it asked for; rows
        # read from the file take no pages of the mapping
        mapped_row = sum(a[:1].nbytes for a in [*self.xs, *self.ys]
                         if not (order is not None and id(a) in self.file_rows))
        touched = mapped_row if order is None else max(mapped_row, 64 << 10) * (
            mapped_row > 0)
        read = 0
        files: dict[str, int] = {}  # this pass's open files (a peek reads in order)

        def take(array: np.ndarray, idx: Any) -> np.ndarray:
            rows = self.file_rows.get(id(array)) if order is not None else None
            if rows is None:
                return array[idx]
            fd = files.get(rows.filename)
            if fd is None:
                fd = files[rows.filename] = os.open(rows.filename, os.O_RDONLY)
            return rows.read(fd, idx)

        try:
            for batch in super()._batches(order, first, take):
                # a view of the mapping stays valid after a release (its pages come back
                # from the page cache when the reader stacks it), so it is not copied here
                yield batch
                read += self.batch_size * touched
                if read >= self.RELEASE_BYTES:
                    self.release()
                    read = 0
        finally:  # a pass of known length is left at its last batch, not run to its end
            self.release()
            for fd in files.values():
                os.close(fd)

    def release(self) -> None:
        self._advise(mmap.MADV_DONTNEED)

    def _advise(self, advice: int) -> None:
        for mapping in self.mappings.values():
            try:
                mapping.madvise(advice)
            except (AttributeError, OSError, ValueError):  # no madvise here, or closed
                pass


class FileRows:
    """Where a memory-mapped array's rows lie in its file: `filename`, the byte
    `position` of row 0 and `row_bytes`; `read` copies rows with os.pread."""

    def __init__(self, filename: str, position: int, shape: tuple[int, ...],
                 dtype: np.dtype) -> None:
        self.filename, self.position = filename, position
        self.shape, self.dtype = shape, dtype
        self.row_bytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize

    @classmethod
    def of(cls, array: np.ndarray) -> FileRows | None:
        """The rows of `array` in its file, or None where they are read through the
        mapping (see MappedBatches)."""
        if not isinstance(array, np.ndarray) or array.ndim == 0 or not array.size or \
                not array.flags.c_contiguous or not hasattr(os, "pread"):
            return None
        root = array
        while isinstance(root.base, np.ndarray):
            root = root.base
        if not isinstance(root, np.memmap) or not isinstance(root.base, mmap.mmap) or \
                getattr(root, "mode", "c") == "c" or not getattr(root, "filename", None):
            return None
        position = int(root.offset) + array.ctypes.data - root.ctypes.data
        if position < 0:
            return None
        return cls(str(root.filename), position, array.shape[1:], array.dtype)

    def read(self, fd: int, idx: np.ndarray) -> np.ndarray:
        """Rows `idx` (in that order), read in the file's order."""
        idx = np.asarray(idx)
        count, size = len(idx), self.row_bytes
        order = np.argsort(idx, kind="stable")
        offsets = (idx[order].astype(np.int64) * size + self.position).tolist()
        # os.pread returning bytes costs 1.5 us a row here, os.preadv into a slice of
        # the output 3.8 us: the rows are joined and placed with numpy instead
        pread = os.pread
        parts = [pread(fd, size, offset) for offset in offsets]
        data = b"".join(parts)
        if len(data) != count * size:  # a short read (not seen on regular files)
            data = b"".join(self._whole(fd, part, offset)
                            for part, offset in zip(parts, offsets, strict=True))
        out = np.empty((count, *self.shape), self.dtype)
        out.reshape(count, -1).view(np.uint8)[order] = np.frombuffer(
            data, np.uint8).reshape(count, size)
        return out

    def _whole(self, fd: int, part: bytes, offset: int) -> bytes:
        """A row of which a read returned `part` only: the rest read too."""
        while len(part) < self.row_bytes:
            more = os.pread(fd, self.row_bytes - len(part), offset + len(part))
            if not more:
                raise OSError(
                    f"The file {self.filename!r} ended before row "
                    f"{(offset - self.position) // self.row_bytes} of the array that maps "
                    "it: it was truncated while fit read it. Restore the file, or pass the "
                    "array in memory.")
            part += more
        return part


def _rows_at(array: np.ndarray, idx: Any) -> np.ndarray:
    return array[idx]


def _seed_list(seed: Any) -> list[int]:
    """A seed for numpy's generator as a list of ints (a key, an int, or None: 0)."""
    if seed is None:
        return [0]
    return [int(v) for v in np.asarray(seed, np.uint64).ravel()]


class PyDatasetBatches:
    """A PyDataset read by index: all its batches per pass, in a shuffled order when
    asked (as Keras shuffles a PyDataset's batch order), drawn from the seed and the pass
    number so that a pass can be resumed at any batch."""

    def __init__(self, dataset: Any, shuffle: bool = False, seed: Any = None) -> None:
        self.dataset = dataset
        self.shuffle = shuffle
        self.seed = _seed_list(seed)
        self.passes = 0

    @property
    def num_batches(self) -> int | None:
        n = getattr(self.dataset, "num_batches", None)
        return int(n) if n is not None else None

    def __iter__(self) -> Iterator[Any]:
        return self.resume({"pass": self.passes}, 0)

    def state(self) -> dict[str, Any]:
        return {"kind": "pydataset", "pass": self.passes - 1}

    def resume(self, position: dict[str, Any], seen: int) -> Iterator[Any]:
        from cornu.data.pydataset import iter_batches

        pass_number = int(position["pass"])
        self.passes = pass_number + 1
        n = self.num_batches
        indices: Any = None
        if n is not None:
            indices = (np.random.default_rng([*self.seed, pass_number]).permutation(n)
                       .tolist() if self.shuffle else list(range(n)))[seen:]
        elif seen:
            indices = itertools.count(seen)
        return iter_batches(self.dataset, indices)

    def peek(self) -> Any:
        """The first batch (None: the dataset is empty)."""
        if self.num_batches == 0:
            return None
        return self.dataset[0]

    def on_epoch_begin(self) -> None:
        self.dataset.on_epoch_begin()

    def on_epoch_end(self) -> None:
        self.dataset.on_epoch_end()


def is_grain(x: Any) -> bool:
    """A grain MapDataset, IterDataset or DataLoader (known without importing grain)."""
    return any(c.__module__.split(".")[0] == "grain" and c.__name__ in
               ("MapDataset", "IterDataset", "DataLoader") for c in type(x).__mro__)


class GrainBatches:
    """A grain MapDataset, IterDataset or DataLoader: a fresh pass per `iter()`.

    A MapDataset of known length is read by index (`dataset[i]`, the random access it is
    made for; elements that a filter turned into None are skipped, as grain's own
    iteration skips them, so its length is an upper bound): its position is the next
    index. Iterating it instead would go through grain's default read-ahead threads, which
    cost about 0.3 ms an element on two cores beside the training, while cornu's reading
    thread already reads ahead. IterDatasets, DataLoaders and endless MapDatasets are
    iterated as the user configured them (grain shuffles, shards and reads with its own
    workers); their iterator's state is the position a resumed fit starts from."""

    #: a pass has no side effects: the next one may be read while this one trains
    read_ahead = True
    #: a MapDataset's filters drop elements: a pass may end before its length
    length_is_bound = True

    def __init__(self, source: Any) -> None:
        self.source = source
        self._iterator: Any = None
        self._next = 0  # indexed reading: the next index
        try:
            self.num_batches = int(len(source)) if type(source).__name__ != "DataLoader" \
                and hasattr(source, "__getitem__") else None
        except (TypeError, OverflowError):  # an endless MapDataset
            self.num_batches = None
        self.indexed = self.num_batches is not None and any(
            c.__name__ == "MapDataset" for c in type(source).__mro__)

    def __iter__(self) -> Iterator[Any]:
        if self.indexed:
            return self._from_index(0)
        self._iterator = iter(self.source)
        return self._iterator

    def _from_index(self, start: int) -> Iterator[Any]:
        self._next = start
        self._iterator = True  # a pass has started: state() says where it is
        for index in range(start, self.num_batches or 0):
            element = self.source[index]
            self._next = index + 1
            if element is not None:
                yield element

    def state(self) -> dict[str, Any] | None:
        if self.indexed:
            return None if self._iterator is None else {"kind": "grain", "index": self._next}
        if self._iterator is None or not hasattr(self._iterator, "get_state"):
            return None
        state = self._iterator.get_state()
        if isinstance(state, bytes):  # a DataLoader's: JSON text
            return {"kind": "grain", "text": state.decode("utf-8")}
        return {"kind": "grain", "state": state}

    def resume(self, position: dict[str, Any], seen: int) -> Iterator[Any]:
        if self.indexed and "index" in position:
            index = position.get("index")
            if isinstance(index, bool) or not isinstance(index, int) or not \
                    0 <= index <= (self.num_batches or 0):
                raise ValueError("The backup's grain position does not fit this MapDataset "
                                 f"of {self.num_batches} elements (received "
                                 f"{str(position)[:80]!r}): resume with the data of the "
                                 "interrupted run.")
            return self._from_index(index)
        iterator = iter(self.source)  # (a MapDataset too, from an earlier cornu's backup)
        state = position.get("state")
        if "text" in position:
            state = str(position["text"]).encode("utf-8")
        iterator.set_state(state)
        self._iterator = iterator
        return iterator

    def peek(self) -> Any:
        if self.indexed:  # the first element a filter keeps; the pass's position stays
            return next((e for e in map(self.source.__getitem__, range(self.num_batches))
                         if e is not None), None)
        return next(iter(self.source), None)

    def on_epoch_begin(self) -> None:
        pass

    def on_epoch_end(self) -> None:
        pass


class IterableBatches:
    """A generator or iterator (one pass in all), or an iterable (a fresh pass each
    time it is iterated)."""

    def __init__(self, source: Any) -> None:
        self.source = source
        self._pushed: list[Any] = []
        self.one_pass = iter(source) is source if isinstance(source, Iterable) else True
        try:
            self.num_batches = None if self.one_pass else int(len(source))
        except TypeError:
            self.num_batches = None

    def __iter__(self) -> Iterator[Any]:
        if self._pushed:  # the batch peek() read comes first
            first, self._pushed = self._pushed, []
            return itertools.chain(first, self.source)
        return iter(self.source)

    def peek(self) -> Any:
        """The first batch, which the next pass still yields (None: the source is empty)."""
        if self._pushed:
            return self._pushed[0]
        if not self.one_pass:
            return next(iter(self.source), None)
        batch = next(self.source, _EMPTY)
        if batch is _EMPTY:
            return None
        self._pushed = [batch]
        return batch

    def on_epoch_begin(self) -> None:
        pass

    def on_epoch_end(self) -> None:
        pass


def stream_of(x: Any, argument: str, shuffle: bool = False, seed: Any = None) -> Any:
    """The batch stream of a source that `is_stream` accepts."""
    if _is_indexed(x):
        return PyDatasetBatches(x, shuffle=shuffle, seed=seed)
    if is_grain(x):
        return GrainBatches(x)
    if isinstance(x, Iterable) or hasattr(x, "__next__"):
        if not isinstance(x, Iterable):  # has __next__ only
            x = _NextOnly(x)
        return IterableBatches(x)
    raise TypeError(f"{argument} must be arrays, a PyDataset, a generator or an iterable of "
                    f"batches. Received: {argument} of type {type(x).__name__}")


class _NextOnly:
    def __init__(self, obj: Any) -> None:
        self.obj = obj

    def __iter__(self) -> Any:
        return self

    def __next__(self) -> Any:
        return next(self.obj)


class EpochIterator:
    """The batches of each epoch, by Keras 3's rules.

    With `steps_per_epoch`, an epoch is that many batches and the next epoch goes on from
    where this one stopped (a pass of a known length starts again once it is done); a
    source that runs out first ends training with Keras' warning. Without it, an epoch is
    one pass of the source. `ran_out` tells the run to stop."""

    def __init__(self, batches: Any, steps_per_epoch: int | None = None) -> None:
        self.batches = batches
        self.steps_per_epoch = steps_per_epoch
        self._current: Iterator[Any] | None = None
        self._seen = 0
        self.ran_out = False
        self._resumed, self._first_step = False, 0
        #: warnings kept for the caller to give (a reader in another thread sets this)
        self.deferred: list[str] | None = None

    @property
    def num_batches(self) -> int | None:
        return self.steps_per_epoch or self.batches.num_batches

    @property
    def resumable(self) -> bool:
        """Whether position() can say where a pass is (a PyDataset, grain, arrays)."""
        return hasattr(self.batches, "resume")

    def position(self) -> dict[str, Any] | None:
        """Where the source is, after the batches read so far (JSON-compatible), or None
        for a source that cannot resume (a generator)."""
        if not self.resumable or self._current is None:
            return None
        state = self.batches.state()
        return None if state is None else {**state, "seen": self._seen}

    def restore(self, position: dict[str, Any], step: int) -> None:
        """The next epoch goes on from `position` (from position(), read from a backup),
        where that epoch had run `step` steps."""
        self._seen = int(position["seen"])
        self._current = self.batches.resume(position, self._seen)
        self._resumed, self._first_step = True, int(step)

    def epoch(self) -> Iterator[tuple[int, Any]]:
        self.batches.on_epoch_begin()
        known = self.batches.num_batches
        steps = self.steps_per_epoch or known
        resumed, self._resumed = self._resumed, False
        if resumed and not steps:  # an unknown length: the rest of the resumed pass
            for step, batch in enumerate(self._current):
                self._seen += 1
                yield step, batch
            self._current = None
            self.batches.on_epoch_end()
            return
        if steps:
            if not resumed and (self._current is None or self.steps_per_epoch is None):
                self._current, self._seen = iter(self.batches), 0
            first, self._first_step = self._first_step, 0
            for step in range(first, steps):
                if known and self._seen >= known:
                    if self.steps_per_epoch:
                        self._ran_out()
                    break
                try:
                    batch = next(self._current)
                except StopIteration:
                    if self.steps_per_epoch or not getattr(self.batches, "length_is_bound",
                                                           False):
                        self._ran_out()
                    else:  # a pass shorter than its length (a grain filter): it ends here
                        self._current, self._seen = None, 0
                    break
                self._seen += 1
                yield step, batch
            if known and self._seen >= known:
                self._current, self._seen = None, 0
        else:
            self._current, self._seen = iter(self.batches), 0
            for step, batch in enumerate(self._current):
                self._seen += 1
                yield step, batch
        self.batches.on_epoch_end()

    def reset(self) -> None:
        """The next epoch starts a new pass of the source (evaluate does this each time, as
        Keras: validation with validation_steps reads the first batches of a fresh pass;
        a generator, which has no fresh pass, goes on where it was)."""
        self._current, self._seen, self.ran_out = None, 0, False

    def _ran_out(self) -> None:
        if self.deferred is not None:
            self.deferred.append(RAN_OUT)
        else:
            warnings.warn(RAN_OUT, stacklevel=4)
        self.ran_out = True
        self._current = None
