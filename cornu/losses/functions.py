"""Loss functions by their Keras 3 names, returning Keras' unreduced values: most take
the mean (cross-entropies the sum) over the last axis, so (batch, d) -> (batch,)."""

from __future__ import annotations

import math
import warnings
from typing import Any

import jax
import jax.numpy as jnp

from cornu.losses.base import EPSILON, squeeze_or_expand_to_same_rank

Array = jax.Array

__all__ = [
    "binary_crossentropy", "binary_focal_crossentropy", "categorical_crossentropy",
    "categorical_focal_crossentropy", "categorical_hinge", "cosine_similarity", "hinge",
    "huber", "kl_divergence", "log_cosh", "mean_absolute_error",
    "mean_absolute_percentage_error", "mean_squared_error", "mean_squared_logarithmic_error",
    "poisson", "sparse_categorical_crossentropy", "squared_hinge",
]


def _arrays(y_true: Any, y_pred: Any) -> tuple[Array, Array]:
    """y_pred as a floating array, y_true in its dtype."""
    y_pred = jnp.asarray(y_pred)
    if not jnp.issubdtype(y_pred.dtype, jnp.floating):
        y_pred = y_pred.astype(jnp.float32)
    return jnp.asarray(y_true).astype(y_pred.dtype), y_pred


def _same_rank(y_true: Any, y_pred: Any) -> tuple[Array, Array]:
    return squeeze_or_expand_to_same_rank(*_arrays(y_true, y_pred))


def _check_axis(axis: Any) -> None:
    if isinstance(axis, bool) or not isinstance(axis, int):
        raise ValueError(f"axis must be an integer. Received: axis={axis!r}")


def _same_shape(name: str, y_true: Array, y_pred: Array) -> None:
    if y_true.shape != y_pred.shape:
        raise ValueError(f"{name} needs y_true and y_pred of the same shape. Received: "
                         f"y_true.shape={y_true.shape}, y_pred.shape={y_pred.shape}")


# -- regression -----------------------------------------------------------------------------
def mean_squared_error(y_true: Any, y_pred: Any) -> Array:
    y_true, y_pred = _same_rank(y_true, y_pred)
    return jnp.mean(jnp.square(y_true - y_pred), axis=-1)


def mean_absolute_error(y_true: Any, y_pred: Any) -> Array:
    y_true, y_pred = _same_rank(y_true, y_pred)
    return jnp.mean(jnp.abs(y_true - y_pred), axis=-1)


def mean_absolute_percentage_error(y_true: Any, y_pred: Any) -> Array:
    y_true, y_pred = _same_rank(y_true, y_pred)
    diff = jnp.abs((y_true - y_pred) / jnp.maximum(jnp.abs(y_true), EPSILON))
    return 100.0 * jnp.mean(diff, axis=-1)


def mean_squared_logarithmic_error(y_true: Any, y_pred: Any) -> Array:
    y_true, y_pred = _same_rank(y_true, y_pred)
    first = jnp.log(jnp.maximum(y_pred, EPSILON) + 1.0)
    second = jnp.log(jnp.maximum(y_true, EPSILON) + 1.0)
    return jnp.mean(jnp.square(first - second), axis=-1)


def _l2_normalize(x: Array, axis: int) -> Array:
    inv_norm = jax.lax.rsqrt(jnp.sum(jnp.square(x), axis=axis, keepdims=True))
    return x * jnp.minimum(inv_norm, 1.0 / EPSILON)


def cosine_similarity(y_true: Any, y_pred: Any, axis: int = -1) -> Array:
    """Minus the cosine of the angle between y_true and y_pred (-1 is best)."""
    y_true, y_pred = _same_rank(y_true, y_pred)
    return -jnp.sum(_l2_normalize(y_true, axis) * _l2_normalize(y_pred, axis), axis=axis)


def huber(y_true: Any, y_pred: Any, delta: float = 1.0) -> Array:
    y_true, y_pred = _same_rank(y_true, y_pred)
    error = y_pred - y_true
    abs_error = jnp.abs(error)
    delta = jnp.asarray(delta, y_pred.dtype)
    values = jnp.where(abs_error <= delta, 0.5 * jnp.square(error),
                       delta * abs_error - 0.5 * jnp.square(delta))
    return jnp.mean(values, axis=-1)


def log_cosh(y_true: Any, y_pred: Any) -> Array:
    y_true, y_pred = _same_rank(y_true, y_pred)
    x = y_pred - y_true
    # log(cosh(x)) = x + softplus(-2x) - log(2), without overflow for large |x|
    return jnp.mean(x + jax.nn.softplus(-2.0 * x) - math.log(2.0), axis=-1)


