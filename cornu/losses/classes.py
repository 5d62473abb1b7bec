"""The built-in loss classes, Keras 3's names, arguments and defaults."""

from __future__ import annotations

from numbers import Real
from typing import Any

import jax

from cornu.losses import functions as F
from cornu.losses.base import Loss, LossFunctionWrapper, squeeze_or_expand_to_same_rank

Array = jax.Array
SUM_OVER_BATCH = "sum_over_batch_size"

__all__ = [
    "BinaryCrossentropy", "BinaryFocalCrossentropy", "CategoricalCrossentropy",
    "CategoricalFocalCrossentropy", "CategoricalHinge", "CosineSimilarity", "Hinge", "Huber",
    "KLDivergence", "LogCosh", "MeanAbsoluteError", "MeanAbsolutePercentageError",
    "MeanSquaredError", "MeanSquaredLogarithmicError", "Poisson",
    "SparseCategoricalCrossentropy", "SquaredHinge",
]


def _bool(value: Any, argument: str) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"{argument} must be True or False. Received: {argument}={value!r}")
    return value


def _number(value: Any, argument: str, low: float | None = None, high: float | None = None,
            rule: str = "a number") -> float:
    if (isinstance(value, bool) or not isinstance(value, Real)
            or (low is not None and value < low) or (high is not None and value > high)):
        raise ValueError(f"{argument} must be {rule}. Received: {argument}={value!r}")
    return value  # type: ignore[return-value]


def _axis(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"axis must be an integer. Received: axis={value!r}")
    return value


def _smoothing(value: Any) -> float:
    return _number(value, "label_smoothing", 0.0, 1.0, "a number in [0, 1]")


class _Builtin(LossFunctionWrapper):
    """A built-in loss: its config is Loss's plus the arguments named in `_args`."""

    _args: tuple[str, ...] = ()
    builtin = True

    def get_config(self) -> dict[str, Any]:
        return {**Loss.get_config(self), **{k: getattr(self, k) for k in self._args}}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={getattr(self, k)!r}" for k in self._args)
        return f"{type(self).__name__}({args})"


class MeanSquaredError(_Builtin):
    def __init__(self, reduction: str | None = SUM_OVER_BATCH, name: str = "mean_squared_error",
                 dtype: Any = None) -> None:
        super().__init__(F.mean_squared_error, reduction=reduction, name=name, dtype=dtype)


class MeanAbsoluteError(_Builtin):
    def __init__(self, reduction: str | None = SUM_OVER_BATCH,
                 name: str = "mean_absolute_error", dtype: Any = None) -> None:
        super().__init__(F.mean_absolute_error, reduction=reduction, name=name, dtype=dtype)


class MeanAbsolutePercentageError(_Builtin):
    def __init__(self, reduction: str | None = SUM_OVER_BATCH,
                 name: str = "mean_absolute_percentage_error", dtype: Any = None) -> None:
        super().__init__(F.mean_absolute_percentage_error, reduction=reduction, name=name,
                         dtype=dtype)


class MeanSquaredLogarithmicError(_Builtin):
    def __init__(self, reduction: str | None = SUM_OVER_BATCH,
                 name: str = "mean_squared_logarithmic_error", dtype: Any = None) -> None:
        super().__init__(F.mean_squared_logarithmic_error, reduction=reduction, name=name,
                         dtype=dtype)


class CosineSimilarity(_Builtin):
    _args = ("axis",)

    def __init__(self, axis: int = -1, reduction: str | None = SUM_OVER_BATCH,
                 name: str = "cosine_similarity", dtype: Any = None) -> None:
        self.axis = _axis(axis)
        super().__init__(F.cosine_similarity, reduction=reduction, name=name, dtype=dtype,
                         axis=axis)


class Huber(_Builtin):
    _args = ("delta",)

    def __init__(self, delta: float = 1.0, reduction: str | None = SUM_OVER_BATCH,
                 name: str = "huber_loss", dtype: Any = None) -> None:
        self.delta = _number(delta, "delta", 0.0, rule="a non-negative number")
        super().__init__(F.huber, reduction=reduction, name=name, dtype=dtype, delta=delta)


class LogCosh(_Builtin):
    def __init__(self, reduction: str | None = SUM_OVER_BATCH, name: str = "log_cosh",
                 dtype: Any = None) -> None:
        super().__init__(F.log_cosh, reduction=reduction, name=name, dtype=dtype)


class Hinge(_Builtin):
    def __init__(self, reduction: str | None = SUM_OVER_BATCH, name: str = "hinge",
                 dtype: Any = None) -> None:
        super().__init__(F.hinge, reduction=reduction, name=name, dtype=dtype)


class SquaredHinge(_Builtin):
    def __init__(self, reduction: str | None = SUM_OVER_BATCH, name: str = "squared_hinge",
                 dtype: Any = None) -> None:
        super().__init__(F.squared_hinge, reduction=reduction, name=name, dtype=dtype)


class CategoricalHinge(_Builtin):
    def __init__(self, reduction: str | None = SUM_OVER_BATCH, name: str = "categorical_hinge",
                 dtype: Any = None) -> None:
        super().__init__(F.categorical_hinge, reduction=reduction, name=name, dtype=dtype)


class KLDivergence(_Builtin):
    def __init__(self, reduction: str | None = SUM_OVER_BATCH, name: str = "kl_divergence",
                 dtype: Any = None) -> None:
        super().__init__(F.kl_divergence, reduction=reduction, name=name, dtype=dtype)


