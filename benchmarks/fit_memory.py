"""Resident memory of fit, evaluate and predict, per data source, each in a fresh process.

Each case runs in a child process that makes its data (in memory, or a .npy file it then
maps), notes the resident memory (`VmRSS`), then makes three calls in a row (fit, fit,
fit, then evaluate and predict): before each call the peak (`VmHWM`) is reset through
`/proc/self/clear_refs`, after it the peak and the resident memory are read. The table
gives, per call, the peak above the memory before the data were made, and what stays
resident after the call above the memory with the data, both as a multiple of the data's
bytes (x and y). A memory-mapped file counts as data that is not in memory: its peak is
the bytes the run holds while reading it.

    python benchmarks/fit_memory.py --rows 64000          # 200 MB of float32 features
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CASES = ("arrays", "pydataset", "memmap")
FEATURES = 784


def status() -> dict[str, int]:
    """VmRSS and VmHWM of this process, in MiB."""
    out = {}
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(("VmRSS:", "VmHWM:")):
                key, value = line.split(":")
                out[key] = int(value.split()[0]) // 1024
    return out


def reset_peak() -> None:
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")


def child(case: str, rows: int, batch_size: int, folder: str) -> dict[str, Any]:
    import numpy as np

    import cornu
    from cornu.layers import Dense

    cornu.utils.set_random_seed(0)
    model = cornu.Sequential([cornu.Input((FEATURES,)), Dense(32, activation="relu"),
                              Dense(10, activation="softmax")])
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    empty = status()["VmRSS"]
    rng = np.random.default_rng(0)
    y = np.eye(10, dtype=np.float32)[rng.integers(0, 10, rows)]
    if case == "memmap":
        path = Path(folder) / "x.npy"
        x = np.lib.format.open_memmap(path, "w+", np.float32, (rows, FEATURES))
        for start in range(0, rows, 8192):
            x[start:start + 8192] = rng.random((min(8192, rows - start), FEATURES),
                                               np.float32)
        x.flush()
        del x
        x = np.load(path, mmap_mode="r")
        data_bytes = x.nbytes + y.nbytes
    else:
        x = rng.random((rows, FEATURES), np.float32)
        data_bytes = x.nbytes + y.nbytes
    source: Any = x
    kwargs: dict[str, Any] = {"y": y, "batch_size": batch_size}
    if case == "pydataset":
        class Rows(cornu.utils.PyDataset):
            def __len__(self):
                return -(-rows // batch_size)

            def __getitem__(self, i):
                part = slice(i * batch_size, (i + 1) * batch_size)
                return x[part], y[part]

        source, kwargs = Rows(), {}
    with_data = status()["VmRSS"]
    calls = []
    mib = data_bytes / 2**20

    def measure(name: str, call) -> None:
        reset_peak()
        began = time.perf_counter()
        call()
        seconds = time.perf_counter() - began
        s = status()
        calls.append({"call": name, "seconds": seconds, "peak_mib": s["VmHWM"],
                      "after_mib": s["VmRSS"],
                      "peak_over_data": (s["VmHWM"] - empty) / mib if case != "memmap"
                      else None,
                      "peak_above_start_mib": s["VmHWM"] - with_data,
                      "kept_after_mib": s["VmRSS"] - with_data})

    for i in range(3):
        measure(f"fit {i + 1}", lambda: model.fit(source, epochs=1, verbose=0, **kwargs))
    ev = {"batch_size": batch_size} if case != "pydataset" else {}
    measure("evaluate", lambda: model.evaluate(source, y if case != "pydataset" else None,
                                               verbose=0, **ev))
    measure("predict", lambda: model.predict(source, verbose=0, **ev))
    return {"case": case, "rows": rows, "data_mib": mib, "empty_mib": empty,
            "with_data_mib": with_data, "calls": calls}


def markdown(report: dict[str, Any]) -> str:
    lines = [f"# Resident memory per call: {report['rows']:,} rows of {FEATURES} float32, "
             f"batch {report['batch_size']}", "", report["note"], "",
             "| source | call | seconds | peak above start | peak / data | kept after |",
             "|---|---|---|---|---|---|"]
    for result in report["results"]:
        for c in result["calls"]:
            ratio = "-" if c["peak_over_data"] is None else f"{c['peak_over_data']:.2f}x"
            lines.append(f"| {result['case']} ({result['data_mib']:.0f} MiB) | {c['call']} | "
                         f"{c['seconds']:.2f} | {c['peak_above_start_mib']} MiB | {ratio} | "
                         f"{c['kept_after_mib']} MiB |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, default=64000)
    p.add_argument("--batch-size", type=int, default=500)
    p.add_argument("--cases", default=",".join(CASES))
    p.add_argument("--child", default=None, help=argparse.SUPPRESS)
    p.add_argument("--folder", default=None, help=argparse.SUPPRESS)
    p.add_argument("--out", type=Path, default=None,
                   help="write <out>.json and <out>.md (default: print only)")
    p.add_argument("--note", default="")
    args = p.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child, args.rows, args.batch_size, args.folder)))
        return 0
    results = []
    env = dict(os.environ, JAX_PLATFORMS=os.environ.get("JAX_PLATFORMS", "cpu"),
               PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT),
                                                        os.environ.get("PYTHONPATH")])))
    for case in args.cases.split(","):
        with tempfile.TemporaryDirectory() as folder:
            done = subprocess.run(
                [sys.executable, __file__, "--child", case, "--rows", str(args.rows),
                 "--batch-size", str(args.batch_size), "--folder", folder],
                env=env, capture_output=True, text=True)
        if done.returncode:
            print(done.stderr, file=sys.stderr)
            return done.returncode
        results.append(json.loads(done.stdout.strip().splitlines()[-1]))
        print(markdown({"rows": args.rows, "batch_size": args.batch_size,
                        "note": args.note, "results": results[-1:]}), file=sys.stderr)
    report = {"rows": args.rows, "batch_size": args.batch_size, "note": args.note,
              "results": results}
    if args.out:
        args.out.with_suffix(".json").write_text(json.dumps(report, indent=1))
        args.out.with_suffix(".md").write_text(markdown(report))
    print(markdown(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
