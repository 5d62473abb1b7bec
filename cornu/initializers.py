"""Weight initializers by their Keras 3 names: `fn(key, shape, dtype) -> Array`."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import jax
import jax.numpy as jnp

from cornu._names import lookup

Initializer = Callable[[jax.Array, Sequence[int], jnp.dtype], jax.Array]

__all__ = ["get", "serialize"]


def _fans(shape: Sequence[int]) -> tuple[float, float]:
    """Keras' fan computation: kernels are (..., in, out); leading dims are receptive field."""
    if len(shape) == 0:
        return 1.0, 1.0
    if len(shape) == 1:
        return float(shape[0]), float(shape[0])
    receptive = math.prod(shape[:-2])
    return float(shape[-2] * receptive), float(shape[-1] * receptive)


def variance_scaling(scale: float, mode: str, distribution: str) -> Initializer:
    def init(key, shape, dtype=jnp.float32):
        fan_in, fan_out = _fans(shape)
        n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2.0}[mode]
        variance = scale / max(1.0, n)
        if distribution == "uniform":
            limit = math.sqrt(3.0 * variance)
            return jax.random.uniform(key, shape, dtype, -limit, limit)
        # truncated normal on [-2, 2], corrected so the variance is `variance`
        std = math.sqrt(variance) / 0.87962566103423978
        return std * jax.random.truncated_normal(key, -2.0, 2.0, shape, dtype)

    return init


def zeros(key, shape, dtype=jnp.float32):
    return jnp.zeros(shape, dtype)


def ones(key, shape, dtype=jnp.float32):
    return jnp.ones(shape, dtype)


def random_uniform(key, shape, dtype=jnp.float32):
    return jax.random.uniform(key, shape, dtype, -0.05, 0.05)


def random_normal(key, shape, dtype=jnp.float32):
    return 0.05 * jax.random.normal(key, shape, dtype)


def truncated_normal(key, shape, dtype=jnp.float32):
    return 0.05 * jax.random.truncated_normal(key, -2.0, 2.0, shape, dtype)


def constant(key, shape, dtype=jnp.float32):
    """Keras' Constant() default: value 0."""
    return jnp.zeros(shape, dtype)


def identity(key, shape, dtype=jnp.float32):
    if len(shape) != 2:
        raise ValueError(
            f"identity initializes 2-D kernels only. Received shape {tuple(shape)}.")
    return jnp.eye(*shape, dtype=dtype)


def orthogonal(key, shape, dtype=jnp.float32):
    return jax.nn.initializers.orthogonal()(key, shape, dtype)


_TABLE: dict[str, Initializer] = {
    "glorot_uniform": variance_scaling(1.0, "fan_avg", "uniform"),
    "glorot_normal": variance_scaling(1.0, "fan_avg", "normal"),
    "he_uniform": variance_scaling(2.0, "fan_in", "uniform"),
    "he_normal": variance_scaling(2.0, "fan_in", "normal"),
    "lecun_uniform": variance_scaling(1.0, "fan_in", "uniform"),
    "lecun_normal": variance_scaling(1.0, "fan_in", "normal"),
    "zeros": zeros,
    "ones": ones,
    "random_uniform": random_uniform,
    "random_normal": random_normal,
    "truncated_normal": truncated_normal,
    "orthogonal": orthogonal,
    "constant": constant,
    "identity": identity,
    "variance_scaling": variance_scaling(1.0, "fan_in", "normal"),
}
# Keras' aliases, the lecture's Keras 1 names among them.
_ALIASES = {"zero": "zeros", "one": "ones", "uniform": "random_uniform", "normal": "random_normal",
            "identity_initializer": "identity"}


def get(identifier: str | Initializer, argument: str = "kernel_initializer") -> Initializer:
    if callable(identifier) and not isinstance(identifier, str):
        return identifier
    table = dict(_TABLE)
    table.update({alias: _TABLE[name] for alias, name in _ALIASES.items()})
    return lookup("initializer", argument, identifier, table)


def serialize(identifier: str | Initializer) -> str:
    if isinstance(identifier, str):
        return identifier
    for name, fn in _TABLE.items():
        if fn is identifier:
            return name
    raise ValueError(
        f"Only built-in initializers can be saved by name. Received: {identifier!r}."
    )
