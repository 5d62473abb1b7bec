"""examples/cifar_augment.py, run briefly in a subprocess: it trains above chance on its
synthetic images and the models it saves (.keras, .cornu) reload and predict the same."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "examples" / "cifar_augment.py"


@pytest.mark.slow
def test_cifar_augment_trains_saves_and_reloads(tmp_path):
    env = {**os.environ, "CORNU_DEMO_EPOCHS": "3", "CORNU_DEMO_ROWS": "1500",
           "CORNU_DEMO_DIR": str(tmp_path),
           "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO),
                                                       os.environ.get("PYTHONPATH")]))}
    result = subprocess.run([sys.executable, str(EXAMPLE)], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    accuracy = float(re.search(r"Test accuracy: ([0-9.]+)", result.stdout).group(1))
    assert accuracy > 0.5, result.stdout[-2000:]  # chance is 0.25
    assert result.stdout.count("predicts the same") == 2
    assert (tmp_path / "cifar_augment.keras").is_file()
    assert (tmp_path / "cifar_augment.cornu").is_file()


def test_synthetic_images_are_deterministic_and_balanced():
    sys.path.insert(0, str(EXAMPLE.parent))
    try:
        import cifar_augment
    finally:
        sys.path.remove(str(EXAMPLE.parent))
    x, y = cifar_augment.make_images(200, seed=3)
    x2, y2 = cifar_augment.make_images(200, seed=3)
    assert x.shape == (200, 32, 32, 3) and x.dtype == np.uint8
    assert np.array_equal(x, x2) and np.array_equal(y, y2)
    assert np.bincount(y, minlength=4).min() > 30
