"""The Loss base class, the function wrapper and Keras' reductions.

A loss is written as in Keras 3: subclass `Loss` and override `call(y_true, y_pred)`,
returning one value per sample (or per element). `loss(y_true, y_pred, sample_weight)`
weights and reduces those values as Keras does. The training loop instead asks for
`per_sample(y_true, y_pred)`, shape (batch,), and does the weighting and averaging
itself, over the real (unpadded) samples.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

Array = jax.Array
EPSILON = 1e-7  # Keras' backend epsilon, used to clip probabilities

REDUCTIONS = ("sum_over_batch_size", "sum", "mean", "mean_with_sample_weight", "none", None)

__all__ = ["EPSILON", "REDUCTIONS", "Loss", "LossFunctionWrapper", "mean_per_sample",
           "reduce_weighted_values", "squeeze_or_expand_to_same_rank", "standardize_reduction"]


def standardize_reduction(reduction: Any) -> str | None:
    if reduction is not None and not (isinstance(reduction, str) and reduction in REDUCTIONS):
        known = ", ".join(repr(r) for r in REDUCTIONS[:-1])
        raise ValueError(f"reduction must be one of {known} or None. "
                         f"Received: reduction={reduction!r}")
    return reduction


def compute_dtype(dtype: Any) -> str:
    """The dtype a loss computes in: float32 by default, a policy's compute dtype, or a
    floating dtype by name."""
    if dtype is None:
        return "float32"
    policy_dtype = getattr(dtype, "compute_dtype", None)
    if isinstance(policy_dtype, str):
        return policy_dtype
    if isinstance(dtype, str) and dtype.startswith("mixed_"):
        from cornu import mixed_precision

        return mixed_precision.get(dtype, "dtype").compute_dtype
    try:
        resolved = jnp.dtype(dtype)
    except TypeError:
        resolved = None
    if resolved is None or not jnp.issubdtype(resolved, jnp.floating):
        raise ValueError("dtype must be a floating dtype (e.g. 'float32') or a dtype policy. "
                         f"Received: dtype={dtype!r}")
    return resolved.name


def _snake(name: str) -> str:
    """Keras' default loss names: MeanSquaredError -> mean_squared_error."""
    name = re.sub(r"\W+", "", name)
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


def squeeze_or_expand_to_same_rank(x1: Array, x2: Array, expand_rank_1: bool = True
                                   ) -> tuple[Array, Array]:
    """Keras' shape fix-up: where the ranks differ by one and the longer shape ends in 1,
    squeeze that axis (or, for a rank-1 partner, add it to the partner)."""
    r1, r2 = x1.ndim, x2.ndim
    if r1 == r2 + 1 and x1.shape[-1] == 1:
        if r2 == 1 and expand_rank_1:
            x2 = jnp.expand_dims(x2, -1)
        else:
            x1 = jnp.squeeze(x1, -1)
    elif r2 == r1 + 1 and x2.shape[-1] == 1:
        if r1 == 1 and expand_rank_1:
            x1 = jnp.expand_dims(x1, -1)
        else:
            x2 = jnp.squeeze(x2, -1)
    return x1, x2


def _align(values: Array, weights: Array, argument: str = "sample_weight"
           ) -> tuple[Array, Array]:
    """Give both the same rank (trailing axes of 1 on the shorter: weights follow the
    leading, batch axes) and check that they broadcast."""
    if weights.ndim < values.ndim:
        weights = weights.reshape(weights.shape + (1,) * (values.ndim - weights.ndim))
    elif values.ndim < weights.ndim:
        values = values.reshape(values.shape + (1,) * (weights.ndim - values.ndim))
    try:
        jnp.broadcast_shapes(values.shape, weights.shape)
    except ValueError:
        raise ValueError(f"{argument} with shape {weights.shape} does not fit the loss "
                         f"values of shape {values.shape}: give one weight per sample, "
                         "shape (batch,), or one per loss value.") from None
    return values, weights


def _divide_no_nan(a: Array, b: Array) -> Array:
    safe = jnp.where(b == 0, jnp.ones_like(b), b)
    return jnp.where(b == 0, jnp.zeros_like(a), a / safe)


def _mask_weight(mask: Array, dtype: Any, reduction: str | None) -> Array:
    """A mask as weights. For the averaging reductions, valid entries weigh total/valid,
    so the average runs over the valid entries only (Keras' apply_mask)."""
    mask = jnp.asarray(mask).astype(bool)
    if reduction in ("mean", "sum_over_batch_size"):
        total = jnp.asarray(mask.size, dtype)
        valid = jnp.sum(mask.astype(dtype))
        return jnp.where(mask, _divide_no_nan(total, valid), jnp.zeros((), dtype))
    return mask.astype(dtype)


