"""One table of every GPU measurement of benchmarks/gpu_check.sh, against issue 24's goals.

    python benchmarks/gpu_table.py RESULTS_DIR --out OUT_DIR

Reads the result files the benchmarks wrote into RESULTS_DIR (fit_speed-*.json, the
mixed_bfloat16 run's under RESULTS_DIR/bf16, levers.jsonl, rnn_speed-*.json,
stream_speed-*.json, dataparallel_speed-*.json, step_kernels.json, roofline-*.json) and
writes OUT_DIR/gpu_check.json (all of them, merged) and OUT_DIR/gpu_check.md (the table:
each measurement, cornu, Keras, the ratio, the goal and whether it is met). A file that
is missing leaves its rows out and says so.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any


def _latest(folder: Path, pattern: str) -> dict[str, Any] | None:
    files = sorted(folder.glob(pattern))
    return json.loads(files[-1].read_text()) if files else None


def _lines(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


class Table:
    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []
        self.missing: list[str] = []

    def add(self, item: str, cornu: float | None, keras: float | None, unit: str,
            goal: float | None = None, lower_is_better: bool = True, note: str = "") -> None:
        ratio = None
        if cornu and keras:
            ratio = keras / cornu if lower_is_better else cornu / keras
        met = None if goal is None or ratio is None else ratio >= goal
        self.rows.append({"item": item, "cornu": cornu, "keras": keras, "unit": unit,
                          "ratio": ratio, "goal": goal, "met": met, "note": note})

    def add_side_by_side(self, item: str, libraries: dict[str, Any], key: str,
                         goal: float | None = None, unit: str = "s", **kw: Any) -> None:
        """A row of `libraries[name][key]` for cornu and Keras (either may be absent)."""
        self.add(item, libraries.get("cornu", {}).get(key),
                 libraries.get("keras", {}).get(key), unit, goal, **kw)

    def absent(self, results: object, name: str) -> bool:
        """Whether `results` is None (its file was not found): then `name` is listed as
        not measured."""
        if results is None:
            self.missing.append(name)
        return results is None

    def markdown(self) -> list[str]:
        out = ["| measurement | cornu | Keras 3 | Keras / cornu | goal | met |",
               "|---|---|---|---|---|---|"]
        for r in self.rows:
            def num(v: float | None) -> str:
                return "-" if v is None else (f"{v:.4g}" if abs(v) < 1000 else f"{v:.0f}")
            goal = "-" if r["goal"] is None else f">= {r['goal']:g}x"
            met = {None: "-", True: "yes", False: "**no**"}[r["met"]]
            ratio = "-" if r["ratio"] is None else f"{r['ratio']:.2f}x"
            note = f" ({r['note']})" if r["note"] else ""
            out.append(f"| {r['item']}{note} | {num(r['cornu'])} {r['unit']} | "
                       f"{num(r['keras'])} {r['unit']} | {ratio} | {goal} | {met} |")
        return out


def fit_rows(table: Table, fit: dict[str, Any] | None, suffix: str = "") -> None:
    if table.absent(fit, "fit_speed" + suffix):
        return
    goals = {1: 40.0, 100: 25.0}
    for entry in fit["fit"]:
        libs = entry["libraries"]
        name = ("lecture net" if entry["model"] == "mlp" else "convnet") + suffix
        b = entry["batch_size"]
        goal = goals.get(b) if entry["model"] == "mlp" else 2.0
        if suffix:
            goal = None
        table.add_side_by_side(f"{name}, batch {b}, steady epoch in one fit", libs,
                               "in_fit_steady_epoch_s", goal)
        table.add_side_by_side(f"{name}, batch {b}, steady epoch per fit call", libs,
                               "steady_epoch_s")
        if not suffix:
            table.add_side_by_side(f"{name}, batch {b}, first epoch (cold compile)", libs,
                                   "first_epoch_s", 1.0)
            if libs.get("cornu", {}).get("test_accuracy") is not None:
                table.add_side_by_side(f"{name}, batch {b}, test accuracy after the epochs",
                                       libs, "test_accuracy", unit="", lower_is_better=False)
    inference = fit.get("inference") or {}
    for entry in inference.get("throughput", []) + inference.get("latency", []):
        label = entry["operation"] + (f", batch {entry['batch_size']}"
                                      if "batch_size" in entry else "")
        table.add_side_by_side(label + suffix, entry["libraries"], "median_s",
                               None if suffix else 1.0)


def lever_rows(table: Table, levers: list[dict[str, Any]]) -> None:
    twenty = [r for r in levers if r.get("batch") == 100 and len(r.get("epochs", [])) >= 3]
    if not twenty:
        table.missing.append("the lecture's 20 epochs (gpu_levers)")
        return
    for r in twenty:
        epochs = r["epochs"]
        steady = 20 * r["steady_per60k"]  # 20 epochs of 60,000 samples at the steady pace
        table.add(f"lecture's 20 epochs, batch 100, training time [{r['label']}]", steady, None,
                  "s", note=f"fit call {r['total']:.2f} s, first epoch {epochs[0]:.2f} s, "
                  f"goal under 1 s: {'met' if steady < 1.0 else 'not met'}")


def rnn_rows(table: Table, rnn: dict[str, Any] | None) -> None:
    if table.absent(rnn, "rnn_speed"):
        return
    for r in rnn["results"]:
        table.add_side_by_side(
            f"{r['model']} fit epoch, batch {r['batch_size']} ({r['samples']} rows)",
            r["fit_epoch"], "median_s", 2.0)
        table.add_side_by_side(f"{r['model']} forward+backward of one batch",
                               r["forward_backward_one_batch"], "median_s")


def stream_rows(table: Table, stream: dict[str, Any] | None) -> None:
    if table.absent(stream, "stream_speed"):
        return
    for source, libs in stream["results"].items():
        table.add_side_by_side(f"lecture net from {source}, batch {stream['batch_size']}, "
                               f"epoch of {stream['rows']} rows", libs, "median_epoch_s", 2.0)


def dataparallel_rows(table: Table, dp: dict[str, Any] | None) -> None:
    if table.absent(dp, "dataparallel_speed"):
        return
    for r in dp["results"]:
        table.add_side_by_side(
            f"DataParallel ({r['devices']} device), {r['model']}, batch {r['batch_size']}",
            r["libraries"], "steady_epoch_s", 2.0)


def roofline_lines(fit: dict[str, Any] | None, kernels: dict[str, Any] | None,
                   roofline: dict[str, Any] | None) -> list[str]:
    out = ["## Where a step of the lecture's net at batch 100 goes", ""]
    steps = 600
    if fit is not None:
        for entry in fit["fit"]:
            if entry["model"] == "mlp" and entry["batch_size"] == 100:
                for lib, e in entry["libraries"].items():
                    if e.get("in_fit_steady_epoch_s"):
                        out.append(f"- {lib}: {1e6 * e['in_fit_steady_epoch_s'] / steps:.1f} us "
                                   "per step in one fit")
    if kernels is not None:
        for lib, k in kernels["libraries"].items():
            if "launches_per_step" in k:
                out.append(f"- {lib}: {k['launches_per_step']} kernel launches per step "
                           f"({json.dumps(k['step_by_opcode'])})")
            elif "error" in k:
                out.append(f"- {lib}: step kernels not read ({k['error'][-200:]!r})")
    if roofline is not None:
        medians = ", ".join(f"{name} {1e6 * r['median_s'] / roofline['steps']:.1f} us"
                            for name, r in roofline.get("results", {}).items()
                            if r.get("median_s"))
        out.append(f"- roofline.py, per step (median): {medians}; the machine's float32 "
                   f"product rate {roofline.get('peak_gflops', 0) / 1e3:.1f} TFLOP/s "
                   f"({roofline.get('peak_n')}x{roofline.get('peak_n')})")
    flops = 2 * 100 * 3 * (784 * 500 + 500 * 500 + 500 * 10)
    out.append(f"- arithmetic per step: {flops / 1e6:.0f} MFLOP (three products per layer: "
               "forward, weight and input gradient)")
    return out + [""]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("results", type=Path)
    p.add_argument("--out", type=Path, required=True)
    args = p.parse_args(argv)
    res = args.results
    merged = {
        "fit_speed": _latest(res, "fit_speed-*.json"),
        "fit_speed_bf16": _latest(res / "bf16", "fit_speed-*.json"),
        "levers": _lines(res / "levers.jsonl"),
        "rnn_speed": _latest(res, "rnn_speed-*.json"),
        "stream_speed": _latest(res, "stream_speed-*.json"),
        "dataparallel_speed": _latest(res, "dataparallel_speed-*.json"),
        "step_kernels": _latest(res, "step_kernels*.json"),
        "roofline": _latest(res, "roofline-*.json"),
    }
    table = Table()
    fit_rows(table, merged["fit_speed"])
    fit_rows(table, merged["fit_speed_bf16"], " (mixed_bfloat16)")
    lever_rows(table, merged["levers"])
    rnn_rows(table, merged["rnn_speed"])
    stream_rows(table, merged["stream_speed"])
    dataparallel_rows(table, merged["dataparallel_speed"])
    machine = next((m["machine"] for m in merged.values() if isinstance(m, dict)
                    and "machine" in m), {})
    lines = [f"# GPU check: {machine.get('jax_device_kind', '?')}, jax {machine.get('jax', '?')},"
             f" {machine.get('date', '')}", "",
             "Side by side with Keras 3 (JAX backend) in the same processes; seconds are per "
             "epoch of 60,000 samples unless the row says otherwise; Keras / cornu above 1 "
             "means cornu is faster.", ""]
    lines += table.markdown() + [""]
    if table.missing:
        lines += [f"Not measured in this run: {', '.join(table.missing)}.", ""]
    lines += roofline_lines(merged["fit_speed"], merged["step_kernels"], merged["roofline"])
    args.out.mkdir(parents=True, exist_ok=True)
    merged["table"] = table.rows
    (args.out / "gpu_check.json").write_text(json.dumps(merged, indent=1, default=str) + "\n")
    (args.out / "gpu_check.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
