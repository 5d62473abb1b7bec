"""Callbacks with Keras' protocol. History is returned by every fit."""

from cornu.callbacks.history import History

__all__ = ["History"]
