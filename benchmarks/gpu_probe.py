"""Probes behind the GPU figures that missed their goals (issue 24), cornu alone:

    python benchmarks/gpu_probe.py dp       # fit under DataParallel against plain fit
    python benchmarks/gpu_probe.py put      # predict's input transfer: one piece or several

`dp`: the lecture net (batch 100) and the convnet (batch 128) on 60,000 random MNIST-shaped
rows, one fit of 4 epochs each, plain and under `DataParallel()` (each in its own
process): every epoch's seconds, the seconds spent inside the Python calls of the training
program (dispatch; the epoch's end waits for the device), the number of those calls and
of compilations, and the kernel launches of the compiled step (as step_kernels.py reads
them from XLA's dump).
`put`: 10,000 x 784 float32 rows (predict's input at batch 1000) to the device as one
`jax.device_put`, as 8 pieces, and as 8 pieces from 4 threads, each then one array on
the device; and the time of cornu's NaN check of the same rows on the host.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

_DP_CHILD = """
import json, sys, time
import numpy as np
sys.path.insert(0, {bench!r})
import cornu, jax
from _shared import epoch_timer
from fit_speed import Library
from cornu.training import loop
model_name, use_dp = {model!r}, {use_dp}
rng = np.random.default_rng(0)
rows = int(__import__("os").environ.get("PROBE_ROWS", 60000))
shape = (28, 28, 1) if model_name == "convnet" else (784,)
x = rng.random((rows, *shape), dtype=np.float32)
y = np.eye(10, dtype=np.float32)[rng.integers(0, 10, rows)]
if use_dp:
    cornu.distribution.set_distribution(cornu.distribution.DataParallel())
calls = {{"n": 0, "s": 0.0}}
original = loop.Engine.train_chunk
def timed(self, *a, **k):
    t = time.perf_counter()
    out = original(self, *a, **k)
    calls["n"] += 1; calls["s"] += time.perf_counter() - t
    return out
loop.Engine.train_chunk = timed
compiles = [0]
COMPILE = "/jax/core/compile/backend_compile_duration"
jax.monitoring.register_event_duration_secs_listener(
    lambda name, s, **k: compiles.__setitem__(0, compiles[0] + (name == COMPILE)))
net = Library("cornu", cornu).build(model_name)
timer = epoch_timer(cornu)
net.fit(x, y, batch_size={batch}, epochs=4, verbose=0, callbacks=[timer])
print("RESULT", json.dumps({{"epochs": timer.times, "chunk_calls": calls["n"],
                            "chunk_call_s": calls["s"], "compiles": compiles[0]}}))
"""


def _env(extra: dict[str, str] | None = None) -> dict[str, str]:
    return {**os.environ, "CORNU_COMPILATION_CACHE": "0", **(extra or {}),
            "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT),
                                                        os.environ.get("PYTHONPATH")]))}


def probe_dp() -> list[dict]:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from step_kernels import modules

    out = []
    for model, batch in (("mlp", 100), ("convnet", 128)):
        for use_dp in (False, True):
            with tempfile.TemporaryDirectory() as tmp:
                flags = (os.environ.get("XLA_FLAGS", "")
                         + f" --xla_dump_to={tmp} --xla_dump_hlo_as_text")
                code = _DP_CHILD.format(bench=str(ROOT / "benchmarks"), model=model,
                                        use_dp=use_dp, batch=batch)
                done = subprocess.run([sys.executable, "-c", code], capture_output=True,
                                      text=True, timeout=240, cwd=ROOT,
                                      env=_env({"XLA_FLAGS": flags}))
                if done.returncode:
                    out.append({"model": model, "dp": use_dp, "error": done.stderr[-1500:]})
                    print(json.dumps(out[-1]), flush=True)
                    continue
                line = [s for s in done.stdout.splitlines() if s.startswith("RESULT ")][-1]
                result = json.loads(line[len("RESULT "):])
                loops = [(m["module"], loop["launches"], loop["by_opcode"])
                         for m in modules(Path(tmp)) for loop in m["loops"]]
            result.update(model=model, dp=use_dp, batch=batch,
                          steady_s=statistics.median(result["epochs"][1:]),
                          loop_launches=loops)
            out.append(result)
            print(json.dumps(result), flush=True)
    return out


def probe_put() -> dict:
    import concurrent.futures

    import jax
    import jax.numpy as jnp
    import numpy as np

    from cornu.data.arrays import _first_non_finite

    x = np.random.default_rng(0).random((10000, 784), dtype=np.float32)
    pieces = np.array_split(x, 8)
    join = jax.jit(lambda *p: jnp.concatenate(p))
    pool = concurrent.futures.ThreadPoolExecutor(4)

    def one():
        jax.block_until_ready(jax.device_put(x))

    def eight():
        jax.block_until_ready(join(*jax.device_put(pieces)))

    def threads():
        jax.block_until_ready(join(*pool.map(jax.device_put, pieces)))

    def check():
        _first_non_finite(x)

    result = {}
    for name, fn in (("one device_put ms", one), ("8 pieces ms", eight),
                     ("8 pieces, 4 threads ms", threads), ("NaN check ms", check)):
        for _ in range(3):
            fn()
        times = []
        for _ in range(15):
            t = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t)
        result[name] = round(1e3 * statistics.median(times), 3)
    print(json.dumps(result), flush=True)
    return result


def main(argv: list[str]) -> int:
    what = argv[0] if argv else "dp"
    if what == "dp":
        probe_dp()
    elif what == "put":
        probe_put()
    else:
        sys.exit(__doc__)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
