"""ReduceLROnPlateau: lower the learning rate when a monitored quantity stalls."""

from __future__ import annotations

from typing import Any

import numpy as np

from cornu import _deprecation
from cornu.callbacks._monitor import MonitorCallback, check_count, check_number


class ReduceLROnPlateau(MonitorCallback):
    """Keras' ReduceLROnPlateau: after `patience` epochs without an improvement of
    `logs[monitor]` larger than `min_delta`, multiply the learning rate by `factor`
    (never below `min_lr`), then wait `cooldown` epochs before counting again.

    The new rate applies from the next epoch (cornu sets the optimizer's rate at each
    epoch start; nothing recompiles). Like Keras, it adds `learning_rate` to the epoch's
    logs, so History records it. Keras 1's `epsilon` (now `min_delta`) still works,
    with a DeprecationWarning.
    """

    def __init__(
        self,
        monitor: str = "val_loss",
        factor: float = 0.1,
        patience: int = 10,
        verbose: int = 0,
        mode: str = "auto",
        min_delta: float = 1e-4,
        cooldown: int = 0,
        min_lr: float = 0.0,
        **kwargs: Any,
    ) -> None:
        epsilon = _deprecation.renamed(kwargs, "epsilon", "min_delta", "ReduceLROnPlateau")
        min_delta = _deprecation.pick(min_delta, 1e-4, epsilon, "epsilon", "min_delta")
        if kwargs:
            raise TypeError("ReduceLROnPlateau got unexpected keyword arguments: "
                            f"{', '.join(sorted(kwargs))}.")
        super().__init__(monitor, mode, min_delta)
        self.factor = check_number(factor, "factor", "a number in (0, 1), e.g. 0.1",
                                   lambda x: 0.0 < x < 1.0)
        self.patience = check_count(patience, "patience")
        self.verbose = check_count(verbose, "verbose")
        self.cooldown = check_count(cooldown, "cooldown")
        self.min_lr = check_number(min_lr, "min_lr", "a number >= 0", lambda x: x >= 0)
        self._reset()

    def _reset(self) -> None:
        self.best = None
        self.cooldown_counter = 0
        self.wait = 0

    def in_cooldown(self) -> bool:
        return self.cooldown_counter > 0

    def on_train_begin(self, logs=None):
        self._reset()

    def on_epoch_end(self, epoch, logs=None):
        optimizer = self.model.optimizer
        if logs is not None:
            logs["learning_rate"] = float(np.float32(optimizer.learning_rate))
        current = self._monitor_value(logs, "Learning rate reduction is")
        if current is None:
            return
        if self.in_cooldown():
            self.cooldown_counter -= 1
            self.wait = 0
        if self._is_improvement(current, self.best):
            self.best = current
            self.wait = 0
        elif not self.in_cooldown():
            self.wait += 1
            if self.wait >= self.patience and self._reduce(optimizer, epoch):
                self.cooldown_counter = self.cooldown
                self.wait = 0

    def _reduce(self, optimizer, epoch: int) -> bool:
        # as Keras: the rate is read as the float32 the optimizer holds
        old = float(np.float32(optimizer.learning_rate))
        if old <= np.float32(self.min_lr):
            return False
        new = max(old * self.factor, self.min_lr)
        optimizer.learning_rate = new
        if self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: ReduceLROnPlateau reducing learning rate to {new}.")
        return True

    # -- kept by BackupAndRestore -----------------------------------------------------------
    def get_state(self) -> dict[str, Any]:
        return {"best": self.best, "wait": self.wait, "cooldown_counter": self.cooldown_counter}

    def set_state(self, state: dict[str, Any]) -> None:
        self.best = None if state["best"] is None else float(state["best"])
        self.wait = int(state["wait"])
        self.cooldown_counter = int(state["cooldown_counter"])
