"""LearningRateScheduler: the learning rate of each epoch from a function."""

from __future__ import annotations

import inspect
import numbers
from collections.abc import Callable
from typing import Any

import numpy as np

from cornu.callbacks._monitor import check_count
from cornu.callbacks.base import Callback


def _takes_two(schedule: Callable) -> bool:
    """Whether schedule(epoch, lr) is possible (Keras' new API) or only schedule(epoch)."""
    try:
        signature = inspect.signature(schedule)
    except (TypeError, ValueError):
        return True
    positional = 0
    for p in signature.parameters.values():
        if p.kind is p.VAR_POSITIONAL:
            return True
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
            positional += 1
    return positional >= 2


def _as_rate(value: Any) -> float | None:
    """A float from a number or a 0-d numeric array (NumPy or JAX), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, numbers.Real):
        return float(value)
    dtype = getattr(value, "dtype", None)
    if getattr(value, "shape", None) == () and dtype is not None \
            and np.dtype(dtype).kind in "fiu":
        return float(value)
    return None


class LearningRateScheduler(Callback):
    """Keras' LearningRateScheduler: at the start of every epoch, the learning rate
    becomes `schedule(epoch, lr)` (epoch counted from 0, lr the current rate as a float)
    or `schedule(epoch)` for a one-argument function. Adds `learning_rate` to each
    epoch's logs, as Keras does. Setting the rate recompiles nothing.

    Example::

        def schedule(epoch, lr):
            return lr if epoch < 10 else lr * math.exp(-0.1)

        model.fit(x, y, epochs=15, callbacks=[LearningRateScheduler(schedule)])
    """

    def __init__(self, schedule: Callable[..., float], verbose: int = 0) -> None:
        super().__init__()
        if not callable(schedule):
            raise TypeError("schedule must be a function (epoch, lr) -> new learning rate. "
                            f"Received: schedule={schedule!r}")
        self.schedule = schedule
        self.verbose = check_count(verbose, "verbose")
        self._two_arguments = _takes_two(schedule)
        # the rate before the schedule ran at the start of `_epoch`: a run resumed in the
        # middle of that epoch computes the same rate again, not schedule(epoch, new rate)
        self._epoch: int | None = None
        self._rate_before: float | None = None

    def on_train_begin(self, logs=None):
        self._epoch, self._rate_before = None, None

    def on_epoch_begin(self, epoch, logs=None):
        optimizer = self.model.optimizer
        if not hasattr(optimizer, "learning_rate"):
            raise ValueError('Optimizer must have a "learning_rate" attribute.')
        if epoch == self._epoch and self._rate_before is not None:
            current = self._rate_before
        else:
            current = float(np.float32(optimizer.learning_rate))
        self._epoch, self._rate_before = epoch, current
        value = self.schedule(epoch, current) if self._two_arguments else self.schedule(epoch)
        rate = _as_rate(value)
        if rate is None:
            raise ValueError("The output of the `schedule` function should be a float. "
                             f"Got: {value!r}")
        optimizer.learning_rate = rate
        if self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: LearningRateScheduler setting learning rate to "
                  f"{rate}.")

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["learning_rate"] = float(np.float32(self.model.optimizer.learning_rate))

    # -- kept by BackupAndRestore -----------------------------------------------------------
    def get_state(self) -> dict[str, Any]:
        return {"epoch": self._epoch, "rate_before": self._rate_before}

    def set_state(self, state: dict[str, Any]) -> None:
        self._epoch = state["epoch"]
        self._rate_before = state["rate_before"]
