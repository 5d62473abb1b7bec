"""The callback protocol (Keras' hook names) and the list that dispatches it.

Batch hooks cost nothing unless a callback overrides one: only then does `fit` run
one step per compiled call so the hook sees every batch.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

BATCH_HOOKS = (
    "on_train_batch_begin", "on_train_batch_end", "on_test_batch_begin",
    "on_test_batch_end", "on_predict_batch_begin", "on_predict_batch_end",
)


class Callback:
    """Base class: override the hooks you need; `self.model` is the model being fit."""

    def __init__(self) -> None:
        self.model: Any = None
        self.params: dict[str, Any] = {}

    def set_model(self, model: Any) -> None:
        self.model = model

    def set_params(self, params: dict[str, Any]) -> None:
        self.params = params

    # -- state kept by BackupAndRestore (a JSON-compatible dict) ---------------------------
    def get_state(self) -> dict[str, Any]:
        return {}

    def set_state(self, state: dict[str, Any]) -> None:
        pass

    #: a callback that needs to see the state every N steps sets this (fit's compiled
    #: calls then run at most N steps, and `on_chunk_end` is called after each)
    max_chunk_steps: int | None = None

    def on_chunk_end(self, step: int, logs=None):
        """cornu's hook after each compiled call of `fit` (step = steps done this epoch).
        Only called when some callback overrides it."""

    # -- hooks ---------------------------------------------------------------------------
    def on_train_begin(self, logs=None): pass
    def on_train_end(self, logs=None): pass
    def on_epoch_begin(self, epoch, logs=None): pass
    def on_epoch_end(self, epoch, logs=None): pass
    def on_train_batch_begin(self, batch, logs=None): pass
    def on_train_batch_end(self, batch, logs=None): pass
    def on_test_begin(self, logs=None): pass
    def on_test_end(self, logs=None): pass
    def on_test_batch_begin(self, batch, logs=None): pass
    def on_test_batch_end(self, batch, logs=None): pass
    def on_predict_begin(self, logs=None): pass
    def on_predict_end(self, logs=None): pass
    def on_predict_batch_begin(self, batch, logs=None): pass
    def on_predict_batch_end(self, batch, logs=None): pass


def overrides(callback: Callback, hook: str) -> bool:
    return getattr(type(callback), hook, None) is not getattr(Callback, hook)


class CallbackList:
    """Calls each hook on every callback, in order."""

    def __init__(self, callbacks: Iterable[Callback], model: Any, params: dict[str, Any]):
        self.callbacks = list(callbacks)
        for callback in self.callbacks:
            if not isinstance(callback, Callback):
                raise TypeError(
                    "callbacks must be cornu.callbacks.Callback objects. Received: "
                    f"{callback!r} (of type {type(callback).__name__})"
                )
            callback.set_model(model)
            callback.set_params(params)

    def wants(self, hook: str) -> bool:
        return any(overrides(c, hook) for c in self.callbacks)

    def __getattr__(self, hook: str):
        if not hook.startswith("on_"):
            raise AttributeError(hook)

        def dispatch(*args: Any) -> None:
            for callback in self.callbacks:
                getattr(callback, hook)(*args)

        return dispatch
