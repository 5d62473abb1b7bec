"""The step time of DataParallel on 4 CPU devices against one device at the same
per-device batch (the lecture's net on random MNIST-shaped rows; steady epochs, after the
first, each setting in its own process, settings alternating over rounds).

Settings: `one`: one device, batch B; `dp4`: JAX_NUM_CPU_DEVICES=4, DataParallel, global
batch 4B (B per device); `four-plain`: the same 4 CPU devices, no distribution, batch B
(what the flag alone costs). On a machine with fewer cores than devices the 4 devices
share the cores, so `dp4`'s step does 4x the work on the same cores: compare its time per
sample, not per step. Prints a table and writes benchmarks/results/distributed_overhead-*.json.

Run: python benchmarks/distributed_overhead.py [--batch 100] [--rounds 3] [--rows 20000]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

_CHILD = """
import json, sys, time
import numpy as np
import cornu
from cornu import distribution as dist
sys.path.insert(0, {bench!r})
from _shared import epoch_timer, lecture_net

batch, rows, use_dp = {batch}, {rows}, {use_dp}
rng = np.random.default_rng(0)
x = rng.random((rows, 784), dtype=np.float32)
y = np.eye(10, dtype=np.float32)[rng.integers(0, 10, rows)]
cornu.utils.set_random_seed(0)
model = lecture_net(cornu)
model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
timer = epoch_timer(cornu)
if use_dp:
    dist.set_distribution(dist.DataParallel())
model.fit(x, y, batch_size=batch, epochs=4, verbose=0, callbacks=[timer])
steps = -(-rows // batch)
print("RESULT", json.dumps({{"epochs": timer.times, "steps": steps, "batch": batch}}))
"""


def run(setting: str, batch: int, rows: int) -> dict:
    devices, use_dp, global_batch = {"one": (1, False, batch), "dp4": (4, True, 4 * batch),
                                     "four-plain": (4, False, batch)}[setting]
    code = _CHILD.format(bench=str(ROOT / "benchmarks"), batch=global_batch, rows=rows,
                         use_dp=use_dp)
    env = {**os.environ, "JAX_PLATFORMS": "cpu", "JAX_NUM_CPU_DEVICES": str(devices),
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT),
                                                       os.environ.get("PYTHONPATH")]))}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                         text=True, timeout=900, cwd=ROOT)
    if out.returncode:
        raise SystemExit(out.stderr[-3000:])
    line = [s for s in out.stdout.splitlines() if s.startswith("RESULT ")][-1]
    result = json.loads(line[len("RESULT "):])
    steady = sorted(result["epochs"][1:])[len(result["epochs"][1:]) // 2]  # the median
    return {"setting": setting, "load": os.getloadavg()[0],
            "ms_per_step": 1000 * steady / result["steps"],
            "us_per_sample": 1e6 * steady / rows, "global_batch": result["batch"],
            "epochs_s": result["epochs"]}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--batch", type=int, default=100, help="per-device batch")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--rows", type=int, default=20000)
    args = parser.parse_args()
    results = []
    for _ in range(args.rounds):
        for setting in ("one", "dp4", "four-plain"):
            results.append(run(setting, args.batch, args.rows))
            r = results[-1]
            print(f"{r['setting']:>11}  batch {r['global_batch']:>5}  "
                  f"{r['ms_per_step']:8.2f} ms/step  {r['us_per_sample']:7.1f} us/sample  "
                  f"load {r['load']:.1f}", flush=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    name = f"distributed_overhead-cpu-{os.cpu_count()}cores-{stamp}.json"
    path = ROOT / "benchmarks" / "results" / name
    path.write_text(json.dumps({"args": vars(args), "results": results}, indent=1))
    print(f"wrote {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
