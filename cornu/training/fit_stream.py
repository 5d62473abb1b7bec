"""Streams through the compiled programs: fit, evaluate and predict on batches read from a
generator, a PyDataset or any iterable, by chunks of steps.

A background thread reads the source's batches, checks them as fit checks arrays, stacks
them into a chunk of `K` steps (one block of rows per step; a short batch is padded with
its own first row and masked) and puts the chunk on the device while the previous one
trains. Every chunk has the same shape, the last one included (its missing steps are
empty, and the training program skips them), so an epoch compiles nothing after the
first chunk, whatever the source's length. Models with their own steps or stateful
metrics take stepped.py instead.
"""

from __future__ import annotations

import dataclasses
import functools
import queue
import sys
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import jax
import numpy as np

from cornu import devices
from cornu.callbacks.base import CallbackList
from cornu.callbacks.history import History
from cornu.data import sources, staging
from cornu.data.arrays import empty_aligned
from cornu.random import keys as global_rng
from cornu.reports import progbar
from cornu.training.fit import (
    callback_list,
    chunk_limit,
    start_state,
    stop_on_nan,
    with_learning_rate,
)
from cornu.training.state import Position

#: the host memory one chunk may take (each of the three in flight: being filled, waiting
#: on the device, training)
CHUNK_BYTES = 8 << 20
MAX_CHUNK_STEPS = 64


@dataclasses.dataclass
class Batch:
    """One batch as the compiled programs take it: tuples of arrays, one per model input
    and output (no targets for predict), sample weights or None, and its rows."""

    xs: tuple[np.ndarray, ...]
    ys: tuple[np.ndarray, ...]
    sw: np.ndarray | None
    rows: int
    #: the source's batch, where its values are still to be checked (with its chunk's,
    #: `Preparer.check`); None: checked
    raw: Any = None


@dataclasses.dataclass
class Chunk:
    """`steps` batches of `batch_size` rows stacked: x, y, sw of (K * batch_size, ...)
    rows (or (K, batch_size, ...) blocks for evaluate and predict), mask (K, batch_size);
    steps <= K are real, the rest empty. Under a distribution batch_size is the batches'
    rows padded to a multiple of the data devices (the padding masked)."""

    x: tuple[Any, ...]
    y: tuple[Any, ...]
    sw: Any
    mask: Any
    steps: int
    samples: int
    batch_size: int
    #: the source's position after the chunk's last batch (None: it cannot say)
    position: dict[str, Any] | None = None


