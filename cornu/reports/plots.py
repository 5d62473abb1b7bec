"""The report's figures, drawn with matplotlib's Agg canvas (no pyplot, no display).

Each `draw_*` function takes plain numbers and returns a matplotlib Figure;
`png_bytes(figure)` renders it. Missing values (None or NaN) are left as gaps.

The figures are sized to be shown at their width in inches x 100 CSS pixels (at most
about 560 px wide, so that a phone shrinks them by no more than a third) and rendered
at SCALE times that, sharp on high-density screens; `display_width(png)` gives the CSS
width back. The text sizes are chosen to stay readable at both widths.
"""

from __future__ import annotations

import functools
import io
import math
import struct
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from cornu.reports import numbers

__all__ = [
    "SCALE",
    "display_width",
    "draw_accuracy_vs_batch_size",
    "draw_confusion_matrix",
    "draw_digit_grid",
    "draw_learning_curves",
    "draw_per_class_accuracy",
    "draw_time_vs_batch_size",
    "png_bytes",
]

SCALE = 1.5  # PNG pixels per CSS pixel
_DPI = 100  # CSS pixels per inch of figure
_TEXT = {"font.size": 11, "axes.titlesize": 12, "axes.labelsize": 11,
         "xtick.labelsize": 10, "ytick.labelsize": 10, "legend.fontsize": 10}


def _styled(draw):
    """Draw with the report's text sizes (matplotlib's defaults are too small once a
    phone shrinks the picture)."""

    @functools.wraps(draw)
    def wrapper(*args, **kwargs):
        try:
            import matplotlib
        except ImportError as exc:
            raise ImportError("cornu's plots need matplotlib, which is not installed. "
                              "Install it with: pip install matplotlib") from exc
        with matplotlib.rc_context(_TEXT):
            return draw(*args, **kwargs)

    return wrapper


