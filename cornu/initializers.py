"""Weight initializers by their Keras 3 names: `fn(key, shape, dtype) -> Array`."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from cornu._names import lookup
from cornu.training import rng as global_rng

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


# The draws are made on the host with NumPy, from a generator seeded by the layer's JAX key:
# jax.random compiles a program for every weight shape (0.2-0.8 s each on a CPU, building
# the lecture's net took 1.9 s, 1.6 s of it compiling), while NumPy needs none. Weights
# stay a function of the key, so cornu.utils.set_random_seed keeps them repeatable (for a
# given NumPy release: NumPy does not promise the same draws across releases). Under a JAX
# transformation (jax.eval_shape, jit, vmap), where the key has no value yet, the same
# distributions are drawn with jax.random instead: other numbers than for the same key
# outside the transformation. cornu traces initializers only for shapes (saving).
def _generator(key, dtype) -> np.random.Generator | None:
    """NumPy's generator for a key that has a value, None for a traced key."""
    if not jnp.issubdtype(dtype, jnp.floating):
        raise ValueError(
            f"Random initializers make floating-point weights. Received dtype={dtype!r}; "
            "use a float dtype such as 'float32'.")
    words = global_rng.key_words(key)
    return None if words is None else np.random.default_rng(list(words))


def _device(values: np.ndarray, dtype) -> jax.Array:
    # device_put rather than jnp.asarray, which compiles a copy program for every shape
    return jax.device_put(np.asarray(values, np.dtype(dtype)))


def _standard_normal(rng: np.random.Generator, shape) -> np.ndarray:
    return rng.standard_normal(shape, dtype=np.float32)


def _truncated_standard_normal(rng: np.random.Generator, shape) -> np.ndarray:
    """Standard normal draws limited to [-2, 2]: those outside are drawn again."""
    values = _standard_normal(rng, shape)
    outside = np.abs(values) > 2.0
    while outside.any():
        values[outside] = _standard_normal(rng, int(outside.sum()))
        outside = np.abs(values) > 2.0
    return values


def _uniform(key, shape, dtype, limit: float):
    rng = _generator(key, dtype)
    if rng is None:
        return jax.random.uniform(key, shape, dtype, -limit, limit)
    values = rng.random(tuple(shape), dtype=np.float32)
    return _device(np.float32(2 * limit) * values - np.float32(limit), dtype)


def _normal(key, shape, dtype, std: float):
    rng = _generator(key, dtype)
    if rng is None:
        return std * jax.random.normal(key, shape, dtype)
    return _device(np.float32(std) * _standard_normal(rng, tuple(shape)), dtype)


def _truncated_normal(key, shape, dtype, std: float):
    rng = _generator(key, dtype)
    if rng is None:
        return std * jax.random.truncated_normal(key, -2.0, 2.0, shape, dtype)
    values = _truncated_standard_normal(rng, tuple(shape))
    return _device(np.float32(std) * values, dtype)


def variance_scaling(scale: float, mode: str, distribution: str) -> Initializer:
    def init(key, shape, dtype=jnp.float32):
        fan_in, fan_out = _fans(shape)
        n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2.0}[mode]
        variance = scale / max(1.0, n)
        if distribution == "uniform":
            limit = math.sqrt(3.0 * variance)
            return _uniform(key, shape, dtype, limit)
        # truncated normal on [-2, 2], corrected so the variance is `variance`
        return _truncated_normal(key, shape, dtype, math.sqrt(variance) / 0.87962566103423978)

    return init


def zeros(key, shape, dtype=jnp.float32):
    return _device(np.zeros(tuple(shape)), dtype)


def ones(key, shape, dtype=jnp.float32):
    return _device(np.ones(tuple(shape)), dtype)


def random_uniform(key, shape, dtype=jnp.float32):
    return _uniform(key, shape, dtype, 0.05)


def random_normal(key, shape, dtype=jnp.float32):
    return _normal(key, shape, dtype, 0.05)


def truncated_normal(key, shape, dtype=jnp.float32):
    return _truncated_normal(key, shape, dtype, 0.05)


def constant(key, shape, dtype=jnp.float32):
    """Keras' Constant() default: value 0."""
    return zeros(key, shape, dtype)


def identity(key, shape, dtype=jnp.float32):
    if len(shape) != 2:
        raise ValueError(
            f"identity initializes 2-D kernels only. Received shape {tuple(shape)}.")
    return _device(np.eye(*shape), dtype)


def orthogonal(key, shape, dtype=jnp.float32):
    """As Keras: the Q of a QR decomposition of a normal matrix, signs fixed by R's
    diagonal; kernels of more than 2 axes are flattened to (prod(leading), last)."""
    shape = tuple(shape)
    if len(shape) < 2:
        raise ValueError(
            f"orthogonal initializes kernels of at least 2 axes. Received shape {shape}.")
    rng = _generator(key, dtype)
    if rng is None:  # in float32: XLA's QR lacks the half-precision types
        return jax.nn.initializers.orthogonal()(key, shape, jnp.float32).astype(dtype)
    rows, cols = math.prod(shape[:-1]), shape[-1]
    values = rng.standard_normal((max(rows, cols), min(rows, cols)))
    q, r = np.linalg.qr(values)
    q *= np.sign(np.diag(r))
    if rows < cols:
        q = q.T
    return _device(q.reshape(shape), dtype)


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
