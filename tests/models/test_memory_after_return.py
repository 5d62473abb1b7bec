"""evaluate and predict hold nothing of their inputs once they return: no device array, no
padded host copy (on the CPU, XLA reads the caller's arrays in place, data/staging.py).
Measured in a child process: its resident memory after a call on 160 MB of inputs, once
they are deleted, against before they were made."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

_ROOT = Path(__file__).resolve().parents[2]
_CHILD = """
import gc, json
import jax, numpy as np, cornu
from cornu.layers import Dense

def rss():
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) * 1024 for line in status
                    if line.startswith("VmRSS:"))

model = cornu.Sequential([Dense(2, input_shape=(1000,))])
model.compile(optimizer="sgd", loss="mse", metrics=["mae"])
gc.collect()
before = rss()
x = np.ones((40_000, 1000), np.float32)  # 160 MB
y = np.zeros((40_000, 2), np.float32)
out = model.predict(x, batch_size=1000, verbose=0)
model.evaluate(x, y, batch_size=1000, verbose=0)
live = [list(a.shape) for a in jax.live_arrays() if a.size >= 10**6]  # batches' size
del x, y, out
gc.collect()
print(json.dumps({"held_mb": (rss() - before) / 1e6, "live": live}))
"""


def test_evaluate_and_predict_keep_no_copy_of_their_inputs():
    if not Path("/proc/self/status").exists():
        pytest.skip("reads the child's resident memory from /proc (Linux)")
    path = os.pathsep.join(p for p in (str(_ROOT), os.environ.get("PYTHONPATH", "")) if p)
    proc = subprocess.run([sys.executable, "-c", _CHILD], capture_output=True, text=True,
                          timeout=120, env={**os.environ, "JAX_PLATFORMS": "cpu",
                                            "PYTHONPATH": path})
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.splitlines()[-1])
    assert result["live"] == [], result  # no device array of the inputs' size is left
    assert result["held_mb"] < 80, result  # their 160 MB (and its padded copy) are gone
