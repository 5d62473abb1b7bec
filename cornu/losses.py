"""Losses by their Keras 3 names. Each computes one value per sample, shape (batch,).

The training loop averages the per-sample values over the real (unpadded) samples,
which is Keras' "sum over batch size" reduction.
"""

from __future__ import annotations

from collections.abc import Callable
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
    "LossFunctionWrapper",
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


_REDUCTIONS = ("sum_over_batch_size", "sum", "mean", "mean_with_sample_weight", "none", None)


class Loss:
    """Keras 3's loss base class. Subclasses override `call(y_true, y_pred)` (values per
    sample, or per element); calling the loss reduces them with `reduction` and the
    optional `sample_weight`. The compiled fit uses `per_sample` (the values averaged over
    every axis but the batch axis) and averages over the real samples itself."""

    #: the activation whose logits the loss can take directly ('softmax', 'sigmoid')
    logits_of: str | None = None
    #: 'categorical', 'sparse' or 'binary': how 'accuracy' and labels are read
    label_kind: str | None = None
    #: cornu's own losses (labels are checked against them); user losses are not
    builtin = False
    from_logits = False

    def __init__(self, name: str | None = None, reduction: str | None = "sum_over_batch_size",
                 dtype: Any = None) -> None:
        if reduction not in _REDUCTIONS:
            raise ValueError(f"reduction must be one of {list(_REDUCTIONS)}. Received: "
                             f"reduction={reduction!r}")
        import re

        self.name = name or re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", type(self).__name__).lower()
        self.reduction = reduction
        self.dtype = dtype

    def call(self, y_true: Array, y_pred: Array) -> Array:
        raise NotImplementedError(f"{type(self).__name__} must implement call(y_true, y_pred).")

    def per_sample(self, y_true: Array, y_pred: Array) -> Array:
        values = jnp.asarray(self.call(y_true, y_pred), jnp.float32)
        return _per_sample(values) if values.ndim else jnp.broadcast_to(values, y_pred.shape[:1])

    def __call__(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> Array:
        y_pred = jnp.asarray(y_pred)
        y_true = jnp.asarray(y_true)
        if y_true.ndim == y_pred.ndim - 1 and y_pred.shape[-1] == 1 and self.label_kind != \
                "sparse":
            y_true = y_true[..., None]  # Keras: (n,) labels against an (n, 1) output
        values = jnp.asarray(self.call(y_true, y_pred), jnp.float32)
        weight = None
        if sample_weight is not None:
            weight = jnp.asarray(sample_weight, jnp.float32)
            if weight.ndim > values.ndim:
                weight = jnp.reshape(weight, weight.shape[:values.ndim])
            weight = jnp.broadcast_to(
                jnp.reshape(weight, weight.shape + (1,) * (values.ndim - weight.ndim)),
                values.shape)
            values = values * weight
        if self.reduction in (None, "none"):
            return values
        total = jnp.sum(values)
        if self.reduction == "sum":
            return total
        if self.reduction == "mean_with_sample_weight" and weight is not None:
            return total / jnp.maximum(jnp.sum(weight), 1e-12)
        return total / max(values.size, 1)

    def with_logits(self) -> Loss:
        raise NotImplementedError(f"{self.name} cannot take logits.")

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "reduction": self.reduction}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Loss:
        return cls(**config)


class LossFunctionWrapper(Loss):
    """A function `fn(y_true, y_pred, **kwargs)` as a Loss."""

    def __init__(self, fn: Callable[..., Array], name: str | None = None,
                 reduction: str | None = "sum_over_batch_size", dtype: Any = None,
                 **kwargs: Any) -> None:
        super().__init__(name=name or getattr(fn, "__name__", None), reduction=reduction,
                         dtype=dtype)
        self.fn = fn
        self._fn_kwargs = kwargs

    def call(self, y_true: Array, y_pred: Array) -> Array:
        return self.fn(y_true, y_pred, **self._fn_kwargs)


