"""Regression metrics: the functions give one value per sample (a mean over the last
axis), the classes average them over the samples seen; RootMeanSquaredError and R2Score
keep their own sums."""

from __future__ import annotations

import warnings
from typing import Any

import jax
import jax.numpy as jnp

from cornu.losses import functions as _losses
from cornu.metrics.base import (
    EPSILON,
    Metric,
    as_array,
    squeeze_or_expand_to_same_rank,
)
from cornu.metrics.reduction_metrics import Mean, MeanMetricWrapper

Array = jax.Array

__all__ = [
    "CosineSimilarity",
    "LogCoshError",
    "MeanAbsoluteError",
    "MeanAbsolutePercentageError",
    "MeanSquaredError",
    "MeanSquaredLogarithmicError",
    "R2Score",
    "RootMeanSquaredError",
    "cosine_similarity",
    "log_cosh",
    "mean_absolute_error",
    "mean_absolute_percentage_error",
    "mean_squared_error",
    "mean_squared_logarithmic_error",
]


def _pair(y_true: Any, y_pred: Any) -> tuple[Array, Array]:
    y_pred = as_array(y_pred)
    y_true = as_array(y_true, y_pred.dtype)
    return squeeze_or_expand_to_same_rank(y_true, y_pred)


# Keras' metric functions are its loss functions, on inputs converted as metrics convert
# them (numpy float64 -> float32): one definition each, in cornu.losses.functions
def mean_squared_error(y_true: Any, y_pred: Any) -> Array:
    return _losses.mean_squared_error(*_pair(y_true, y_pred))


def mean_absolute_error(y_true: Any, y_pred: Any) -> Array:
    return _losses.mean_absolute_error(*_pair(y_true, y_pred))


def mean_absolute_percentage_error(y_true: Any, y_pred: Any) -> Array:
    return _losses.mean_absolute_percentage_error(*_pair(y_true, y_pred))


def mean_squared_logarithmic_error(y_true: Any, y_pred: Any) -> Array:
    return _losses.mean_squared_logarithmic_error(*_pair(y_true, y_pred))


def log_cosh(y_true: Any, y_pred: Any) -> Array:
    """mean(log(cosh(y_pred - y_true))), computed without overflow."""
    return _losses.log_cosh(*_pair(y_true, y_pred))


def _l2_normalize(x: Array, axis: int) -> Array:
    inverse = jax.lax.rsqrt(jnp.sum(jnp.square(x), axis=axis, keepdims=True))
    return x * jnp.minimum(inverse, 1.0 / EPSILON)


def cosine_similarity(y_true: Any, y_pred: Any, axis: int = -1) -> Array:
    """sum(l2_normalize(y_true) * l2_normalize(y_pred)) along `axis`."""
    y_true, y_pred = _pair(y_true, y_pred)
    return jnp.sum(_l2_normalize(y_true, axis) * _l2_normalize(y_pred, axis), axis=axis)


class _Wrapper(MeanMetricWrapper):
    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "dtype": self.dtype}


class MeanSquaredError(_Wrapper):
    """mean(square(y_true - y_pred))."""

    def __init__(self, name: str = "mean_squared_error", dtype: Any = None) -> None:
        super().__init__(fn=mean_squared_error, name=name, dtype=dtype)


class MeanAbsoluteError(_Wrapper):
    """mean(abs(y_true - y_pred))."""

    def __init__(self, name: str = "mean_absolute_error", dtype: Any = None) -> None:
        super().__init__(fn=mean_absolute_error, name=name, dtype=dtype)


class MeanAbsolutePercentageError(_Wrapper):
    """100 * mean(abs((y_true - y_pred) / y_true)) (|y_true| at least 1e-7)."""

    def __init__(self, name: str = "mean_absolute_percentage_error", dtype: Any = None) -> None:
        super().__init__(fn=mean_absolute_percentage_error, name=name, dtype=dtype)


class MeanSquaredLogarithmicError(_Wrapper):
    """mean(square(log(y_true + 1) - log(y_pred + 1)))."""

    def __init__(self, name: str = "mean_squared_logarithmic_error", dtype: Any = None) -> None:
        super().__init__(fn=mean_squared_logarithmic_error, name=name, dtype=dtype)


class LogCoshError(_Wrapper):
    """mean(log(cosh(y_pred - y_true)))."""

    def __init__(self, name: str = "logcosh", dtype: Any = None) -> None:
        super().__init__(fn=log_cosh, name=name, dtype=dtype)


class CosineSimilarity(MeanMetricWrapper):
    """The mean cosine similarity of labels and predictions along `axis`."""

    def __init__(self, name: str = "cosine_similarity", dtype: Any = None,
                 axis: int = -1) -> None:
        super().__init__(fn=cosine_similarity, name=name, dtype=dtype, axis=axis)
        self.axis = axis

    def get_config(self) -> dict[str, Any]:
        # Keras leaves axis out of the config; it is kept here so a copy computes the same
        return {"name": self.name, "dtype": self.dtype, "axis": self.axis}


