"""CSVLogger: one row per epoch (the epoch's logs) in a CSV file."""

from __future__ import annotations

import collections.abc
import csv
import io
import os
from typing import Any

import numpy as np

from cornu import devices
from cornu.callbacks.base import Callback


def _cell(value: Any) -> Any:
    if isinstance(value, str):
        return value
    if isinstance(value, collections.abc.Iterable) and not (
            isinstance(value, np.ndarray) and value.ndim == 0):
        return f"[{', '.join(map(str, value))}]"
    return value


class CSVLogger(Callback):
    """Keras' CSVLogger: streams each epoch's logs to `filename`, flushed every epoch.

    Columns: `epoch` (from 0), then the log names sorted; a run without validation
    still gets `val_` columns (filled with NA), as in Keras. `append=True` adds to an
    existing file (its header is written only if the file is empty).

    Under BackupAndRestore the rows survive a restart: a resumed run's file holds
    exactly the rows an unbroken run would have written.
    """

    def __init__(self, filename: str | os.PathLike, separator: str = ",",
                 append: bool = False) -> None:
        super().__init__()
        if not isinstance(filename, str | os.PathLike):
            raise TypeError(f"filename must be a str or a path. Received: filename={filename!r}")
        if not isinstance(separator, str) or len(separator) != 1:
            raise ValueError("separator must be a one-character string, e.g. ','. Received: "
                             f"separator={separator!r}")
        self.sep = separator
        self.filename = os.fspath(filename)
        self.append = bool(append)
        self.keys: list[str] | None = None
        self.append_header = True
        self._start = 0  # where this fit's rows begin in the file
        self._written: list[str] = []  # the text this fit wrote

    # the file is opened for each write, so nothing stays open if fit is interrupted
    def on_train_begin(self, logs=None):
        self.append_header = True
        self._written = []
        self.keys = None
        if not devices.writes_files():  # process 0 of a job writes the file
            return
        if self.append and os.path.exists(self.filename):
            with open(self.filename, encoding="utf-8", newline="") as f:
                self.append_header = not f.readline()
        with open(self.filename, "a" if self.append else "w", encoding="utf-8",
                  newline="") as f:
            self._start = f.seek(0, os.SEEK_END)

    def _line(self, cells: list[Any]) -> str:
        buffer = io.StringIO()
        csv.writer(buffer, delimiter=self.sep, lineterminator="\n").writerow(cells)
        return buffer.getvalue()

    def _write(self, text: str) -> None:
        if devices.writes_files():
            with open(self.filename, "a", encoding="utf-8", newline="") as f:
                f.write(text)
        self._written.append(text)

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        lines = ""
        if self.keys is None:
            self.keys = sorted(logs)
            if self.keys and not any(k.startswith("val_") for k in self.keys):
                self.keys += [f"val_{k}" for k in self.keys]
            if self.append_header:
                lines = self._line(["epoch", *self.keys])
        lines += self._line([epoch, *(_cell(logs.get(k, "NA")) for k in self.keys)])
        self._write(lines)

    # -- kept by BackupAndRestore -----------------------------------------------------------
    def get_state(self) -> dict[str, Any]:
        return {"start": self._start, "keys": self.keys, "text": "".join(self._written)}

    def set_state(self, state: dict[str, Any]) -> None:
        """Put the file back as it was when the state was taken (same rows, no more)."""
        self.keys = None if state["keys"] is None else list(state["keys"])
        self._start = int(state["start"])
        self._written = [state["text"]] if state["text"] else []
        with open(self.filename, "a", encoding="utf-8", newline="") as f:
            f.truncate(self._start)
            f.write(state["text"])
