"""Losses by their Keras 3 names. Each computes one value per sample, shape (batch,).

The training loop averages the per-sample values over the real (unpadded) samples,
which is Keras' "sum over batch size" reduction.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import jax
import jax.numpy as jnp

from cornu._names import lookup

Array = jax.Array
EPSILON = 1e-7  # Keras' backend epsilon, used to clip probabilities

__all__ = [
    "BinaryCrossentropy",
    "CategoricalCrossentropy",
    "Loss",
    "MeanAbsoluteError",
    "MeanSquaredError",
    "SparseCategoricalCrossentropy",
    "binary_crossentropy",
    "categorical_crossentropy",
    "get",
    "mean_absolute_error",
    "mean_squared_error",
    "sparse_categorical_crossentropy",
]


def _per_sample(values: Array) -> Array:
    """Mean over every axis but the batch axis."""
    if values.ndim <= 1:
        return values
    return jnp.mean(values.reshape(values.shape[0], -1), axis=1)


def categorical_crossentropy(y_true: Array, y_pred: Array, from_logits: bool = False) -> Array:
    if from_logits:
        log_p = jax.nn.log_softmax(y_pred, axis=-1)
    else:
        p = y_pred / jnp.sum(y_pred, axis=-1, keepdims=True)
        log_p = jnp.log(jnp.clip(p, EPSILON, 1.0 - EPSILON))
    return _per_sample(-jnp.sum(y_true * log_p, axis=-1))


def sparse_categorical_crossentropy(
    y_true: Array, y_pred: Array, from_logits: bool = False
) -> Array:
    labels = y_true.astype(jnp.int32)
    if labels.ndim == y_pred.ndim:  # a trailing axis of 1, as Keras accepts
        labels = jnp.squeeze(labels, axis=-1)
    if from_logits:
        log_p = jax.nn.log_softmax(y_pred, axis=-1)
    else:
        p = y_pred / jnp.sum(y_pred, axis=-1, keepdims=True)
        log_p = jnp.log(jnp.clip(p, EPSILON, 1.0 - EPSILON))
    picked = jnp.take_along_axis(log_p, labels[..., None], axis=-1)[..., 0]
    return _per_sample(-picked)


def binary_crossentropy(y_true: Array, y_pred: Array, from_logits: bool = False) -> Array:
    y_true = y_true.astype(y_pred.dtype)
    if from_logits:
        # max(z, 0) - z*y + log(1 + exp(-|z|)): no overflow for any z
        values = jnp.maximum(y_pred, 0.0) - y_pred * y_true + jnp.log1p(jnp.exp(-jnp.abs(y_pred)))
    else:
        p = jnp.clip(y_pred, EPSILON, 1.0 - EPSILON)
        values = -(y_true * jnp.log(p) + (1.0 - y_true) * jnp.log(1.0 - p))
    return _per_sample(jnp.mean(values, axis=-1))


def mean_squared_error(y_true: Array, y_pred: Array, from_logits: bool = False) -> Array:
    return _per_sample(jnp.mean(jnp.square(y_true.astype(y_pred.dtype) - y_pred), axis=-1))


def mean_absolute_error(y_true: Array, y_pred: Array, from_logits: bool = False) -> Array:
    return _per_sample(jnp.mean(jnp.abs(y_true.astype(y_pred.dtype) - y_pred), axis=-1))


@dataclass(frozen=True)
class Loss:
    """A named per-sample loss with its `from_logits` setting."""

    name: str
    fn: Callable[..., Array] = field(repr=False)
    from_logits: bool = False
    #: the activation whose logits the loss can take directly ('softmax', 'sigmoid')
    logits_of: str | None = None
    #: 'categorical', 'sparse' or 'binary': how 'accuracy' and labels are read
    label_kind: str | None = None

    def __call__(self, y_true: Array, y_pred: Array) -> Array:
        return self.fn(y_true, y_pred, from_logits=self.from_logits)

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "from_logits": self.from_logits}


def CategoricalCrossentropy(from_logits: bool = False) -> Loss:  # noqa: N802 - Keras' name
    return Loss("categorical_crossentropy", categorical_crossentropy, from_logits, "softmax",
                "categorical")


def SparseCategoricalCrossentropy(from_logits: bool = False) -> Loss:  # noqa: N802
    return Loss("sparse_categorical_crossentropy", sparse_categorical_crossentropy, from_logits,
                "softmax", "sparse")


def BinaryCrossentropy(from_logits: bool = False) -> Loss:  # noqa: N802
    return Loss("binary_crossentropy", binary_crossentropy, from_logits, "sigmoid", "binary")


def MeanSquaredError() -> Loss:  # noqa: N802
    return Loss("mean_squared_error", mean_squared_error)


def MeanAbsoluteError() -> Loss:  # noqa: N802
    return Loss("mean_absolute_error", mean_absolute_error)


_TABLE: dict[str, Callable[[], Loss]] = {
    "categorical_crossentropy": CategoricalCrossentropy,
    "sparse_categorical_crossentropy": SparseCategoricalCrossentropy,
    "binary_crossentropy": BinaryCrossentropy,
    "mean_squared_error": MeanSquaredError,
    "mse": MeanSquaredError,
    "mean_absolute_error": MeanAbsoluteError,
    "mae": MeanAbsoluteError,
}


def get(identifier: str | Loss | dict, argument: str = "loss") -> Loss:
    """A Loss from a name, a Loss, or a saved config {"name": ..., "from_logits": ...}."""
    if isinstance(identifier, Loss):
        return identifier
    if isinstance(identifier, dict):
        loss = lookup("loss", argument, identifier.get("name"), _TABLE)()
        return Loss(loss.name, loss.fn, bool(identifier.get("from_logits", False)),
                    loss.logits_of, loss.label_kind)
    return lookup("loss", argument, identifier, _TABLE)()
