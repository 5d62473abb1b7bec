"""fit's steady epochs of two cornu checkouts, in child processes that alternate.

This project's VM changes speed from minute to minute, so one checkout's run after the
other's can disagree more than the checkouts do. Each round runs one child per checkout,
in turns (A B, B A, ...); a child trains the lecture's net (or the convnet) on `--rows`
MNIST-shaped random rows for 1 + `--epochs` epochs in one fit and reports the steady
epochs. The table gives each checkout's median and the median of the rounds' ratios.

    python benchmarks/fit_ab.py /tmp/before /work/main --model mlp --batch 100 --rounds 4
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _shared import alternating_rounds, run_in_checkout  # noqa: E402

_CHILD = """
import json, sys, statistics
import numpy as np
sys.path.insert(0, {bench!r})
import cornu
from _shared import epoch_timer
from fit_speed import Library
rng = np.random.default_rng(0)
shape = (28, 28, 1) if {model!r} == "convnet" else (784,)
x = rng.random(({rows}, *shape), dtype=np.float32)
y = np.eye(10, dtype=np.float32)[rng.integers(0, 10, {rows})]
net = Library("cornu", cornu).build({model!r})
timer = epoch_timer(cornu)
net.fit(x, y, batch_size={batch}, epochs=1 + {epochs}, verbose=0, callbacks=[timer])
print("RESULT", json.dumps(timer.times[1:]))
"""


def child(tree: str, args: argparse.Namespace) -> list[float]:
    code = _CHILD.format(bench=str(Path(tree) / "benchmarks"), model=args.model,
                         rows=args.rows, batch=args.batch, epochs=args.epochs)
    out = run_in_checkout(tree, ["-c", code], timeout=900, JAX_PLATFORMS="cpu")
    line = [s for s in out.splitlines() if s.startswith("RESULT ")][-1]
    return json.loads(line[len("RESULT "):])


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("a")
    p.add_argument("b")
    p.add_argument("--model", choices=("mlp", "convnet"), default="mlp")
    p.add_argument("--batch", type=int, default=100)
    p.add_argument("--rows", type=int, default=30000)
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--rounds", type=int, default=4)
    args = p.parse_args()
    medians: dict[str, list[float]] = {args.a: [], args.b: []}
    ratios = []
    for r, got in alternating_rounds(args.a, args.b, args.rounds,
                                     lambda tree: statistics.median(child(tree, args))):
        for tree, m in got.items():
            medians[tree].append(m)
        ratios.append(got[args.b] / got[args.a])
        print(f"round {r}: A {got[args.a]:.4f} s  B {got[args.b]:.4f} s  B/A "
              f"{ratios[-1]:.3f}  load {os.getloadavg()[0]:.1f}", flush=True)
    print(f"{args.model} batch {args.batch}: A median {statistics.median(medians[args.a]):.4f} s, "
          f"B median {statistics.median(medians[args.b]):.4f} s, median of the rounds' B/A "
          f"{statistics.median(ratios):.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
