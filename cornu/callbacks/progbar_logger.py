"""ProgbarLogger: the progress output of fit, added by fit when verbose is 1 or 2."""

from __future__ import annotations

import sys
import time
from typing import TextIO

from cornu.callbacks.base import Callback
from cornu.reports import progbar


class ProgbarLogger(Callback):
    """verbose=1 on a terminal or notebook: a live bar per epoch, redrawn after each
    compiled chunk. Otherwise (verbose=2, pipes, logs, CI): one line per epoch."""

    #: fit shrinks its compiled chunks to this many per epoch for a live bar
    LIVE_UPDATES = 30

    def __init__(self, stream: TextIO | None = None) -> None:
        super().__init__()
        self.stream = stream
        self.live = False
        self._start = 0.0

    def _out(self) -> TextIO:
        return self.stream or sys.stdout

    def on_train_begin(self, logs=None):
        self.live = self.params.get("verbose") == 1 and progbar.is_live(self._out())
        if self.live and self.params.get("steps"):
            self.max_chunk_steps = -(-self.params["steps"] // self.LIVE_UPDATES)

    def on_epoch_begin(self, epoch, logs=None):
        self._write(progbar.format_epoch_header(epoch, self.params["epochs"]) + "\n")
        self._start = time.perf_counter()

    def on_chunk_end(self, step: int, logs=None) -> None:
        if self.live and self.params.get("steps"):
            bar = progbar.format_bar(step, self.params["steps"], time.perf_counter() - self._start,
                                     logs or {})
            self._write("\r" + bar)

    def on_epoch_end(self, epoch, logs=None):
        seconds = time.perf_counter() - self._start
        compiled = getattr(self.model, "_epoch_compile_seconds", None)
        line = progbar.format_epoch_end(self.params["steps"], seconds, self.params["samples"],
                                        logs or {}, compiled)
        self._write(("\r" + line + "\x20" * 8 if self.live else line) + "\n")

    def _write(self, text: str) -> None:
        stream = self._out()
        stream.write(text)
        stream.flush()
