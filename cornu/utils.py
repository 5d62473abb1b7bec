"""Utilities with Keras' names."""

from __future__ import annotations

from cornu.data.labels import to_categorical
from cornu.layers.base import reset_names
from cornu.random.keys import set_seed


def set_random_seed(seed: int) -> None:
    """Same seed, same weights and same shuffles (bit for bit on CPU)."""
    set_seed(seed)


def clear_session() -> None:
    """Reset automatic layer names (dense, dense_1, ...), as Keras' clear_session."""
    reset_names()


__all__ = ["clear_session", "set_random_seed", "to_categorical"]
