"""The run report's parts without MNIST: metrics, strict JSON, self-contained HTML."""

from __future__ import annotations

import json
import math
import re

import numpy as np
import pytest

import cornu
from cornu.data.datasets import _cache
from cornu.reports import html, run_report
from cornu.reports.run_report import RunFolderError

SECTIONS = ("results", "learning-curves", "confusion-matrix", "per-class-accuracy",
            "worst-misclassified", "model-summary", "timings")


def test_classification_metrics_by_hand():
    probabilities = np.array([
        [0.9, 0.1, 0.0],  # true 0, said 0
        [0.2, 0.8, 0.0],  # true 0, said 1 (0.8)
        [0.1, 0.3, 0.6],  # true 1, said 2 (0.6)
        [0.0, 1.0, 0.0],  # true 1, said 1
        [0.05, 0.95, 0.0],  # true 0, said 1 (0.95): the worst
    ])
    labels = np.array([0, 0, 1, 1, 0])
    scores = run_report.classification_metrics(probabilities, labels, worst=2)
    assert scores["confusion_matrix"] == [[1, 2, 0], [0, 1, 1], [0, 0, 0]]
    assert scores["per_class_accuracy"] == [pytest.approx(1 / 3), 0.5, None]
    assert scores["accuracy"] == pytest.approx(0.4)
    worst = scores["worst_misclassified"]
    assert [w["index"] for w in worst] == [4, 1]
    assert worst[0] == {"index": 4, "true": 0, "predicted": 1, "probability": 0.95,
                        "true_probability": 0.05}


def test_json_is_written_standard_and_read_strictly(tmp_path):
    path = tmp_path / "x.json"
    run_report.write_json(path, {"loss": [0.5, math.nan, np.float32(0.25)], "n": np.int64(3)})
    assert json.loads(path.read_text()) == {"loss": [0.5, None, 0.25], "n": 3}
    for text, problem in [("{\"a\": NaN}", "NaN is not standard JSON"),
                          ("{\"a\": 1, \"a\": 2}", "appears twice"),
                          ("{\"a\": ", "not valid JSON"),
                          ("\xff\xfe", "not valid JSON")]:
        path.write_bytes(text.encode("latin-1"))
        with pytest.raises(RunFolderError, match=problem):
            run_report.read_json(path, "the file")
    with pytest.raises(RunFolderError, match="does not exist"):
        run_report.read_json(tmp_path / "missing.json", "the file")


def _run_folder(tmp_path, **changes):
    history = {"format": "cornu.history",
               "history": {"loss": [1.0, 0.5], "accuracy": [0.6, 0.8],
                           "val_loss": [0.9, None], "val_accuracy": [0.7, 0.75]},
               "epoch_seconds": [1.5, 0.5]}
    rng = np.random.default_rng(0)
    probabilities = rng.dirichlet(np.ones(10), size=50)
    labels = rng.integers(0, 10, size=50)
    scores = run_report.classification_metrics(probabilities, labels, worst=5)
    metrics = {"format": "cornu.metrics", "run": {"model": "<b>mlp</b>", "epochs": 2},
               "test": {"loss": 2.3, "accuracy": scores["accuracy"], "samples": 50},
               **{k: scores[k] for k in ("confusion_matrix", "per_class_accuracy",
                                         "worst_misclassified")},
               "timings": {"epoch_seconds": [1.5, 0.5], "fit_seconds": 2.0,
                           "steady_epoch_seconds": None}}
    metrics.update(changes)
    run_report.write_json(tmp_path / "history.json", history)
    run_report.write_json(tmp_path / "metrics.json", metrics)
    return rng.random((50, 28, 28)).astype(np.float32)


def _small_model():
    model = cornu.Sequential([cornu.layers.Dense(10, input_shape=(784,),
                                                 activation="softmax")])
    model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    return model


