"""Weight initializers with Keras 3's names and classes.

An initializer is called as Keras calls it, `init(shape, dtype=None) -> Array`; the
engine and tests may draw from a given key with `init.sample(key, shape, dtype)`. Without
a seed, each call draws a new key from the global sequence (`cornu.utils.set_random_seed`
makes it repeatable); with `seed=` every call returns the same values, as in Keras.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from cornu._names import lookup
from cornu.random import keys as global_rng

__all__ = [
    "Constant", "GlorotNormal", "GlorotUniform", "HeNormal", "HeUniform", "Identity",
    "Initializer", "LecunNormal", "LecunUniform", "Ones", "Orthogonal", "RandomNormal",
    "RandomUniform", "TruncatedNormal", "VarianceScaling", "Zeros", "get", "serialize",
]


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



class Initializer:
    """Base class: subclasses implement `sample(key, shape, dtype)` (or, as in Keras,
    override `__call__(shape, dtype=None)`) and `get_config`."""

    def __init__(self, seed: int | None = None) -> None:
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)
                                 or seed < 0):
            raise ValueError(f"seed must be a non-negative integer or None. Received: "
                             f"seed={seed!r}")
        self.seed = seed

    def __call__(self, shape: Sequence[int], dtype: Any = None) -> jax.Array:
        key = global_rng.next_key() if self.seed is None else global_rng.seed_key(self.seed)
        return self.sample(key, tuple(shape), jnp.float32 if dtype is None else dtype)

    def sample(self, key, shape: Sequence[int], dtype: Any = jnp.float32) -> jax.Array:
        raise NotImplementedError(f"{type(self).__name__} must implement __call__ or sample.")

    def get_config(self) -> dict[str, Any]:
        return {"seed": self.seed} if "seed" in vars(self) else {}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Initializer:
        return cls(**config)

    def clone(self) -> Initializer:
        return type(self).from_config(self.get_config())


def _number(value: Any, argument: str, positive: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(
            value) or (positive and value <= 0):
        raise ValueError(f"{argument} must be a {'positive' if positive else 'finite'} number. "
                         f"Received: {argument}={value!r}")
    return float(value)


class VarianceScaling(Initializer):
    def __init__(self, scale: float = 1.0, mode: str = "fan_in",
                 distribution: str = "truncated_normal", seed: int | None = None) -> None:
        super().__init__(seed)
        self.scale = _number(scale, "scale", positive=True)
        if mode not in ("fan_in", "fan_out", "fan_avg"):
            raise ValueError("mode must be 'fan_in', 'fan_out' or 'fan_avg'. Received: "
                             f"mode={mode!r}")
        if distribution == "normal":
            distribution = "truncated_normal"
        if distribution not in ("truncated_normal", "untruncated_normal", "uniform"):
            raise ValueError("distribution must be 'truncated_normal', 'untruncated_normal' or "
                             f"'uniform'. Received: distribution={distribution!r}")
        self.mode, self.distribution = mode, distribution

    def sample(self, key, shape, dtype=jnp.float32):
        fan_in, fan_out = _fans(shape)
        n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2.0}[self.mode]
        variance = self.scale / max(1.0, n)
        if self.distribution == "uniform":
            return _uniform(key, shape, dtype, math.sqrt(3.0 * variance))
        if self.distribution == "untruncated_normal":
            return _normal(key, shape, dtype, math.sqrt(variance))
        # truncated normal on [-2, 2], corrected so the variance is `variance`
        return _truncated_normal(key, shape, dtype, math.sqrt(variance) / 0.87962566103423978)

    def get_config(self) -> dict[str, Any]:
        return {"scale": self.scale, "mode": self.mode, "distribution": self.distribution,
                "seed": self.seed}


def _scaling(name: str, scale: float, mode: str, distribution: str) -> type[VarianceScaling]:
    def __init__(self, seed: int | None = None) -> None:  # noqa: N807
        VarianceScaling.__init__(self, scale, mode, distribution, seed)

    def get_config(self) -> dict[str, Any]:
        return {"seed": self.seed}

    return type(name, (VarianceScaling,), {"__init__": __init__, "get_config": get_config,
                                           "__doc__": f"VarianceScaling({scale}, {mode!r}, "
                                                      f"{distribution!r})."})


GlorotUniform = _scaling("GlorotUniform", 1.0, "fan_avg", "uniform")
GlorotNormal = _scaling("GlorotNormal", 1.0, "fan_avg", "truncated_normal")
HeUniform = _scaling("HeUniform", 2.0, "fan_in", "uniform")
HeNormal = _scaling("HeNormal", 2.0, "fan_in", "truncated_normal")
LecunUniform = _scaling("LecunUniform", 1.0, "fan_in", "uniform")
LecunNormal = _scaling("LecunNormal", 1.0, "fan_in", "truncated_normal")


class RandomUniform(Initializer):
    def __init__(self, minval: float = -0.05, maxval: float = 0.05,
                 seed: int | None = None) -> None:
        super().__init__(seed)
        self.minval, self.maxval = _number(minval, "minval"), _number(maxval, "maxval")

    def sample(self, key, shape, dtype=jnp.float32):
        half = (self.maxval - self.minval) / 2.0
        values = _uniform(key, shape, dtype, half)
        return values + jnp.asarray(self.minval + half, values.dtype) if \
            self.minval + half != 0.0 else values

    def get_config(self) -> dict[str, Any]:
        return {"minval": self.minval, "maxval": self.maxval, "seed": self.seed}


class RandomNormal(Initializer):
    def __init__(self, mean: float = 0.0, stddev: float = 0.05, seed: int | None = None) -> None:
        super().__init__(seed)
        self.mean, self.stddev = _number(mean, "mean"), _number(stddev, "stddev")

    def sample(self, key, shape, dtype=jnp.float32):
        values = _normal(key, shape, dtype, self.stddev)
        return values + jnp.asarray(self.mean, values.dtype) if self.mean else values

    def get_config(self) -> dict[str, Any]:
        return {"mean": self.mean, "stddev": self.stddev, "seed": self.seed}


class TruncatedNormal(RandomNormal):
    def sample(self, key, shape, dtype=jnp.float32):
        values = _truncated_normal(key, shape, dtype, self.stddev)
        return values + jnp.asarray(self.mean, values.dtype) if self.mean else values


class Constant(Initializer):
    def __init__(self, value: float = 0.0) -> None:
        super().__init__(None)
        del self.seed
        self.value = value

    def __call__(self, shape, dtype=None):
        return self.sample(None, shape, jnp.float32 if dtype is None else dtype)

    def sample(self, key, shape, dtype=jnp.float32):
        return _device(np.broadcast_to(np.asarray(self.value), tuple(shape)), dtype)

    def get_config(self) -> dict[str, Any]:
        value = self.value
        return {"value": value.tolist() if isinstance(value, np.ndarray) else value}


class Zeros(Constant):
    def __init__(self) -> None:
        super().__init__(0.0)

    def get_config(self) -> dict[str, Any]:
        return {}


class Ones(Constant):
    def __init__(self) -> None:
        super().__init__(1.0)

    def get_config(self) -> dict[str, Any]:
        return {}


class Identity(Initializer):
    def __init__(self, gain: float = 1.0) -> None:
        super().__init__(None)
        del self.seed
        self.gain = _number(gain, "gain")

    def __call__(self, shape, dtype=None):
        return self.sample(None, shape, jnp.float32 if dtype is None else dtype)

    def sample(self, key, shape, dtype=jnp.float32):
        if len(shape) != 2:
            raise ValueError(
                f"identity initializes 2-D kernels only. Received shape {tuple(shape)}.")
        return _device(self.gain * np.eye(*shape), dtype)

    def get_config(self) -> dict[str, Any]:
        return {"gain": self.gain}


class Orthogonal(Initializer):
    """As Keras: the Q of a QR decomposition of a normal matrix, signs fixed by R's
    diagonal; kernels of more than 2 axes are flattened to (prod(leading), last)."""

    def __init__(self, gain: float = 1.0, seed: int | None = None) -> None:
        super().__init__(seed)
        self.gain = _number(gain, "gain")

    def sample(self, key, shape, dtype=jnp.float32):
        shape = tuple(shape)
        if len(shape) < 2:
            raise ValueError(
                f"orthogonal initializes kernels of at least 2 axes. Received shape {shape}.")
        rng = _generator(key, dtype)
        if rng is None:  # in float32: XLA's QR lacks the half-precision types
            return (self.gain * jax.nn.initializers.orthogonal()(key, shape, jnp.float32)
                    ).astype(dtype)
        rows, cols = math.prod(shape[:-1]), shape[-1]
        values = rng.standard_normal((max(rows, cols), min(rows, cols)))
        q, r = np.linalg.qr(values)
        q *= np.sign(np.diag(r))
        if rows < cols:
            q = q.T
        return _device(self.gain * q.reshape(shape), dtype)

    def get_config(self) -> dict[str, Any]:
        return {"gain": self.gain, "seed": self.seed}


_CLASSES: dict[str, type[Initializer]] = {cls.__name__: cls for cls in (
    Constant, GlorotNormal, GlorotUniform, HeNormal, HeUniform, Identity, LecunNormal,
    LecunUniform, Ones, Orthogonal, RandomNormal, RandomUniform, TruncatedNormal,
    VarianceScaling, Zeros)}
_TABLE: dict[str, type[Initializer]] = {
    "glorot_uniform": GlorotUniform, "glorot_normal": GlorotNormal,
    "he_uniform": HeUniform, "he_normal": HeNormal,
    "lecun_uniform": LecunUniform, "lecun_normal": LecunNormal,
    "zeros": Zeros, "ones": Ones, "random_uniform": RandomUniform,
    "random_normal": RandomNormal, "truncated_normal": TruncatedNormal,
    "orthogonal": Orthogonal, "constant": Constant, "identity": Identity,
    "variance_scaling": VarianceScaling,
}
# Keras' aliases, the lecture's Keras 1 names among them.
_ALIASES = {"zero": "zeros", "one": "ones", "uniform": "random_uniform", "normal": "random_normal",
            "identity_initializer": "identity"}


def get(identifier: Any, argument: str = "kernel_initializer") -> Initializer | Callable:
    """An initializer from a name, a class, an instance, a Keras config dict
    ({"class_name": ..., "config": ...}, built-in classes only) or a callable
    `(shape, dtype) -> array`."""
    if isinstance(identifier, type) and issubclass(identifier, Initializer):
        return identifier()
    if isinstance(identifier, dict):
        cls = _CLASSES.get(identifier.get("class_name"))
        config = identifier.get("config", {})
        if cls is None or not isinstance(config, dict):
            raise ValueError(f"{argument}: unknown initializer {identifier.get('class_name')!r}"
                             f". Known: {', '.join(sorted(_CLASSES))}.")
        try:
            return cls.from_config(dict(config))
        except TypeError as exc:
            raise ValueError(f"{argument}: bad config for {cls.__name__}: {exc}") from None
    if callable(identifier) and not isinstance(identifier, str):
        return identifier
    table = dict(_TABLE)
    table.update({alias: _TABLE[name] for alias, name in _ALIASES.items()})
    return lookup("initializer", argument, identifier, table)()


def serialize(identifier: Any) -> Any:
    """A name for the built-in classes with their defaults (what files held so far),
    else a Keras config dict."""
    if isinstance(identifier, str):
        return identifier
    cls = type(identifier)
    if isinstance(identifier, Initializer) and cls in _CLASSES.values():
        config = identifier.get_config()
        names = [n for n, c in _TABLE.items() if c is cls]
        if names and config == cls().get_config():
            return names[0]
        return {"class_name": cls.__name__, "config": config}
    raise ValueError(
        f"Only built-in initializers can be saved. Received: {identifier!r}. Pass a "
        "cornu.initializers class, or register your own class for saving."
    )
