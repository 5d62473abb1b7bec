"""TerminateOnNaN: Keras' callback, for scripts that pass it.

cornu's fit already stops at the first non-finite loss and keeps the weights of the
last finite step (the compiled loop checks every step), so this callback adds nothing
to a plain run. It stays compatible: it sets `model.stop_training` if an epoch's
loss is not finite, and with `raise_error=True` it raises instead, so that no other
callback's `on_train_end` runs (BackupAndRestore then keeps its backup).
"""

from __future__ import annotations

import math

from cornu.callbacks.base import Callback


class TerminateOnNaN(Callback):
    """Keras' TerminateOnNaN: stop (or, with raise_error=True, raise a RuntimeError)
    when the loss is NaN or infinite."""

    def __init__(self, raise_error: bool = False) -> None:
        super().__init__()
        if not isinstance(raise_error, bool):
            raise ValueError(f"raise_error must be True or False. Received: "
                             f"raise_error={raise_error!r}")
        self.raise_error = raise_error
        self._seen_stop = None

    def on_train_begin(self, logs=None):
        # fit records a NaN stop as a new (epoch, step) tuple on the model
        self._seen_stop = getattr(self.model, "nan_stop", None)

    def on_epoch_end(self, epoch, logs=None):
        loss = (logs or {}).get("loss")
        stop = getattr(self.model, "nan_stop", None)
        if stop is not None and stop is not self._seen_stop:
            where = f"epoch {stop[0] + 1}, step {stop[1] + 1}"
        elif loss is not None and not math.isfinite(loss):
            where = f"epoch {epoch + 1}"
        else:
            return
        if self.raise_error:
            raise RuntimeError(f"NaN or Inf loss encountered at {where}. "
                               "Terminating training immediately.")
        print(f"Invalid loss at {where}, terminating training")
        self.model.stop_training = True
