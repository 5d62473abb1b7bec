"""Activation functions by their Keras 3 names, as pure `jax.numpy` functions."""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp

from cornu import variables
from cornu._names import lookup

Array = jax.Array
Activation = Callable[[Array], Array]

__all__ = [
    "elu",
    "exponential",
    "gelu",
    "get",
    "hard_sigmoid",
    "leaky_relu",
    "linear",
    "relu",
    "selu",
    "serialize",
    "sigmoid",
    "silu",
    "softmax",
    "softplus",
    "softsign",
    "swish",
    "tanh",
]


def linear(x: Array) -> Array:
    return x


def sigmoid(x: Array) -> Array:
    return variables.record_logits(jax.nn.sigmoid(x), x, "sigmoid")


def hard_sigmoid(x: Array) -> Array:
    """Keras 3's piecewise-linear sigmoid: relu6(x + 3) / 6."""
    return jnp.clip(x / 6.0 + 0.5, 0.0, 1.0)


def tanh(x: Array) -> Array:
    return jnp.tanh(x)


def relu(x: Array) -> Array:
    return jax.nn.relu(x)


def elu(x: Array, alpha: float = 1.0) -> Array:
    return jnp.where(x > 0, x, alpha * jnp.expm1(jnp.minimum(x, 0.0)))


def selu(x: Array) -> Array:
    return jax.nn.selu(x)


def softplus(x: Array) -> Array:
    return jax.nn.softplus(x)


def softsign(x: Array) -> Array:
    return x / (1.0 + jnp.abs(x))


def softmax(x: Array, axis: int = -1) -> Array:
    y = jax.nn.softmax(x, axis=axis)
    return variables.record_logits(y, x, "softmax") if axis in (-1, x.ndim - 1) else y


def silu(x: Array) -> Array:
    return x * jax.nn.sigmoid(x)


swish = silu


def gelu(x: Array, approximate: bool = False) -> Array:
    return jax.nn.gelu(x, approximate=approximate)


def leaky_relu(x: Array, negative_slope: float = 0.2) -> Array:
    return jnp.where(x >= 0, x, negative_slope * x)


def exponential(x: Array) -> Array:
    return jnp.exp(x)


_TABLE: dict[str, Activation] = {
    "linear": linear,
    "sigmoid": sigmoid,
    "hard_sigmoid": hard_sigmoid,
    "tanh": tanh,
    "relu": relu,
    "elu": elu,
    "selu": selu,
    "softplus": softplus,
    "softsign": softsign,
    "softmax": softmax,
    "silu": silu,
    "swish": swish,
    "gelu": gelu,
    "leaky_relu": leaky_relu,
    "exponential": exponential,
}
_NAMES = {fn: name for name, fn in reversed(list(_TABLE.items()))}


def get(identifier: str | Activation | None, argument: str = "activation") -> Activation:
    """An activation by name (or None for linear). Only named functions: a file names one."""
    if identifier is None:
        return linear
    if callable(identifier) and not isinstance(identifier, str):
        return identifier
    return lookup("activation", argument, identifier, _TABLE)


def serialize(fn: Activation) -> str:
    """The Keras name of a built-in activation (what a saved config holds)."""
    try:
        return _NAMES[fn]
    except KeyError:
        raise ValueError(
            f"Only built-in activations can be saved by name. Received: activation={fn!r}. "
            "Use one of: " + ", ".join(sorted(_TABLE))
        ) from None