def test_report_has_every_section_and_is_self_contained(tmp_path):
    images = _run_folder(tmp_path)
    model = _small_model()
    model.save(tmp_path / "model.cornu")
    path, notes = run_report.write_report(tmp_path, test_images=images)  # model from file
    assert notes == []
    page = path.read_text(encoding="utf-8")
    for anchor in SECTIONS:
        assert f'<section id="{anchor}">' in page
    assert page.count('src="data:image/png;base64,') == 4
    assert not re.search(r"(src|href)=\"(?!data:|#)", page)  # nothing outside the file
    assert "http" not in page and "<script" not in page
    assert "&lt;b&gt;mlp&lt;/b&gt;" in page  # text is escaped
    assert "Total params: 7,850" in page
    for name in run_report.FIGURES.values():
        assert (tmp_path / name).read_bytes().startswith(b"\x89PNG")


def test_report_without_test_images_says_so(tmp_path, monkeypatch):
    _run_folder(tmp_path)
    monkeypatch.setenv("CORNU_DATA", str(tmp_path / "nowhere"))
    monkeypatch.setenv("CORNU_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("CORNU_MNIST_MIRROR", "http://127.0.0.1:9/")
    monkeypatch.setattr(_cache, "PACKAGE_DIR", tmp_path / "site-packages" / "cornu")  # no clone
    path, notes = run_report.write_report(tmp_path, model=_small_model())
    assert len(notes) == 1 and "MNIST test set is not available" in notes[0]
    page = path.read_text(encoding="utf-8")
    assert page.count("data:image/png") == 3 and "No pictures" in page


@pytest.mark.parametrize("changes, field", [
    ({"format": "other"}, "format"),
    ({"test": {"loss": "low", "accuracy": 0.5, "samples": 50}}, "test.loss"),
    ({"confusion_matrix": [[1, 2], [3]]}, "confusion_matrix"),
    ({"confusion_matrix": [[1, -2], [3, 4]], "per_class_accuracy": [1, 1]},
     r"confusion_matrix\[0\]\[1\]"),
    ({"per_class_accuracy": [0.5]}, "per_class_accuracy"),
    ({"worst_misclassified": [{"index": 0, "true": 12, "predicted": 1, "probability": 1}]},
     r"worst_misclassified\[0\]\.true"),
    ({"timings": {"fit_seconds": "fast"}}, "timings.fit_seconds"),
    ({"run": {"model": {"nested": 1}}}, "run.model"),
])
def test_malformed_metrics_are_refused_naming_the_field(tmp_path, changes, field):
    _run_folder(tmp_path, **changes)
    with pytest.raises(RunFolderError, match=field):
        run_report.load_metrics(tmp_path)


def test_worst_index_beyond_the_test_set_is_refused(tmp_path):
    images = _run_folder(tmp_path)
    with pytest.raises(RunFolderError, match="test set has 3"):
        run_report.write_report(tmp_path, model=_small_model(), test_images=images[:3])


def test_html_helpers_escape():
    page = html.page("a <title>", [html.section("s", "S & T", html.table(["<h>"], [["<c>"]]),
                                                html.preformatted("x < y"))])
    assert "<title>a &lt;title&gt;</title>" in page
    assert "<th>&lt;h&gt;</th>" in page and "<td>&lt;c&gt;</td>" in page
    assert "<pre>x &lt; y</pre>" in page and "S &amp; T" in page


# -- the page in a real browser: what issue 19 asked for ---------------------------------


def test_numbers_never_round_to_one_and_have_separators():
    from cornu.reports import numbers

    assert numbers.percent(0.996) == "99.6%" and numbers.percent(0.42) == "42%"
    assert numbers.percent(1.0) == "100%" and numbers.percent(0.0) == "0%"
    assert numbers.percent(0.004) == "0.4%" and numbers.percent(1 - 1e-12) == ">99.9999%"
    assert numbers.ratio(0.99996) == "0.99996" and numbers.ratio(0.98264) == "0.9826"
    assert numbers.count(60000) == "60,000" and numbers.seconds(1234.56) == "1,234.6"


def test_report_page_fits_phones_and_rounds_honestly(tmp_path, monkeypatch):
    run = tmp_path / "runs" / "first"
    run.mkdir(parents=True)
    images = _run_folder(run)
    metrics = json.loads((run / "metrics.json").read_text())
    metrics["test"]["accuracy"] = 0.99996
    metrics["run"]["batch_size"] = 1000
    metrics["confusion_matrix"][3][3] = 1135
    metrics["worst_misclassified"][0].update(index=49, probability=0.996)
    metrics["timings"]["epoch_seconds"] = [2.5, 0.5, 0.75]
    run_report.write_json(run / "metrics.json", metrics)
    titles = []
    draw = run_report.plots.draw_digit_grid
    monkeypatch.setattr(run_report.plots, "draw_digit_grid",
                        lambda pictures, names: titles.extend(names) or draw(pictures, names))
    monkeypatch.chdir(tmp_path)
    path, _ = run_report.write_report(run, model=_small_model(), test_images=images)
    page = path.read_text(encoding="utf-8")
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in page
    assert "Run folder: runs/first" in page and str(tmp_path) not in page  # relative
    first = metrics["worst_misclassified"][0]
    assert titles[0] == f"said {first['predicted']} (99.6%)\ntrue {first['true']}"
    assert not any("100%" in t for t in titles)
    assert "<td>0.99996</td>" in page and "1.0000" not in page  # never rounded up to 1
    assert "<td>1,135</td>" in page and "<td>1,000</td>" in page  # thousands separators
    # every table scrolls in its own box; the epochs are summarised, their table folded
    assert page.count("<table>") == page.count('<div class="scroll"><table>')
    assert "<td>first epoch (includes compilation)</td><td>2.500</td>" in page
    assert "<td>median epoch (of 3)</td><td>0.750</td>" in page
    assert "<td>all 3 epochs</td><td>3.750</td>" in page
    assert "later epochs (mean)" not in page  # said by the median
    assert "<details><summary>every epoch (3)</summary>" in page
    # figures are shown at their drawn size, and shrink on a narrow screen
    assert re.search(r'<img alt="confusion matrix" width="540"', page)
    monkeypatch.chdir(tmp_path / "runs" / "first")
    assert run_report.shown_folder(run) == "."
    assert run_report.shown_folder(run, cwd=tmp_path / "elsewhere") == "first"


def test_report_keeps_the_digit_pictures_it_has_when_mnist_is_missing(tmp_path, monkeypatch):
    images = _run_folder(tmp_path)
    run_report.write_report(tmp_path, model=_small_model(), test_images=images)
    pictures = (tmp_path / "worst_misclassified.png").read_bytes()
    monkeypatch.setenv("CORNU_DATA", str(tmp_path / "nowhere"))
    monkeypatch.setenv("CORNU_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("CORNU_MNIST_MIRROR", "http://127.0.0.1:9/")
    monkeypatch.setattr(_cache, "PACKAGE_DIR", tmp_path / "site-packages" / "cornu")
    path, notes = run_report.write_report(tmp_path, model=_small_model())
    assert len(notes) == 1 and "keeps the digit pictures it already had" in notes[0]
    page = path.read_text(encoding="utf-8")
    assert page.count("data:image/png") == 4 and "No pictures" not in page
    assert (tmp_path / "worst_misclassified.png").read_bytes() == pictures


def test_one_epoch_curves_are_labelled_dots_and_mistakes_have_their_own_scale():
    from cornu.reports import plots

    figure = plots.draw_learning_curves({"loss": [0.5], "val_loss": [0.25],
                                         "accuracy": [0.9], "val_accuracy": [0.95]})
    texts = {t.get_text() for axes in figure.axes for t in axes.texts}
    assert {"0.5000", "0.2500", "0.9000", "0.9500"} <= texts
    assert all(line.get_markersize() >= 8 for axes in figure.axes for line in axes.lines)
    matrix = [[980, 0, 0], [2, 1135, 1], [0, 40, 900]]
    figure = plots.draw_confusion_matrix(matrix)
    matrix_axes, bar = figure.axes
    assert "mistakes" in bar.get_xlabel()
    assert bar.get_xlim()[1] == 40  # the scale of the mistakes, not of the diagonal
    numbers_drawn = {t.get_text() for t in matrix_axes.texts}
    assert {"980", "1,135", "2", "1", "40"} <= numbers_drawn
    png = plots.png_bytes(figure)
    assert plots.display_width(png) == 540