def reduce_weighted_values(values: Array, sample_weight: Array | None = None,
                           mask: Array | None = None,
                           reduction: str | None = "sum_over_batch_size",
                           dtype: Any = "float32") -> Array:
    """Weight `values` by `sample_weight` (and `mask`) and reduce them, as Keras."""
    reduction = standardize_reduction(reduction)
    values = jnp.asarray(values, dtype)
    weights = None if sample_weight is None else jnp.asarray(sample_weight, dtype)
    if mask is not None:
        float_mask = _mask_weight(mask, values.dtype, reduction)
        if weights is None:
            weights = float_mask
        else:
            float_mask, weights = squeeze_or_expand_to_same_rank(float_mask, weights)
            float_mask, weights = _align(float_mask, weights)
            weights = weights * float_mask
    if weights is not None:
        values, weights = squeeze_or_expand_to_same_rank(values, weights)
        values, weights = _align(values, weights)
        values = values * weights
    if reduction in (None, "none") or values.shape in ((), (0,)):
        return values
    total = jnp.sum(values)
    if reduction == "sum":
        return total
    if reduction == "mean_with_sample_weight" and weights is not None:
        divisor = jnp.sum(weights)
    else:
        divisor = jnp.asarray(values.size, total.dtype)
    return _divide_no_nan(total, divisor.astype(total.dtype))


def mean_per_sample(values: Array) -> Array:
    """Mean over every axis but the batch axis: shape (batch,)."""
    if values.ndim <= 1:
        return values
    return jnp.mean(values.reshape(values.shape[0], -1), axis=1)


class Loss:
    """Loss base class, as Keras' `keras.losses.Loss`.

    Subclasses override `call(y_true, y_pred)`, returning the unreduced loss values
    (one per sample, or one per element). Calling the loss reduces them:
    `reduction` is "sum_over_batch_size" (the default: the sum over the number of values),
    "sum", "mean" (the same as "sum_over_batch_size"), "mean_with_sample_weight" (the sum
    over the sum of the sample weights), or None / "none" (no reduction).

    What the training loop reads besides `call`: `from_logits`, `logits_of` (the output
    activation whose logits the loss can take directly), `label_kind` ('categorical',
    'sparse', 'binary' or None: how 'accuracy' and the labels are read), `with_logits()`
    and `per_sample()`.
    """

    from_logits: bool = False
    logits_of: str | None = None
    label_kind: str | None = None
    #: cornu's own losses (fit checks labels against them); users' losses are not checked
    builtin: bool = False

    def __init__(self, name: str | None = None, reduction: str | None = "sum_over_batch_size",
                 dtype: Any = None) -> None:
        if name is not None and not isinstance(name, str):
            raise ValueError(f"name must be a string or None. Received: name={name!r}")
        self.name = name or _snake(type(self).__name__)
        self.reduction = standardize_reduction(reduction)
        self._dtype = compute_dtype(dtype)

    @property
    def dtype(self) -> str:
        return self._dtype

    def call(self, y_true: Array, y_pred: Array) -> Array:
        raise NotImplementedError(
            f"{type(self).__name__} must override call(y_true, y_pred), returning the loss "
            "of each sample (or element), unreduced.")

    def _values_and_mask(self, y_true: Any, y_pred: Any) -> tuple[Array, Array | None]:
        """`call`'s values, and which of them count (None: all). Losses that ignore some
        entries (SparseCategoricalCrossentropy's ignore_class) override this."""
        return jnp.asarray(self.call(y_true, y_pred)), None

    def _convert(self, y_true: Any, y_pred: Any) -> tuple[Array, Array]:
        """Both in the loss's dtype, as Keras' Loss.__call__ converts them."""
        return jnp.asarray(y_true, self.dtype), jnp.asarray(y_pred, self.dtype)

    def __call__(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> Array:
        from cornu.variables import output_mask

        in_mask = output_mask(y_pred)  # a model output's mask (Keras' _keras_mask)
        y_true, y_pred = self._convert(y_true, y_pred)
        values, mask = self._values_and_mask(y_true, y_pred)
        if in_mask is not None:
            in_mask = jnp.asarray(in_mask).astype(bool)
            if mask is not None:
                mask, in_mask = squeeze_or_expand_to_same_rank(
                    jnp.asarray(mask).astype(bool), in_mask)
                in_mask = in_mask & mask
            mask = in_mask
        return reduce_weighted_values(values, sample_weight, mask, self.reduction, self.dtype)

    def per_sample(self, y_true: Any, y_pred: Any) -> Array:
        """The loss of each sample, shape (batch,), float32: `call` averaged over every
        axis but the first. The mean of these is the "sum_over_batch_size" reduction
        (entries that a mask drops are weighted as that reduction weighs them)."""
        y_true, y_pred = self._convert(y_true, y_pred)
        values, mask = self._values_and_mask(y_true, y_pred)
        if mask is not None:
            float_mask = _mask_weight(mask, values.dtype, "sum_over_batch_size")
            values, float_mask = _align(values, float_mask, "the mask")
            values = values * float_mask
        batch = y_pred.shape[0] if y_pred.ndim else 1
        if values.ndim == 0:  # one value for the whole batch: every sample shares it
            values = jnp.broadcast_to(values, (batch,))
        elif values.shape[0] != batch:
            raise ValueError(
                f"{type(self).__name__}.call must return one value per sample (shape "
                f"({batch}, ...)) or per element. Received values of shape {values.shape} "
                f"for y_pred of shape {y_pred.shape}.")
        return mean_per_sample(values).astype(jnp.float32)

    def per_sample_masked(self, y_true: Any, y_pred: Any, mask: Any, rows: Any) -> Array:
        """`per_sample` for an output that carries a mask (Embedding(mask_zero=True)
        upstream), as Keras' apply_mask weighs it: the batch's loss is the sum of `call`'s
        values over the unmasked entries over their number (times the mask's entries per
        value), so the mean of these values over the real samples (`rows`, 1 for each,
        0 for padding) is that loss. Entries the loss itself drops (ignore_class) are
        dropped too."""
        y_true, y_pred = self._convert(y_true, y_pred)
        values, own = self._values_and_mask(y_true, y_pred)
        batch = values.shape[0] if values.ndim else 1
        keep = jnp.asarray(mask).astype(bool)
        if own is not None:
            own, keep = squeeze_or_expand_to_same_rank(jnp.asarray(own).astype(bool), keep)
            own, keep = _align(own, keep, "the mask")
            keep = keep & own
        rows = jnp.asarray(rows, values.dtype)
        weights = keep.astype(values.dtype) * rows.reshape(rows.shape + (1,) * (keep.ndim - 1))
        valid = jnp.sum(weights)  # the unmasked entries of the real samples
        per_row = max(1, int(np.prod(keep.shape[1:])))  # the mask's entries per sample
        if values.ndim == 0:
            values = jnp.broadcast_to(values, (batch,))
        values, weights = squeeze_or_expand_to_same_rank(values, weights)
        values, weights = _align(values, weights, "the output mask")
        per_value = max(1, int(np.prod(values.shape[1:])))  # the loss values per sample
        summed = jnp.sum((values * weights).reshape(batch, -1), axis=1)
        scale = _divide_no_nan(jnp.sum(rows) * (per_row / per_value), valid)
        return (summed * scale).astype(jnp.float32)

    def with_logits(self) -> Loss:
        """An equivalent loss that takes logits (from_logits=True)."""
        if self.logits_of is None:
            raise ValueError(f"Loss {self.name!r} cannot take logits.")
        new = copy.copy(self)
        new.from_logits = True
        return new

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "reduction": self.reduction}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Loss:
        return cls(**config)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name!r}>"


