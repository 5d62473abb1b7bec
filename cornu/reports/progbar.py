"""Progress output: pure formatting functions, and a writer that prints them."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import TextIO


def format_value(value: float) -> str:
    return f"{value:.4f}" if abs(value) >= 1e-3 or value == 0 else f"{value:.4e}"


def format_seconds(seconds: float) -> str:
    if seconds < 1:
        return f"{seconds * 1000:.0f}ms"
    if seconds < 60:
        return f"{seconds:.1f}s"
    return f"{int(seconds // 60)}m{seconds % 60:02.0f}s"


def format_epoch_header(epoch: int, epochs: int) -> str:
    """'Epoch 3/20' (epoch counts from 0, as in callbacks)."""
    return f"Epoch {epoch + 1}/{epochs}"


def format_epoch_end(
    steps: int, seconds: float, samples: int, logs: Mapping[str, float],
    compile_seconds: float | None = None,
) -> str:
    """'600/600 - 0.6s - 98765 samples/s - loss: 0.2800 - accuracy: 0.9170'."""
    parts = [f"{steps}/{steps}", format_seconds(seconds)]
    if seconds > 0:
        parts.append(f"{samples / seconds:,.0f} samples/s")
    if compile_seconds is not None:
        parts.append(f"compile {format_seconds(compile_seconds)}")
    parts += [f"{name}: {format_value(value)}" for name, value in logs.items()]
    return " - ".join(parts)


class EpochPrinter:
    """verbose=1 or 2: a header and one line per epoch, no carriage returns."""

    def __init__(self, epochs: int, stream: TextIO | None = None) -> None:
        self.epochs = epochs
        self.stream = stream

    def _write(self, line: str) -> None:
        stream = self.stream or sys.stdout
        stream.write(line + "\n")
        stream.flush()

    def epoch_begin(self, epoch: int) -> None:
        self._write(format_epoch_header(epoch, self.epochs))

    def epoch_end(self, steps, seconds, samples, logs, compile_seconds=None) -> None:
        self._write(format_epoch_end(steps, seconds, samples, logs, compile_seconds))
