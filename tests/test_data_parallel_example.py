"""examples/data_parallel.py, briefly: on 4 CPU devices it trains as on one."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "examples" / "data_parallel.py"


def _run(devices: int, tmp_path: Path) -> str:
    env = {**os.environ, "CORNU_DEMO_EPOCHS": "1", "CORNU_DEMO_ROWS": "1000",
           "JAX_PLATFORMS": "cpu", "JAX_NUM_CPU_DEVICES": str(devices),
           "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO),
                                                       os.environ.get("PYTHONPATH")]))}
    result = subprocess.run([sys.executable, str(EXAMPLE)], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=600)
    if result.returncode != 0 and "data_parallel.py:" in result.stderr:
        pytest.skip(f"MNIST is not available here: {result.stderr.strip()[-300:]}")
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    return result.stdout


@pytest.mark.slow
def test_data_parallel_example_trains_as_on_one_device(tmp_path):
    four, one = _run(4, tmp_path), _run(1, tmp_path)
    assert "devices ['cpu:0', 'cpu:1', 'cpu:2', 'cpu:3']" in four
    losses = [re.search(r"loss per epoch: \[([0-9.]+)\]", out).group(1) for out in (four, one)]
    assert float(losses[0]) == pytest.approx(float(losses[1]), abs=2e-4)
    accuracy = [re.search(r"Test accuracy: ([0-9.]+)", out).group(1) for out in (four, one)]
    assert float(accuracy[0]) == pytest.approx(float(accuracy[1]), abs=2e-3)