class RootMeanSquaredError(Mean):
    """sqrt(mean(square(y_pred - y_true))) over every value seen."""

    def __init__(self, name: str = "root_mean_squared_error", dtype: Any = None) -> None:
        super().__init__(name=name, dtype=dtype)

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        y_true = as_array(y_true, self.dtype)
        y_pred = as_array(y_pred, self.dtype)
        y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
        super().update_state(jnp.square(y_pred - y_true), sample_weight=sample_weight)

    def result(self) -> Array:
        return jnp.sqrt(super().result())


_CLASS_AGGREGATIONS = (None, "uniform_average", "variance_weighted_average")


class R2Score(Metric):
    """The coefficient of determination, 1 - SS_residual / SS_total, per target column,
    aggregated by `class_aggregation` (None, 'uniform_average' or
    'variance_weighted_average'); `num_regressors` > 0 gives the adjusted R2. Inputs are
    (batch, targets); the per-column variables are made at the first update."""

    def __init__(self, class_aggregation: str | None = "uniform_average",
                 num_regressors: int = 0, name: str = "r2_score", dtype: Any = None) -> None:
        super().__init__(name=name, dtype=dtype)
        if class_aggregation not in _CLASS_AGGREGATIONS:
            raise ValueError(f"class_aggregation must be one of {_CLASS_AGGREGATIONS}. "
                             f"Received: class_aggregation={class_aggregation!r}")
        if isinstance(num_regressors, bool) or not isinstance(num_regressors, int) \
                or num_regressors < 0:
            raise ValueError("num_regressors must be an integer >= 0. Received: "
                             f"num_regressors={num_regressors!r}")
        self.class_aggregation = class_aggregation
        self.num_regressors = num_regressors
        self.num_samples = self.add_variable(shape=(), initializer="zeros",
                                             name="num_samples")
        self._built = False

    def _build(self, y_true_shape: tuple, y_pred_shape: tuple) -> None:
        if len(y_pred_shape) != 2 or len(y_true_shape) != 2:
            raise ValueError("R2Score expects 2D inputs with shape (batch_size, output_dim). "
                             f"Received input shapes: y_pred.shape={y_pred_shape} and "
                             f"y_true.shape={y_true_shape}.")
        columns = (y_pred_shape[-1],)
        self.squared_sum = self.add_variable(shape=columns, initializer="zeros",
                                             name="squared_sum")
        self.sum = self.add_variable(shape=columns, initializer="zeros", name="sum")
        self.total_mse = self.add_variable(shape=columns, initializer="zeros",
                                           name="residual")
        self.count = self.add_variable(shape=columns, initializer="zeros", name="count")
        self._built = True

    def build_for_output(self, output_shape: tuple) -> None:
        """Make the per-column variables for a model output of this shape (compile)."""
        if not self._built and len(output_shape) == 2 and output_shape[-1] is not None:
            self._build(tuple(output_shape), tuple(output_shape))

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        y_true = as_array(y_true, self.dtype)
        y_pred = as_array(y_pred, self.dtype)
        y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
        if not self._built:
            self._build(y_true.shape, y_pred.shape)
        weight = as_array(1.0 if sample_weight is None else sample_weight, self.dtype)
        if weight.ndim == 1:
            weight = weight[:, None]
        weight = jnp.broadcast_to(weight, y_true.shape)
        weighted = y_true * weight
        self.sum.assign(self.sum.value + jnp.sum(weighted, axis=0))
        self.squared_sum.assign(self.squared_sum.value + jnp.sum(y_true * weighted, axis=0))
        self.total_mse.assign(self.total_mse.value
                              + jnp.sum(jnp.square(y_true - y_pred) * weight, axis=0))
        self.count.assign(self.count.value + jnp.sum(weight, axis=0))
        self.num_samples.assign(self.num_samples.value + y_true.size)

    def result(self) -> Array:
        if not self._built:
            raise ValueError("R2Score has seen no data yet: call update_state first.")
        mean = self.sum.value / self.count.value
        total = self.squared_sum.value - self.sum.value * mean
        raw = 1 - self.total_mse.value / total
        raw = jnp.where(jnp.isinf(raw), 0.0, raw)
        if self.class_aggregation == "uniform_average":
            score = jnp.mean(raw)
        elif self.class_aggregation == "variance_weighted_average":
            score = jnp.sum(total * raw) / jnp.sum(total)
        else:
            score = raw
        if self.num_regressors == 0:
            return score
        n = self.num_samples.value.astype(jnp.float32)
        p = float(self.num_regressors)
        if not isinstance(n, jax.core.Tracer) and p >= float(n) - 1:
            warnings.warn("More independent predictors than datapoints in adjusted R2 score "
                          "(or as many as datapoints - 1). Falling back to standard R2 "
                          "score.", stacklevel=2)
        adjusted = 1.0 - (1.0 - score) * (n - 1.0) / jnp.where(n - p - 1.0 > 0, n - p - 1.0,
                                                                1.0)
        return jnp.where(p < n - 1.0, adjusted, score)

    def reset_state(self) -> None:
        for v in self.variables:
            v.assign(jnp.zeros(v.shape, v.dtype))

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "class_aggregation": self.class_aggregation,
                "num_regressors": self.num_regressors}

