"""Sum, Mean and MeanMetricWrapper (the mean of a per-sample function)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from cornu.metrics.base import Metric, as_array, divide_no_nan, squeeze_or_expand_to_same_rank

Array = jax.Array

__all__ = ["Mean", "MeanMetricWrapper", "Sum", "reduce_to_samplewise_values"]


def _trailing(ndim: int, start: int) -> tuple[int, ...]:
    return tuple(range(start, ndim))


def reduce_to_samplewise_values(values: Any, sample_weight: Any, reduce_fn: Callable,
                                dtype: str) -> tuple[Array, Array | None]:
    """Keras' reduction of `values` (and `sample_weight`) to one value per sample: the
    weights' rank decides which axes are reduced before weighting."""
    values = as_array(values, dtype)
    if sample_weight is not None:
        sample_weight = as_array(sample_weight, dtype)
        values, sample_weight = squeeze_or_expand_to_same_rank(values, sample_weight)
        weight_ndim = sample_weight.ndim
        if values.ndim > weight_ndim:
            values = reduce_fn(values, axis=_trailing(values.ndim, weight_ndim))
        sample_weight = jnp.broadcast_to(sample_weight, values.shape)
        values = values * sample_weight
        if weight_ndim > 1:
            sample_weight = reduce_fn(sample_weight, axis=_trailing(weight_ndim, 1))
    if values.ndim > 1:
        values = reduce_fn(values, axis=_trailing(values.ndim, 1))
    return values, sample_weight


class Sum(Metric):
    """The (weighted) sum of the given values: [1, 3, 5, 7] gives 16; with
    sample_weight=[1, 1, 0, 0], 4."""

    def __init__(self, name: str = "sum", dtype: Any = None) -> None:
        super().__init__(name=name, dtype=dtype)
        self.total = self.add_variable(shape=(), initializer="zeros", dtype=self.dtype,
                                       name="total")

    def update_state(self, values: Any, sample_weight: Any = None) -> None:
        values, _ = reduce_to_samplewise_values(values, sample_weight, jnp.sum, self.dtype)
        self.total.assign_add(jnp.sum(values))

    def reset_state(self) -> None:
        self.total.assign(0)

    def result(self) -> Array:
        return self.total.value.astype(self.dtype)


class Mean(Metric):
    """The (weighted) mean of the given values: [1, 3, 5, 7] gives 4; with
    sample_weight=[1, 1, 0, 0], 2. Keeps `total` and `count`."""

    def __init__(self, name: str = "mean", dtype: Any = None) -> None:
        super().__init__(name=name, dtype=dtype)
        self.total = self.add_variable(shape=(), initializer="zeros", dtype=self.dtype,
                                       name="total")
        self.count = self.add_variable(shape=(), initializer="zeros", dtype=self.dtype,
                                       name="count")

    def update_state(self, values: Any, sample_weight: Any = None) -> None:
        values, sample_weight = reduce_to_samplewise_values(values, sample_weight, jnp.mean,
                                                            self.dtype)
        self.total.assign_add(jnp.sum(values))
        if sample_weight is not None:
            num_samples = jnp.sum(sample_weight)
        elif values.ndim >= 1:
            num_samples = values.shape[0]
        else:
            num_samples = 1
        self.count.assign_add(jnp.asarray(num_samples, self.dtype))

    def reset_state(self) -> None:
        self.total.assign(0)
        self.count.assign(0)

    def result(self) -> Array:
        return divide_no_nan(self.total.value, self.count.value.astype(self.dtype))


