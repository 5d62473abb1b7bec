"""One epoch over a memory-mapped file larger than memory: peak resident memory and rows/s.

Writes a float32 .npy file of `--gb` GB (rows of 784 features, written in slices, never
whole in memory) and its int32 labels into a temporary folder, maps it with
`np.load(mmap_mode="r")` and fits one epoch of a small Dense model over it (shuffle=False:
the file is read in order; `--shuffle`: rows in a random order, fit's default). The peak
resident memory of the fit (VmHWM, reset through /proc/self/clear_refs before it; the
process's whole-life peak too) is the number the issue asks to keep under 2 GB for an
8 GB file. Needs 1.5x the file's size free on disk (it says so and stops otherwise).

    python benchmarks/memmap_large.py --gb 8 --out benchmarks/results
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from fit_speed import machine_info  # noqa: E402

FEATURES = 784


def status() -> dict[str, int]:
    """VmRSS, VmHWM, RssAnon and RssFile of this process, in MiB."""
    out = {}
    with open("/proc/self/status") as f:
        for line in f:
            key = line.split(":")[0]
            if key in ("VmRSS", "VmHWM", "RssAnon", "RssFile"):
                out[key] = int(line.split()[1]) // 1024
    return out


def write(folder: Path, rows: int) -> tuple[Path, Path]:
    """x.npy (rows, 784) float32 and y.npy (rows,) int32, written slice by slice."""
    x_path, y_path = folder / "x.npy", folder / "y.npy"
    header = np.lib.format.open_memmap(x_path, "w+", np.float32, (rows, FEATURES))
    offset = header.offset
    del header
    rng = np.random.default_rng(0)
    step = 16_384  # 51 MB a slice
    with open(x_path, "r+b") as f:
        f.seek(offset)
        for start in range(0, rows, step):
            f.write(rng.random((min(step, rows - start), FEATURES), np.float32).tobytes())
    np.save(y_path, rng.integers(0, 10, rows).astype(np.int32))
    return x_path, y_path


def run(folder: Path, rows: int, batch_size: int, shuffle: bool) -> dict[str, Any]:
    import cornu
    from cornu.layers import Dense

    began = time.perf_counter()
    x_path, y_path = write(folder, rows)
    written = time.perf_counter() - began
    x = np.load(x_path, mmap_mode="r")
    y = np.load(y_path, mmap_mode="r")
    cornu.utils.set_random_seed(0)
    model = cornu.Sequential([cornu.Input((FEATURES,)), Dense(32, activation="relu"),
                              Dense(10, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    model.fit(x[:4 * batch_size], y[:4 * batch_size], batch_size=batch_size, epochs=1,
              verbose=0, shuffle=False)  # compiled before the measured epoch
    before = status()
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # VmHWM starts again from the memory held now
    began = time.perf_counter()
    history = model.fit(x, y, batch_size=batch_size, epochs=1, verbose=0, shuffle=shuffle)
    seconds = time.perf_counter() - began
    after = status()
    return {"file_gb": x.nbytes / 1e9, "rows": rows, "batch_size": batch_size,
            "shuffle": shuffle,
            "write_s": written, "epoch_s": seconds, "rows_per_s": rows / seconds,
            "loss": history.history["loss"][0],
            "rss_before_mib": before["VmRSS"], "fit_peak_mib": after["VmHWM"],
            "rss_after_mib": after["VmRSS"], "rss_after_anon_mib": after["RssAnon"],
            "rss_after_file_mib": after["RssFile"],
            "process_peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024}


def markdown(report: dict[str, Any]) -> str:
    r, m = report["result"], report["machine"]
    return "\n".join([
        f"# One epoch over a {r['file_gb']:.1f} GB memory-mapped file", "",
        f"{m['jax_device_kind']}, {m['sched_getaffinity'] or m['os_cpu_count']} cores, "
        f"jax {m['jax']}, load {m['loadavg_at_start']}, {m['date']}; "
        f"{r['rows']:,} rows of {FEATURES} float32, batch {r['batch_size']}, "
        f"Dense(32, relu) -> Dense(10, softmax), shuffle={r.get('shuffle', False)}", "",
        "| file | epoch | rows/s | peak RSS during fit | RSS before fit | process peak |",
        "|---|---|---|---|---|---|",
        f"| {r['file_gb']:.1f} GB | {r['epoch_s']:.1f} s | {r['rows_per_s']:,.0f} | "
        f"{r['fit_peak_mib']:,} MiB | {r['rss_before_mib']:,} MiB | "
        f"{r['process_peak_mib']:,} MiB |", ""])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--gb", type=float, default=8.0, help="file size in GB (default 8)")
    p.add_argument("--batch-size", type=int, default=1000)
    p.add_argument("--dir", type=Path, default=None, help="where to write (default: temp)")
    p.add_argument("--out", type=Path, default=None, help="folder for .json and .md")
    p.add_argument("--shuffle", action="store_true",
                   help="read the rows in a random order (fit's default) instead of in order")
    args = p.parse_args(argv)
    rows = int(args.gb * 1e9) // (FEATURES * 4)
    parent = args.dir or Path(tempfile.gettempdir())
    free = shutil.disk_usage(parent).free
    need = int(args.gb * 1e9 * 1.5)
    if free < need:
        print(f"skipped: {free / 1e9:.1f} GB free in {parent}, {need / 1e9:.1f} GB needed "
              f"for a {args.gb} GB file (pass --dir or a smaller --gb)", file=sys.stderr)
        return 0
    with tempfile.TemporaryDirectory(dir=parent) as folder:
        result = run(Path(folder), rows, args.batch_size, args.shuffle)
    report = {"machine": machine_info(None), "result": result}
    print(markdown(report))
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        stem = (f"memmap_large-{report['machine']['slug']}-{time.strftime('%Y%m%d')}-"
                f"{args.gb:g}gb{'-shuffled' if args.shuffle else ''}")
        (args.out / f"{stem}.json").write_text(json.dumps(report, indent=1))
        (args.out / f"{stem}.md").write_text(markdown(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
