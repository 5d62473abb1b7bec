"""Random numbers, as `keras.random`: `normal`, `uniform`, `dropout`, ... and `SeedGenerator`.

`seed` may be an int (the same numbers every call, as in Keras), a `SeedGenerator` (new
numbers each call), a JAX key, or None (the global sequence that
`cornu.utils.set_random_seed` fixes). Inside a compiled training step every draw comes
from the step's key (folded with the generator), so a fit is repeatable and a resumed fit
draws the same numbers.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from cornu import variables
from cornu.random import keys

__all__ = ["SeedGenerator", "beta", "binomial", "categorical", "dropout", "gamma", "normal",
           "randint", "shuffle", "truncated_normal", "uniform"]

class SeedGenerator:
    """A source of new keys: `cornu.random.normal(shape, seed=self.seed_generator)` in a
    layer draws new numbers at every call. Its state (seed, counter) is a non-trainable
    variable, so `stateless_call` can carry it, as in Keras."""

    def __init__(self, seed: int | None = None, name: str | None = None, **kwargs: Any) -> None:
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int | np.integer)
                                 or seed < 0):
            raise ValueError(f"seed must be a non-negative integer or None. Received: "
                             f"seed={seed!r}")
        # inside a compiled step the draws depend on the step's key, the order of the draws
        # in the call and the seed (if given): not on how many generators were made before
        self._salt = 0 if seed is None else int(seed) & 0x7FFFFFFF
        if seed is None:
            seed = int(np.asarray(keys.next_key())[1])  # from the global sequence
        self.seed = int(seed)
        self.name = name or "seed_generator"
        self.state = variables.Variable(np.array([self.seed & 0xFFFFFFFF, 0], np.uint32),
                                        dtype="uint32", trainable=False,
                                        name="seed_generator_state")

    def next(self, ordered: bool = True) -> jax.Array:
        scope = variables.current_scope()
        if scope is not None and scope.rng is not None and self.state not in scope:
            return scope.next_key(self._salt)
        state = self.state.value
        if isinstance(state, jax.core.Tracer) or scope is not None:
            key = jax.random.fold_in(jax.random.PRNGKey(state[0]), state[1])
            self.state.assign(state + jnp.array([0, 1], jnp.uint32))
            return key
        words = np.asarray(state)
        self.state.assign(words + np.array([0, 1], np.uint32))
        return keys.fold_in(keys.seed_key(int(words[0])), int(words[1]))

    def get_config(self) -> dict[str, Any]:
        return {"seed": self.seed}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> SeedGenerator:
        return cls(**config)


def draw_key(seed: Any = None) -> jax.Array:
    """The key for one draw (see the module docstring for what `seed` may be)."""
    if isinstance(seed, SeedGenerator):
        return seed.next()
    if seed is None:
        scope = variables.current_scope()
        if scope is not None and scope.rng is not None:
            return scope.next_key(0)
        return keys.next_key()
    if isinstance(seed, int | np.integer) and not isinstance(seed, bool):
        if seed < 0:
            raise ValueError(f"seed must be a non-negative integer, a SeedGenerator or None. "
                             f"Received: seed={seed!r}")
        return keys.seed_key(int(seed))
    if isinstance(seed, jax.Array | np.ndarray):
        return seed
    raise ValueError(f"seed must be an int, a SeedGenerator, a JAX key or None. Received: "
                     f"seed={seed!r}")


def _float(dtype: Any) -> Any:
    return jnp.float32 if dtype is None else jnp.dtype(dtype)


def normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None) -> jax.Array:
    values = jax.random.normal(draw_key(seed), tuple(shape), _float(dtype))
    return values * stddev + mean


def uniform(shape, minval=0.0, maxval=1.0, dtype=None, seed=None) -> jax.Array:
    return jax.random.uniform(draw_key(seed), tuple(shape), _float(dtype), minval, maxval)


def truncated_normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None) -> jax.Array:
    values = jax.random.truncated_normal(draw_key(seed), -2.0, 2.0, tuple(shape), _float(dtype))
    return values * stddev + mean


def randint(shape, minval, maxval, dtype="int32", seed=None) -> jax.Array:
    return jax.random.randint(draw_key(seed), tuple(shape), minval, maxval, jnp.dtype(dtype))


def categorical(logits, num_samples, dtype="int32", seed=None) -> jax.Array:
    """(batch, num_samples) class indices drawn from each row of `logits`."""
    logits = jnp.asarray(logits)
    draws = jax.random.categorical(draw_key(seed), logits[..., None, :], axis=-1,
                                   shape=(*logits.shape[:-1], int(num_samples)))
    return draws.astype(dtype)


def dropout(inputs, rate, noise_shape=None, seed=None) -> jax.Array:
    """Zero each value with probability `rate`, scale the rest by 1 / (1 - rate)."""
    inputs = jnp.asarray(inputs)
    if not 0.0 <= float(rate) < 1.0:
        raise ValueError(f"rate must be a number in [0, 1). Received: rate={rate!r}")
    if rate == 0:
        return inputs
    shape = inputs.shape if noise_shape is None else tuple(
        n if d is None else d for d, n in zip(noise_shape, inputs.shape, strict=True))
    keep = jax.random.bernoulli(draw_key(seed), 1.0 - rate, shape)
    return jnp.where(keep, inputs / (1.0 - rate), jnp.zeros((), inputs.dtype))


def shuffle(x, axis=0, seed=None) -> jax.Array:
    return jax.random.permutation(draw_key(seed), jnp.asarray(x), axis=axis, independent=False)


def gamma(shape, alpha, dtype=None, seed=None) -> jax.Array:
    return jax.random.gamma(draw_key(seed), alpha, tuple(shape), _float(dtype))


def binomial(shape, counts, probabilities, dtype=None, seed=None) -> jax.Array:
    return jax.random.binomial(draw_key(seed), counts, probabilities, tuple(shape),
                               _float(dtype))


def beta(shape, alpha, beta, dtype=None, seed=None) -> jax.Array:
    return jax.random.beta(draw_key(seed), alpha, beta, tuple(shape), _float(dtype))
