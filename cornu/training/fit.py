"""The fit run: epochs, chunks of compiled steps, callbacks, NaN rewind and resume.

`Model.fit` checks its arguments and prepares the data; a run owns what happens between
the compiled calls of loop.py. The model's training state (parameters, layer state,
optimizer state, key) and the run's position are read and written through the model's
public training-state API (`train_state`, `fit_position`, `resume_at`), which
BackupAndRestore and saving use too.

`ArrayFit` trains on device-resident arrays: each compiled call runs a chunk of steps that
gather their batches through the epoch's permutation. Streams (generators, PyDatasets,
other iterables) run in fit_stream.py; models with their own steps in stepped.py.
"""

from __future__ import annotations

import math
import sys
import time
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from cornu import devices, optimizers
from cornu.callbacks.base import CallbackList
from cornu.callbacks.history import History
from cornu.callbacks.progbar_logger import ProgbarLogger
from cornu.data import staging
from cornu.random import keys as global_rng
from cornu.training.loop import Engine
from cornu.training.state import Position, TrainState


def callback_list(model: Any, callbacks: Any, history: History, params: dict[str, Any],
                  verbose: int) -> CallbackList:
    """The fit's callbacks: the progress bar first, the user's, History last (as Keras)."""
    progress = [ProgbarLogger()] if verbose else []
    return CallbackList([*progress, *(callbacks or []), history], model, params)


def with_learning_rate(model: Any, opt_state: Any) -> Any:
    """The optimizer state with the optimizer's current learning rate (callbacks may have
    changed it); a scheduled state computes its rate from its step count."""
    if model.optimizer._scheduled:
        return opt_state
    return optimizers.set_learning_rate(opt_state, model.optimizer.learning_rate)


def start_state(model: Any, engine: Engine) -> None:
    """The optimizer state and key a fit starts from: fresh ones for a first fit (the step
    count going on from optimizer.iterations), or owned copies of the last fit's (the
    compiled calls donate their inputs)."""
    model._place_weights()  # where the active distribution lays them out (or unchanged)
    ts = model.train_state
    if devices.active() is not None:  # a state made on one device goes onto the mesh
        ts = ts._replace(opt_state=devices.on_mesh(ts.opt_state), rng=devices.on_mesh(ts.rng))
    if ts.opt_state is None or ts.rng is None:
        fresh = ts.opt_state is None
        params, state, opt_state = engine.start_state(ts.params, ts.state, ts.opt_state)
        done = int(np.asarray(model.optimizer.iterations.value)) if fresh else 0
        if done:  # new slots, but the step count (a schedule's) goes on from iterations
            opt_state = optimizers.set_iterations(opt_state, done)
        # the program is shared by optimizers that differ in their learning rate only
        opt_state = with_learning_rate(model, opt_state)
        rng = global_rng.next_key() if ts.rng is None else ts.rng
        model.train_state = TrainState(params, state, *devices.on_mesh((opt_state, rng)))
    else:
        # owned copies through the epoch-snapshot program, which has this very shape: a
        # later fit compiles nothing before its first step
        _, model.train_state = engine.copy_state((engine.zero_sums(), ts))


def stop_on_nan(model: Any, engine: Engine, sums: Any, epoch: int) -> bool:
    """The compiled loop freezes the weights at the first non-finite loss and records its
    step; here that becomes a stop with a message."""
    step = engine.nan_step(sums)
    if step is None:
        return False
    if not model.stop_training:
        print(f"Loss became NaN or infinite at epoch {epoch + 1}, step {step + 1}: "
              "training stopped; the model keeps the weights of the last finite step.",
              file=sys.stderr)
    model.stop_training = True
    model.nan_stop = (epoch, step)
    return True


def chunk_limit(model: Any, cbs: CallbackList, steps: int | None) -> int | None:
    """The most steps one compiled call may run: one when a callback watches batches,
    else what callbacks and steps_per_execution allow (None: no limit)."""
    if cbs.wants("on_train_batch_begin") or cbs.wants("on_train_batch_end"):
        return 1
    limits = [c.max_chunk_steps for c in cbs.callbacks if c.max_chunk_steps]
    if model._steps_per_execution != "auto":
        limits.append(model._steps_per_execution)
    if steps is not None:
        limits.append(steps)
    return min(limits) if limits else None


