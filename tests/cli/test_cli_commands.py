"""Each `cornu` command end to end on real MNIST (one shared training run), and the
one-line errors, in-process and once as a real process."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest
from cli_helpers import run_cli

from cornu.reports import run_report

pytestmark = pytest.mark.slow  # trains on real MNIST

SECTIONS = ("results", "learning-curves", "confusion-matrix", "per-class-accuracy",
            "worst-misclassified", "model-summary", "timings")


def test_mnist_writes_the_run_folder(trained_run):
    folder, stdout = trained_run
    assert "Epoch 1/1" in stdout and "val_accuracy" in stdout and "Test loss:" in stdout
    for name in ("model.cornu", "history.json", "metrics.json", "report.html",
                 *run_report.FIGURES.values()):
        assert (folder / name).is_file(), name
    history = run_report.load_history(folder)
    assert set(history["history"]) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert len(history["epoch_seconds"]) == 1
    metrics = run_report.load_metrics(folder)
    assert metrics["test"]["samples"] == 10_000 and metrics["test"]["accuracy"] > 0.9
    assert sum(map(sum, metrics["confusion_matrix"])) == 10_000
    assert metrics["run"]["train_samples"] == 54_000
    assert metrics["run"]["validation_samples"] == 6_000
    assert len(metrics["worst_misclassified"]) == run_report.WORST
    assert metrics["timings"]["fit_seconds"] > 0


def test_report_has_every_section_embedded(trained_run):
    folder, _ = trained_run
    page = (folder / "report.html").read_text(encoding="utf-8")
    for anchor in SECTIONS:
        assert f'<section id="{anchor}">' in page, anchor
    assert page.count('src="data:image/png;base64,') == 4
    assert not re.search(r"(src|href)=\"(?!data:|#)", page)
    assert "http" not in page
    assert "Total params: 648,010" in page
    assert "first epoch (includes compilation)" in page


def test_report_rebuilds_the_page_and_figures(trained_run, mnist_env, tmp_path):
    copy = tmp_path / "run"
    shutil.copytree(trained_run[0], copy)
    for name in ("report.html", *run_report.FIGURES.values()):
        (copy / name).unlink()
    code, stdout, stderr = run_cli("report", copy)
    assert code == 0, stderr
    assert "Wrote the report" in stdout
    page = (copy / "report.html").read_text(encoding="utf-8")
    assert all(f'<section id="{a}">' in page for a in SECTIONS)
    assert page.count("data:image/png") == 4
    for name in run_report.FIGURES.values():
        assert (copy / name).read_bytes().startswith(b"\x89PNG")


def test_summary_prints_the_layers(trained_run):
    code, stdout, _ = run_cli("summary", trained_run[0] / "model.cornu")
    assert code == 0
    assert 'Model: "lecture_mlp"' in stdout and "Total params: 648,010" in stdout


def drawn_digits(images: np.ndarray, folder, seed: int = 0) -> list:
    """MNIST digits as people draw them: dark ink on white (some white on black), 2-8
    times larger, somewhere on a larger page; PNG and JPEG."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    paths = []
    for k, image in enumerate(images):
        side = int(28 * rng.uniform(2, 8))
        digit = Image.fromarray(255 - image).resize((side, side), Image.BILINEAR)
        width, height = side + int(rng.integers(10, 200)), side + int(rng.integers(10, 200))
        page = Image.new("L", (width, height), 255)
        page.paste(digit, (int(rng.integers(0, width - side)),
                           int(rng.integers(0, height - side))))
        if k % 4 == 3:
            page = Image.eval(page, lambda v: 255 - v)  # white on black
        path = folder / f"digit_{k}.{'jpg' if k % 3 == 1 else 'png'}"
        (page.convert("RGB") if k % 3 == 1 else page).save(path)
        paths.append(path)
    return paths


def test_predict_reads_digits_drawn_as_people_draw_them(trained_run, mnist_env, tmp_path):
    from cornu.datasets import mnist

    (_, _), (x_test, y_test) = mnist.load_data()
    pick = np.random.default_rng(1).choice(len(x_test), 100, replace=False)
    paths = drawn_digits(x_test[pick], tmp_path)
    code, stdout, stderr = run_cli("predict", trained_run[0] / "model.cornu", *paths)
    assert code == 0, stderr
    lines = stdout.splitlines()
    assert len(lines) == 100
    said = {}
    for line in lines:
        match = re.fullmatch(r"(.+): (\d) \(probability (0\.\d{4}|1\.0000)\)", line)
        assert match, line
        said[match[1]] = int(match[2])
    predicted = np.array([said[str(p)] for p in paths])
    accuracy = (predicted == y_test[pick]).mean()
    assert accuracy >= 0.9, accuracy