# -- probabilistic ----------------------------------------------------------------------------
def kl_divergence(y_true: Any, y_pred: Any) -> Array:
    y_true, y_pred = _arrays(y_true, y_pred)
    y_true = jnp.clip(y_true, EPSILON, 1.0)
    y_pred = jnp.clip(y_pred, EPSILON, 1.0)
    return jnp.sum(y_true * jnp.log(y_true / y_pred), axis=-1)


def poisson(y_true: Any, y_pred: Any) -> Array:
    y_true, y_pred = _arrays(y_true, y_pred)
    return jnp.mean(y_pred - y_true * jnp.log(y_pred + EPSILON), axis=-1)


def _log_probs(y_pred: Array, from_logits: bool, axis: int) -> Array:
    """Log-probabilities from logits, or from (renormalized, clipped) probabilities."""
    if from_logits:
        return jax.nn.log_softmax(y_pred, axis=axis)
    p = y_pred / jnp.sum(y_pred, axis=axis, keepdims=True)
    return jnp.log(jnp.clip(p, EPSILON, 1.0 - EPSILON))


def _warn_one_class(name: str, y_pred: Array) -> None:
    if y_pred.ndim and y_pred.shape[-1] == 1:
        warnings.warn(f"In loss {name}, expected y_pred.shape to be (batch_size, "
                      f"num_classes) with num_classes > 1. Received: y_pred.shape="
                      f"{y_pred.shape}. Consider using 'binary_crossentropy' if you only have "
                      "2 classes.", stacklevel=3)


def _smooth(y_true: Array, label_smoothing: float, axis: int) -> Array:
    if not label_smoothing:
        return y_true
    classes = y_true.shape[axis]
    return y_true * (1.0 - label_smoothing) + label_smoothing / classes


def categorical_crossentropy(y_true: Any, y_pred: Any, from_logits: bool = False,
                             label_smoothing: float = 0.0, axis: int = -1) -> Array:
    _check_axis(axis)
    y_true, y_pred = _arrays(y_true, y_pred)
    _warn_one_class("categorical_crossentropy", y_pred)
    _same_shape("categorical_crossentropy", y_true, y_pred)
    y_true = _smooth(y_true, label_smoothing, axis)
    return -jnp.sum(y_true * _log_probs(y_pred, from_logits, axis), axis=axis)


def categorical_focal_crossentropy(y_true: Any, y_pred: Any, alpha: float = 0.25,
                                   gamma: float = 2.0, from_logits: bool = False,
                                   label_smoothing: float = 0.0, axis: int = -1) -> Array:
    _check_axis(axis)
    y_true, y_pred = _arrays(y_true, y_pred)
    _warn_one_class("categorical_focal_crossentropy", y_pred)
    _same_shape("categorical_focal_crossentropy", y_true, y_pred)
    y_true = _smooth(y_true, label_smoothing, axis)
    if from_logits:
        y_pred = jax.nn.softmax(y_pred, axis=axis)
    p = jnp.clip(y_pred / jnp.sum(y_pred, axis=axis, keepdims=True), EPSILON, 1.0 - EPSILON)
    focal = alpha * jnp.power(1.0 - p, gamma) * (-y_true * jnp.log(p))
    return jnp.sum(focal, axis=axis)


def _sparse_crossentropy(y_true: Any, y_pred: Any, from_logits: bool, ignore_class: int | None,
                         axis: int) -> tuple[Array, Array | None]:
    """The values, and (with ignore_class) which of them count."""
    _check_axis(axis)
    y_pred = jnp.asarray(y_pred)
    if not jnp.issubdtype(y_pred.dtype, jnp.floating):
        y_pred = y_pred.astype(jnp.float32)
    y_true = jnp.asarray(y_true)
    if y_true.ndim == y_pred.ndim and y_true.shape[axis] == 1:
        y_true = jnp.squeeze(y_true, axis=axis)
    class_axis = axis % y_pred.ndim if y_pred.ndim else 0
    expected = y_pred.shape[:class_axis] + y_pred.shape[class_axis + 1:]
    if y_pred.ndim == 0 or y_true.shape != expected:
        raise ValueError(
            "sparse_categorical_crossentropy expects integer class labels of shape "
            f"{expected} for y_pred of shape {y_pred.shape}. Received: y_true.shape="
            f"{y_true.shape}. For one-hot labels use categorical_crossentropy.")
    valid = None
    if ignore_class is not None:
        valid = y_true != jnp.asarray(ignore_class, y_true.dtype)
        y_true = jnp.where(valid, y_true, jnp.zeros_like(y_true))
        # any finite stand-in will do: the ignored values are set to 0 below
        y_pred = jnp.where(jnp.expand_dims(valid, class_axis), y_pred, jnp.ones_like(y_pred))
    labels = y_true.astype(jnp.int32)
    one_hot = jax.nn.one_hot(labels, y_pred.shape[class_axis], dtype=y_pred.dtype,
                             axis=class_axis)
    values = -jnp.sum(one_hot * _log_probs(y_pred, from_logits, class_axis), axis=class_axis)
    if valid is not None:
        values = jnp.where(valid, values, jnp.zeros_like(values))
    return values, valid


