"""The pytree that a compiled training call carries from step to step."""

from __future__ import annotations

from typing import Any, NamedTuple

import jax


class TrainState(NamedTuple):
    params: Any  # list of per-layer dicts of arrays
    state: Any  # non-trainable layer state, same structure
    opt_state: Any  # optax state (learning rate inside, see optimizers.set_learning_rate)
    rng: jax.Array  # for dropout and other training-time randomness
