"""Cross-entropies, KL divergence, Poisson and the hinge metrics: means over samples of
Keras' loss functions (computed here as Keras computes them)."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from cornu.metrics.base import EPSILON, as_array
from cornu.metrics.reduction_metrics import MeanMetricWrapper

Array = jax.Array

__all__ = [
    "BinaryCrossentropy",
    "CategoricalCrossentropy",
    "CategoricalHinge",
    "Hinge",
    "KLDivergence",
    "Poisson",
    "SparseCategoricalCrossentropy",
    "SquaredHinge",
    "binary_crossentropy",
    "categorical_crossentropy",
    "categorical_hinge",
    "hinge",
    "kl_divergence",
    "poisson",
    "sparse_categorical_crossentropy",
    "squared_hinge",
]


def _log_probabilities(y_pred: Array, from_logits: bool, axis: int) -> Array:
    if from_logits:
        return jax.nn.log_softmax(y_pred, axis=axis)
    p = y_pred / jnp.sum(y_pred, axis=axis, keepdims=True)
    return jnp.log(jnp.clip(p, EPSILON, 1.0 - EPSILON))


def categorical_crossentropy(y_true: Any, y_pred: Any, from_logits: bool = False,
                             label_smoothing: float = 0.0, axis: int = -1) -> Array:
    """-sum(y_true * log(y_pred)) along `axis` (y_pred rescaled to sum to 1, clipped)."""
    y_pred = as_array(y_pred)
    y_true = as_array(y_true).astype(y_pred.dtype)
    if y_true.shape != y_pred.shape:
        raise ValueError("categorical_crossentropy needs one-hot labels shaped like the "
                         f"predictions. Received: y_true.shape={y_true.shape}, "
                         f"y_pred.shape={y_pred.shape}")
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + label_smoothing / y_true.shape[-1]
    return -jnp.sum(y_true * _log_probabilities(y_pred, from_logits, axis), axis=axis)


def _sparse_values(y_true: Any, y_pred: Any, from_logits: bool, ignore_class: int | None,
                   axis: int) -> tuple[Array, Array | None]:
    y_pred = as_array(y_pred)
    labels = as_array(y_true)
    if labels.ndim == y_pred.ndim and labels.shape[axis] == 1:
        labels = jnp.squeeze(labels, axis=axis)
    valid = None
    if ignore_class is not None:
        valid = labels != jnp.asarray(ignore_class, labels.dtype)
        labels = jnp.where(valid, labels, jnp.zeros_like(labels))
        y_pred = jnp.where(jnp.expand_dims(valid, axis), y_pred, jnp.zeros_like(y_pred))
    labels = labels.astype(jnp.int32)
    if labels.shape != y_pred.shape[:-1]:
        raise ValueError("sparse_categorical_crossentropy needs integer labels shaped like "
                         "the predictions without their last axis. Received: "
                         f"y_true.shape={labels.shape}, y_pred.shape={y_pred.shape}")
    log_p = _log_probabilities(y_pred, from_logits, axis)
    one_hot = jax.nn.one_hot(labels, y_pred.shape[axis], axis=axis, dtype=log_p.dtype)
    values = -jnp.sum(one_hot * log_p, axis=axis)
    if valid is not None:
        values = jnp.where(valid, values, jnp.zeros_like(values))
    return values, valid


def sparse_categorical_crossentropy(y_true: Any, y_pred: Any, from_logits: bool = False,
                                    ignore_class: int | None = None,
                                    axis: int = -1) -> Array:
    """-log(y_pred[label]) for integer labels; 0 where the label is `ignore_class`."""
    return _sparse_values(y_true, y_pred, from_logits, ignore_class, axis)[0]


def binary_crossentropy(y_true: Any, y_pred: Any, from_logits: bool = False,
                        label_smoothing: float = 0.0, axis: int = -1) -> Array:
    """The mean along `axis` of -(y log p + (1 - y) log(1 - p))."""
    y_pred = as_array(y_pred)
    y_true = as_array(y_true).astype(y_pred.dtype)
    if y_true.shape != y_pred.shape:
        raise ValueError("binary_crossentropy needs labels shaped like the predictions. "
                         f"Received: y_true.shape={y_true.shape}, "
                         f"y_pred.shape={y_pred.shape}")
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + 0.5 * label_smoothing
    if from_logits:
        values = (-y_true * jax.nn.log_sigmoid(y_pred)
                  - (1.0 - y_true) * jax.nn.log_sigmoid(-y_pred))
    else:
        p = jnp.clip(y_pred, EPSILON, 1.0 - EPSILON)
        values = -(y_true * jnp.log(p) + (1.0 - y_true) * jnp.log(1.0 - p))
    return jnp.mean(values, axis=axis)


def kl_divergence(y_true: Any, y_pred: Any) -> Array:
    """sum(y_true * log(y_true / y_pred)), both clipped to [1e-7, 1]."""
    y_pred = as_array(y_pred)
    y_true = as_array(y_true, y_pred.dtype)
    y_true = jnp.clip(y_true, EPSILON, 1.0)
    y_pred = jnp.clip(y_pred, EPSILON, 1.0)
    return jnp.sum(y_true * jnp.log(y_true / y_pred), axis=-1)


def poisson(y_true: Any, y_pred: Any) -> Array:
    """mean(y_pred - y_true * log(y_pred + 1e-7))."""
    y_pred = as_array(y_pred)
    y_true = as_array(y_true, y_pred.dtype)
    return jnp.mean(y_pred - y_true * jnp.log(y_pred + EPSILON), axis=-1)


def _hinge_labels(y_true: Array) -> Array:
    """0/1 labels become -1/1; other labels stay as they are."""
    binary = jnp.all((y_true == 0) | (y_true == 1))
    return jnp.where(binary, 2.0 * y_true - 1.0, y_true)


def hinge(y_true: Any, y_pred: Any) -> Array:
    """mean(maximum(1 - y_true * y_pred, 0)), labels -1/1 (or 0/1)."""
    y_pred = as_array(y_pred)
    y_true = _hinge_labels(as_array(y_true).astype(y_pred.dtype))
    return jnp.mean(jnp.maximum(1.0 - y_true * y_pred, 0.0), axis=-1)


def squared_hinge(y_true: Any, y_pred: Any) -> Array:
    """mean(square(maximum(1 - y_true * y_pred, 0))), labels -1/1 (or 0/1)."""
    y_pred = as_array(y_pred)
    y_true = _hinge_labels(as_array(y_true).astype(y_pred.dtype))
    return jnp.mean(jnp.square(jnp.maximum(1.0 - y_true * y_pred, 0.0)), axis=-1)


def categorical_hinge(y_true: Any, y_pred: Any) -> Array:
    """maximum(max((1 - y_true) * y_pred) - sum(y_true * y_pred) + 1, 0)."""
    y_pred = as_array(y_pred)
    y_true = as_array(y_true).astype(y_pred.dtype)
    positive = jnp.sum(y_true * y_pred, axis=-1)
    negative = jnp.max((1.0 - y_true) * y_pred, axis=-1)
    return jnp.maximum(negative - positive + 1.0, 0.0)


def _smoothing(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise ValueError("label_smoothing must be a number in [0, 1]. Received: "
                         f"label_smoothing={value!r}")
    return value


class _Plain(MeanMetricWrapper):
    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "dtype": self.dtype}


class KLDivergence(_Plain):
    """The mean Kullback-Leibler divergence of y_pred from y_true."""

    def __init__(self, name: str = "kl_divergence", dtype: Any = None) -> None:
        super().__init__(fn=kl_divergence, name=name, dtype=dtype)


class Poisson(_Plain):
    """The mean Poisson deviance term y_pred - y_true * log(y_pred)."""

    def __init__(self, name: str = "poisson", dtype: Any = None) -> None:
        super().__init__(fn=poisson, name=name, dtype=dtype)


class Hinge(_Plain):
    """The mean hinge loss (labels -1/1, or 0/1)."""

    def __init__(self, name: str = "hinge", dtype: Any = None) -> None:
        super().__init__(fn=hinge, name=name, dtype=dtype)


class SquaredHinge(_Plain):
    """The mean squared hinge loss (labels -1/1, or 0/1)."""

    def __init__(self, name: str = "squared_hinge", dtype: Any = None) -> None:
        super().__init__(fn=squared_hinge, name=name, dtype=dtype)


class CategoricalHinge(_Plain):
    """The mean categorical hinge loss (one-hot labels)."""

    def __init__(self, name: str = "categorical_hinge", dtype: Any = None) -> None:
        super().__init__(fn=categorical_hinge, name=name, dtype=dtype)


class BinaryCrossentropy(MeanMetricWrapper):
    """The mean binary cross-entropy (labels 0/1)."""

    def __init__(self, name: str = "binary_crossentropy", dtype: Any = None,
                 from_logits: bool = False, label_smoothing: float = 0) -> None:
        super().__init__(binary_crossentropy, name, dtype=dtype, from_logits=bool(from_logits),
                         label_smoothing=_smoothing(label_smoothing))
        self.from_logits = bool(from_logits)
        self.label_smoothing = label_smoothing

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "dtype": self.dtype, "from_logits": self.from_logits,
                "label_smoothing": self.label_smoothing}


class CategoricalCrossentropy(MeanMetricWrapper):
    """The mean categorical cross-entropy (one-hot labels)."""

    def __init__(self, name: str = "categorical_crossentropy", dtype: Any = None,
                 from_logits: bool = False, label_smoothing: float = 0,
                 axis: int = -1) -> None:
        super().__init__(categorical_crossentropy, name, dtype=dtype,
                         from_logits=bool(from_logits),
                         label_smoothing=_smoothing(label_smoothing), axis=axis)
        self.from_logits = bool(from_logits)
        self.label_smoothing = label_smoothing
        self.axis = axis

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "dtype": self.dtype, "from_logits": self.from_logits,
                "label_smoothing": self.label_smoothing, "axis": self.axis}


class SparseCategoricalCrossentropy(MeanMetricWrapper):
    """The mean categorical cross-entropy of integer labels. With `ignore_class`, those
    labels give 0; as in Keras, they are left out of the mean only when sample weights
    are given."""

    def __init__(self, name: str = "sparse_categorical_crossentropy", dtype: Any = None,
                 from_logits: bool = False, ignore_class: int | None = None,
                 axis: int = -1) -> None:
        if ignore_class is not None and (isinstance(ignore_class, bool)
                                         or not isinstance(ignore_class, int)):
            raise ValueError("ignore_class must be an integer or None. Received: "
                             f"ignore_class={ignore_class!r}")
        super().__init__(sparse_categorical_crossentropy, name=name, dtype=dtype,
                         from_logits=bool(from_logits), ignore_class=ignore_class, axis=axis)
        self.from_logits = bool(from_logits)
        self.ignore_class = ignore_class
        self.axis = axis

    def _values_and_mask(self, y_true: Any, y_pred: Any) -> tuple[Array, Array | None]:
        return _sparse_values(y_true, y_pred, self.from_logits, self.ignore_class, self.axis)

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "dtype": self.dtype, "from_logits": self.from_logits,
                "ignore_class": self.ignore_class, "axis": self.axis}
