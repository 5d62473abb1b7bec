"""Weight constraints (Keras 3 names): applied to a weight after each optimizer update."""

from __future__ import annotations

import math
from typing import Any

import jax.numpy as jnp

__all__ = ["Constraint", "MaxNorm", "MinMaxNorm", "NonNeg", "UnitNorm", "get", "serialize"]

_EPSILON = 1e-7


class Constraint:
    """Base class: `__call__(w) -> projected w`, `get_config`."""

    def __call__(self, w):
        return w

    def get_config(self) -> dict[str, Any]:
        return {}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Constraint:
        return cls(**config)


def _positive(value: Any, argument: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(
            value) or value < 0:
        raise ValueError(f"{argument} must be a non-negative number. Received: "
                         f"{argument}={value!r}")
    return float(value)


def _norms(w, axis):
    return jnp.sqrt(jnp.sum(jnp.square(w), axis=axis, keepdims=True))


class MaxNorm(Constraint):
    def __init__(self, max_value: float = 2.0, axis: int = 0) -> None:
        self.max_value, self.axis = _positive(max_value, "max_value"), axis

    def __call__(self, w):
        norms = _norms(w, self.axis)
        desired = jnp.clip(norms, 0, self.max_value)
        return w * (desired / (_EPSILON + norms))

    def get_config(self) -> dict[str, Any]:
        return {"max_value": self.max_value, "axis": self.axis}


class NonNeg(Constraint):
    def __call__(self, w):
        return w * (w >= 0).astype(w.dtype)


class UnitNorm(Constraint):
    def __init__(self, axis: int = 0) -> None:
        self.axis = axis

    def __call__(self, w):
        return w / (_EPSILON + _norms(w, self.axis))

    def get_config(self) -> dict[str, Any]:
        return {"axis": self.axis}


class MinMaxNorm(Constraint):
    def __init__(self, min_value: float = 0.0, max_value: float = 1.0, rate: float = 1.0,
                 axis: int = 0) -> None:
        self.min_value = _positive(min_value, "min_value")
        self.max_value = _positive(max_value, "max_value")
        self.rate, self.axis = _positive(rate, "rate"), axis

    def __call__(self, w):
        norms = _norms(w, self.axis)
        desired = (self.rate * jnp.clip(norms, self.min_value, self.max_value)
                   + (1 - self.rate) * norms)
        return w * (desired / (_EPSILON + norms))

    def get_config(self) -> dict[str, Any]:
        return {"min_value": self.min_value, "max_value": self.max_value, "rate": self.rate,
                "axis": self.axis}


_CLASSES = {c.__name__: c for c in (MaxNorm, MinMaxNorm, NonNeg, UnitNorm)}
_NAMES = {"max_norm": MaxNorm, "min_max_norm": MinMaxNorm, "non_neg": NonNeg,
          "unit_norm": UnitNorm}


def get(identifier: Any, argument: str = "kernel_constraint") -> Any:
    """None, a name ('max_norm', 'non_neg', ...), a constraint, a config dict of a built-in
    class, or a callable `w -> w`."""
    if identifier is None or isinstance(identifier, Constraint):
        return identifier
    if isinstance(identifier, str) and identifier in _NAMES:
        return _NAMES[identifier]()
    if isinstance(identifier, dict) and identifier.get("class_name") in _CLASSES:
        return _CLASSES[identifier["class_name"]].from_config(dict(identifier.get("config", {})))
    if callable(identifier) and not isinstance(identifier, str | dict):
        return identifier
    raise ValueError(f"{argument} must be None, a constraint such as "
                     f"cornu.constraints.MaxNorm(2.0), or one of {sorted(_NAMES)}. Received: "
                     f"{argument}={identifier!r}")


def serialize(constraint: Any) -> dict[str, Any] | None:
    if constraint is None:
        return None
    if type(constraint) not in _CLASSES.values():
        raise ValueError(f"Only the built-in constraints can be saved. Received: {constraint!r}")
    return {"class_name": type(constraint).__name__, "config": constraint.get_config()}
