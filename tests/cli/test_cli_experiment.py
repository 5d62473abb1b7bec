"""`cornu experiment batch-size`, and `cornu mnist --model cnn`."""

from __future__ import annotations

import json

import numpy as np
import pytest
from cli_helpers import run_cli

import cornu
from cornu.cli import experiment, models


def test_sizes_are_parsed_sorted_and_checked():
    assert experiment.sizes_list("1000,1,10,10") == [1, 10, 1000]
    for bad in ("", "0,10", "1,x", "-5"):
        with pytest.raises(ValueError, match="positive integers"):
            experiment.sizes_list(bad)


def _summary(epochs: int, scaled: bool) -> dict:
    rows = [{"batch_size": b, "steps_per_epoch": s, "epoch_seconds": [f] * epochs,
             "first_epoch_seconds": f, "steady_epoch_seconds": f / 2 if epochs > 1 else None,
             "test_accuracy": a, "test_loss": 0.3}
            for b, s, f, a in ((1, 60000, 31.25, 0.9412), (10, 6000, 4.5, 0.9555),
                               (10000, 6, 0.8, 0.4321))]
    return {"epochs": epochs, "train_samples": 6000 if scaled else 60000,
            "seconds_scaled_to": 60000 if scaled else None, "optimizer": "adam", "seed": 0,
            "device": "cpu: cpu", "cpu_count": 2, "jax_version": "x",
            "lecture_seconds_per_epoch": {"1": 166.0, "10": 17.0}, "results": rows}


def test_markdown_table():
    text = experiment.markdown(_summary(epochs=1, scaled=False))
    table = [line for line in text.splitlines() if line.startswith("|")]
    assert table[0] == ("| batch size | steps/epoch | s/epoch, first (incl. compile) | "
                        "test accuracy | lecture (2016) s/epoch |")
    assert table[2] == "| 1 | 60,000 | 31.2 | 0.9412 | 166.0 |"
    assert table[3] == "| 10 | 6,000 | 4.5 | 0.9555 | 17.0 |"
    assert table[4] == "| 10,000 | 6 | 0.8 | 0.4321 | – |"
    assert "scaled" not in text
    two = experiment.markdown(_summary(epochs=2, scaled=True))
    assert "s/epoch, later" in two and "scaled to 60,000 samples" in two
    assert "| 1 | 60,000 | 31.2 | 15.6 | 0.9412 | 166.0 |" in two


@pytest.mark.slow
def test_batch_size_experiment_writes_figures_and_table(mnist_env, tmp_path):
    out = tmp_path / "experiment"
    code, stdout, stderr = run_cli("experiment", "batch-size", "--sizes", "100,1000",
                                   "--limit", "2000", "--epochs", "2", "--out", out)
    assert code == 0, stderr
    data = json.loads((out / "experiment.json").read_text())
    assert data["train_samples"] == 2000 and data["seconds_scaled_to"] == 60000
    assert [r["batch_size"] for r in data["results"]] == [100, 1000]
    assert [r["steps_per_epoch"] for r in data["results"]] == [20, 2]
    for row in data["results"]:
        assert len(row["epoch_seconds"]) == 2 and row["steady_epoch_seconds"] > 0
        assert row["first_epoch_seconds"] == pytest.approx(row["epoch_seconds"][0] * 30)
        assert 0.0 <= row["test_accuracy"] <= 1.0
    table = (out / "experiment.md").read_text()
    assert "| 100 | 20 |" in table and "| 1,000 | 2 |" in table
    assert "scaled to 60,000" in table and table in stdout
    for name in ("time_vs_batch_size.png", "accuracy_vs_batch_size.png"):
        assert (out / name).read_bytes().startswith(b"\x89PNG")
    # progress while each batch size trains, then a page like the run report
    assert "Batch size 100 (1 of 2): 20 steps per epoch\nEpoch 1/2\n20/20 - " in stdout
    assert "Batch size 1,000 (2 of 2)" in stdout and stdout.count("Epoch 2/2") == 2
    page = (out / "experiment.html").read_text(encoding="utf-8")
    assert '<meta name="viewport"' in page and page.count("data:image/png;base64,") == 2
    assert "<td>1,000</td>" in page and f"Folder: {out.name}" in page
    assert f"Wrote the report to {out / 'experiment.html'}" in stdout


def test_cnn_needs_conv_layers(monkeypatch, tmp_path):
    monkeypatch.delattr(cornu.layers, "Conv2D")
    code, _, stderr = run_cli("mnist", "--model", "cnn", "--out", tmp_path)
    assert code == 1
    assert stderr.startswith("cornu: error: the cnn model needs Conv2D")
    assert len(stderr.strip().splitlines()) == 1


def test_cnn_model_is_keras_mnist_convnet():
    model = models.build("cnn")
    assert model.count_params() == 34_826
    assert models.input_layout(model) == "image"
    images = np.zeros((2, 28, 28), np.float32)
    assert models.shape_inputs(images, "image").shape == (2, 28, 28, 1)


@pytest.mark.slow
def test_mnist_cnn_end_to_end(mnist_env, tmp_path):
    from PIL import Image

    code, stdout, stderr = run_cli("mnist", "--model", "cnn", "--limit", "500", "--epochs", "1",
                                   "--out", tmp_path / "cnn")
    assert code == 0, stderr
    assert "mnist_convnet" in stdout
    picture = np.full((50, 50), 255, np.uint8)
    picture[5:45, 22:27] = 0
    Image.fromarray(picture).save(tmp_path / "one.png")
    code, stdout, stderr = run_cli("predict", tmp_path / "cnn" / "model.cornu",
                                   tmp_path / "one.png")
    assert code == 0, stderr
    assert stdout.startswith(f"{tmp_path / 'one.png'}: ")
