"""History: what `fit` returns, the logs of every epoch."""

from __future__ import annotations

import os
from typing import Any

from cornu.callbacks.base import Callback


class History(Callback):
    def __init__(self) -> None:
        super().__init__()
        self.history: dict[str, list[float]] = {}
        self.epoch: list[int] = []

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(value)

    # -- kept by BackupAndRestore: a resumed fit returns the epochs before the break too --
    def get_state(self) -> dict[str, Any]:
        return {"epoch": list(self.epoch), "history": {k: list(v) for k, v in
                                                      self.history.items()}}

    def set_state(self, state: dict[str, Any]) -> None:
        self.epoch = [int(e) for e in state["epoch"]]
        self.history = {str(k): list(v) for k, v in state["history"].items()}

    def plot(self, path: str | os.PathLike | None = None,
             metrics: list[str] | None = None):
        """Loss and metrics per epoch: one panel per quantity, training and `val_` on
        the same axes. With `path`, the figure is written there (PNG by default; the
        format follows the file's extension) and None is returned; without it, the
        matplotlib Figure is returned (a notebook shows it).

        `metrics`: the names to draw (e.g. ['loss', 'accuracy']; `val_` entries are
        added); default: every quantity in the history. Needs matplotlib.
        """
        try:
            from matplotlib.backends.backend_agg import FigureCanvasAgg
            from matplotlib.figure import Figure
        except ImportError as exc:
            raise ImportError("History.plot needs matplotlib, which is not installed. "
                              "Install it with: pip install matplotlib") from exc
        names = self._plot_names(metrics)
        epochs = [e + 1 for e in self.epoch]
        # a Figure outside pyplot: no global backend switch, no second copy in notebooks
        figure = Figure(figsize=(5.0 * len(names), 3.6), layout="constrained")
        FigureCanvasAgg(figure)
        for axes, name in zip(figure.subplots(1, len(names), squeeze=False)[0], names,
                              strict=True):
            for key, style in ((name, "-o"), (f"val_{name}", "--s")):
                values = self.history.get(key)
                if values is not None:
                    axes.plot(epochs[-len(values):], values, style, markersize=3, label=key)
            axes.set_title(name)
            axes.set_xlabel("epoch")
            axes.grid(True, alpha=0.3)
            axes.legend()
            if len(epochs) <= 20:
                axes.set_xticks(epochs)
        if path is None:
            return figure
        figure.savefig(os.fspath(path))
        return None

    def _plot_names(self, metrics: list[str] | None) -> list[str]:
        if not self.history:
            raise ValueError("The history is empty: there is nothing to plot. Call "
                             "model.fit(...) first; it returns the History.")
        available = [k for k in self.history
                     if not k.startswith("val_") or k.removeprefix("val_") not in self.history]
        available = [k.removeprefix("val_") if k.startswith("val_") else k for k in available]
        if metrics is None:
            return available
        if isinstance(metrics, str):
            metrics = [metrics]
        names = []
        for name in metrics:
            base = name.removeprefix("val_") if isinstance(name, str) else name
            if base not in available:
                raise ValueError(f"metrics names {name!r}, which the history does not hold. "
                                 f"It holds: {', '.join(sorted(self.history))}.")
            if base not in names:
                names.append(base)
        return names
