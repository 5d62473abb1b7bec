"""EarlyStopping: stop training when a monitored quantity has stopped improving."""

from __future__ import annotations

from typing import Any

import numpy as np

from cornu.callbacks._monitor import MonitorCallback, check_count, check_number


class EarlyStopping(MonitorCallback):
    """Keras' EarlyStopping. At each epoch end, `logs[monitor]` is compared with the best
    value so far; after `patience` epochs without an improvement larger than `min_delta`,
    `model.stop_training` is set and fit stops.

    Args:
        monitor: the log entry to watch (default 'val_loss').
        min_delta: smallest change that counts as an improvement.
        patience: epochs without improvement before stopping.
        verbose: 1 prints a line when the callback acts.
        mode: 'auto' (from the name: losses down, accuracies up), 'min' or 'max'.
        baseline: a value the monitored quantity must beat; until an epoch beats it,
            improvements do not reset the patience count.
        restore_best_weights: at the end of training (stopped early or not), set the
            weights of the best epoch, as Keras 3 does.
        start_from_epoch: epochs of warm-up before monitoring begins.

    The callback's state (wait, best, best epoch and best weights) is kept by
    BackupAndRestore, so a resumed run stops and restores exactly as an unbroken one.
    """

    def __init__(
        self,
        monitor: str = "val_loss",
        min_delta: float = 0,
        patience: int = 0,
        verbose: int = 0,
        mode: str = "auto",
        baseline: float | None = None,
        restore_best_weights: bool = False,
        start_from_epoch: int = 0,
    ) -> None:
        super().__init__(monitor, mode, min_delta)
        self.patience = check_count(patience, "patience")
        self.verbose = check_count(verbose, "verbose")
        self.baseline = None if baseline is None else check_number(baseline, "baseline")
        if not isinstance(restore_best_weights, bool):
            raise ValueError("restore_best_weights must be True or False. Received: "
                             f"restore_best_weights={restore_best_weights!r}")
        self.restore_best_weights = restore_best_weights
        self.start_from_epoch = check_count(start_from_epoch, "start_from_epoch")
        self._reset()

    def _reset(self) -> None:
        self.wait = 0
        self.stopped_epoch = 0
        self.best = None
        self.best_weights: list[np.ndarray] | None = None
        self.best_epoch = 0

    def on_train_begin(self, logs=None):
        # an instance can be reused across fit calls
        self._reset()

    def on_epoch_end(self, epoch, logs=None):
        current = self._monitor_value(logs, "Early stopping")
        if current is None or epoch < self.start_from_epoch:
            return
        if self.restore_best_weights and self.best_weights is None:
            # the first monitored epoch is the best so far
            self.best_weights = self.model.get_weights()
            self.best_epoch = epoch
        self.wait += 1
        if self._is_improvement(current, self.best):
            self.best = current
            self.best_epoch = epoch
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            # the count restarts only when the baseline is beaten as well
            if self.baseline is None or self._is_improvement(current, self.baseline):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.stopped_epoch > 0 and self.verbose > 0:
            print(f"Epoch {self.stopped_epoch + 1}: early stopping")
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose > 0:
                print("Restoring model weights from the end of the best epoch: "
                      f"{self.best_epoch + 1}.")
            self.model.set_weights(self.best_weights)

    # -- kept by BackupAndRestore -----------------------------------------------------------
    def get_state(self) -> dict[str, Any]:
        return {"wait": self.wait, "stopped_epoch": self.stopped_epoch, "best": self.best,
                "best_epoch": self.best_epoch, "best_weights": self.best_weights}

    def set_state(self, state: dict[str, Any]) -> None:
        self.wait = int(state["wait"])
        self.stopped_epoch = int(state["stopped_epoch"])
        self.best = None if state["best"] is None else float(state["best"])
        self.best_epoch = int(state["best_epoch"])
        weights = state["best_weights"]
        self.best_weights = None if weights is None else [np.asarray(w) for w in weights]
