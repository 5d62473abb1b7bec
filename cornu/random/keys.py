"""The global seed: `cornu.utils.set_random_seed` makes weights and shuffles repeatable."""

from __future__ import annotations

import os
import random

import jax
import numpy as np

_seed: int | None = None
_counter = 0


def set_seed(seed: int) -> None:
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer. Received: seed={seed!r}")
    global _seed, _counter
    _seed, _counter = seed, 0
    random.seed(seed)
    np.random.seed(seed % 2**32)


# Keys made outside compiled programs are computed here on the host, bit for bit as
# jax.random computes them (Threefry-2x32 with 20 rounds): each jax.random call outside jit
# compiles a small program the first time (0.2 s for seed, fold_in and split on a CPU,
# more on a GPU), and a model's first build paid for all of them.
_MASK = 0xFFFFFFFF
_ROTATIONS = ((13, 15, 26, 6), (17, 29, 16, 24))


def _threefry2x32(key: tuple[int, int], x0: int, x1: int) -> tuple[int, int]:
    ks = (key[0], key[1], key[0] ^ key[1] ^ 0x1BD11BDA)
    x0, x1 = (x0 + ks[0]) & _MASK, (x1 + ks[1]) & _MASK
    for group in range(5):
        for r in _ROTATIONS[group % 2]:
            x0 = (x0 + x1) & _MASK
            x1 = ((x1 << r) | (x1 >> (32 - r))) & _MASK
            x1 ^= x0
        x0 = (x0 + ks[(group + 1) % 3]) & _MASK
        x1 = (x1 + ks[(group + 2) % 3] + group + 1) & _MASK
    return x0, x1


def _typed(key) -> bool:
    return jax.dtypes.issubdtype(key.dtype, jax.dtypes.prng_key)


def key_words(key) -> tuple[int, int] | None:
    """The two uint32 words of a Threefry key that has a value (raw uint32[2], or typed),
    or None where only jax.random can use it: a key under a JAX transformation (jit,
    eval_shape), a key of another generator."""
    if not isinstance(key, np.ndarray | jax.Array):
        return None
    if _typed(key):
        key = jax.random.key_data(key)
    if key.dtype != np.uint32 or key.shape != (2,):
        return None
    try:
        words = np.asarray(key)
    except TypeError:  # a tracer (its conversion error is a TypeError): no value yet
        return None
    return int(words[0]), int(words[1])


def _device_key(words: tuple[int, int]) -> jax.Array:
    return jax.device_put(np.array(words, np.uint32))


def fold_in(key, data: int) -> jax.Array:
    """jax.random.fold_in(key, data), computed on the host for a concrete raw key."""
    words = None if _typed(key) else key_words(key)
    if words is None:
        return jax.random.fold_in(key, data)
    return _device_key(_threefry2x32(words, 0, int(data) & _MASK))


def split(key, num: int = 2) -> list[jax.Array]:
    """jax.random.split(key, num) as a list, computed on the host for a concrete raw key
    (with JAX's default partitionable Threefry, split's i-th key is fold_in(key, i))."""
    words = None if _typed(key) else key_words(key)
    if words is None or not getattr(jax.config, "jax_threefry_partitionable", False):
        return list(jax.random.split(key, num))
    return [_device_key(_threefry2x32(words, 0, i)) for i in range(num)]


def _seed_words(seed: int) -> tuple[int, int] | None:
    """The words of jax.random.PRNGKey(seed); None for seeds past 63 bits (left to JAX)."""
    if seed >= 2**63:
        return None
    high = (seed >> 32) & _MASK if jax.config.jax_enable_x64 else 0
    return high, seed & _MASK


def seed_key(seed: int) -> jax.Array:
    """jax.random.PRNGKey(seed) (raw uint32[2]) for a non-negative seed."""
    words = _seed_words(seed)
    return jax.random.PRNGKey(seed) if words is None else _device_key(words)


def next_key() -> jax.Array:
    """A new PRNG key (raw uint32, so it can be saved) from the global sequence."""
    global _seed, _counter
    if _seed is None:
        _seed = int.from_bytes(os.urandom(4), "little")
    words = _seed_words(_seed)
    if words is None:
        key = jax.random.fold_in(jax.random.PRNGKey(_seed), _counter)
    else:  # all on the host: no device round trip for the seed key
        key = _device_key(_threefry2x32(words, 0, _counter & _MASK))
    _counter += 1
    return key


def get_state() -> dict:
    """The global seed and how many keys were drawn (for BackupAndRestore)."""
    return {"seed": _seed, "counter": _counter}


def set_state(state: dict) -> None:
    global _seed, _counter
    _seed, _counter = state["seed"], state["counter"]


# Keys inside fit: one per epoch, advanced by the host; each step's key comes from branch 0
# of its epoch key and the next epoch's from branch 1, so no step key (nor the layer keys
# split or folded from it) is ever an epoch key or another step's key.
def step_key(epoch_key: jax.Array, step) -> jax.Array:
    """The training step's key: depends on the step number only, not on how the epoch is
    cut into compiled calls."""
    return jax.random.fold_in(jax.random.fold_in(epoch_key, 0), step)


def next_epoch_key(epoch_key: jax.Array) -> jax.Array:
    return fold_in(epoch_key, 1)
