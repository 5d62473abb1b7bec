"""The evaluate and predict runs: which path a call takes (a stream, a memory-mapped file,
arrays read batch by batch for steps, batch callbacks or the model's own steps, or the
arrays' padded batches in one compiled call) and the run of that last path.

`Model.evaluate` and `Model.predict` check their arguments and shape the result; what
happens in between is here, next to fit.py. The model is used through the same methods
fit's runs use (`_prepare_x`, `_prepare_xy`, `_require_compiled`, `train_state`...).
"""

from __future__ import annotations

import math
import time
from typing import Any

import jax
import numpy as np

from cornu import devices
from cornu.callbacks.base import CallbackList
from cornu.data import arrays, sources, staging
from cornu.reports import progbar
from cornu.training import fit_stream, stepped


def refuse_distributed(what: str) -> None:
    """The paths a distribution does not run yet (Keras' step protocol: a model's own
    steps, stateful metrics, batch callbacks of evaluate and predict)."""
    distribution = devices.active()
    if distribution is not None:
        raise NotImplementedError(
            f"{what} does not run under a distribution yet. Received: the active "
            f"distribution {distribution!r}. Train, evaluate and predict on in-memory "
            "arrays or streams with the compiled steps (no own train_step/test_step/"
            "predict_step, no batch callbacks in evaluate or predict), or call "
            "cornu.distribution.set_distribution(None) for this call.")


def eval_batches(xs: list[np.ndarray], ys: list[np.ndarray], sw: Any,
                 batch_size: int) -> tuple:
    """x, y and the sample weights as the evaluation program reads them, batch by batch
    (staging.put_batches: on the CPU the caller's arrays, read in place, and a padded copy
    of the last, partial batch), and the (steps, batch) mask of the real rows."""
    n = xs[0].shape[0]
    batch_size = min(batch_size, n)
    leaves = staging.put_batches([*xs, *ys, sw], batch_size)
    return (tuple(leaves[:len(xs)]), tuple(leaves[len(xs):-1]),
            devices.put_batch_sharded(arrays.batch_mask(n, batch_size), axis=1), leaves[-1])


def evaluate(model: Any, x: Any, y: Any, *, batch_size: int, verbose: int,
             sample_weight: Any, steps: int | None, cbs: CallbackList) -> dict[str, float]:
    """The logs of evaluating `model` on x, y (arguments checked by Model.evaluate)."""
    if sources.is_stream(x):
        model._refuse_with_stream(x, y=y, sample_weight=sample_weight)
        data = sources.EpochIterator(sources.stream_of(x, "x"), steps)
        run = stepped.evaluate if model._stream_uses_steps(data, "evaluate") \
            else fit_stream.evaluate
        if run is stepped.evaluate:
            refuse_distributed("evaluate with the model's own test_step")
        return run(model, data, callbacks=cbs, verbose=verbose)
    if sources.is_mapped(x) or sources.is_mapped(y):  # batch by batch (Model._fit_mapped)
        xs, ys = model._mapped_parts(x, y, "x")
        data = sources.EpochIterator(sources.MappedBatches(
            xs, ys, model._sample_weights(sample_weight, xs[0].shape[0], "sample_weight"),
            min(batch_size, xs[0].shape[0])), steps)
        run = stepped.evaluate if model._stream_uses_steps(data, "evaluate") \
            else fit_stream.evaluate
        return run(model, data, callbacks=cbs, verbose=verbose)
    xs, ys = model._prepare_xy(x, y, method="evaluate")
    engine = model._require_compiled("evaluate")
    sw = model._sample_weights(sample_weight, xs[0].shape[0], "sample_weight")
    batch_hooks = cbs.wants("on_test_batch_begin") or cbs.wants("on_test_batch_end")
    if model._uses_steps() or steps or batch_hooks or devices.per_process():
        # (each process passing its own rows: batch by batch, each its own part)
        if model._uses_steps() or batch_hooks:
            refuse_distributed("evaluate with batch callbacks or the model's own test_step")
        batches = sources.EpochIterator(sources.ArrayBatches(
            xs, ys, sw, min(batch_size, xs[0].shape[0])), steps)
        if model._uses_steps() or batch_hooks:
            return stepped.evaluate(model, batches, callbacks=cbs, verbose=verbose,
                                    prepared=True)
        return fit_stream.evaluate(model, batches, callbacks=cbs, verbose=verbose)
    cbs.on_test_begin()
    start = time.perf_counter()
    model._place_weights()
    batches = eval_batches(xs, ys, sw, batch_size)
    sums, state = engine.evaluate_all(*model._values(), *batches)
    model._keep_carried(state)  # a stateful RNN's states, from batch to batch
    logs = engine.logs(sums)
    staging.release_freed(batches, _nbytes(batches))  # the arrays XLA read in place
    if verbose:
        n = xs[0].shape[0]
        print(progbar.format_epoch_end(math.ceil(n / batch_size),
                                       time.perf_counter() - start, n, logs), flush=True)
    cbs.on_test_end(logs)
    return logs


