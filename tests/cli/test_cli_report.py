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