def sparse_categorical_crossentropy(y_true: Any, y_pred: Any, from_logits: bool = False,
                                    ignore_class: int | None = None, axis: int = -1) -> Array:
    return _sparse_crossentropy(y_true, y_pred, from_logits, ignore_class, axis)[0]


def _binary_values(y_true: Array, y_pred: Array, from_logits: bool) -> Array:
    """Element-wise binary cross-entropy."""
    _same_shape("binary_crossentropy", y_true, y_pred)
    if from_logits:
        return -y_true * jax.nn.log_sigmoid(y_pred) - (1.0 - y_true) * jax.nn.log_sigmoid(-y_pred)
    p = jnp.clip(y_pred, EPSILON, 1.0 - EPSILON)
    return -(y_true * jnp.log(p) + (1.0 - y_true) * jnp.log(1.0 - p))


def binary_crossentropy(y_true: Any, y_pred: Any, from_logits: bool = False,
                        label_smoothing: float = 0.0, axis: int = -1) -> Array:
    y_true, y_pred = _arrays(y_true, y_pred)
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + 0.5 * label_smoothing
    return jnp.mean(_binary_values(y_true, y_pred, from_logits), axis=axis)


def binary_focal_crossentropy(y_true: Any, y_pred: Any, apply_class_balancing: bool = False,
                              alpha: float = 0.25, gamma: float = 2.0,
                              from_logits: bool = False, label_smoothing: float = 0.0,
                              axis: int = -1) -> Array:
    y_true, y_pred = _arrays(y_true, y_pred)
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + 0.5 * label_smoothing
    if from_logits:
        y_pred = jax.nn.sigmoid(y_pred)
    bce = _binary_values(y_true, y_pred, from_logits=False)
    p_t = y_true * y_pred + (1.0 - y_true) * (1.0 - y_pred)
    focal = jnp.power(1.0 - p_t, gamma) * bce
    if apply_class_balancing:
        focal = (y_true * alpha + (1.0 - y_true) * (1.0 - alpha)) * focal
    return jnp.mean(focal, axis=axis)


# -- hinge -------------------------------------------------------------------------------------
def _signed_labels(y_true: Array) -> Array:
    """0/1 labels -> -1/1 (labels already -1/1, or other values, stay as they are)."""
    is_binary = jnp.all((y_true == 0) | (y_true == 1))
    return jnp.where(is_binary, 2.0 * y_true - 1.0, y_true)


def hinge(y_true: Any, y_pred: Any) -> Array:
    y_true, y_pred = _arrays(y_true, y_pred)
    return jnp.mean(jnp.maximum(1.0 - _signed_labels(y_true) * y_pred, 0.0), axis=-1)


def squared_hinge(y_true: Any, y_pred: Any) -> Array:
    y_true, y_pred = _arrays(y_true, y_pred)
    return jnp.mean(jnp.square(jnp.maximum(1.0 - _signed_labels(y_true) * y_pred, 0.0)),
                    axis=-1)


def categorical_hinge(y_true: Any, y_pred: Any) -> Array:
    y_true, y_pred = _arrays(y_true, y_pred)
    pos = jnp.sum(y_true * y_pred, axis=-1)
    neg = jnp.max((1.0 - y_true) * y_pred, axis=-1)
    return jnp.maximum(neg - pos + 1.0, 0.0)


# Keras' short names
mse = MSE = mean_squared_error
mae = MAE = mean_absolute_error
mape = MAPE = mean_absolute_percentage_error
msle = MSLE = mean_squared_logarithmic_error
kld = KLD = kullback_leibler_divergence = kl_divergence
logcosh = log_cosh
bce = binary_crossentropy
