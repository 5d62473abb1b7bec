"""evaluate and predict of two cornu checkouts, in child processes that alternate.

This project's VM changes speed from minute to minute, so one checkout's run after the
other's can disagree more than the checkouts do. Here each round runs one child process
per checkout, in turns (A B, B A, ...); a child builds the lecture's net, makes 10,000
(`--rows`) MNIST-shaped rows (float32 in [0, 1), 784 features; the speed does not depend
on the values), calls evaluate and predict at batch 32 and 1000 once to compile, then
times `--calls` calls of each, and `predict(x[:1])` `--latency-calls` times. The table
gives the medians and the best of all rounds' calls, and the median of the rounds' ratios
(the other workers' load changes from round to round more than within one).

    python benchmarks/inference_ab.py /work/main /work/wt-mybranch --rounds 4
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _shared import alternating_rounds, run_in_checkout  # noqa: E402

BATCHES = (32, 1000)


def child(rows: int, calls: int, latency_calls: int) -> dict[str, Any]:
    import numpy as np
    from _shared import lecture_net

    import cornu

    cornu.utils.set_random_seed(0)
    model = lecture_net(cornu)
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    rng = np.random.default_rng(0)
    x = rng.random((rows, 784), np.float32)
    y = np.eye(10, dtype=np.float32)[rng.integers(0, 10, rows)]
    times: dict[str, list[float]] = {}

    def timed(name: str, call, repeats: int) -> None:
        call()  # compiled
        for _ in range(repeats):
            began = time.perf_counter()
            call()
            times.setdefault(name, []).append(time.perf_counter() - began)

    for batch in BATCHES:
        timed(f"evaluate, batch {batch}",
              lambda b=batch: model.evaluate(x, y, batch_size=b, verbose=0), calls)
        timed(f"predict, batch {batch}",
              lambda b=batch: model.predict(x, batch_size=b, verbose=0), calls)
    one = x[:1]
    timed("predict(x[:1])", lambda: model.predict(one, verbose=0), latency_calls)
    return {"cornu": cornu.__file__, "times": times}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("checkouts", nargs=2, type=Path, help="the two repositories (A, B)")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--rows", type=int, default=10_000,
                   help="rows of x (default 10,000: 31 MB, read in place on the CPU; under "
                        "16 MiB, 5,350 rows, jax.device_put copies them)")
    p.add_argument("--calls", type=int, default=6)
    p.add_argument("--latency-calls", type=int, default=50)
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.rows, args.calls, args.latency_calls)))
        return 0
    names = [str(c.resolve()) for c in args.checkouts]
    results: dict[str, dict[str, list[float]]] = {name: {} for name in names}
    argv = [__file__, "--child", "--rows", str(args.rows), "--calls", str(args.calls),
            "--latency-calls", str(args.latency_calls), *names]

    def run(name: str) -> dict[str, Any]:
        out = json.loads(run_in_checkout(name, argv).strip().splitlines()[-1])
        if not out["cornu"].startswith(name):
            raise SystemExit(f"{name} ran cornu from {out['cornu']}")
        return out

    for r, got in alternating_rounds(*names, args.rounds, run):
        for name, out in got.items():  # in the order they ran
            for key, values in out["times"].items():
                results[name].setdefault(key, []).extend(values)
            print(f"round {r + 1}, {name}: " + ", ".join(
                f"{key} {statistics.median(values) * 1e3:.2f} ms"
                for key, values in out["times"].items()), file=sys.stderr, flush=True)
    print(f"| call ({args.rounds} rounds) | A: {names[0]}, median (best) | "
          f"B: {names[1]}, median (best) | B / A: median of the rounds' ratios (best / best) |")
    print("|---|---|---|---|")
    for key in results[names[0]]:
        a, b = (results[n][key] for n in names)
        # the rounds' medians, paired: each round ran A and B one after the other
        per = len(a) // args.rounds
        ratios = [statistics.median(b[i:i + per]) / statistics.median(a[i:i + per])
                  for i in range(0, len(a), per)]
        print(f"| {key} | {statistics.median(a) * 1e3:.2f} ({min(a) * 1e3:.2f}) ms | "
              f"{statistics.median(b) * 1e3:.2f} ({min(b) * 1e3:.2f}) ms | "
              f"{statistics.median(ratios):.2f} ({min(b) / min(a):.2f}) |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