def _figure(width: float, height: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=_DPI, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def png_bytes(figure) -> bytes:
    """The figure as a PNG file's bytes, at SCALE times its display size."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=_DPI * SCALE)
    return buffer.getvalue()


def display_width(png: bytes) -> int | None:
    """The CSS width (px) to show a PNG drawn here at; None if it is not a PNG."""
    if len(png) < 24 or not png.startswith(b"\x89PNG\r\n\x1a\n") or png[12:16] != b"IHDR":
        return None
    (width,) = struct.unpack(">I", png[16:20])
    return max(1, round(width / SCALE))


def _values(values: Sequence[Any]) -> np.ndarray:
    return np.array([math.nan if v is None else float(v) for v in values], dtype=float)


@_styled
def draw_learning_curves(history: Mapping[str, Sequence[float | None]]):
    """One panel per quantity (loss first, then the metrics), one under the other, training
    as a solid line and validation (`val_` keys) dashed, against the epoch (from 1). With
    a single epoch each value is a large dot labelled with its value, so the panel does not
    look empty."""
    names = [k for k in history if not k.startswith("val_")]
    names += [k.removeprefix("val_") for k in history
              if k.startswith("val_") and k.removeprefix("val_") not in names]
    names.sort(key=lambda n: (n != "loss", n))
    if not names:
        names = ["loss"]
    epochs = max((len(v) for v in history.values()), default=0)
    marker = 3 if epochs > 20 else 5 if epochs > 1 else 9
    figure = _figure(5.4, 0.4 + 2.6 * len(names))
    panels = figure.subplots(len(names), 1, squeeze=False, sharex=True)[:, 0]
    for axes, name in zip(panels, names, strict=True):
        for key, style, label in ((name, "-o", "training"), (f"val_{name}", "--s", "validation")):
            if key in history and len(history[key]):
                values = _values(history[key])
                x = np.arange(1, len(values) + 1)
                (line,) = axes.plot(x, values, style, markersize=marker, label=label)
                if epochs == 1 and math.isfinite(values[0]):
                    axes.annotate(numbers.ratio(values[0]), (1, values[0]), xytext=(10, 0),
                                  textcoords="offset points", va="center",
                                  color=line.get_color())
        axes.set_title(name)
        axes.grid(True, alpha=0.3)
        if axes.get_lines():
            axes.legend()
        if epochs == 1:
            axes.set_xlim(0.5, 1.8)
            axes.margins(y=0.5)
    panels[-1].set_xlabel("epoch")
    if 0 < epochs <= 20:
        panels[-1].set_xticks(range(1, epochs + 1))
    return figure


@_styled
def draw_confusion_matrix(matrix: Sequence[Sequence[int]], labels: Sequence[str] | None = None):
    """Counts, true class by row and predicted class by column. The diagonal (correct)
    is grey; the mistakes off it are coloured by their count on their own scale, so that
    a handful of errors shows next to a thousand correct answers."""
    from matplotlib.colors import PowerNorm

    counts = np.asarray(matrix, dtype=np.int64)
    n = counts.shape[0]
    labels = [str(i) for i in range(n)] if labels is None else list(labels)
    diagonal = np.eye(n, dtype=bool)
    errors = np.ma.masked_array(counts, mask=diagonal | (counts == 0))
    most = int(errors.max()) if errors.count() else 1
    figure = _figure(5.4, 5.6)
    axes = figure.add_subplot()
    axes.imshow(np.ma.masked_array(np.ones_like(counts), mask=~diagonal), cmap="Greys",
                vmin=0, vmax=4)
    image = axes.imshow(errors, cmap="Reds", norm=PowerNorm(0.5, vmin=0, vmax=max(most, 1)))
    small = 9.5 if counts.max() >= 1000 else 10.5
    for i in range(n):
        for j in range(n):
            if counts[i, j] or i == j:
                dark = i != j and counts[i, j] > 0.45 * most
                axes.text(j, i, numbers.count(counts[i, j]), ha="center", va="center",
                          fontsize=small, color="white" if dark else "black",
                          fontweight="bold" if i == j else "normal")
    axes.set_xticks(range(n), labels)
    axes.set_yticks(range(n), labels)
    axes.set_xticks(np.arange(n + 1) - 0.5, minor=True)
    axes.set_yticks(np.arange(n + 1) - 0.5, minor=True)
    axes.grid(which="minor", color="white", linewidth=1)
    axes.tick_params(which="minor", length=0)
    axes.set_xlabel("predicted")
    axes.xaxis.set_label_position("top")
    axes.xaxis.tick_top()
    axes.set_ylabel("true")
    axes.set_title("confusion matrix (test set)")
    bar = figure.colorbar(image, ax=axes, orientation="horizontal", shrink=0.7, aspect=30,
                          pad=0.02, label="mistakes off the diagonal (count)")
    bar.ax.tick_params(labelsize=9)
    return figure


@_styled
def draw_per_class_accuracy(accuracy: Sequence[float | None], overall: float | None = None,
                            labels: Sequence[str] | None = None):
    """A bar per class; the overall accuracy as a dashed line."""
    values = _values(accuracy)
    labels = [str(i) for i in range(len(values))] if labels is None else list(labels)
    figure = _figure(5.4, 3.4)
    axes = figure.add_subplot()
    bars = axes.bar(range(len(values)), np.nan_to_num(values), color="#4a7ab5")
    for bar, value in zip(bars, values, strict=True):
        if not math.isnan(value):
            axes.text(bar.get_x() + bar.get_width() / 2, value, numbers.ratio(value, 3),
                      ha="center", va="bottom", fontsize=8)
    if overall is not None:
        axes.axhline(overall, color="#b5524a", linestyle="--", linewidth=1)
    low = np.nanmin(values) if np.isfinite(values).any() else 0.0
    axes.set_ylim(max(0.0, min(low, overall if overall is not None else 1.0) - 0.05), 1.03)
    axes.set_xticks(range(len(values)), labels)
    axes.set_xlabel("true class")
    axes.set_ylabel("accuracy")
    axes.set_title("accuracy per class (test set)" + (
        "" if overall is None else f"\ndashed: overall {numbers.ratio(overall)}"))
    return figure


@_styled
def draw_digit_grid(images: Sequence[np.ndarray], titles: Sequence[str], columns: int = 4):
    """Grayscale pictures (ink dark on white) in a grid, each with its title; 4 columns
    keep the titles readable on a phone."""
    count = max(len(images), 1)
    columns = min(columns, count)
    rows = math.ceil(count / columns)
    figure = _figure(1.3 * columns, 1.55 * rows)
    grid = figure.subplots(rows, columns, squeeze=False)
    for k, axes in enumerate(grid.flat):
        axes.set_axis_off()
        if k < len(images):
            axes.imshow(np.asarray(images[k]), cmap="gray_r", vmin=0.0,
                        vmax=float(np.max(images[k])) or 1.0, interpolation="nearest")
            axes.set_title(titles[k], fontsize=10)
    if not images:
        grid.flat[0].text(0.5, 0.5, "no misclassified digits", ha="center", va="center")
    return figure


@_styled
def draw_time_vs_batch_size(sizes: Sequence[int], first: Sequence[float | None],
                            steady: Sequence[float | None] | None = None,
                            lecture: Mapping[int, float] | None = None,
                            ylabel: str = "seconds per epoch"):
    """Seconds per epoch against batch size, both axes logarithmic."""
    figure = _figure(5.4, 3.6)
    axes = figure.add_subplot()
    x = np.asarray(sizes, dtype=float)
    axes.plot(x, _values(first), "-o", label="first epoch (incl. compile)")
    if steady is not None and np.isfinite(_values(steady)).any():
        axes.plot(x, _values(steady), "-s", label="later epochs (mean)")
    if lecture:
        keys = sorted(lecture)
        axes.plot(keys, [lecture[k] for k in keys], "x", color="#b5524a", markersize=9,
                  label="lecture (2016)")
    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.set_xlabel("batch size")
    axes.set_ylabel(ylabel)
    axes.set_title("time per epoch")
    axes.grid(True, which="both", alpha=0.3)
    axes.legend()
    return figure


@_styled
def draw_accuracy_vs_batch_size(sizes: Sequence[int], accuracy: Sequence[float | None],
                                epochs: int = 1):
    """Test accuracy against batch size (logarithmic), after the same number of epochs."""
    figure = _figure(5.4, 3.6)
    axes = figure.add_subplot()
    axes.plot(np.asarray(sizes, dtype=float), _values(accuracy), "-o")
    axes.set_xscale("log")
    axes.set_xlabel("batch size")
    axes.set_ylabel("test accuracy")
    axes.set_title(f"test accuracy after {epochs} epoch{'s' if epochs != 1 else ''}")
    axes.grid(True, which="both", alpha=0.3)
    return figure
