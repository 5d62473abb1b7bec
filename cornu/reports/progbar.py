"""Progress output: pure formatting functions, and a writer that prints them.

Where the output goes decides the style: a terminal or a notebook gets one live line
per epoch (carriage return, no escape codes); a pipe, a file or CI gets one plain
line per epoch and nothing else.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Mapping
from typing import TextIO


def format_value(value: float) -> str:
    if not math.isfinite(value):
        return str(value)
    return f"{value:.4f}" if abs(value) >= 1e-3 or value == 0 else f"{value:.4e}"


def format_seconds(seconds: float) -> str:
    if seconds < 1:
        return f"{seconds * 1000:.0f}ms"
    if seconds < 60:
        return f"{seconds:.1f}s"
    if seconds < 3600:
        return f"{int(seconds // 60)}m{int(seconds % 60):02d}s"
    return f"{int(seconds // 3600)}h{int(seconds % 3600 // 60):02d}m"


def format_logs(logs: Mapping[str, float]) -> str:
    return " - ".join(f"{name}: {format_value(value)}" for name, value in logs.items())


def format_epoch_header(epoch: int, epochs: int) -> str:
    """'Epoch 3/20' (epoch counts from 0, as in callbacks)."""
    return f"Epoch {epoch + 1}/{epochs}"


def format_bar(step: int, steps: int, seconds: float, logs: Mapping[str, float],
               width: int = 30) -> str:
    """'120/600 [=====>........................] - ETA: 2.1s - loss: 0.3100'."""
    done = int(width * step / max(steps, 1))
    bar = "=" * done
    if step < steps:
        bar = bar[:-1] + ">" if done else ">"
    bar = bar.ljust(width, ".")
    parts = [f"{step}/{steps} [{bar}]"]
    if step < steps and step > 0:
        parts.append(f"ETA: {format_seconds(seconds / step * (steps - step))}")
    else:
        parts.append(format_seconds(seconds))
    if logs:
        parts.append(format_logs(logs))
    return " - ".join(parts)


def format_epoch_end(
    steps: int, seconds: float, samples: int, logs: Mapping[str, float],
    compile_seconds: float | None = None,
) -> str:
    """'600/600 - 0.6s - 98,765 samples/s - loss: 0.2800 - accuracy: 0.9170'."""
    parts = [f"{steps}/{steps}", format_seconds(seconds)]
    if seconds > 0:
        parts.append(f"{samples / seconds:,.0f} samples/s")
    if compile_seconds is not None:
        parts.append(f"incl. compile {format_seconds(compile_seconds)}")
    if logs:
        parts.append(format_logs(logs))
    return " - ".join(parts)


def is_live(stream: TextIO) -> bool:
    """A terminal or a notebook: a line can be redrawn with a carriage return."""
    if "ipykernel" in sys.modules:
        return True
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except ValueError:  # closed
        return False
