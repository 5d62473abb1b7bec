"""Which models' training steps may split each batch over the devices with `shard_map`.

A data-parallel step written with `jax.shard_map` (training/loop.py, `Engine._split_chunk`)
gives each device its own rows of the batch: the device computes its rows' loss sum, the
gradient of it and its rows' metric sums, and one `psum` adds them up before the optimizer
update, which every device then applies to its whole copy of the weights. That equals the
one-device step (to the order of the sums) only where each row's loss is a function of that
row alone. `blocker(model)` says why a model's step must not split that way (None: it may);
such a model keeps the step that XLA's partitioner splits (the batch-sharded `jit`), which
computes whole-batch quantities over the whole batch:

- BatchNormalization in training normalizes with the batch's mean and variance: a device
  would see only its rows' statistics (and a pmean of the shard variances is not the
  batch's variance), so the gradients would differ;
- a stateful recurrent layer carries per-row states from batch to batch (its state has
  the batch's rows; the shard_map step keeps the layer state whole);
- add_loss values (ActivityRegularization, any layer's activity_regularizer, a model
  whose loss is its own add_loss values) are computed from the device's rows only, and
  a mean over the rows would be the device's mean;
- layers and models that cornu does not define (a user's subclass may compute any of the
  above in its `call`) unless the class says `batch_independent = True`.

Weight regularization does not depend on the batch: the step adds it once (device 0).
"""

from __future__ import annotations

from typing import Any


def blocker(model: Any, has_loss: bool = True) -> str | None:
    """Why `model`'s training step cannot split its batch with shard_map, or None."""
    from cornu.layers import BatchNormalization
    from cornu.layers.activity_regularization import ActivityRegularization

    if not has_loss:
        return "its loss is its own add_loss values"
    for layer in model._flatten_layers():
        kind = type(layer)
        if isinstance(layer, BatchNormalization):
            return f"layer '{layer.name}' (BatchNormalization) uses the batch's statistics"
        if isinstance(layer, ActivityRegularization) or getattr(
                layer, "activity_regularizer", None) is not None:
            return f"layer '{layer.name}' adds an activity regularization loss"
        if getattr(layer, "stateful", False) is True:
            return f"layer '{layer.name}' is stateful"
        if not kind.__module__.startswith("cornu.") and not getattr(
                kind, "batch_independent", False):
            return (f"layer '{layer.name}' is a {kind.__name__} defined outside cornu (set "
                    "batch_independent = True on its class where each row's result depends "
                    "on that row alone)")
    return None


def is_recurrent(model: Any) -> bool:
    """Whether the model holds a recurrent layer (the RNN family: SimpleRNN, LSTM, GRU,
    RNN(cell), also inside Bidirectional)."""
    from cornu.layers.rnn import RNN

    return any(isinstance(layer, RNN) for layer in model._flatten_layers())