def predict(model: Any, x: Any, *, batch_size: int, verbose: int, steps: int | None,
            cbs: CallbackList, own_step: bool) -> Any:
    """`model`'s outputs on x (arguments checked by Model.predict), dict outputs as a dict
    (the model's own predict_step's as it returns them); `own_step`: the model defines its
    own predict_step."""
    batch_hooks = cbs.wants("on_predict_batch_begin") or cbs.wants("on_predict_batch_end")
    if sources.is_stream(x):
        data = sources.EpochIterator(sources.stream_of(x, "x"), steps)
        run = stepped.predict if model._stream_uses_steps(data, "predict") or batch_hooks \
            else fit_stream.predict
        if run is stepped.predict:
            refuse_distributed("predict with batch callbacks or the model's own "
                               "predict_step")
        return model._as_output_struct(run(model, data, callbacks=cbs, verbose=verbose))
    if sources.is_mapped(x):  # batch by batch (Model._fit_mapped)
        xs, _ = model._mapped_parts(x, None, "x")
        data = sources.EpochIterator(sources.MappedBatches(
            xs, None, None, min(batch_size, xs[0].shape[0])), steps)
        run = stepped.predict if model._stream_uses_steps(data, "predict") or batch_hooks \
            else fit_stream.predict
        return model._as_output_struct(run(model, data, callbacks=cbs, verbose=verbose))
    xs = model._prepare_x(x)
    n = xs[0].shape[0]
    batch_size = min(batch_size, n)
    if own_step or steps or batch_hooks or devices.per_process():
        if own_step or batch_hooks:
            refuse_distributed("predict with batch callbacks or the model's own "
                               "predict_step")
        batches = sources.EpochIterator(sources.ArrayBatches(xs, None, None, batch_size),
                                        steps)
        if own_step or batch_hooks:
            return stepped.predict(model, batches, callbacks=cbs, verbose=verbose,
                                   prepared=True)
        return model._as_output_struct(fit_stream.predict(model, batches, callbacks=cbs,
                                                          verbose=verbose))
    cbs.on_predict_begin()
    start = time.perf_counter()

    def unbatch(o):
        # a distribution pads each batch to a multiple of its devices: dropped here
        o = devices.to_host(o)[:, :batch_size]
        return o.reshape(-1, *o.shape[2:])[:n]

    model._place_weights()
    batches = tuple(staging.put_batches(xs, batch_size))
    outs, state = model._predictor.predict_all(*model._values(), batches)
    model._keep_carried(state)
    result = [unbatch(o) for o in outs] if isinstance(outs, list | tuple) else unbatch(outs)
    staging.release_freed(batches, _nbytes(batches))  # the arrays XLA read in place
    result = model._as_output_struct(result)
    if verbose:
        print(progbar.format_epoch_end(math.ceil(n / batch_size),
                                       time.perf_counter() - start, n, {}), flush=True)
    cbs.on_predict_end()
    return result


def _nbytes(tree: Any) -> int:
    return sum(int(getattr(leaf, "nbytes", 0)) for leaf in jax.tree.leaves(tree))
