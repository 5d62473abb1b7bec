"""ModelCheckpoint: save the model or its weights during training."""

from __future__ import annotations

import os
import warnings
from typing import Any

from cornu.callbacks._monitor import (
    MonitorCallback,
    check_count,
    check_number,
    check_save_freq,
    steps_due,
)

_MODEL_SUFFIX = ".cornu"
_WEIGHTS_SUFFIX = ".weights.safetensors"
#: Keras' own formats, also written (cornu.saving.keras_format)
_KERAS_MODEL_SUFFIX = ".keras"
_KERAS_WEIGHTS_SUFFIX = ".weights.h5"


class ModelCheckpoint(MonitorCallback):
    """Keras' ModelCheckpoint, writing cornu files (atomically: a crash mid-save leaves
    the previous file whole).

    Args:
        filepath: where to save; may hold `{epoch}` (from 1), `{batch}` (with an integer
            save_freq) and any log name, with format specs:
            `"ckpt/w.{epoch:02d}-{val_loss:.2f}.cornu"`. It must end in `.cornu`
            or `.keras` (`model.save`), or in `.weights.safetensors` or `.weights.h5`
            with save_weights_only=True (`model.save_weights`). Missing folders are created.
        monitor, mode: the quantity that decides what "best" means.
        verbose: 1 prints a line when the callback acts.
        save_best_only: save only when `logs[monitor]` improves on the best so far.
        save_weights_only: the weights alone instead of the whole model.
        save_freq: 'epoch', or an integer N: save every N training steps (fit then
            runs compiled calls of at most N steps).
        initial_value_threshold: the best value to beat at first (save_best_only).

    Its best value is kept by BackupAndRestore, so a resumed run saves exactly the
    checkpoints an unbroken one would.
    """

    def __init__(
        self,
        filepath: str | os.PathLike,
        monitor: str = "val_loss",
        verbose: int = 0,
        save_best_only: bool = False,
        save_weights_only: bool = False,
        mode: str = "auto",
        save_freq: str | int = "epoch",
        initial_value_threshold: float | None = None,
    ) -> None:
        super().__init__(monitor, mode, 0.0)
        if not isinstance(filepath, str | os.PathLike):
            raise TypeError(f"filepath must be a str or a path. Received: filepath={filepath!r}")
        self.filepath = os.fspath(filepath)
        self.verbose = check_count(verbose, "verbose")
        self.save_best_only = bool(save_best_only)
        self.save_weights_only = bool(save_weights_only)
        self.save_freq = check_save_freq(save_freq)
        if save_freq != "epoch":
            self.max_chunk_steps = save_freq
        suffixes = ((_WEIGHTS_SUFFIX, _KERAS_WEIGHTS_SUFFIX) if self.save_weights_only else
                    (_MODEL_SUFFIX, _KERAS_MODEL_SUFFIX))
        if not self.filepath.endswith(suffixes):
            what = ("With save_weights_only=True the filepath must end in "
                    f"{_WEIGHTS_SUFFIX} (or {_KERAS_WEIGHTS_SUFFIX})" if self.save_weights_only
                    else f"The filepath must end in {_MODEL_SUFFIX} or {_KERAS_MODEL_SUFFIX} "
                    f"(the whole model; use save_weights_only=True and {_WEIGHTS_SUFFIX} or "
                    f"{_KERAS_WEIGHTS_SUFFIX} for the weights alone)")
            raise ValueError(f"{what}. Received: filepath={self.filepath!r}")
        self.best = (None if initial_value_threshold is None else
                     check_number(initial_value_threshold, "initial_value_threshold"))
        self._steps_since_save = 0
        self._last_step = 0  # steps of the current epoch seen at the last chunk end
        self._current_epoch: int | None = None

    # -- hooks -----------------------------------------------------------------------------
    def on_train_begin(self, logs=None):
        self._current_epoch = None

    def on_epoch_begin(self, epoch, logs=None):
        if epoch != self._current_epoch:  # (the same epoch again: resumed mid-epoch)
            self._current_epoch = epoch
            self._last_step = 0

    def on_chunk_end(self, step: int, logs=None) -> None:
        if steps_due(self, step):
            self._save(self._current_epoch or 0, step, logs)

    def on_epoch_end(self, epoch, logs=None):
        if self.save_freq == "epoch":
            self._save(epoch, None, logs)

    # -- saving ----------------------------------------------------------------------------
    def _path(self, epoch: int, batch: int | None, logs: dict) -> str:
        fields = dict(logs)
        fields["epoch"] = epoch + 1
        if batch is not None and "batch" not in logs:
            fields["batch"] = batch
        try:
            return self.filepath.format(**fields)
        except KeyError as exc:
            raise KeyError(
                f'Failed to format this callback filepath: "{self.filepath}". Reason: '
                f"{exc} is not one of epoch{', batch' if batch is not None else ''} or the "
                f"logs ({', '.join(logs)})."
            ) from None

    def _should_save(self, epoch: int, logs: dict, path: str) -> bool:
        if not self.save_best_only:
            if self.verbose > 0:
                print(f"\nEpoch {epoch + 1}: saving model to {path}")
            return True
        current = logs.get(self.monitor)
        if current is None:
            warnings.warn(f"Can save best model only with {self.monitor} available.",
                          stacklevel=3)
            return True
        current = float(current)
        best = "None" if self.best is None else f"{self.best:.5f}"
        if self._is_improvement(current, self.best):
            if self.verbose > 0:
                print(f"\nEpoch {epoch + 1}: {self.monitor} improved from {best} to "
                      f"{current:.5f}, saving model to {path}")
            self.best = current
            return True
        if self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: {self.monitor} did not improve from {best}")
        return False

    def _save(self, epoch: int, batch: int | None, logs) -> None:
        logs = logs or {}
        path = self._path(epoch, batch, logs)
        if not self._should_save(epoch, logs, path):
            return
        if os.path.isdir(path):
            raise OSError("Please specify a non-directory filepath for ModelCheckpoint. "
                          f"Filepath used is an existing directory: {path}")
        folder = os.path.dirname(path)
        if folder:
            os.makedirs(folder, exist_ok=True)
        if self.save_weights_only:
            self.model.save_weights(path, overwrite=True)
        else:
            self.model.save(path, overwrite=True)

    # -- kept by BackupAndRestore -----------------------------------------------------------
    def get_state(self) -> dict[str, Any]:
        return {"best": self.best, "steps_since_save": self._steps_since_save,
                "epoch": self._current_epoch, "last_step": self._last_step}

    def set_state(self, state: dict[str, Any]) -> None:
        self.best = None if state["best"] is None else float(state["best"])
        self._steps_since_save = int(state["steps_since_save"])
        self._current_epoch = state["epoch"]
        self._last_step = int(state["last_step"])