class ArrayFit:
    """One fit on arrays put on the device once: x, y (tuples, one per input/output) and
    sample weights (or None), n rows, `batch_size` per step; `val_batches` are the
    validation data as padded batches on the device (or None)."""

    def __init__(self, model: Any, engine: Engine, xs: list[np.ndarray], ys: list[np.ndarray],
                 sw: np.ndarray | None, *, batch_size: int, shuffle: bool, val_batches: Any,
                 epochs: int, initial_epoch: int, verbose: int, callbacks: Any) -> None:
        self.model, self.engine = model, engine
        self.n = xs[0].shape[0]
        self.batch_size = batch_size
        self.steps = math.ceil(self.n / batch_size)
        self.shuffle = shuffle
        self.val_batches = val_batches
        self.epochs, self.initial_epoch = epochs, initial_epoch
        self.history = History()
        self.cbs = callback_list(model, callbacks, self.history, {
            "verbose": verbose, "epochs": epochs, "steps": self.steps, "samples": self.n,
            "batch_size": batch_size}, verbose)
        # on the CPU read where they are, not copied (staging.py); dropped when run ends
        self._nbytes = sum(a.nbytes for a in (*xs, *ys, sw) if a is not None)
        #: no distribution, a recurrent model: its batches split over the CPU's devices
        self.auto = engine.auto_splits(batch_size)
        self.split = {"auto": True} if self.auto else {}  # train_chunk's keyword
        if self.auto:
            leaves = engine.auto_put([*xs, *ys, sw])
        elif engine.splits_batch():  # each device takes its rows of a batch from a whole copy
            leaves = devices.put_replicated([*xs, *ys, sw])
        else:
            leaves = staging.device_put([*xs, *ys, sw])
        self.x, self.y, self.sw = (tuple(leaves[:len(xs)]), tuple(leaves[len(xs):-1]),
                                   leaves[-1])

    def run(self) -> History:
        try:
            return self._run()
        finally:  # the device's arrays of the data go with the run, however it ends
            self.x = self.y = self.sw = None
            staging.release_freed(nbytes=self._nbytes)

    def _run(self) -> History:
        model, engine, cbs = self.model, self.engine, self.cbs
        model.history, model.stop_training, model.nan_stop = self.history, False, None
        start_state(model, engine)
        shuffle_key = global_rng.next_key()
        model._callbacks = cbs  # BackupAndRestore keeps the other callbacks' state
        cbs.on_train_begin()
        # BackupAndRestore may have put the model back where an earlier run stopped
        resume = model.take_resume()
        initial_epoch = self.initial_epoch
        if resume is not None and devices.active() is not None:
            start_state(model, engine)  # the restored state, read on one device, placed
        if resume is not None:
            initial_epoch = resume.epoch
            if resume.shuffle_key is not None:
                shuffle_key = jnp.asarray(resume.shuffle_key)
        seed = np.asarray(shuffle_key, np.uint32).ravel().tolist()
        mask = engine.epoch_mask(self.n, self.steps, self.batch_size)
        chunk = chunk_limit(model, cbs, self.steps)
        batch_hooks = chunk == 1 and (cbs.wants("on_train_batch_begin")
                                      or cbs.wants("on_train_batch_end"))
        chunk_hooks = cbs.wants("on_chunk_end")
        logs: dict[str, float] = {}
        for epoch in range(initial_epoch, self.epochs):
            cbs.on_epoch_begin(epoch)
            compiles_before = engine.traces["train"]
            began = time.perf_counter()
            ts = model.train_state
            ts = ts._replace(opt_state=with_learning_rate(model, ts.opt_state))
            order = engine.epoch_order(seed, epoch, self.n, self.steps, self.batch_size,
                                       self.shuffle)
            fit_data = (self.x, self.y, self.sw, order, mask)
            first_step, sums = 0, devices.put_replicated(engine.zero_sums())
            if resume is not None and resume.step:
                first_step, sums = resume.step, devices.put_replicated(
                    np.asarray(resume.sums, np.float32))
            resume = None
            # where this epoch started (a copy: the compiled calls donate their state), to
            # replay up to the last finite step should the loss stop being finite
            snapshot = (first_step, *engine.copy_state((sums, ts)))
            for first in range(first_step, self.steps, chunk):
                size = min(chunk, self.steps - first)
                if batch_hooks:
                    cbs.on_train_batch_begin(first)
                ts, sums = engine.train_chunk(ts, sums, *fit_data, np.int32(first), size,
                                              **self.split)
                model.train_state = ts
                model.fit_position = Position(epoch, first + size, sums, shuffle_key)
                if batch_hooks or chunk_hooks:
                    read = jax.device_get(sums)  # the one host read of this call
                    if engine.nan_step(read) is not None:
                        sums = self._rewind(snapshot, sums, fit_data)
                        stop_on_nan(model, engine, sums, epoch)
                        break
                    logs = engine.logs(read)
                    if batch_hooks:
                        cbs.on_train_batch_end(first, logs)
                    if chunk_hooks:
                        cbs.on_chunk_end(first + size, logs)
                    if model.stop_training:
                        break
            read = jax.device_get(sums)  # the epoch's host read of its sums
            if engine.nan_step(read) is not None and not model.stop_training:
                sums = self._rewind(snapshot, sums, fit_data)
                read = jax.device_get(sums)
            # the next epoch's key (the step keys are folded from this one), made on the host
            ts = model.train_state
            model.train_state = ts._replace(
                rng=devices.on_mesh(global_rng.next_epoch_key(ts.rng)))
            logs = engine.logs(read)
            nan = stop_on_nan(model, engine, read, epoch)
            if self.val_batches is not None and not nan:
                cbs.on_test_begin()
                ts = model.train_state
                val_logs = engine.logs(engine.evaluate_all(ts.params, ts.state,
                                                           *self.val_batches)[0])
                cbs.on_test_end(val_logs)
                logs.update({f"val_{k}": v for k, v in val_logs.items()})
            compiled = engine.traces["train"] > compiles_before
            model._epoch_compile_seconds = time.perf_counter() - began if compiled else None
            model.fit_position = Position(epoch + 1, 0, None, shuffle_key)
            if model.optimizer._scheduled:  # its learning_rate is read at iterations
                model.optimizer._sync_iterations(model.train_state.opt_state)
            cbs.on_epoch_end(epoch, logs)
            if model.stop_training:
                break
        # optimizer.iterations is brought up to date once, at the end (one host read)
        model.optimizer._sync_iterations(model.train_state.opt_state)
        cbs.on_train_end(logs)
        return self.history

    def _rewind(self, snapshot, sums, fit_data):
        """The loss became non-finite at some step of this epoch: replay the epoch from its
        start up to the step before (same data order and keys, so the same numbers) and
        keep that state. Returns the sums of the finite steps, still marked."""
        engine = self.engine
        bad = engine.nan_step(sums)
        first_step, sums0, ts0 = snapshot
        if bad > first_step:
            ts, sums0 = engine.train_chunk(ts0, sums0, *fit_data, np.int32(first_step),
                                           bad - first_step, **self.split)
        else:
            ts = ts0
        self.model.train_state = ts
        return sums0.at[2].set(bad + 1.0)
