"""Weight penalties by their Keras 3 names, added to the training loss.

    Dense(64, kernel_regularizer=cornu.regularizers.L2(1e-4))
    Dense(64, kernel_regularizer="l2")            # L2(l2=0.01)

A regularizer is called on one weight array and returns a scalar: L1 is
`l1 * sum(|w|)`, L2 is `l2 * sum(w**2)` (no factor 1/2, as in Keras).
"""

from __future__ import annotations

import math
from typing import Any

import jax
import jax.numpy as jnp

from cornu._names import lookup

__all__ = ["L1", "L1L2", "L2", "Regularizer", "get", "l1", "l1_l2", "l2", "serialize"]


def _factor(value: Any, argument: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) \
            or value < 0:
        raise ValueError(
            f"{argument} must be a non-negative number. Received: {argument}={value!r}"
        )
    return float(value)


class Regularizer:
    """Base: `regularizer(weights) -> scalar penalty`."""

    def __call__(self, x: jax.Array) -> jax.Array:
        return jnp.zeros((), jnp.float32)

    def get_config(self) -> dict[str, Any]:
        return {}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Regularizer:
        return cls(**config)

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and self.get_config() == other.get_config()

    def __hash__(self) -> int:
        return hash((type(self).__name__, tuple(sorted(self.get_config().items()))))

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class L1(Regularizer):
    def __init__(self, l1: float = 0.01) -> None:
        self.l1 = _factor(l1, "l1")

    def __call__(self, x: jax.Array) -> jax.Array:
        return self.l1 * jnp.sum(jnp.abs(x))

    def get_config(self) -> dict[str, Any]:
        return {"l1": self.l1}


class L2(Regularizer):
    def __init__(self, l2: float = 0.01) -> None:
        self.l2 = _factor(l2, "l2")

    def __call__(self, x: jax.Array) -> jax.Array:
        return self.l2 * jnp.sum(jnp.square(x))

    def get_config(self) -> dict[str, Any]:
        return {"l2": self.l2}


class L1L2(Regularizer):
    def __init__(self, l1: float = 0.0, l2: float = 0.0) -> None:
        self.l1 = _factor(l1, "l1")
        self.l2 = _factor(l2, "l2")

    def __call__(self, x: jax.Array) -> jax.Array:
        penalty = jnp.zeros((), jnp.float32)
        if self.l1:
            penalty = penalty + self.l1 * jnp.sum(jnp.abs(x))
        if self.l2:
            penalty = penalty + self.l2 * jnp.sum(jnp.square(x))
        return penalty

    def get_config(self) -> dict[str, Any]:
        return {"l1": self.l1, "l2": self.l2}


_TABLE: dict[str, type[Regularizer]] = {"l1": L1, "l2": L2, "l1_l2": L1L2}
# Keras' lower-case spellings: cornu.regularizers.l2(0.01)
l1, l2, l1_l2 = L1, L2, L1L2
_CLASSES: dict[str, type[Regularizer]] = {"L1": L1, "L2": L2, "L1L2": L1L2}


def get(identifier: Any, argument: str = "kernel_regularizer") -> Regularizer | None:
    """None, a name ('l1', 'l2', 'l1_l2': the class with its defaults), a regularizer,
    or a config dict {'class_name': 'L2', 'config': {'l2': 0.01}} (what `serialize` gives)."""
    if identifier is None or isinstance(identifier, Regularizer):
        return identifier
    if isinstance(identifier, dict):
        name = identifier.get("class_name")
        if name not in _CLASSES:
            raise ValueError(
                f"Unknown regularizer class in {argument}: {name!r}. Known: "
                f"{', '.join(_CLASSES)}. Received: {argument}={identifier!r}"
            )
        return _CLASSES[name].from_config(dict(identifier.get("config") or {}))
    if isinstance(identifier, str):
        return lookup("regularizer", argument, identifier, _TABLE)()
    if callable(identifier):
        return identifier  # a plain function weights -> scalar (not savable by name)
    raise TypeError(
        f"{argument} must be None, a name ('l1', 'l2', 'l1_l2') or a regularizer such as "
        f"cornu.regularizers.L2(0.01). Received: {argument}={identifier!r}"
    )


def serialize(regularizer: Regularizer | None) -> dict[str, Any] | None:
    """The JSON form a layer config holds (None when there is no regularizer)."""
    if regularizer is None:
        return None
    if type(regularizer) not in _CLASSES.values():
        raise ValueError(
            "Only the built-in regularizers (L1, L2, L1L2) can be saved in a config. "
            f"Received: {regularizer!r}"
        )
    return {"class_name": type(regularizer).__name__, "config": regularizer.get_config()}
