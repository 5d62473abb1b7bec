"""A training run's folder and its report.

A run folder (written by `cornu mnist`) holds

    model.cornu      the trained model
    history.json     {"format": "cornu.history", "history": History.history,
                      "epoch_seconds": [...]}
    metrics.json     {"format": "cornu.metrics", "run": {...}, "test": {loss, accuracy,
                      samples}, "confusion_matrix", "per_class_accuracy",
                      "worst_misclassified": [{index, true, predicted, probability,
                      true_probability}], "timings": {...}}
    *.png            the figures, and report.html: all of it in one self-contained page

`write_report(run_dir)` (`cornu report RUN_DIR`) rebuilds the figures and the page from
the JSON files, the model file and the MNIST test set (for the pictures of the digits).
The JSON is read strictly: size-capped, standard JSON only (no NaN), every field checked.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from cornu.reports import html, numbers, plots

__all__ = [
    "FIGURES",
    "HISTORY_FILE",
    "METRICS_FILE",
    "MODEL_FILE",
    "REPORT_FILE",
    "RunFolderError",
    "classification_metrics",
    "load_history",
    "load_metrics",
    "read_json",
    "write_json",
    "write_report",
]

MODEL_FILE = "model.cornu"
HISTORY_FILE = "history.json"
METRICS_FILE = "metrics.json"
REPORT_FILE = "report.html"
FIGURES = {
    "learning_curves": "learning_curves.png",
    "confusion_matrix": "confusion_matrix.png",
    "per_class_accuracy": "per_class_accuracy.png",
    "worst_misclassified": "worst_misclassified.png",
}
MAX_JSON_BYTES = 16 * 1024 * 1024
WORST = 32  # how many misclassified digits a run keeps


class RunFolderError(ValueError):
    """A run folder's JSON file is missing, unreadable or not what cornu wrote."""


# -- metrics ------------------------------------------------------------------------------


def classification_metrics(probabilities: np.ndarray, labels: np.ndarray,
                           worst: int = WORST) -> dict[str, Any]:
    """Confusion matrix (true class by row), per-class accuracy (None for a class with no
    samples), accuracy, and the `worst` misclassified samples: the wrong predictions made
    with the highest probability, most confident first."""
    probabilities = np.asarray(probabilities, dtype=np.float64)
    labels = np.asarray(labels).astype(np.int64).reshape(-1)
    if probabilities.ndim != 2 or probabilities.shape[0] != labels.shape[0]:
        raise ValueError("probabilities must be (samples, classes) with one label per sample. "
                         f"Received: {probabilities.shape} and {labels.shape}")
    classes = probabilities.shape[1]
    if labels.size and (labels.min() < 0 or labels.max() >= classes):
        raise ValueError(f"labels must lie in 0..{classes - 1}")
    predicted = probabilities.argmax(axis=1)
    matrix = np.bincount(labels * classes + predicted, minlength=classes * classes)
    matrix = matrix.reshape(classes, classes)
    totals = matrix.sum(axis=1)
    per_class = [float(matrix[c, c] / totals[c]) if totals[c] else None for c in range(classes)]
    rows = np.arange(labels.size)
    confidence = probabilities[rows, predicted]
    wrong = np.flatnonzero(predicted != labels)
    wrong = wrong[np.argsort(-confidence[wrong], kind="stable")][:worst]
    return {
        "accuracy": float((predicted == labels).mean()) if labels.size else None,
        "confusion_matrix": matrix.tolist(),
        "per_class_accuracy": per_class,
        "worst_misclassified": [
            {"index": int(i), "true": int(labels[i]), "predicted": int(predicted[i]),
             "probability": float(confidence[i]),
             "true_probability": float(probabilities[i, labels[i]])}
            for i in wrong],
    }


# -- strict JSON --------------------------------------------------------------------------


