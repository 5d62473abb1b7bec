"""Keras' step protocol, for models that override `train_step`, `test_step`,
`predict_step` or `compute_loss`, or use metrics with state (AUC, Precision, ...).

The state is Keras' JAX tuple: (trainable values, non-trainable values, optimizer
variables, metric variables), all lists of arrays in the order of the model's
`trainable_variables`, `non_trainable_variables`, `optimizer.variables` and
`metrics_variables`. Each step is one jitted call over one batch from the host, as in
Keras; models that keep the defaults of all of these take the scanned engine of loop.py
instead.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from cornu import variables

State = tuple[list, list, list, list]


def unpack(data: Any) -> tuple[Any, Any, Any]:
    """(x, y, sample_weight) from a batch given as x, (x,), (x, y) or (x, y, sw)."""
    if isinstance(data, tuple):
        if len(data) == 1:
            return data[0], None, None
        if len(data) == 2:
            return data[0], data[1], None
        if len(data) == 3:
            return data
    return data, None, None


def compute_loss_and_updates(model, trainable, non_trainable, metric_values, x, y,
                             sample_weight, training: bool = False):
    """(loss, (unscaled loss, y_pred, non-trainable values, metric values)): the forward
    pass and `model.compute_loss`, as a pure function of the values."""
    mapping = [*zip(model.metrics_variables, metric_values, strict=True)]
    y_pred, non_trainable, losses = model.stateless_call(
        trainable, non_trainable, x, training=training, return_losses=True)
    with variables.StatelessScope(mapping) as scope:
        model._pending_losses = losses
        try:
            loss = model.compute_loss(x=x, y=y, y_pred=y_pred, sample_weight=sample_weight,
                                      training=training)
        finally:
            model._pending_losses = None
        metric_values = [scope.get_current_value(v) for v in model.metrics_variables]
    return loss, (loss, y_pred, non_trainable, metric_values)


def _metrics_update(model, metric_values, update: Callable[[], Any]):
    with variables.StatelessScope(list(zip(model.metrics_variables, metric_values,
                                           strict=True))) as scope:
        logs = update()
        new = [scope.get_current_value(v) for v in model.metrics_variables]
    return logs, new


def default_train_step(model, state: State, data: Any):
    trainable, non_trainable, optimizer_values, metric_values = state
    x, y, sample_weight = unpack(data)
    grad_fn = jax.value_and_grad(
        lambda t, n, m: compute_loss_and_updates(model, t, n, m, x, y, sample_weight,
                                                 training=True), has_aux=True)
    (_, (loss, y_pred, non_trainable, metric_values)), grads = grad_fn(
        trainable, non_trainable, metric_values)
    trainable, optimizer_values = model.optimizer.stateless_apply(
        optimizer_values, grads, trainable)
    trainable = model._apply_constraints(trainable)

    def update():
        model._loss_tracker.update_state(loss, sample_weight=_batch_size(x))
        return model.compute_metrics(x, y, y_pred, sample_weight)

    logs, metric_values = _metrics_update(model, metric_values, update)
    return logs, (trainable, non_trainable, optimizer_values, metric_values)


def default_test_step(model, state: State, data: Any):
    trainable, non_trainable, metric_values = state
    x, y, sample_weight = unpack(data)
    loss, (_, y_pred, non_trainable, metric_values) = compute_loss_and_updates(
        model, trainable, non_trainable, metric_values, x, y, sample_weight, training=False)

    def update():
        model._loss_tracker.update_state(loss, sample_weight=_batch_size(x))
        return model.compute_metrics(x, y, y_pred, sample_weight)

    logs, metric_values = _metrics_update(model, metric_values, update)
    return logs, (trainable, non_trainable, metric_values)


def default_predict_step(model, state, data: Any):
    trainable, non_trainable = state
    x, _, _ = unpack(data)
    outputs, non_trainable = model.stateless_call(trainable, non_trainable, x, training=False)
    return outputs, (trainable, non_trainable)


def _distinct(state: Any) -> Any:
    """The state with no buffer twice (the steps donate it; optax may start two slots
    from one zeros array)."""
    seen: set[int] = set()

    def own(value: Any) -> Any:
        if id(value) in seen:
            return jnp.array(value, copy=True)
        seen.add(id(value))
        return value

    return jax.tree.map(own, state)


def _batch_size(x: Any) -> Any:
    leaves = jax.tree.leaves(x)
    return jnp.asarray(leaves[0].shape[0], jnp.float32) if leaves else 1.0


class StepPrograms:
    """The model's steps, jitted once each (with the state donated)."""

    def __init__(self, model) -> None:
        self.model = model
        self.train = jax.jit(model.train_step, donate_argnums=0)
        self.test = jax.jit(model.test_step, donate_argnums=0)
        self.predict = jax.jit(model.predict_step, donate_argnums=0)

    def train_state(self) -> State:
        model = self.model
        return _distinct(([v.value for v in model.trainable_variables],
                          [v.value for v in model.non_trainable_variables],
                          [v.value for v in model.optimizer.variables],
                          [v.value for v in model.metrics_variables]))

    def sync(self, state: tuple) -> None:
        """Write a state's values back into the model's (and optimizer's) variables."""
        model = self.model
        groups = [model.trainable_variables, model.non_trainable_variables]
        if len(state) == 4:
            groups += [model.optimizer.variables, model.metrics_variables]
        elif len(state) == 3:
            groups += [model.metrics_variables]
        for group, values in zip(groups, state, strict=True):
            for variable, value in zip(group, values, strict=True):
                variable._direct_assign(value)