class Stacker:
    """Batches -> chunks of `k` steps (k fixed by the first batch's bytes and `limit`). A
    batch larger than the first one starts a chunk of its own size (one more compile).
    Each step's rows are padded to a multiple of `multiple` (the devices a distribution
    splits the batch over; 1 on one device), the padding masked. `check(x, y, sw,
    batches)` checks the values of a chunk's batches that were not checked one by one
    (Preparer.check). The chunks' host arrays are reused (`_Buffers`): a fresh 8 MB
    array per chunk cost page faults that doubled the stacking's time."""

    def __init__(self, limit: int | None, multiple: int = 1,
                 check: Callable[..., None] | None = None) -> None:
        self.limit = limit
        self.multiple = multiple
        self.check = check
        self.k: int | None = None
        self.batch_size: int | None = None
        self.buffers = _Buffers()

    def chunks(self, batches: Iterator[Batch]) -> Iterator[Chunk]:
        pending: list[Batch] = []
        for batch in batches:
            if self.k is None:
                self.batch_size = batch.rows
                size = sum(a[:1].nbytes for a in (*batch.xs, *batch.ys)) * batch.rows
                k = max(1, CHUNK_BYTES // max(size, 1))
                self.k = min(k, MAX_CHUNK_STEPS, *(() if self.limit is None else
                                                   (self.limit,)))
            if batch.rows > self.batch_size:
                if pending:
                    yield self._stack(pending)
                    pending = []
                self.batch_size = batch.rows
            pending.append(batch)
            if len(pending) == self.k:
                yield self._stack(pending)
                pending = []
        if pending:
            yield self._stack(pending)

    def _stack(self, batches: list[Batch]) -> Chunk:
        k, b = self.k, -(-self.batch_size // self.multiple) * self.multiple
        mask = np.zeros((k, b), np.float32)
        for i, batch in enumerate(batches):
            mask[i, :batch.rows] = 1.0
        buffers = self.buffers

        def stack(parts: list[np.ndarray]) -> np.ndarray:
            # on a 64-byte boundary: XLA:CPU reads the chunk in place, without a copy
            out = buffers.take((k * b, *parts[0].shape[1:]), parts[0].dtype)
            for i, part in enumerate(parts):
                rows = part.shape[0]
                out[i * b:i * b + rows] = part
                if rows < b:  # a short batch: its own first row, masked
                    out[i * b + rows:(i + 1) * b] = part[:1]
            for i in range(len(parts), k):  # empty steps repeat the first batch
                out[i * b:(i + 1) * b] = out[:b]
            return out

        first = batches[0]
        x = tuple(stack([bt.xs[j] for bt in batches]) for j in range(len(first.xs)))
        y = tuple(stack([bt.ys[j] for bt in batches]) for j in range(len(first.ys)))
        sw = None
        if first.sw is not None:
            sw = stack([bt.sw if bt.sw is not None else np.ones(bt.rows, np.float32)
                        for bt in batches])
        if self.check is not None and any(bt.raw is not None for bt in batches):
            self.check(x, y, sw, batches)
        return Chunk(x, y, sw, mask, len(batches), sum(bt.rows for bt in batches), b)


class _Buffers:
    """Host arrays for chunks, reused once nothing holds them any more. A chunk's array
    is read in place by XLA:CPU (or copied from by a transfer) for as long as jax holds a
    reference to it; the array is reused only when this pool holds the last reference to
    its memory (sys.getrefcount), so a chunk still on the device, waiting in the queue or
    kept for a rewind is never written over. At most PER_SHAPE arrays are kept per shape;
    when all are in use a fresh one is made, as without the pool."""

    PER_SHAPE = 4

    def __init__(self) -> None:
        self._pool: dict[tuple, list[np.ndarray]] = {}

    def take(self, shape: tuple[int, ...], dtype: Any) -> np.ndarray:
        dtype = np.dtype(dtype)
        kept = self._pool.setdefault((shape, dtype.str), [])
        for memory in kept:
            # references: the list, this loop's variable, getrefcount's argument
            if sys.getrefcount(memory) <= 3:
                return _view(memory, shape, dtype)
        out = empty_aligned(shape, dtype)
        if len(kept) < self.PER_SHAPE:
            kept.append(_owner(out))
        return out


def _owner(array: np.ndarray) -> np.ndarray:
    """The array that owns `array`'s memory (numpy's views name it as their base)."""
    while isinstance(array.base, np.ndarray):
        array = array.base
    return array


def _view(memory: np.ndarray, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    """An aligned array of `shape` over `memory` (an empty_aligned array's owner)."""
    nbytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    start = -memory.ctypes.data % 64
    return memory[start:start + nbytes].view(dtype).reshape(shape)


class _Failed:
    def __init__(self, error: BaseException) -> None:
        self.error = error


_DONE = object()


def prefetch(produce: Callable[[], Iterator[Any]], depth: int = 1) -> Iterator[Any]:
    """The items of `produce()`, made by a background thread up to `depth` ahead; an
    exception there is raised here. Leaving the loop early stops the thread."""
    q: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: Any) -> bool:
        while not stop.is_set():
            try:
                q.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def work() -> None:
        try:
            for item in produce():
                if not put(item):
                    return
        except BaseException as error:  # noqa: BLE001 - handed to the consumer
            put(_Failed(error))
            return
        put(_DONE)

    thread = threading.Thread(target=work, name="cornu-prefetch", daemon=True)
    thread.start()
    try:
        while True:
            item = q.get()
            if item is _DONE:
                return
            if isinstance(item, _Failed):
                raise item.error
            yield item
    finally:
        stop.set()
        thread.join()


class Reader:
    """Reads an EpochIterator's batches for the compiled programs: each batch checked
    and converted as fit converts arrays (`prepare`), stacked into chunks, put on the
    device, in a background thread. Where the source allows it (`read_ahead`: grain and
    arrays, whose passes have no side effects), one thread reads the passes of `passes`
    epochs in a row, so that the next epoch's first chunk is read while this epoch's last
    one trains (each chunk's position is read when it is made, so resuming stays exact).
    Keras' warning for a source that runs out is given here, in the caller's thread."""

    def __init__(self, data: sources.EpochIterator, prepare: Callable[[Any], Batch],
                 limit: int | None, blocks: bool = False, passes: int = 1) -> None:
        self.data = data
        self.prepare = prepare
        self.stacker = Stacker(limit, devices.batch_multiple(),
                               getattr(prepare, "check", None))
        self.blocks = blocks  # the rows as (K, batch, ...) blocks (evaluate, predict)
        self.samples = 0
        self.passes = passes if getattr(data.batches, "read_ahead", False) else 1
        self._items: Iterator[Any] | None = None  # the reading thread's chunks
        self._active: Iterator[Chunk] | None = None
        self._between = False  # whether the thread stands at an epoch's start

    def epoch(self) -> Iterator[Chunk]:
        """This epoch's chunks (the reading thread of the last one stops first, unless it
        reads this epoch too)."""
        if self._active is not None:
            self._active.close()
        if self._items is None or not self._between:
            self._stop()
            self.data.deferred = []
            self._items = prefetch(self._produce)
        self._between = False
        self._active = self._epoch(self._items)
        return self._active

    def close(self) -> None:
        """Stop the reading thread, however the consumer's loop ended (a callback's
        exception too, whose traceback would otherwise keep the reader alive), and let go
        of the chunks' host arrays (before the run hands freed memory back)."""
        self._stop()
        self.stacker.buffers = _Buffers()

    def _stop(self) -> None:
        for name in ("_active", "_items"):
            running = getattr(self, name)
            setattr(self, name, None)
            if running is not None:
                running.close()
        self._between = False
        self._warn()
        self.data.deferred = None

    def _produce(self) -> Iterator[Any]:
        for left in range(self.passes - 1, -1, -1):
            batches = (self.prepare(batch) for _, batch in self.data.epoch())
            for chunk in self.stacker.chunks(batches):
                # read now, when the source has given exactly this chunk's batches
                position = self.data.position()
                rows = (chunk.x, chunk.y, chunk.sw)
                if self.blocks:
                    rows = _blocks(rows, *chunk.mask.shape)
                (x, y, sw), mask = devices.put_chunk(rows, chunk.mask, int(self.blocks))
                yield dataclasses.replace(chunk, position=position, x=x, y=y, sw=sw,
                                          mask=mask)
            if not left or self.data.ran_out:
                return
            yield _EPOCH_END  # and on to the next pass

    def _epoch(self, items: Iterator[Any]) -> Iterator[Chunk]:
        self.samples = 0
        ended = False
        try:
            for item in items:
                if item is _EPOCH_END:
                    self._between = True
                    return
                self.samples += item.samples
                yield item
            ended = True
        finally:
            self._warn()
            if ended:  # the thread has stopped: the source warns for itself again
                self._items = self.data.deferred = None

    def _warn(self) -> None:
        deferred = self.data.deferred
        while deferred:
            warnings.warn(deferred.pop(0), stacklevel=4)


_EPOCH_END = object()


def batch_preparer(model: Any, argument: str, method: str, targets: bool = True
                   ) -> Preparer:
    """A source's batch (x, (x, y) or (x, y, sample_weight)) -> Batch, checked and
    converted by the model's rules for arrays; the first batch builds an unbuilt model."""
    return Preparer(model, argument, method, targets)


class Preparer:
    """A source's batches -> Batch, by the model's rules for arrays (errors name the
    batch). The first batch of each structure (its containers, dict keys, dtypes and
    per-sample shapes: its `_signature`) takes the model's full checks; where they gave
    the source's own arrays back unchanged, later batches of that structure skip them
    (their rows are only counted) and their values (finite numbers, labels in range) are
    checked once per chunk, on the stacked arrays (`check`). Should a chunk fail, its
    batches are checked one by one again, so the error names the batch as before (and
    where they all pass, the chunk is as good as theirs)."""

    #: structures remembered (a source whose batches change structure more often than
    #: this is checked batch by batch)
    MAX_SIGNATURES = 8

    def __init__(self, model: Any, argument: str, method: str, targets: bool) -> None:
        self.model, self.argument, self.method, self.targets = model, argument, method, targets
        self._plans: dict[Any, tuple[tuple[int, ...], tuple[int, ...], int | None]] = {}

    def __call__(self, raw: Any) -> Batch:
        leaves: list[np.ndarray] = []
        signature = _signature(raw, leaves)
        plan = self._plans.get(signature) if signature is not None else None
        if plan is not None:
            n = leaves[0].shape[0]
            if n and all(a.shape[0] == n for a in leaves):
                return Batch(tuple(leaves[i] for i in plan[0]),
                             tuple(leaves[i] for i in plan[1]),
                             None if plan[2] is None else leaves[plan[2]], n, raw)
        batch = self.full(raw)
        if signature is not None and len(self._plans) < self.MAX_SIGNATURES:
            made = self._plan(batch, leaves)
            if made is not None:
                self._plans[signature] = made
        return batch

    def full(self, raw: Any) -> Batch:
        """A batch through all of the model's checks and conversions."""
        model, argument = self.model, self.argument
        x, y, sw = sources.unpack(sources.to_numpy(raw))
        if x is None:
            raise ValueError(f"A batch of {argument} holds no inputs (x is None).")
        if not self.targets:
            xs = model._prepare_x(x, f"a batch of {argument}")
            return Batch(tuple(xs), (), None, int(xs[0].shape[0]))
        xs, ys = model._prepare_xy(x, y, (f"a batch of {argument}", "its targets"),
                                   self.method)
        n = int(xs[0].shape[0])
        weights = model._sample_weights(sw, n, "its sample weights")
        return Batch(tuple(xs), tuple(ys), weights, n)

    @staticmethod
    def _plan(batch: Batch, leaves: list[np.ndarray]) -> Any:
        """Where each of the batch's arrays lies among the source's leaves, if the checks
        gave every one back unchanged (None otherwise)."""
        def where(array: np.ndarray) -> int | None:
            return next((i for i, leaf in enumerate(leaves) if leaf is array), None)

        xs, ys = [where(a) for a in batch.xs], [where(a) for a in batch.ys]
        sw = None if batch.sw is None else where(batch.sw)
        if None in xs or None in ys or (batch.sw is not None and sw is None):
            return None
        return tuple(xs), tuple(ys), sw

    def check(self, x: tuple, y: tuple, sw: Any, batches: list[Batch]) -> None:
        """The values of a chunk's unchecked batches, checked on the chunk's stacked rows
        (every row of which is a row of one of its batches); on an error, the batches one
        by one, so that the error names the batch that holds the bad value."""
        model, argument = self.model, self.argument
        try:
            xs = x[0] if len(x) == 1 else list(x)
            if not self.targets:
                model._prepare_x(xs, f"a batch of {argument}")
                return
            model._prepare_xy(xs, y[0] if len(y) == 1 else list(y),
                              (f"a batch of {argument}", "its targets"), self.method)
            model._sample_weights(sw, x[0].shape[0], "its sample weights")
        except Exception:  # noqa: BLE001 - each batch's own check says what is wrong
            for batch in batches:
                if batch.raw is not None:
                    self.full(batch.raw)  # raises for the first bad batch


def _signature(tree: Any, leaves: list[np.ndarray]) -> Any:
    """A batch's structure (containers, dict keys, dtypes, per-sample shapes), its numpy
    arrays appended to `leaves`; None for a batch holding anything else (a tensor, a
    list of numbers, a scalar), which takes the full checks every time."""
    if type(tree) is np.ndarray:
        if not tree.ndim:
            return None
        leaves.append(tree)
        return tree.dtype, tree.shape[1:]
    if type(tree) is tuple or type(tree) is list:
        parts = []
        for part in tree:
            made = _signature(part, leaves)
            if made is None:
                return None
            parts.append(made)
        return type(tree), tuple(parts)
    if type(tree) is dict:
        parts = []
        for key, part in tree.items():
            made = _signature(part, leaves)
            if made is None or not isinstance(key, str):
                return None
            parts.append((key, made))
        return dict, tuple(parts)
    return None


class StreamFit:
    """One fit on a stream: chunks of steps through the engine's training program."""

    def __init__(self, model: Any, train: sources.EpochIterator, *, val: Any, epochs: int,
                 initial_epoch: int, verbose: int, callbacks: Any, validation_freq: int,
                 validation_argument: str = "validation_data") -> None:
        self.model = model
        self.train = train
        self.val = val
        self.epochs, self.initial_epoch = epochs, initial_epoch
        self.validation_freq = validation_freq
        self.history = History()
        self.params = {"verbose": verbose, "epochs": epochs, "steps": train.num_batches,
                       "samples": None, "batch_size": None}
        self.cbs = callback_list(model, callbacks, self.history, self.params, verbose)
        self._orders: dict[tuple[int, int], Any] = {}

    def run(self) -> History:
        model, cbs = self.model, self.cbs
        model.history, model.stop_training, model.nan_stop = self.history, False, None
        reader = Reader(self.train, batch_preparer(model, "x", "fit"),
                        chunk_limit(model, cbs, self.train.num_batches),
                        passes=self.epochs - self.initial_epoch)
        engine = None
        model._callbacks = cbs
        if self.train.num_batches is not None:  # the processes step together
            devices.all_equal(self.train.num_batches, "batches per epoch")
        seed = getattr(self.train.batches, "seed", None)
        shuffle_key = np.asarray(seed if seed is not None else [0, 0], np.uint32)
        if model.built:
            engine = model._require_compiled("fit")
            start_state(model, engine)
        cbs.on_train_begin()
        # BackupAndRestore may have put the model back where an earlier run stopped
        resume = model.take_resume()
        initial_epoch = self.initial_epoch
        if resume is not None and engine is not None and devices.active() is not None:
            start_state(model, engine)  # the restored state, read on one device, placed
        if resume is not None:
            initial_epoch = resume.epoch
            if seed is not None and resume.shuffle_key is not None:
                self.train.batches.seed = [int(v) for v in np.asarray(resume.shuffle_key)]
                shuffle_key = np.asarray(resume.shuffle_key, np.uint32)
            if resume.step and resume.source is None:
                raise ValueError(
                    "The backup was written in the middle of an epoch, but this source "
                    "cannot say where it was (a generator or a plain iterable): delete the "
                    "backup folder to start over, and use BackupAndRestore with "
                    "save_freq='epoch' for such sources, or a PyDataset or grain source.")
            if resume.step:
                self.train.restore(resume.source, resume.step)
        reader.passes = min(reader.passes, max(1, self.epochs - initial_epoch))
        try:
            return self._epochs(reader, engine, initial_epoch, resume, shuffle_key)
        finally:
            reader.close()
            staging.release_freed()

    def _epochs(self, reader: Reader, engine: Any, initial_epoch: int, resume: Any,
                shuffle_key: np.ndarray) -> History:
        model, cbs = self.model, self.cbs
        batch_hooks = reader.stacker.limit == 1 and (
            cbs.wants("on_train_batch_begin") or cbs.wants("on_train_batch_end"))
        chunk_hooks = cbs.wants("on_chunk_end")
        logs: dict[str, float] = {}
        for epoch in range(initial_epoch, self.epochs):
            cbs.on_epoch_begin(epoch)
            began, compiles_before = time.perf_counter(), None
            sums, done, seen = None, 0, False
            if resume is not None and resume.step:
                done, sums = resume.step, devices.put_replicated(
                    np.asarray(resume.sums, np.float32))
            resume = None
            for chunk in reader.epoch():
                seen = True
                if engine is None:  # the first batch has built the model
                    engine = model._require_compiled("fit")
                    start_state(model, engine)
                if compiles_before is None:
                    compiles_before = engine.traces["train"]
                    ts = model.train_state
                    model.train_state = ts._replace(
                        opt_state=with_learning_rate(model, ts.opt_state))
                    if sums is None:
                        sums = devices.put_replicated(engine.zero_sums())
                if batch_hooks:
                    cbs.on_train_batch_begin(done)
                data = (chunk.x, chunk.y, chunk.sw,
                        self._order((chunk.mask.shape[0], chunk.batch_size)), chunk.mask)
                # the chunk's starting point, which the stream program keeps (it does not
                # donate its inputs), to replay its finite steps should the loss stop
                # being finite
                saved = (sums, model.train_state)
                ts, sums = engine.train_chunk(saved[1], sums, *data, np.int32(0),
                                              chunk.mask.shape[0], np.int32(done), True)
                model.train_state = ts
                read = jax.device_get(sums)
                bad = engine.nan_step(read)
                if bad is not None:
                    sums = self._rewind(engine, saved, data, bad - done, done)
                    done = bad
                    break
                done += chunk.steps
                model.fit_position = Position(epoch, done, sums, shuffle_key, chunk.position)
                if batch_hooks or chunk_hooks:
                    logs = engine.logs(read)
                    if batch_hooks:
                        cbs.on_train_batch_end(done - 1, logs)
                    if chunk_hooks:
                        cbs.on_chunk_end(done, logs)
                    if model.stop_training:
                        break
            if not seen and sums is not None and engine is not None:
                pass  # resumed after the epoch's last step: only its end is left
            elif not seen:
                if self.train.ran_out or epoch > initial_epoch:
                    model.stop_training = True  # Keras' warning was given: nothing left
                    break
                raise ValueError(
                    "fit read no batch from x in its first epoch: the source is empty (or a "
                    "generator that was already consumed). Pass a source that yields batches.")
            if self.params["steps"] is None:
                self.params["steps"] = done  # an unknown length, now known (progress)
            self.params["samples"] = reader.samples
            self.params["batch_size"] = reader.stacker.batch_size
            ts = model.train_state
            model.train_state = ts._replace(
                rng=devices.on_mesh(global_rng.next_epoch_key(ts.rng)))
            read = jax.device_get(sums)
            logs = engine.logs(read)
            nan = stop_on_nan(model, engine, read, epoch)
            if self.val is not None and not nan and \
                    (epoch + 1 - self.initial_epoch) % self.validation_freq == 0:
                val_logs = evaluate(model, self.val, callbacks=cbs,
                                    argument="validation_data")
                logs.update({f"val_{k}": v for k, v in val_logs.items()})
            compiled = engine.traces["train"] > compiles_before
            model._epoch_compile_seconds = time.perf_counter() - began if compiled else None
            model.fit_position = Position(epoch + 1, 0, None, shuffle_key)
            if model.optimizer._scheduled:
                model.optimizer._sync_iterations(model.train_state.opt_state)
            cbs.on_epoch_end(epoch, logs)
            if model.stop_training or self.train.ran_out:
                break
        if engine is not None:
            model.optimizer._sync_iterations(model.train_state.opt_state)
        cbs.on_train_end(logs)
        return self.history

    def _order(self, shape: tuple[int, int]) -> Any:
        """The rows of a chunk in order, (K, batch), on the device once per shape (the
        batch: this process's rows, where each process passes its own)."""
        order = self._orders.get(shape)
        if order is None:
            # (where each process passes its own rows, this process's part of the
            # global order: its own rows, wherever they land in the global chunk)
            order = self._orders[shape] = devices.put_batch_sharded(
                devices.global_rows(shape[0] * shape[1]).astype(np.int32).reshape(shape),
                axis=1)
        return order

    def _rewind(self, engine: Any, saved: Any, data: tuple, bad: int, done: int):
        """Replay the chunk from its start with the steps from the bad one on masked (so
        skipped): the state of the last finite step. Returns its sums, still marked."""
        sums0, ts0 = saved
        x, y, sw, order, mask = data
        mask = np.asarray(devices.get_local(mask, 1)).copy()
        mask[bad:] = 0.0
        ts, sums = engine.train_chunk(ts0, sums0, x, y, sw, order,
                                      devices.put_batch_sharded(mask, axis=1),
                                      np.int32(0), mask.shape[0], np.int32(done), True)
        self.model.train_state = ts
        return sums.at[2].set(done + bad + 1.0)


def evaluate(model: Any, data: sources.EpochIterator, *, callbacks: Any = None,
             verbose: int = 0, argument: str = "x") -> dict[str, float]:
    """Evaluate on a stream: each chunk of batches is one call of the evaluation program."""
    cbs = callbacks if isinstance(callbacks, CallbackList) else CallbackList(
        list(callbacks or []), model, {"verbose": verbose, "epochs": 1,
                                       "steps": data.num_batches})
    data.reset()
    if data.num_batches is not None:  # the processes step together
        devices.all_equal(data.num_batches, "batches")
    reader = Reader(data, batch_preparer(model, argument, "evaluate"), None, blocks=True)
    model._place_weights()  # where the active distribution lays them out (or unchanged)
    cbs.on_test_begin()
    began = time.perf_counter()
    engine, total, steps = None, None, 0
    for chunk in reader.epoch():
        if engine is None:
            engine = model._require_compiled("evaluate")
        ts = model.train_state
        sums, state = engine.evaluate_all(ts.params, ts.state, chunk.x, chunk.y,
                                          chunk.mask, chunk.sw)
        model._keep_carried(state)  # a stateful RNN's states, from chunk to chunk
        total = sums if total is None else total + sums
        steps += chunk.steps
    if engine is None:
        raise ValueError(f"evaluate read no batch from {argument}: the source is empty.")
    logs = engine.logs(total)
    if verbose:
        print(progbar.format_epoch_end(steps, time.perf_counter() - began, reader.samples,
                                       logs), flush=True)
    cbs.on_test_end(logs)
    reader.close()
    staging.release_freed()
    return logs


def _real_rows(o: Any, keep: np.ndarray) -> np.ndarray:
    """(K, batch, ...) outputs -> the rows of real samples."""
    return np.asarray(o).reshape(-1, *o.shape[2:])[keep]


def _blocks(rows: tuple, k: int, b: int) -> tuple:
    """A chunk's stacked rows (x, y, sw) as (K, batch, ...) blocks, as the evaluation and
    prediction programs take them (views of the host arrays)."""
    def fold(a):
        return None if a is None else a.reshape(k, b, *a.shape[1:])

    x, y, sw = rows
    return tuple(fold(a) for a in x), tuple(fold(a) for a in y), fold(sw)


def predict(model: Any, data: sources.EpochIterator, *, callbacks: Any = None,
            verbose: int = 0) -> Any:
    """Predict on a stream, a chunk of batches per call; the outputs of real rows only."""
    cbs = callbacks if isinstance(callbacks, CallbackList) else CallbackList(
        list(callbacks or []), model, {"verbose": verbose, "epochs": 1,
                                       "steps": data.num_batches})
    if data.num_batches is not None:  # the processes step together
        devices.all_equal(data.num_batches, "batches")
    reader = Reader(data, batch_preparer(model, "x", "predict", targets=False), None,
                    blocks=True)
    cbs.on_predict_begin()
    began = time.perf_counter()
    model._place_weights()  # where the active distribution lays them out (or unchanged)
    outs: list[Any] = []
    steps = 0
    for chunk in reader.epoch():
        ts = model.train_state
        out, state = model._predictor.predict_all(ts.params, ts.state, chunk.x, chunk.mask)
        model._keep_carried(state)  # a stateful RNN's states, from chunk to chunk
        out = devices.get_local(out, 1)  # this process's rows, where each has its own
        keep = np.asarray(devices.get_local(chunk.mask, 1)).reshape(-1) > 0
        outs.append(jax.tree.map(functools.partial(_real_rows, keep=keep), out))
        steps += chunk.steps
    if not outs:
        raise ValueError("predict read no batch from x: the source is empty.")
    if verbose:
        print(progbar.format_epoch_end(steps, time.perf_counter() - began, reader.samples,
                                       {}), flush=True)
    cbs.on_predict_end()
    reader.close()
    staging.release_freed()
    return jax.tree.map(lambda *parts: np.concatenate(parts), *outs)
