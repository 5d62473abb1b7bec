"""The report's figures, drawn with matplotlib's Agg canvas (no pyplot, no display).

Each `draw_*` function takes plain numbers and returns a matplotlib Figure;
`png_bytes(figure)` renders it. Missing values (None or NaN) are left as gaps.
"""

from __future__ import annotations

import io
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

__all__ = [
    "draw_accuracy_vs_batch_size",
    "draw_confusion_matrix",
    "draw_digit_grid",
    "draw_learning_curves",
    "draw_per_class_accuracy",
    "draw_time_vs_batch_size",
    "png_bytes",
]


def _figure(width: float, height: float):
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as exc:
        raise ImportError("cornu's plots need matplotlib, which is not installed. Install it "
                          "with: pip install 'cornu[report]'") from exc
    figure = Figure(figsize=(width, height), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def png_bytes(figure) -> bytes:
    """The figure as a PNG file's bytes."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def _values(values: Sequence[Any]) -> np.ndarray:
    return np.array([math.nan if v is None else float(v) for v in values], dtype=float)


def draw_learning_curves(history: Mapping[str, Sequence[float | None]]):
    """One panel per quantity (loss first, then the metrics), training as a solid line
    and validation (`val_` keys) dashed, against the epoch (from 1)."""
    names = [k for k in history if not k.startswith("val_")]
    names += [k.removeprefix("val_") for k in history
              if k.startswith("val_") and k.removeprefix("val_") not in names]
    names.sort(key=lambda n: (n != "loss", n))
    if not names:
        names = ["loss"]
    figure = _figure(4.6 * len(names), 3.4)
    for axes, name in zip(figure.subplots(1, len(names), squeeze=False)[0], names, strict=True):
        for key, style, label in ((name, "-o", "training"), (f"val_{name}", "--s", "validation")):
            if key in history and len(history[key]):
                values = _values(history[key])
                axes.plot(np.arange(1, len(values) + 1), values, style, markersize=3, label=label)
        axes.set_title(name)
        axes.set_xlabel("epoch")
        axes.grid(True, alpha=0.3)
        if axes.get_lines():
            axes.legend()
        epochs = max((len(history.get(k, ())) for k in (name, f"val_{name}")), default=0)
        if 0 < epochs <= 20:
            axes.set_xticks(range(1, epochs + 1))
    return figure


def draw_confusion_matrix(matrix: Sequence[Sequence[int]], labels: Sequence[str] | None = None):
    """Counts, true class by row and predicted class by column; the colour is each row's
    share, so rare classes are as visible as common ones."""
    counts = np.asarray(matrix, dtype=np.int64)
    n = counts.shape[0]
    labels = [str(i) for i in range(n)] if labels is None else list(labels)
    rows = counts.sum(axis=1, keepdims=True)
    share = np.divide(counts, rows, out=np.zeros(counts.shape, float), where=rows > 0)
    figure = _figure(6.2, 5.4)
    axes = figure.add_subplot()
    image = axes.imshow(share, cmap="Blues", vmin=0.0, vmax=1.0)
    for i in range(n):
        for j in range(n):
            if counts[i, j]:
                axes.text(j, i, str(counts[i, j]), ha="center", va="center", fontsize=7,
                          color="white" if share[i, j] > 0.5 else "black")
    axes.set_xticks(range(n), labels)
    axes.set_yticks(range(n), labels)
    axes.set_xlabel("predicted")
    axes.set_ylabel("true")
    axes.set_title("confusion matrix (test set)")
    figure.colorbar(image, ax=axes, label="share of the true class")
    return figure


def draw_per_class_accuracy(accuracy: Sequence[float | None], overall: float | None = None,
                            labels: Sequence[str] | None = None):
    """A bar per class; the overall accuracy as a dashed line."""
    values = _values(accuracy)
    labels = [str(i) for i in range(len(values))] if labels is None else list(labels)
    figure = _figure(6.2, 3.2)
    axes = figure.add_subplot()
    bars = axes.bar(range(len(values)), np.nan_to_num(values), color="#4a7ab5")
    for bar, value in zip(bars, values, strict=True):
        if not math.isnan(value):
            axes.text(bar.get_x() + bar.get_width() / 2, value, f"{value:.3f}", ha="center",
                      va="bottom", fontsize=7)
    if overall is not None:
        axes.axhline(overall, color="#b5524a", linestyle="--", linewidth=1)
    low = np.nanmin(values) if np.isfinite(values).any() else 0.0
    axes.set_ylim(max(0.0, min(low, overall if overall is not None else 1.0) - 0.05), 1.02)
    axes.set_xticks(range(len(values)), labels)
    axes.set_xlabel("true class")
    axes.set_ylabel("accuracy")
    axes.set_title("accuracy per class (test set)" + (
        "" if overall is None else f"; dashed: overall {overall:.4f}"))
    return figure


def draw_digit_grid(images: Sequence[np.ndarray], titles: Sequence[str], columns: int = 8):
    """Grayscale pictures (ink bright) in a grid, each with its title."""
    count = max(len(images), 1)
    columns = min(columns, count)
    rows = math.ceil(count / columns)
    figure = _figure(1.25 * columns, 1.45 * rows)
    grid = figure.subplots(rows, columns, squeeze=False)
    for k, axes in enumerate(grid.flat):
        axes.set_axis_off()
        if k < len(images):
            axes.imshow(np.asarray(images[k]), cmap="gray_r", vmin=0.0,
                        vmax=float(np.max(images[k])) or 1.0, interpolation="nearest")
            axes.set_title(titles[k], fontsize=7)
    if not images:
        grid.flat[0].text(0.5, 0.5, "no misclassified digits", ha="center", va="center")
    return figure


def draw_time_vs_batch_size(sizes: Sequence[int], first: Sequence[float | None],
                            steady: Sequence[float | None] | None = None,
                            lecture: Mapping[int, float] | None = None,
                            ylabel: str = "seconds per epoch"):
    """Seconds per epoch against batch size, both axes logarithmic."""
    figure = _figure(5.6, 3.8)
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


def draw_accuracy_vs_batch_size(sizes: Sequence[int], accuracy: Sequence[float | None],
                                epochs: int = 1):
    """Test accuracy against batch size (logarithmic), after the same number of epochs."""
    figure = _figure(5.6, 3.8)
    axes = figure.add_subplot()
    axes.plot(np.asarray(sizes, dtype=float), _values(accuracy), "-o")
    axes.set_xscale("log")
    axes.set_xlabel("batch size")
    axes.set_ylabel("test accuracy")
    axes.set_title(f"test accuracy after {epochs} epoch{'s' if epochs != 1 else ''}")
    axes.grid(True, which="both", alpha=0.3)
    return figure
