"""LambdaCallback: a callback made of plain functions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from cornu.callbacks.base import BATCH_HOOKS, Callback

_HOOKS = tuple(name for name in vars(Callback)
               if name.startswith("on_") and callable(getattr(Callback, name)))


def _method(name: str, fn: Callable[..., Any]):
    if name in BATCH_HOOKS:
        def hook(self, batch, logs=None):
            return fn(batch, logs=logs)
    elif name in ("on_epoch_begin", "on_epoch_end", "on_chunk_end"):
        def hook(self, index, logs=None):
            return fn(index, logs)
    else:
        def hook(self, logs=None):
            return fn(logs)
    hook.__name__ = name
    return hook


class LambdaCallback(Callback):
    """Keras' LambdaCallback. Functions are called with Keras' arguments:
    `on_epoch_begin/on_epoch_end(epoch, logs)`, `on_train_begin/on_train_end(logs)`,
    `on_train_batch_begin/on_train_batch_end(batch, logs=logs)`; any other hook by
    keyword, e.g. `on_predict_end=fn`, or cornu's `on_chunk_end(step, logs)`.

    Only the hooks given are overridden, so a LambdaCallback without batch functions
    keeps fit on its fast path (batch hooks make fit run one step per call).

    Example::

        LambdaCallback(on_epoch_end=lambda epoch, logs: print(epoch, logs["loss"]))
    """

    def __init__(
        self,
        on_epoch_begin: Callable | None = None,
        on_epoch_end: Callable | None = None,
        on_train_begin: Callable | None = None,
        on_train_end: Callable | None = None,
        on_train_batch_begin: Callable | None = None,
        on_train_batch_end: Callable | None = None,
        **kwargs: Callable,
    ) -> None:
        super().__init__()
        given = {"on_epoch_begin": on_epoch_begin, "on_epoch_end": on_epoch_end,
                 "on_train_begin": on_train_begin, "on_train_end": on_train_end,
                 "on_train_batch_begin": on_train_batch_begin,
                 "on_train_batch_end": on_train_batch_end, **kwargs}
        methods = {}
        for name, fn in given.items():
            if fn is None:
                continue
            if name not in _HOOKS:
                raise TypeError(f"LambdaCallback got an unknown hook {name!r}. Hooks: "
                                f"{', '.join(_HOOKS)}.")
            if not callable(fn):
                raise TypeError(f"{name} must be a function. Received: {name}={fn!r}")
            methods[name] = _method(name, fn)
        # fit asks the callback's class which hooks are overridden (see base.overrides),
        # so each instance gets a class of its own with exactly the hooks given
        self.__class__ = type("LambdaCallback", (LambdaCallback,),
                              {**methods, "__module__": __name__,
                               "__qualname__": "LambdaCallback"})