class MeanMetricWrapper(Mean):
    """The mean over samples of `fn(y_true, y_pred, **kwargs)`, a function giving one
    value per sample (or per element: the values are averaged over every axis but the
    first, the batch axis).

        def squared(y_true, y_pred):
            return (y_true - y_pred) ** 2

        metric = MeanMetricWrapper(squared, name="squared")

    `per_sample(y_true, y_pred)` gives those per-sample values, shape (batch,): the
    training loop sums them itself (the fast path). A subclass that overrides
    `update_state` or `result` has no `per_sample` (it is None), since its result is
    no longer that plain mean.
    """

    def __init__(self, fn: Callable, name: str | None = None, dtype: Any = None,
                 **kwargs: Any) -> None:
        if not callable(fn):
            raise TypeError(f"fn must be a function fn(y_true, y_pred). Received: fn={fn!r}")
        super().__init__(name=name or _function_name(fn), dtype=dtype)
        self._fn = fn
        self._fn_kwargs = kwargs

    def _values_and_mask(self, y_true: Any, y_pred: Any) -> tuple[Array, Array | None]:
        """fn's values, and a mask of the valid ones (or None). The mask only applies when
        sample weights are given, as Keras' masked metric values."""
        return self._fn(as_array(y_true), as_array(y_pred), **self._fn_kwargs), None

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        from cornu.variables import output_mask

        in_mask = output_mask(y_pred)  # a model output's mask: its entries as weights
        if in_mask is not None:
            in_mask = as_array(in_mask, self.dtype)
            if sample_weight is None:
                sample_weight = in_mask
            else:
                in_mask, sample_weight = squeeze_or_expand_to_same_rank(
                    in_mask, as_array(sample_weight, self.dtype))
                sample_weight = sample_weight * in_mask
        values, mask = self._values_and_mask(y_true, y_pred)
        if mask is not None and sample_weight is not None:
            mask = as_array(mask, self.dtype)
            sample_weight = as_array(sample_weight, self.dtype)
            mask, sample_weight = squeeze_or_expand_to_same_rank(mask, sample_weight)
            sample_weight = sample_weight * mask
        super().update_state(values, sample_weight=sample_weight)

    @property
    def per_sample(self) -> Callable[[Any, Any], Array] | None:  # type: ignore[override]
        cls = type(self)
        if cls.update_state is not MeanMetricWrapper.update_state \
                or cls.result is not Mean.result:
            return None
        return self._per_sample

    def _per_sample(self, y_true: Any, y_pred: Any) -> Array:
        """One value per sample, shape (batch,): fn's values averaged over every axis
        but the first (what `update_state` without sample weights accumulates)."""
        values = as_array(self._values_and_mask(y_true, y_pred)[0], self.dtype)
        if values.ndim == 0:  # one value for the whole batch: each sample gets it
            return jnp.broadcast_to(values, (jnp.shape(y_pred)[0],))
        if values.ndim > 1:
            values = jnp.mean(values, axis=_trailing(values.ndim, 1))
        return values

    def per_sample_masked(self, y_true: Any, y_pred: Any, mask: Any) -> tuple[Array, Array]:
        """For an output that carries a mask: (value, weight) per sample, shape (batch,),
        as Keras' update_state accumulates them (the mask as sample weights, and the
        entries fn itself drops); the metric is the sum of the values over the sum of
        the weights, the mean over the unmasked entries."""
        values, own = self._values_and_mask(y_true, y_pred)
        values = as_array(values, self.dtype)
        weights = as_array(mask, self.dtype)
        if own is not None:
            own, weights = squeeze_or_expand_to_same_rank(as_array(own, self.dtype), weights)
            weights = weights * own
        values, weights = squeeze_or_expand_to_same_rank(values, weights)
        if values.ndim > weights.ndim:  # fn's values reduced to the mask's axes
            values = jnp.mean(values, axis=tuple(range(weights.ndim, values.ndim)))
        weights = jnp.broadcast_to(weights, values.shape)
        values = values * weights
        if values.ndim > 1:
            values = jnp.mean(values, axis=_trailing(values.ndim, 1))
            weights = jnp.mean(weights, axis=_trailing(weights.ndim, 1))
        return values, weights

    def get_config(self) -> dict[str, Any]:
        from cornu.metrics import _function_config

        return {**super().get_config(), "fn": _function_config(self._fn),
                **self._fn_kwargs}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> MeanMetricWrapper:
        from cornu.metrics import _function_from_config

        config = dict(config)
        if "fn" in config:
            config["fn"] = _function_from_config(config["fn"])
        return cls(**config)


def _function_name(fn: Any) -> str:
    name = getattr(fn, "name", None)
    if isinstance(name, str) and name:
        return name
    name = getattr(fn, "__name__", None) or type(fn).__name__
    return name if name != "<lambda>" else "lambda"