class _Builtin(LossFunctionWrapper):
    builtin = True

    def __init__(self, name: str, fn: Callable[..., Array], from_logits: bool = False,
                 logits_of: str | None = None, label_kind: str | None = None,
                 reduction: str | None = "sum_over_batch_size") -> None:
        super().__init__(fn, name=name, reduction=reduction)
        self.from_logits = bool(from_logits)
        self.logits_of, self.label_kind = logits_of, label_kind

    def call(self, y_true: Array, y_pred: Array) -> Array:
        return self.fn(y_true, y_pred, from_logits=self.from_logits)

    def per_sample(self, y_true: Array, y_pred: Array) -> Array:
        return self.fn(y_true, y_pred, from_logits=self.from_logits)

    def with_logits(self) -> Loss:
        return _Builtin(self.name, self.fn, True, self.logits_of, self.label_kind,
                        self.reduction)

    def get_config(self) -> dict[str, Any]:
        config: dict[str, Any] = {"name": self.name, "from_logits": self.from_logits}
        if self.reduction != "sum_over_batch_size":
            config["reduction"] = self.reduction
        return config


def CategoricalCrossentropy(from_logits: bool = False,  # noqa: N802 - Keras' name
                            reduction: str = "sum_over_batch_size", name: str | None = None
                            ) -> Loss:
    return _Builtin(name or "categorical_crossentropy", categorical_crossentropy, from_logits,
                    "softmax", "categorical", reduction)


def SparseCategoricalCrossentropy(from_logits: bool = False,  # noqa: N802
                                  reduction: str = "sum_over_batch_size",
                                  name: str | None = None) -> Loss:
    return _Builtin(name or "sparse_categorical_crossentropy", sparse_categorical_crossentropy,
                    from_logits, "softmax", "sparse", reduction)


def BinaryCrossentropy(from_logits: bool = False,  # noqa: N802
                       reduction: str = "sum_over_batch_size", name: str | None = None) -> Loss:
    return _Builtin(name or "binary_crossentropy", binary_crossentropy, from_logits, "sigmoid",
                    "binary", reduction)


def MeanSquaredError(reduction: str = "sum_over_batch_size",  # noqa: N802
                     name: str | None = None) -> Loss:
    return _Builtin(name or "mean_squared_error", mean_squared_error, reduction=reduction)


def MeanAbsoluteError(reduction: str = "sum_over_batch_size",  # noqa: N802
                      name: str | None = None) -> Loss:
    return _Builtin(name or "mean_absolute_error", mean_absolute_error, reduction=reduction)


_TABLE: dict[str, Callable[[], Loss]] = {
    "categorical_crossentropy": CategoricalCrossentropy,
    "sparse_categorical_crossentropy": SparseCategoricalCrossentropy,
    "binary_crossentropy": BinaryCrossentropy,
    "mean_squared_error": MeanSquaredError,
    "mse": MeanSquaredError,
    "mean_absolute_error": MeanAbsoluteError,
    "mae": MeanAbsoluteError,
}


def get(identifier: Any, argument: str = "loss") -> Loss:
    """A Loss from a name, a Loss (or Loss subclass), a function `(y_true, y_pred)`, or a
    saved config {"name": ..., "from_logits": ...} (built-in losses only)."""
    if isinstance(identifier, Loss):
        return identifier
    if isinstance(identifier, type) and issubclass(identifier, Loss):
        return identifier()
    if isinstance(identifier, dict):
        made = lookup("loss", argument, identifier.get("name"), _TABLE)()
        reduction = identifier.get("reduction", "sum_over_batch_size")
        return _Builtin(made.name, made.fn, bool(identifier.get("from_logits", False)),
                        made.logits_of, made.label_kind, reduction)
    if callable(identifier) and not isinstance(identifier, str):
        return LossFunctionWrapper(identifier)
    return lookup("loss", argument, identifier, _TABLE)()
