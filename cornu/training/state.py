"""The training state: what a fit run carries from step to step, and where it is.

Backups and saving read and write these through the model's public API
(`Model.train_state`, `Model.fit_position`, `Model.resume_at`), never its privates.
"""

from __future__ import annotations

import dataclasses
from typing import Any, NamedTuple

import jax


class TrainState(NamedTuple):
    params: Any  # list of per-layer dicts of arrays
    state: Any  # non-trainable layer state, same structure
    opt_state: Any  # optax state (learning rate inside, see optimizers.set_learning_rate)
    rng: jax.Array  # for dropout and other training-time randomness


@dataclasses.dataclass
class Position:
    """Where a fit run is: the next epoch and step, the running sums of the epoch's losses
    and metrics (None at an epoch's start), the fit's shuffle key, and a streaming source's
    own position (a PyDataset's or grain's; None for arrays, which the key replays)."""

    epoch: int
    step: int = 0
    sums: Any = None
    shuffle_key: Any = None
    source: dict[str, Any] | None = None