def function_config(fn: Callable) -> dict[str, Any]:
    """A function as Keras serializes it (by name only: nothing is imported back)."""
    name = getattr(fn, "__name__", type(fn).__name__)
    return {"module": "builtins", "class_name": "function", "config": name,
            "registered_name": "function"}


class LossFunctionWrapper(Loss):
    """A loss from a function `fn(y_true, y_pred, **kwargs)` returning unreduced values,
    as Keras' `keras.losses.LossFunctionWrapper`."""

    def __init__(self, fn: Callable[..., Array], reduction: str | None = "sum_over_batch_size",
                 name: str | None = None, dtype: Any = None, **kwargs: Any) -> None:
        if not callable(fn):
            raise ValueError("fn must be a function fn(y_true, y_pred) returning the loss "
                             f"values. Received: fn={fn!r}")
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.fn = fn
        self._fn_kwargs = kwargs
        if isinstance(kwargs.get("from_logits"), bool):
            self.from_logits = kwargs["from_logits"]

    def call(self, y_true: Array, y_pred: Array) -> Array:
        y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
        return self.fn(y_true, y_pred, **self._fn_kwargs)

    def with_logits(self) -> Loss:
        new = super().with_logits()
        if "from_logits" in self._fn_kwargs:
            new._fn_kwargs = {**self._fn_kwargs, "from_logits": True}  # type: ignore[attr-defined]
        return new

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "fn": function_config(self.fn), **self._fn_kwargs}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Loss:
        """`fn` must be a function here already: cornu.losses.deserialize resolves a saved
        one (cornu's own functions, or those passed in custom_objects)."""
        return cls(**config)

    def __repr__(self) -> str:
        return f"<LossFunctionWrapper({getattr(self.fn, '__name__', self.fn)}, " \
               f"kwargs={self._fn_kwargs})>"
