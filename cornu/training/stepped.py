"""The runs that go one compiled step per batch: Keras' step protocol (training/steps.py)
over a stream of batches (data/sources.py).

They serve models that override a step or hold stateful metrics, whatever their data, and
every model fed from a generator, a PyDataset or another iterable source. Each batch is
converted on the host (numpy, the model's input dtypes, floats as float32), put on the
device and given to the jitted step; a batch of a new shape (the last, partial one)
compiles its step once. In-memory arrays of models that keep Keras' default steps take
the scanned engine of loop.py instead.
"""

from __future__ import annotations

import time
from typing import Any

import jax
import numpy as np

from cornu import devices
from cornu.callbacks.base import CallbackList
from cornu.callbacks.history import History
from cornu.callbacks.progbar_logger import ProgbarLogger
from cornu.data import sources
from cornu.training import steps as step_protocol


def _flat(logs: dict, into: dict) -> dict:
    for key, value in logs.items():
        if isinstance(value, dict):  # a metric with several results ("compile_metrics")
            _flat(value, into)
        else:
            into[key] = value
    return into


def floats(logs: Any) -> dict[str, float]:
    """A step's logs as Python floats, in their order, with one host read for all; a
    dict among them gives its entries (as Keras flattens its logs)."""
    if not isinstance(logs, dict):
        return {}
    flat = _flat(logs, {})
    keys = list(flat)  # in the metrics' order (a pytree of a dict would sort the keys)
    values = jax.device_get([flat[k] for k in keys])
    return {k: float(v) for k, v in zip(keys, values, strict=True)}


def _targets(y: Any) -> Any:
    """Targets as Keras' steps see them: their shapes as given, floats as float32."""
    if y is None:
        return None
    return jax.tree.map(lambda a: a.astype(np.float32, copy=False)
                        if np.issubdtype(a.dtype, np.floating) else a, y)


class Batcher:
    """Host batches as the model's steps take them (Keras' packing: x, (x, y) or
    (x, y, sample_weight)); `prepared` batches (from ArrayBatches) were checked already."""

    def __init__(self, model: Any, argument: str, prepared: bool) -> None:
        self.model, self.argument, self.prepared = model, argument, prepared
        self.samples = 0

    def __call__(self, batch: Any) -> Any:
        x, y, sw = sources.unpack(sources.to_numpy(batch))
        if self.prepared:
            xs = x if isinstance(x, list) else [x]
        else:
            if x is None:
                raise ValueError(f"A batch of {self.argument} holds no inputs (x is None).")
            xs = self.model._prepare_x(x, f"a batch of {self.argument}")
        self.samples += int(xs[0].shape[0])
        x = xs[0] if len(xs) == 1 else list(xs)
        if y is None and sw is None:
            return devices.put(x) if not isinstance(x, list) else (devices.put(x),)
        data = (x, _targets(y)) if sw is None else (
            x, _targets(y), np.asarray(sw, np.float32))
        return tuple(devices.put(data))


def _callbacks(model: Any, callbacks: Any, params: dict[str, Any], verbose: int,
               progress: bool = True) -> CallbackList:
    if isinstance(callbacks, CallbackList):
        return callbacks
    bar = [ProgbarLogger()] if verbose and progress else []
    return CallbackList([*bar, *(callbacks or [])], model, params)


