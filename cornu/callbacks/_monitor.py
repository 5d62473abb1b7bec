"""What EarlyStopping, ModelCheckpoint and ReduceLROnPlateau share: a monitored log
entry, its direction ('min' or 'max') and Keras' rule for an improvement."""

from __future__ import annotations

import math
import numbers
import warnings
from typing import Any

import numpy as np

from cornu.callbacks.base import Callback

_MODES = ("auto", "min", "max")
_MIN_SUFFIXES = ("loss", "error", "mse", "mae", "crossentropy")
_MAX_SUFFIXES = ("accuracy", "acc")


def check_number(value: Any, argument: str, rule: str = "a number",
                 ok=lambda x: True) -> float:
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        x = float(value)
        if math.isfinite(x) and ok(x):
            return x
    raise ValueError(f"{argument} must be {rule}. Received: {argument}={value!r}")


def check_count(value: Any, argument: str) -> int:
    """A non-negative integer (patience, cooldown, start_from_epoch, verbose)."""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool) and value >= 0:
        return int(value)
    raise ValueError(f"{argument} must be a non-negative integer. Received: "
                     f"{argument}={value!r}")


def check_save_freq(save_freq: Any) -> str | int:
    """'epoch' or a positive number of training steps."""
    if save_freq != "epoch" and (isinstance(save_freq, bool) or not isinstance(
            save_freq, int) or save_freq < 1):
        raise ValueError("save_freq must be 'epoch' or a positive integer (steps). "
                         f"Received: save_freq={save_freq!r}")
    return save_freq


def steps_due(callback: Any, step: int) -> bool:
    """For a callback saving every `save_freq` steps (it keeps `_steps_since_save` and
    `_last_step`, the steps of this epoch seen at the last chunk end): count the steps up
    to `step` and say whether a save is due now."""
    if callback.save_freq == "epoch":
        return False
    callback._steps_since_save += step - callback._last_step
    callback._last_step = step
    if callback._steps_since_save < callback.save_freq:
        return False
    callback._steps_since_save = 0
    return True


def infer_direction(monitor: str, who: str) -> str:
    """'min' or 'max' from a log name, as Keras' mode='auto' does for its built-in
    losses and metrics; anything else asks for an explicit mode."""
    name = monitor.removeprefix("val_").lower()
    if name.endswith(_MAX_SUFFIXES):
        return "max"
    if name.endswith(_MIN_SUFFIXES):
        return "min"
    raise ValueError(
        f"{who} received monitor={monitor!r}, but cannot tell whether it should be "
        "minimized or maximized. Pass mode='min' (losses, errors) or mode='max' "
        "(accuracies)."
    )


class MonitorCallback(Callback):
    """Base of the callbacks that watch `logs[monitor]`."""

    def __init__(self, monitor: str = "val_loss", mode: str = "auto",
                 min_delta: float = 0.0) -> None:
        super().__init__()
        who = type(self).__name__
        if not isinstance(monitor, str) or not monitor:
            raise ValueError(f"monitor must be the name of a log entry, e.g. 'val_loss'. "
                             f"Received: monitor={monitor!r}")
        if mode not in _MODES:
            raise ValueError(f"mode must be 'auto', 'min' or 'max'. Received: mode={mode!r}")
        self.monitor = monitor
        self.mode = mode
        self.min_delta = abs(check_number(min_delta, "min_delta"))
        #: 'min' or 'max', resolved now so that an unknown name fails before training
        self.direction = infer_direction(monitor, who) if mode == "auto" else mode
        self.best: float | None = None

    def _is_improvement(self, current: float, reference: float | None) -> bool:
        """Keras' rule: better than `reference` by more than min_delta. As in Keras, the
        comparison is made in float32 (the shifted value, then the reference)."""
        if reference is None:
            return True
        if self.direction == "min":
            return bool(np.float32(current + self.min_delta) < np.float32(reference))
        return bool(np.float32(current - self.min_delta) > np.float32(reference))

    def _monitor_value(self, logs: dict | None, doing: str) -> float | None:
        """logs[monitor], or None with Keras' warning listing what is there."""
        logs = logs or {}
        value = logs.get(self.monitor)
        if value is None:
            warnings.warn(
                f"{doing} conditioned on metric `{self.monitor}` which is not available. "
                f"Available metrics are: {','.join(logs)}",
                stacklevel=3,
            )
            return None
        return float(value)
