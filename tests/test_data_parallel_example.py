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


def _run(devices: tuple[int, ...], tmp_path: Path) -> list[str]:
    """The example's stdout on each number of devices; the processes run side by side."""
    runs = []
    for count in devices:
        env = {**os.environ, "CORNU_DEMO_EPOCHS": "1", "CORNU_DEMO_ROWS": "1000",
               "JAX_PLATFORMS": "cpu", "JAX_NUM_CPU_DEVICES": str(count),
               "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO),
                                                           os.environ.get("PYTHONPATH")]))}
        runs.append(subprocess.Popen([sys.executable, str(EXAMPLE)], cwd=tmp_path, env=env,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True))
    try:
        outputs = [run.communicate(timeout=600) for run in runs]
    finally:
        for run in runs:
            run.kill()
            run.wait()
    for run, (stdout, stderr) in zip(runs, outputs, strict=True):
        if run.returncode != 0 and "data_parallel.py:" in stderr:
            pytest.skip(f"MNIST is not available here: {stderr.strip()[-300:]}")
        assert run.returncode == 0, stdout[-2000:] + stderr[-4000:]
    return [stdout for stdout, _ in outputs]


@pytest.mark.slow
def test_data_parallel_example_trains_as_on_one_device(tmp_path):
    four, one = _run((4, 1), tmp_path)
    assert "devices ['cpu:0', 'cpu:1', 'cpu:2', 'cpu:3']" in four
    losses = [re.search(r"loss per epoch: \[([0-9.]+)\]", out).group(1) for out in (four, one)]
    assert float(losses[0]) == pytest.approx(float(losses[1]), abs=2e-4)
    accuracy = [re.search(r"Test accuracy: ([0-9.]+)", out).group(1) for out in (four, one)]
    assert float(accuracy[0]) == pytest.approx(float(accuracy[1]), abs=2e-3)
