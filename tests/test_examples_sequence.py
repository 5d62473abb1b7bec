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


@pytest.mark.slow
def test_mnist_lstm_training_is_keras_step_for_step():
    """The example's model, optimizer (Adam, cosine decay) and loss, from the same initial
    weights and batch order, train as in Keras 3: what separates the two libraries'
    figures in the docstring is the random draw, not the training."""
    import os

    import jax

    import cornu

    os.environ.setdefault("KERAS_BACKEND", "jax")
    keras = pytest.importorskip("keras")
    rng = np.random.default_rng(0)
    x = rng.random((300, 28, 28), dtype=np.float32)  # 3 batches, the last one partial
    y = rng.integers(0, 10, 300)
    models = []
    for lib in (keras, cornu):
        with jax.numpy_rank_promotion("allow"):
            model = lib.Sequential([lib.Input(shape=(28, 28)), lib.layers.LSTM(16),
                                    lib.layers.Dense(10, activation="softmax")])
            model.compile(optimizer=lib.optimizers.Adam(
                lib.optimizers.schedules.CosineDecay(1e-3, 6)),
                loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        models.append(model)
    models[1].set_weights(models[0].get_weights())
    histories = []
    for model in models:
        with jax.numpy_rank_promotion("allow"):
            histories.append(model.fit(x, y, batch_size=128, epochs=2, shuffle=False,
                                       verbose=0).history)
    np.testing.assert_allclose(histories[1]["loss"], histories[0]["loss"], rtol=1e-5)
    for a, b in zip(models[1].get_weights(), models[0].get_weights(), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