def _finite(value: Any) -> Any:
    """A copy for standard JSON: numpy scalars to Python, NaN and infinities to None."""
    if isinstance(value, Mapping):
        return {str(k): _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple | np.ndarray):
        return [_finite(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def write_json(path: str | os.PathLike, value: Any) -> None:
    """Standard JSON (non-finite numbers become null), written atomically."""
    path = Path(path)
    text = json.dumps(_finite(value), indent=1, allow_nan=False, ensure_ascii=False)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(text + "\n", encoding="utf-8")
    os.replace(partial, path)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not standard JSON")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"the key {key!r} appears twice")
        out[key] = value
    return out


def read_json(path: str | os.PathLike, what: str) -> Any:
    """Parse a JSON file strictly; every problem is a RunFolderError naming the file."""
    path = Path(path)
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_JSON_BYTES + 1)
    except FileNotFoundError:
        raise RunFolderError(f"{what} '{path}' does not exist. Is this a folder written by "
                             "'cornu mnist'?") from None
    except OSError as exc:
        raise RunFolderError(f"cannot read {what} '{path}': {exc.strerror or exc}") from None
    if len(data) > MAX_JSON_BYTES:
        raise RunFolderError(f"{what} '{path}' is larger than {MAX_JSON_BYTES:,} bytes: "
                             "not a file cornu wrote")
    try:
        return json.loads(data.decode("utf-8"), parse_constant=_reject_constant,
                          object_pairs_hook=_unique_keys)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise RunFolderError(f"{what} '{path}' is not valid JSON: {exc}") from None


class _Checker:
    """Field checks for one file: each failure names the file and the field."""

    def __init__(self, where: str) -> None:
        self.where = where

    def fail(self, field: str, expected: str) -> RunFolderError:
        return RunFolderError(f"{self.where}: '{field}' must be {expected}")

    def mapping(self, value: Any, field: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(field, "an object")
        return value

    def number(self, value: Any, field: str, optional: bool = False) -> float | None:
        if value is None and optional:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.fail(field, "a number" + (" or null" if optional else ""))
        return float(value)

    def integer(self, value: Any, field: str, low: int = 0, high: int | None = None) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < low or (
                high is not None and value > high):
            raise self.fail(field, f"an integer from {low}" + (f" to {high}" if high else ""))
        return value

    def numbers(self, value: Any, field: str, optional: bool = True) -> list[float | None]:
        if not isinstance(value, list):
            raise self.fail(field, "a list of numbers")
        return [self.number(v, f"{field}[{i}]", optional) for i, v in enumerate(value)]

    def scalar(self, value: Any, field: str) -> Any:
        if value is not None and not isinstance(value, str | int | float | bool):
            raise self.fail(field, "a string, number, boolean or null")
        return value


def _read_checked(run_dir, file_name: str, what: str,
                  fmt: str) -> tuple[dict[str, Any], _Checker]:
    """The file's top-level object, after checking its "format", and the checker that
    names the file in its errors."""
    path = Path(run_dir) / file_name
    check = _Checker(str(path))
    data = check.mapping(read_json(path, what), "(top level)")
    if data.get("format") != fmt:
        raise check.fail("format", repr(fmt))
    return data, check


def load_history(run_dir: str | os.PathLike) -> dict[str, Any]:
    """history.json, checked: {"history": {name: [number | None]}, "epoch_seconds": [...]}."""
    data, check = _read_checked(run_dir, HISTORY_FILE, "the history file", "cornu.history")
    history = {str(k): check.numbers(v, f"history.{k}")
               for k, v in check.mapping(data.get("history"), "history").items()}
    seconds = check.numbers(data.get("epoch_seconds", []), "epoch_seconds", optional=False)
    return {"format": "cornu.history", "history": history, "epoch_seconds": seconds}


def load_metrics(run_dir: str | os.PathLike) -> dict[str, Any]:
    """metrics.json, checked field by field (see the module's docstring)."""
    data, check = _read_checked(run_dir, METRICS_FILE, "the metrics file", "cornu.metrics")
    run = {str(k): check.scalar(v, f"run.{k}")
           for k, v in check.mapping(data.get("run", {}), "run").items()}
    test = check.mapping(data.get("test"), "test")
    test = {"loss": check.number(test.get("loss"), "test.loss", optional=True),
            "accuracy": check.number(test.get("accuracy"), "test.accuracy", optional=True),
            "samples": check.integer(test.get("samples"), "test.samples")}
    matrix = data.get("confusion_matrix")
    if not isinstance(matrix, list) or not 1 <= len(matrix) <= 1000:
        raise check.fail("confusion_matrix", "a square list of lists of counts")
    classes = len(matrix)
    for i, row in enumerate(matrix):
        if not isinstance(row, list) or len(row) != classes:
            raise check.fail("confusion_matrix", "a square list of lists of counts")
        for j, count in enumerate(row):
            check.integer(count, f"confusion_matrix[{i}][{j}]")
    per_class = check.numbers(data.get("per_class_accuracy"), "per_class_accuracy")
    if len(per_class) != classes:
        raise check.fail("per_class_accuracy", f"a list of {classes} numbers (one per class)")
    worst = data.get("worst_misclassified")
    if not isinstance(worst, list):
        raise check.fail("worst_misclassified", "a list")
    entries = []
    for k, entry in enumerate(worst):
        field = f"worst_misclassified[{k}]"
        entry = check.mapping(entry, field)
        entries.append({
            "index": check.integer(entry.get("index"), f"{field}.index"),
            "true": check.integer(entry.get("true"), f"{field}.true", 0, classes - 1),
            "predicted": check.integer(entry.get("predicted"), f"{field}.predicted", 0,
                                       classes - 1),
            "probability": check.number(entry.get("probability"), f"{field}.probability"),
            "true_probability": check.number(entry.get("true_probability", 0.0),
                                             f"{field}.true_probability"),
        })
    timings: dict[str, Any] = {}
    for key, value in check.mapping(data.get("timings", {}), "timings").items():
        timings[str(key)] = (check.numbers(value, f"timings.{key}") if isinstance(value, list)
                             else check.number(value, f"timings.{key}", optional=True))
    return {"format": "cornu.metrics", "run": run, "test": test, "confusion_matrix": matrix,
            "per_class_accuracy": per_class, "worst_misclassified": entries, "timings": timings}


# -- the report ---------------------------------------------------------------------------

_TIMING_NAMES = {
    "data_seconds": "loading the data",
    "fit_seconds": "fit (all epochs, with validation)",
    "first_epoch_seconds": "first epoch (includes compilation)",
    "steady_epoch_seconds": "later epochs (mean)",
    "evaluate_seconds": "evaluate on the test set",
    "predict_seconds": "predict the test set",
    "save_seconds": "save the model",
    "total_seconds": "the whole run, before the report",
}


def _setting(value: Any) -> str:
    if value is None:
        return numbers.DASH
    if isinstance(value, int) and not isinstance(value, bool):
        return numbers.count(value)
    return str(value)


def _timing_rows(timings: Mapping[str, Any]) -> list[list[str]]:
    """The run's timings, with the epochs summarised: the first (which compiles), the
    median and the total (the full list is the folded table)."""
    rows = []
    epochs = timings.get("epoch_seconds")
    known = [v for v in epochs if v is not None] if isinstance(epochs, list) else []
    for key, value in timings.items():
        if key == "epoch_seconds" and known:
            rows.append([_TIMING_NAMES["first_epoch_seconds"], numbers.seconds(known[0])])
            if len(known) > 1:
                rows.append([f"median epoch (of {len(known):,})",
                             numbers.seconds(float(np.median(known)))])
                rows.append([f"all {len(known):,} epochs", numbers.seconds(sum(known))])
            continue
        if isinstance(value, list) or (known and key in ("first_epoch_seconds",
                                                         "steady_epoch_seconds")):
            continue
        rows.append([_TIMING_NAMES.get(key, key.replace("_", " ")), numbers.seconds(value)])
    return rows


def _epoch_rows(timings: Mapping[str, Any]) -> list[list[str]]:
    value = timings.get("epoch_seconds")
    if not isinstance(value, list):
        return []
    return [[f"{i + 1:,}", numbers.seconds(v)] for i, v in enumerate(value)]


def shown_folder(run_dir: str | os.PathLike, cwd: str | os.PathLike | None = None) -> str:
    """The run folder as the page shows it: relative to the working folder when it lies
    under it, else its name alone (no absolute path of this machine in a shared page)."""
    folder = Path(run_dir).resolve()
    base = Path(cwd if cwd is not None else os.getcwd()).resolve()
    try:
        return folder.relative_to(base).as_posix() or "."
    except ValueError:
        return folder.name

def write_report(run_dir: str | os.PathLike, *, model: Any = None,
                 test_images: np.ndarray | None = None) -> tuple[Path, list[str]]:
    """(Re)write the figures and report.html of a run folder.

    `model`: the trained model (default: loaded from model.cornu, for its summary);
    `test_images`: the test pictures (N, 28, 28) the indices in metrics.json refer to
    (default: the MNIST test set, when it is there). Without them, the pictures of the
    worst-misclassified digits that an earlier report drew are kept, not dropped.
    Returns the report's path and notes about what was kept or left out.
    """
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise RunFolderError(f"'{run_dir}' is not a folder. Give the folder that "
                             "'cornu mnist' wrote (it holds metrics.json and model.cornu)")
    history = load_history(run_dir)
    metrics = load_metrics(run_dir)
    notes: list[str] = []
    if model is None:
        from cornu.saving import load_model

        model = load_model(run_dir / MODEL_FILE, compile=False)
    lines: list[str] = []
    model.summary(print_fn=lines.append)
    summary = "\n".join(lines)
    worst = metrics["worst_misclassified"]
    kept: bytes | None = None
    if test_images is None and worst:
        test_images, reason = _mnist_test_images()
        if test_images is None:
            kept = _earlier_png(run_dir / FIGURES["worst_misclassified"])
            notes.append(f"{reason}, so the report keeps the digit pictures it already had"
                         if kept else f"{reason}, so the report shows no digit pictures")
    if test_images is not None and worst:
        largest = max(entry["index"] for entry in worst)
        if largest >= len(test_images):
            raise RunFolderError(f"{run_dir / METRICS_FILE}: worst_misclassified names test "
                                 f"sample {largest:,}, but the test set has "
                                 f"{len(test_images):,}")

    pngs = _draw(history, metrics, test_images)
    for key, png in pngs.items():
        (run_dir / FIGURES[key]).write_bytes(png)
    if kept is not None:
        pngs["worst_misclassified"] = kept
    page = _page(run_dir, history, metrics, summary, pngs, notes)
    path = run_dir / REPORT_FILE
    partial = path.with_name(path.name + ".partial")
    partial.write_text(page, encoding="utf-8")
    os.replace(partial, path)
    return path, notes


def _earlier_png(path: Path, limit: int = 16 * 1024 * 1024) -> bytes | None:
    """The PNG an earlier report wrote there, or None (missing, too large, not a PNG)."""
    try:
        with open(path, "rb") as f:
            data = f.read(limit + 1)
    except OSError:
        return None
    return data if len(data) <= limit and plots.display_width(data) else None


def _mnist_test_images() -> tuple[np.ndarray | None, str]:
    from cornu.datasets import mnist

    try:
        (_, _), (x_test, _) = mnist.load_data()
    except (OSError, ValueError) as exc:
        first = " ".join(str(exc).split(". ")[0].split())
        return None, f"the MNIST test set is not available ({first})"
    return x_test, ""


def _draw(history: Mapping[str, Any], metrics: Mapping[str, Any],
          test_images: np.ndarray | None) -> dict[str, bytes]:
    overall = metrics["test"]["accuracy"]
    figures = {
        "learning_curves": plots.draw_learning_curves(history["history"]),
        "confusion_matrix": plots.draw_confusion_matrix(metrics["confusion_matrix"]),
        "per_class_accuracy": plots.draw_per_class_accuracy(metrics["per_class_accuracy"],
                                                            overall),
    }
    worst = metrics["worst_misclassified"]
    if test_images is not None:
        figures["worst_misclassified"] = plots.draw_digit_grid(
            [np.asarray(test_images[e["index"]], dtype=np.float32) for e in worst],
            [f"said {e['predicted']} ({numbers.percent(e['probability'])})\ntrue {e['true']}"
             for e in worst])
    return {key: plots.png_bytes(figure) for key, figure in figures.items()}


def _image(pngs: Mapping[str, bytes], key: str, alt: str) -> str:
    return html.image(pngs[key], alt, plots.display_width(pngs[key]))


def _page(run_dir: Path, history: Mapping[str, Any], metrics: Mapping[str, Any], summary: str,
          pngs: Mapping[str, bytes], notes: Sequence[str]) -> str:
    run, test = metrics["run"], metrics["test"]
    matrix = metrics["confusion_matrix"]
    classes = len(matrix)
    ratio = numbers.ratio
    headline = html.table(["", "value"], [
        ["test accuracy", ratio(test["accuracy"])],
        ["test loss", ratio(test["loss"])],
        ["test samples", numbers.count(test["samples"])],
        *[[str(k).replace("_", " "), _setting(v)] for k, v in run.items()],
    ])
    hist = history["history"]
    last = [[name, ratio(values[-1] if values else None)] for name, values in hist.items()]
    curves = [html.figures(_image(pngs, "learning_curves", "learning curves"),
                           html.table(["quantity", "last epoch"], last)),
              html.paragraph("Training values are the mean over each epoch's batches; "
                             "validation values are measured after the epoch.", note=True)]
    errors = sum(matrix[i][j] for i in range(classes) for j in range(classes) if i != j)
    confusion = [html.figures(_image(pngs, "confusion_matrix", "confusion matrix")),
                 html.paragraph(f"Rows: the true digit; columns: the predicted digit. The "
                                f"diagonal (grey) counts the right answers; the "
                                f"{numbers.count(errors)} mistakes off it are coloured by "
                                "their count.", note=True),
                 html.table(["true \\ predicted", *map(str, range(classes))],
                            [[str(i), *map(numbers.count, row)] for i, row in enumerate(matrix)])]
    per_class = [html.figures(
        _image(pngs, "per_class_accuracy", "accuracy per class"),
        html.table(["class", "test samples", "correct", "accuracy"], [
            [str(c), numbers.count(sum(matrix[c])), numbers.count(matrix[c][c]),
             ratio(metrics["per_class_accuracy"][c])] for c in range(classes)]))]
    worst = metrics["worst_misclassified"]
    worst_table = html.table(["test index", "true", "said", "probability", "p(true)"],
                             [[numbers.count(e["index"]), e["true"], e["predicted"],
                               ratio(e["probability"]), ratio(e["true_probability"])]
                              for e in worst])
    if "worst_misclassified" in pngs:
        digits = [html.paragraph("Each picture: the digit the model said (its probability) and "
                                 "the true digit; the most confident mistakes first, in the "
                                 "order of the table (p(true): the probability the model gave "
                                 "the true digit).", note=True),
                  html.figures(_image(pngs, "worst_misclassified",
                                      "worst-misclassified test digits"), worst_table)]
    else:
        digits = [html.paragraph("No pictures: " + "; ".join(notes) + "." if notes else
                                 "No misclassified test digits.", note=True), worst_table]
    epochs = _epoch_rows(metrics["timings"])
    timings = [html.table(["step", "seconds"], _timing_rows(metrics["timings"]))]
    if len(epochs) > 1:
        timings.append(html.details(f"every epoch ({len(epochs):,})",
                                    html.table(["epoch", "seconds"], epochs)))
    sections = [
        html.section("results", "Results", headline),
        html.section("learning-curves", "Learning curves", *curves),
        html.section("confusion-matrix", "Confusion matrix", *confusion),
        html.section("per-class-accuracy", "Accuracy per class", *per_class),
        html.section("worst-misclassified", "Worst-misclassified test digits", *digits),
        html.section("model-summary", "Model", html.preformatted(summary)),
        html.section("timings", "Timings", *timings),
    ]
    subtitle = f"Run folder: {shown_folder(run_dir)}"
    return html.page("cornu training report", sections, subtitle)
