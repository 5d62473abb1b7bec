"""Two processes on localhost joined by jax.distributed (CPU, collectives over gloo):
DataParallel over one device of each trains as one device does. Every process passes
the same arrays and batch_size is the global batch (each reading its own rows is not
done yet: docs/distributed.md)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from two_process_worker import build, train

_ROOT = Path(__file__).resolve().parents[2]
_WORKER = Path(__file__).with_name("two_process_worker.py")

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("localhost", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_two_processes_data_parallel_equals_one_device():
    port = _free_port()
    procs = []
    for rank in range(2):
        env = {**os.environ, "JAX_PLATFORMS": "cpu", "JAX_NUM_CPU_DEVICES": "1",
               "KERAS_DISTRIBUTION_JOB_ADDRESSES": f"localhost:{port}",
               "KERAS_DISTRIBUTION_NUM_PROCESSES": "2",
               "KERAS_DISTRIBUTION_PROCESS_ID": str(rank),
               "PYTHONPATH": os.pathsep.join([str(_ROOT), os.environ.get("PYTHONPATH", "")])}
        procs.append(subprocess.Popen([sys.executable, str(_WORKER)], env=env, cwd=_ROOT,
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                      text=True))
    results = []
    try:
        for proc in procs:
            stdout, stderr = proc.communicate(timeout=300)
            assert proc.returncode == 0, stderr[-4000:]
            line = [x for x in stdout.splitlines() if x.startswith("RESULT ")][-1]
            results.append(json.loads(line[len("RESULT "):]))
    finally:
        for proc in procs:  # only the processes this test started
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    expected = train(*build())  # the same run on this process's one device
    for result in results:
        assert result["processes"] == 2 and result["mesh"] == [2]
        for key, values in expected["history"].items():
            assert result["history"][key] == pytest.approx(values, rel=1e-5), key
        assert result["evaluate"] == pytest.approx(expected["evaluate"], rel=1e-5)
        np.testing.assert_allclose(result["predict"], expected["predict"], atol=1e-5)
        for a, b in zip(result["weights"], expected["weights"], strict=True):
            np.testing.assert_allclose(a, b, atol=1e-5)