def fit(model: Any, train: sources.EpochIterator, *, val: sources.EpochIterator | None,
        val_prepared: bool, epochs: int, verbose: int, callbacks: Any, initial_epoch: int,
        validation_freq: int, prepared: bool, batch_size: int | None,
        samples: int | None) -> History:
    history = History()
    params = {"verbose": verbose, "epochs": epochs, "steps": train.num_batches,
              "samples": samples, "batch_size": batch_size}
    cbs = CallbackList([*([ProgbarLogger()] if verbose else []), *(callbacks or []),
                        history], model, params)
    model.history, model.stop_training = history, False
    batcher = Batcher(model, "x", prepared)
    cbs.on_train_begin()
    logs: dict[str, float] = {}
    programs = None
    for epoch in range(initial_epoch, epochs):
        cbs.on_epoch_begin(epoch)
        model.reset_metrics()
        state = None
        step_logs: Any = {}
        seen, batcher.samples = 0, 0
        for step, batch in train.epoch():
            data = batcher(batch)  # builds an unbuilt model from its first batch
            if programs is None:
                model._require_compiled("fit")
                programs = model._step_programs()
            if state is None:
                state = programs.train_state()
            if cbs.wants("on_train_batch_begin"):
                cbs.on_train_batch_begin(step)
            step_logs, state = programs.train(state, data)
            seen += 1
            if cbs.wants("on_train_batch_end"):
                cbs.on_train_batch_end(step, floats(step_logs))
            if model.stop_training:
                break
        if seen == 0:
            if train.ran_out or epoch > initial_epoch:
                model.stop_training = True  # Keras' warning was given; nothing to train on
                break
            raise ValueError(
                "fit read no batch from x in its first epoch: the source is empty (or a "
                "generator that was already consumed). Pass a source that yields batches.")
        programs.sync(state)
        model.optimizer._sync_iterations()
        if params["steps"] is None:  # an unknown length, now known (the progress line)
            params["steps"] = seen
        if params["samples"] is None or not prepared:
            params["samples"] = batcher.samples
        logs = model._metrics_result_or_logs(step_logs)
        if val is not None and (epoch + 1 - initial_epoch) % validation_freq == 0:
            val_logs = evaluate(model, val, callbacks=cbs, prepared=val_prepared,
                                argument="validation_data")
            logs.update({f"val_{k}": v for k, v in val_logs.items()})
        cbs.on_epoch_end(epoch, logs)
        if model.stop_training or train.ran_out:
            break
    cbs.on_train_end(logs)
    return history


def evaluate(model: Any, data: sources.EpochIterator, *, callbacks: Any = None,
             verbose: int = 0, prepared: bool = False, argument: str = "x"
             ) -> dict[str, float]:
    cbs = _callbacks(model, callbacks, {"verbose": verbose, "epochs": 1,
                                        "steps": data.num_batches}, verbose, progress=False)
    batcher = Batcher(model, argument, prepared)
    data.reset()
    model.reset_metrics()
    cbs.on_test_begin()
    programs, state, logs = None, None, {}
    start = time.perf_counter()
    for step, batch in data.epoch():
        prepared_batch = batcher(batch)
        if programs is None:
            model._require_compiled("evaluate")
            programs = model._step_programs()
            state = step_protocol._distinct((
                [v.value for v in model.trainable_variables],
                [v.value for v in model.non_trainable_variables],
                [v.value for v in model.metrics_variables]))
        if cbs.wants("on_test_batch_begin"):
            cbs.on_test_batch_begin(step)
        logs, state = programs.test(state, prepared_batch)
        if cbs.wants("on_test_batch_end"):
            cbs.on_test_batch_end(step, floats(logs))
    if programs is None:
        raise ValueError(f"evaluate read no batch from {argument}: the source is empty.")
    programs.sync(state)
    result = model._metrics_result_or_logs(logs)
    if verbose:
        from cornu.reports import progbar

        print(progbar.format_epoch_end(step + 1, time.perf_counter() - start,
                                       batcher.samples, result), flush=True)
    cbs.on_test_end(result)
    return result


def predict(model: Any, data: sources.EpochIterator, *, callbacks: Any = None,
            verbose: int = 0, prepared: bool = False) -> Any:
    cbs = _callbacks(model, callbacks, {"verbose": verbose, "epochs": 1,
                                        "steps": data.num_batches}, verbose, progress=False)
    batcher = Batcher(model, "x", prepared)
    cbs.on_predict_begin()
    programs, state, outs = None, None, []
    for step, batch in data.epoch():
        x, _, _ = sources.unpack(batch)  # targets in a batch are ignored, as Keras
        prepared_batch = batcher(x if not isinstance(x, list) else (x,))
        if programs is None:
            programs = model._step_programs()
            state = step_protocol._distinct((
                [v.value for v in model.trainable_variables],
                [v.value for v in model.non_trainable_variables]))
        if cbs.wants("on_predict_batch_begin"):
            cbs.on_predict_batch_begin(step)
        out, state = programs.predict(state, prepared_batch)
        outs.append(jax.device_get(out))
        if cbs.wants("on_predict_batch_end"):
            cbs.on_predict_batch_end(step, {"outputs": outs[-1]})
    if programs is None:
        raise ValueError("predict read no batch from x: the source is empty.")
    programs.sync(state)
    cbs.on_predict_end()
    return jax.tree.map(lambda *parts: np.concatenate(parts), *outs)
