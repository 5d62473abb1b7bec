"""Training from each kind of data source, side by side with Keras 3 (JAX) in one run.

The lecture net at batch 100 on MNIST rows, fed as in-memory arrays, a PyDataset, a grain
MapDataset (of batches) and a Python generator (with steps_per_epoch). Each library trains
one warm-up epoch per source (compilation), then `--epochs` timed epochs; the table gives
the median epoch, each source's epoch against the arrays' epoch of the same library, and
cornu's speed against Keras on the same source. With `--rounds N` the sources alternate N
times (arrays, grain, ..., arrays, grain, ...: a noisy neighbour slows all of them) and
the median and the minimum are over every round's timed epochs. The CPU columns give the
process's CPU seconds per epoch (every thread: the training's and the reading thread's),
which other processes on a busy machine change much less than the wall-clock epoch.

    CORNU_DATA=../shared/data python benchmarks/stream_speed.py --rows 30000 --epochs 3
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from _shared import epoch_timer, lecture_net  # noqa: E402
from fit_speed import import_keras, locate_data, machine_info  # noqa: E402

BATCH = 100
SOURCES = ("arrays", "pydataset", "grain", "generator")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, default=30000, help="training rows (default 30000)")
    p.add_argument("--epochs", type=int, default=3, help="timed epochs per source")
    p.add_argument("--sources", default=",".join(SOURCES), help="comma-separated subset")
    p.add_argument("--rounds", type=int, default=1, help="alternations of the sources")
    p.add_argument("--tag", default="", help="appended to the result files' names")
    p.add_argument("--no-keras", action="store_true", help="run cornu alone")
    p.add_argument("--data", type=Path, default=None, help="folder holding mnist/")
    p.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    args = p.parse_args(argv)
    args.sources = [s for s in args.sources.split(",") if s]
    unknown = [s for s in args.sources if s not in SOURCES]
    if unknown:
        p.error(f"--sources must name {', '.join(SOURCES)}. Received: {unknown}")
    return args


def make_source(lib: Any, kind: str, x: np.ndarray, y: np.ndarray) -> tuple[Any, dict]:
    """(what fit takes as x, fit's other arguments) for a source of `kind`."""
    steps = len(x) // BATCH
    if kind == "arrays":
        return x, {"y": y, "batch_size": BATCH}
    if kind == "pydataset":
        class Rows(lib.utils.PyDataset):
            def __len__(self):
                return steps

            def __getitem__(self, i):
                return x[i * BATCH:(i + 1) * BATCH], y[i * BATCH:(i + 1) * BATCH]

        return Rows(), {}
    if kind == "grain":
        import grain

        class Batches:  # records are whole batches: grain's per-record Python stays out
            def __len__(self):
                return steps

            def __getitem__(self, i):
                return x[i * BATCH:(i + 1) * BATCH], y[i * BATCH:(i + 1) * BATCH]

        return grain.MapDataset.source(Batches()), {}

    def endless():
        while True:
            for i in range(steps):
                yield x[i * BATCH:(i + 1) * BATCH], y[i * BATCH:(i + 1) * BATCH]

    return endless(), {"steps_per_epoch": steps}


def cpu_timer(lib: Any) -> Any:
    """A callback of `lib` whose `cpu` lists each epoch's process CPU seconds."""

    class CpuTimer(lib.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.cpu = []

        def on_epoch_begin(self, epoch, logs=None):
            self.start = time.process_time()

        def on_epoch_end(self, epoch, logs=None):
            self.cpu.append(time.process_time() - self.start)

    return CpuTimer()


def run(lib: Any, kind: str, x: np.ndarray, y: np.ndarray, epochs: int) -> dict[str, Any]:
    lib.utils.set_random_seed(0)
    net = lecture_net(lib)
    net.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    timer, cpu = epoch_timer(lib), cpu_timer(lib)
    source, kwargs = make_source(lib, kind, x, y)
    extra = {"shuffle": False} if kind in ("arrays", "pydataset") else {}
    net.fit(source, epochs=epochs + 1, verbose=0, callbacks=[cpu, timer], **extra, **kwargs)
    times, cpus = timer.times[1:], cpu.cpu[1:]
    return {"first_epoch_s": timer.times[0], "epochs_s": times,
            "median_epoch_s": statistics.median(times), "min_epoch_s": min(times),
            "cpu_s": cpus, "median_cpu_s": statistics.median(cpus)}


def merge(previous: dict[str, Any] | None, new: dict[str, Any]) -> dict[str, Any]:
    """One source's results over the rounds so far."""
    if previous is None or "error" in previous or "error" in new:
        return new
    times = previous["epochs_s"] + new["epochs_s"]
    cpus = previous["cpu_s"] + new["cpu_s"]
    return {"first_epoch_s": previous["first_epoch_s"], "epochs_s": times,
            "median_epoch_s": statistics.median(times), "min_epoch_s": min(times),
            "cpu_s": cpus, "median_cpu_s": statistics.median(cpus)}


def markdown(report: dict[str, Any]) -> str:
    m = report["machine"]
    lines = [f"# Training from data sources: lecture net, batch {BATCH}, "
             f"{report['rows']:,} rows", "",
             f"{m['jax_device_kind']}, {m['sched_getaffinity'] or m['os_cpu_count']} cores, "
             f"jax {m['jax']}, keras {m['keras']}, load {m['loadavg_at_start']}, "
             f"{m['date']}" + (f" (load at the start {report['load_at_start']})"
                               if report.get("load_at_start") else ""), "",
             "| source | cornu epoch | vs cornu arrays | cornu min epoch | min vs arrays "
             "| cornu CPU s / epoch | CPU vs arrays "
             "| Keras epoch | vs Keras arrays | cornu vs Keras |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    res = report["results"]
    base_c = res.get("arrays", {}).get("cornu", {}).get("median_epoch_s")
    base_k = res.get("arrays", {}).get("keras", {}).get("median_epoch_s")
    min_c = res.get("arrays", {}).get("cornu", {}).get("min_epoch_s")
    cpu_c = res.get("arrays", {}).get("cornu", {}).get("median_cpu_s")
    for kind, entry in res.items():
        c = entry.get("cornu", {}).get("median_epoch_s")
        k = entry.get("keras", {}).get("median_epoch_s")
        cm = entry.get("cornu", {}).get("min_epoch_s")
        cc = entry.get("cornu", {}).get("median_cpu_s")
        row = [kind, f"{c:.3f} s" if c else "-",
               f"{c / base_c:.2f}x" if c and base_c else "-",
               f"{cm:.3f} s" if cm else "-", f"{cm / min_c:.2f}x" if cm and min_c else "-",
               f"{cc:.3f}" if cc else "-", f"{cc / cpu_c:.2f}x" if cc and cpu_c else "-",
               f"{k:.3f} s" if k else entry.get("keras", {}).get("error", "-"),
               f"{k / base_k:.2f}x" if k and base_k else "-",
               f"{k / c:.2f}x faster" if c and k else "-"]
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # (machine_info's load is read when the report is written, at the end)
    load_at_start = [round(v, 2) for v in os.getloadavg()]
    locate_data(args.data)
    keras, note = import_keras(not args.no_keras)
    import cornu

    (x, y), _ = cornu.datasets.mnist.load_data()
    x = (x[:args.rows].reshape(-1, 784) / 255.0).astype(np.float32)
    y = cornu.utils.to_categorical(y[:args.rows], 10).astype(np.float32)
    libs = [("cornu", cornu)] + ([("keras", keras)] if keras is not None else [])
    results: dict[str, dict[str, Any]] = {kind: {} for kind in args.sources}
    for _ in range(args.rounds):
        for kind in args.sources:
            for name, lib in libs:
                began = time.perf_counter()
                try:
                    result = run(lib, kind, x, y, args.epochs)
                except Exception as exc:  # a library that cannot read this source
                    result = {"error": f"{type(exc).__name__}: {exc}"[:200]}
                merged = results[kind][name] = merge(results[kind].get(name), result)
                print(f"{kind:10s} {name:6s} {time.perf_counter() - began:6.1f} s "
                      f"{merged.get('median_epoch_s', merged.get('error'))}",
                      file=sys.stderr, flush=True)
    report = {"load_at_start": load_at_start, "rows": args.rows,
              "batch_size": BATCH, "epochs": args.epochs,
              "rounds": args.rounds,
              "machine": machine_info(keras), "note": note, "results": results}
    args.out.mkdir(parents=True, exist_ok=True)
    stem = (f"stream_speed-{report['machine']['slug']}-{time.strftime('%Y%m%d')}"
            + (f"-{args.tag}" if args.tag else ""))
    (args.out / f"{stem}.json").write_text(json.dumps(report, indent=1))
    (args.out / f"{stem}.md").write_text(markdown(report))
    print(markdown(report))
    return 0


if __name__ == "__main__":
    os.environ.setdefault("KERAS_BACKEND", "jax")
    sys.exit(main())
