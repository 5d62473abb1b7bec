"""Callbacks with Keras' protocol. History is returned by every fit."""

from cornu.callbacks.base import Callback, CallbackList
from cornu.callbacks.history import History
from cornu.callbacks.progbar_logger import ProgbarLogger

__all__ = ["Callback", "CallbackList", "History", "ProgbarLogger"]
