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


def next_key() -> jax.Array:
    """A new PRNG key (raw uint32, so it can be saved) from the global sequence."""
    global _seed, _counter
    if _seed is None:
        _seed = int.from_bytes(os.urandom(4), "little")
    key = jax.random.fold_in(jax.random.PRNGKey(_seed), _counter)
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
    return jax.random.fold_in(epoch_key, 1)
