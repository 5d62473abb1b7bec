"""cornu's fit on two CPU devices: DataParallel's step split by `jax.shard_map` (each
device its rows, one psum) against the same step left to XLA's partitioner
(CORNU_SHARD_MAP=0) and against one device, at the same global batch.

    .venv/bin/python benchmarks/dataparallel_split.py [--models lstm,gru,lecture,convnet]
        [--rounds 3] [--epochs 3] [--devices 2]

Each (model, setting) runs in its own process (JAX_NUM_CPU_DEVICES=N for the two
distributed settings and for `one`, so that only the step differs), settings alternating
round by round; the time is the median of the steady epochs (after the first). Models:
LSTM(128) / GRU(128) -> Dense(10) on MNIST-shaped rows (6,400 rows of 28x28, batch 128),
the lecture's 784-500-500-10 net (10,000 rows, batch 100), a small convnet (Conv2D(32, 3)
-> MaxPooling -> Conv2D(64, 3) -> MaxPooling -> Flatten -> Dense(10); 6,400 rows, batch
128). Random data: the speed does not depend on it. Prints a table; with --out, writes it.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

_CHILD = """
import json, os, sys, time
import numpy as np
import cornu
from cornu import layers, distribution as dist
sys.path.insert(0, {bench!r})
from _shared import epoch_timer, lecture_net

kind, setting, epochs = {kind!r}, {setting!r}, {epochs}
rng = np.random.default_rng(0)
cornu.utils.set_random_seed(0)
if kind in ("lstm", "gru"):
    rows, batch = 6400, 128
    x = rng.random((rows, 28, 28), dtype=np.float32)
    rnn = layers.LSTM(128) if kind == "lstm" else layers.GRU(128)
    model = cornu.Sequential([cornu.Input((28, 28)), rnn,
                              layers.Dense(10, activation="softmax")])
elif kind == "lecture":
    rows, batch = 10000, 100
    x = rng.random((rows, 784), dtype=np.float32)
    model = lecture_net(cornu)
else:
    rows, batch = 6400, 128
    x = rng.random((rows, 28, 28, 1), dtype=np.float32)
    model = cornu.Sequential([
        cornu.Input((28, 28, 1)), layers.Conv2D(32, 3, activation="relu"),
        layers.MaxPooling2D(), layers.Conv2D(64, 3, activation="relu"),
        layers.MaxPooling2D(), layers.Flatten(), layers.Dense(10, activation="softmax")])
y = rng.integers(0, 10, rows)
model.compile(loss="sparse_categorical_crossentropy", optimizer="adam",
              metrics=["accuracy"])
timer = epoch_timer(cornu)
if setting != "one":
    dist.set_distribution(dist.DataParallel())
cpu = time.process_time()
model.fit(x, y, batch_size=batch, epochs=epochs, verbose=0, callbacks=[timer])
cpu = time.process_time() - cpu
engine = model._engine
print("RESULT", json.dumps({{"epochs": timer.times, "cpu": cpu,
                            "split": bool(engine._split_programs),
                            "partitioned": bool(engine._placed_programs)}}))
"""

SETTINGS = ("one", "partitioner", "shard_map")


def run(kind: str, setting: str, epochs: int, devices: int) -> dict:
    env = {**os.environ, "JAX_PLATFORMS": "cpu", "JAX_NUM_CPU_DEVICES": str(devices),
           "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
           "CORNU_SHARD_MAP": "0" if setting == "partitioner" else "1"}
    code = _CHILD.format(bench=str(ROOT / "benchmarks"), kind=kind, setting=setting,
                         epochs=epochs)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=env, cwd=ROOT, timeout=1200)
    for line in done.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    raise RuntimeError(done.stderr[-3000:])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--models", default="lstm,gru,lecture,convnet")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--devices", type=int, default=2)
    p.add_argument("--out", type=Path, default=None)
    args = p.parse_args(argv)
    kinds = args.models.split(",")
    found: dict = {k: {s: [] for s in SETTINGS} for k in kinds}
    for _ in range(args.rounds):
        for kind in kinds:
            for setting in SETTINGS:
                r = run(kind, setting, args.epochs, args.devices)
                steady = r["epochs"][1:] or r["epochs"]
                found[kind][setting].append(statistics.median(steady))
    lines = [f"steady epoch (median of {args.rounds} rounds' medians), {args.devices} CPU "
             f"devices, load {os.getloadavg()[0]:.2f}",
             "| model | one device | partitioner | shard_map | one / shard_map |",
             "|---|---|---|---|---|"]
    for kind in kinds:
        med = {s: statistics.median(v) for s, v in found[kind].items()}
        lines.append(f"| {kind} | {med['one']:.3f} s | {med['partitioner']:.3f} s | "
                     f"{med['shard_map']:.3f} s | {med['one'] / med['shard_map']:.2f}x |")
    text = "\n".join(lines)
    print(text)
    if args.out:
        args.out.write_text(text + "\n\n" + json.dumps(found) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