def _one_error_line(stderr: str, *words: str) -> None:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("cornu: error: "), stderr
    assert "Traceback" not in stderr
    for word in words:
        assert word in lines[0], (word, stderr)


def test_file_errors_are_one_line(trained_run, tmp_path):
    model = trained_run[0] / "model.cornu"
    text = tmp_path / "notes.png"
    text.write_text("not a picture")
    fake = tmp_path / "fake.cornu"
    fake.write_bytes(b"PK\x03\x04 not really a zip")
    blank = tmp_path / "blank.png"
    from PIL import Image

    Image.new("L", (40, 40), 255).save(blank)
    cases = [
        (("summary", tmp_path / "missing.cornu"), ("missing.cornu", "no such file")),
        (("summary", fake), ("fake.cornu",)),
        (("predict", tmp_path / "missing.cornu", text), ("missing.cornu",)),
        (("predict", model, text), ("notes.png", "not a picture")),
        (("predict", model, tmp_path / "gone.png"), ("gone.png", "no such file")),
        (("predict", model, blank), ("blank.png", "blank")),
        (("predict", model, tmp_path), ("is a folder",)),
        (("report", tmp_path), ("history.json", "does not exist")),
    ]
    for argv, words in cases:
        code, _, stderr = run_cli(*argv)
        assert code == 1, argv
        _one_error_line(stderr, *words)


def test_damaged_run_folder_is_one_line(trained_run, tmp_path):
    copy = tmp_path / "run"
    shutil.copytree(trained_run[0], copy)
    metrics = json.loads((copy / "metrics.json").read_text())
    metrics["per_class_accuracy"] = "all good"
    (copy / "metrics.json").write_text(json.dumps(metrics))
    code, _, stderr = run_cli("report", copy)
    assert code == 1
    _one_error_line(stderr, "metrics.json", "per_class_accuracy")


def test_usage_errors_exit_2(tmp_path):
    for argv in (["mnist", "--epochs", "0"], ["mnist", "--validation-split", "1"],
                 ["mnist", "--model", "rnn"], ["experiment", "batch-size", "--sizes", "1,x"],
                 ["predict", "model.cornu"], []):
        code, _, stderr = run_cli(*argv)
        assert code == 2, argv
        assert "usage: cornu" in stderr and "Traceback" not in stderr


def test_bad_training_settings_are_one_line(mnist_env, tmp_path):
    code, _, stderr = run_cli("mnist", "--optimizer", "adamm", "--out", tmp_path / "a")
    assert code == 1
    _one_error_line(stderr, "--optimizer adamm", "adam")
    code, _, stderr = run_cli("mnist", "--limit", "1", "--out", tmp_path / "b")
    assert code == 1
    _one_error_line(stderr, "--validation-split", "--limit")


def test_real_process_exit_codes_and_no_traceback(trained_run, tmp_path):
    from PIL import Image

    good = tmp_path / "one.png"
    picture = np.full((60, 40), 255, np.uint8)
    picture[10:50, 18:23] = 0
    Image.fromarray(picture).save(good)
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"\xff\xd8 truncated")
    model = trained_run[0] / "model.cornu"
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    command = [sys.executable, "-m", "cornu.cli.main", "predict", str(model)]
    # the two independent processes run side by side
    runs = [subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True, env=env)
            for args in ([*command, str(good), str(bad)], [*command, str(good)])]
    try:
        outputs = [run.communicate(timeout=120) for run in runs]
    finally:
        for run in runs:
            run.kill()
            run.wait()
    (stdout, stderr), (_, stderr_good) = outputs
    assert runs[0].returncode == 1
    assert re.fullmatch(r".*one\.png: \d \(probability [01]\.\d{4}\)\n", stdout)
    _one_error_line(stderr, "bad.jpg")
    assert runs[1].returncode == 0 and stderr_good == ""