class Poisson(_Builtin):
    def __init__(self, reduction: str | None = SUM_OVER_BATCH, name: str = "poisson",
                 dtype: Any = None) -> None:
        super().__init__(F.poisson, reduction=reduction, name=name, dtype=dtype)


class BinaryCrossentropy(_Builtin):
    _args = ("from_logits", "label_smoothing", "axis")
    logits_of = "sigmoid"  # element-wise: a sigmoid output's logits serve on any axis
    label_kind = "binary"

    def __init__(self, from_logits: bool = False, label_smoothing: float = 0.0, axis: int = -1,
                 reduction: str | None = SUM_OVER_BATCH, name: str = "binary_crossentropy",
                 dtype: Any = None) -> None:
        self.label_smoothing = _smoothing(label_smoothing)
        self.axis = _axis(axis)
        super().__init__(F.binary_crossentropy, reduction=reduction, name=name, dtype=dtype,
                         from_logits=_bool(from_logits, "from_logits"),
                         label_smoothing=label_smoothing, axis=axis)


class BinaryFocalCrossentropy(_Builtin):
    _args = ("from_logits", "label_smoothing", "axis", "apply_class_balancing", "alpha",
             "gamma")
    label_kind = "binary"

    def __init__(self, apply_class_balancing: bool = False, alpha: float = 0.25,
                 gamma: float = 2.0, from_logits: bool = False, label_smoothing: float = 0.0,
                 axis: int = -1, reduction: str | None = SUM_OVER_BATCH,
                 name: str = "binary_focal_crossentropy", dtype: Any = None) -> None:
        self.apply_class_balancing = _bool(apply_class_balancing, "apply_class_balancing")
        self.alpha = _number(alpha, "alpha", 0.0, 1.0, "a number in [0, 1]")
        self.gamma = _number(gamma, "gamma", 0.0, rule="a non-negative number")
        self.label_smoothing = _smoothing(label_smoothing)
        self.axis = _axis(axis)
        super().__init__(F.binary_focal_crossentropy, reduction=reduction, name=name,
                         dtype=dtype, apply_class_balancing=apply_class_balancing, alpha=alpha,
                         gamma=gamma, from_logits=_bool(from_logits, "from_logits"),
                         label_smoothing=label_smoothing, axis=axis)


class CategoricalCrossentropy(_Builtin):
    _args = ("from_logits", "label_smoothing", "axis")
    label_kind = "categorical"

    def __init__(self, from_logits: bool = False, label_smoothing: float = 0.0, axis: int = -1,
                 reduction: str | None = SUM_OVER_BATCH, name: str = "categorical_crossentropy",
                 dtype: Any = None) -> None:
        self.label_smoothing = _smoothing(label_smoothing)
        self.axis = _axis(axis)
        super().__init__(F.categorical_crossentropy, reduction=reduction, name=name,
                         dtype=dtype, from_logits=_bool(from_logits, "from_logits"),
                         label_smoothing=label_smoothing, axis=axis)

    @property
    def logits_of(self) -> str | None:  # type: ignore[override]
        return "softmax" if self.axis == -1 else None  # a softmax output is over the last axis


class CategoricalFocalCrossentropy(_Builtin):
    _args = ("from_logits", "label_smoothing", "axis", "alpha", "gamma")
    label_kind = "categorical"

    def __init__(self, alpha: float = 0.25, gamma: float = 2.0, from_logits: bool = False,
                 label_smoothing: float = 0.0, axis: int = -1,
                 reduction: str | None = SUM_OVER_BATCH,
                 name: str = "categorical_focal_crossentropy", dtype: Any = None) -> None:
        self.alpha = _number(alpha, "alpha", 0.0, 1.0, "a number in [0, 1]")
        self.gamma = _number(gamma, "gamma", 0.0, rule="a non-negative number")
        self.label_smoothing = _smoothing(label_smoothing)
        self.axis = _axis(axis)
        super().__init__(F.categorical_focal_crossentropy, reduction=reduction, name=name,
                         dtype=dtype, alpha=alpha, gamma=gamma,
                         from_logits=_bool(from_logits, "from_logits"),
                         label_smoothing=label_smoothing, axis=axis)


class SparseCategoricalCrossentropy(_Builtin):
    _args = ("from_logits", "ignore_class", "axis")
    label_kind = "sparse"

    def __init__(self, from_logits: bool = False, ignore_class: int | None = None,
                 reduction: str | None = SUM_OVER_BATCH, axis: int = -1,
                 name: str = "sparse_categorical_crossentropy", dtype: Any = None) -> None:
        if ignore_class is not None and (isinstance(ignore_class, bool)
                                         or not isinstance(ignore_class, int)):
            raise ValueError("ignore_class must be an integer class index or None. Received: "
                             f"ignore_class={ignore_class!r}")
        self.ignore_class = ignore_class
        self.axis = _axis(axis)
        super().__init__(F.sparse_categorical_crossentropy, reduction=reduction, name=name,
                         dtype=dtype, from_logits=_bool(from_logits, "from_logits"),
                         ignore_class=ignore_class, axis=axis)

    @property
    def logits_of(self) -> str | None:  # type: ignore[override]
        return "softmax" if self.axis == -1 else None

    def _values_and_mask(self, y_true: Any, y_pred: Any) -> tuple[Array, Array | None]:
        # as Keras, the ignored labels drop out of the average, not only out of the sum
        y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
        return F._sparse_crossentropy(y_true, y_pred, **self._fn_kwargs)
