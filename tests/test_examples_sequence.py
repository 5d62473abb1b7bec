"""examples/mnist_lstm.py and examples/text_classification.py run end to end, briefly
(a fraction of an epoch's data; the full runs are the scripts' defaults)."""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

import numpy as np
import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def _run(script: str, *argv: str, monkeypatch) -> dict:
    monkeypatch.setattr(sys, "argv", [script, *argv])
    return runpy.run_path(str(EXAMPLES / script), run_name="__main__")


@pytest.mark.slow
def test_mnist_lstm_runs(monkeypatch, capsys):
    _run("mnist_lstm.py", "--epochs", "1", "--rows", "256", "--test-rows", "128",
         monkeypatch=monkeypatch)
    out = capsys.readouterr().out
    assert "cornu: 1 epochs on 256 images" in out and "test accuracy" in out


def test_text_corpus_is_deterministic_and_balanced():
    corpus = runpy.run_path(str(EXAMPLES / "text_classification.py"))
    texts, labels = corpus["make_corpus"](400, seed=3)
    again, labels_again = corpus["make_corpus"](400, seed=3)
    assert texts == again and np.array_equal(labels, labels_again)
    assert 0.3 < labels.mean() < 0.7
    ids = corpus["vectorize"](texts)
    assert ids.shape == (400, corpus["MAXLEN"]) and (ids[:, 0] > 0).all()
    lengths = (ids > 0).sum(axis=1)
    assert lengths.min() >= 4 and (ids[np.arange(400), lengths - 1] > 0).all()


@pytest.mark.slow
def test_text_classification_runs(monkeypatch, capsys):
    _run("text_classification.py", "--epochs", "1", "--samples", "256",
         monkeypatch=monkeypatch)
    out = capsys.readouterr().out
    assert "cornu: test loss" in out and "test accuracy" in out
