"""How many kernels one training step of the lecture's net launches, read from the programs
XLA compiled (cornu's fit, and Keras 3's when it is installed), for the GPU roofline.

    python benchmarks/step_kernels.py --batch 100          # prints one JSON line

Each library trains the lecture's net for one short epoch in a child process with
`--xla_dump_to` set; the optimised HLO of every program is then read back. A step's
launches are the kernel-launching instructions of the loop body (cornu scans its steps
inside one program) or of the step program (Keras compiles one step and calls it per
batch): fusions, library calls (cuBLAS, cuDNN), copies and unfused reductions; `call`s
(XLA's command-buffer outlining) and nested loops are followed. With the measured
seconds per step this gives the time per launch, the figure that tells a launch-bound
step from one bound by arithmetic or memory traffic.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

_CHILD = """
import os, sys, numpy as np
sys.path.insert(0, {bench!r})
from _shared import lecture_net
lib_name, batch = {lib!r}, {batch}
if lib_name == "keras":
    os.environ["KERAS_BACKEND"] = "jax"
    import keras as lib
else:
    import cornu as lib
rng = np.random.default_rng(0)
n = batch * 20
x = rng.random((n, 784), dtype=np.float32)
y = np.eye(10, dtype=np.float32)[rng.integers(0, 10, n)]
net = lecture_net(lib)
net.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
net.fit(x, y, batch_size=batch, epochs=1, verbose=0)
"""

#: opcodes that launch a kernel (or a library call) on a GPU
LAUNCHING = {"fusion", "custom-call", "copy", "reduce", "sort", "scatter", "gather",
             "dot", "convolution", "all-reduce", "all-gather", "reduce-scatter",
             "dynamic-update-slice", "transpose", "broadcast", "select-and-scatter",
             "reduce-window", "cudnn", "copy-start", "rng-bit-generator"}

_COMPUTATION = re.compile(r"^(ENTRY\s+)?%?([\w.\-]+)\s.*\{\s*$")
_INSTRUCTION = re.compile(r"^\s*(?:ROOT\s+)?%?[\w.\-]+\s*=\s*.*?\s([a-z][a-z0-9\-]*)\((.*)$")


def parse(text: str) -> tuple[dict[str, list[tuple[str, str]]], str | None]:
    """{computation: [(opcode, rest of line)]}, and the entry computation's name."""
    computations: dict[str, list[tuple[str, str]]] = {}
    entry, current = None, None
    for line in text.splitlines():
        if current is None:
            match = _COMPUTATION.match(line)  # computations start at column 0
            if match and not line[:1].isspace():
                current = match.group(2)
                computations[current] = []
                if match.group(1):
                    entry = current
            continue
        if line.strip() == "}":
            current = None
            continue
        match = _INSTRUCTION.match(line)
        if match:
            computations[current].append((match.group(1), match.group(2)))
    return computations, entry


def _called(rest: str, key: str) -> list[str]:
    found = re.findall(key + r"=\{?%?([\w.\-]+(?:,\s*%[\w.\-]+)*)\}?", rest)
    return [n.strip().lstrip("%") for group in found for n in group.split(",")]


def launches(computations: dict[str, list[tuple[str, str]]], name: str,
             loops: list[dict], depth: int = 0) -> dict[str, int]:
    """Launching instructions of `name` by opcode, following calls; loop bodies are counted
    apart (appended to `loops`), since they run once per iteration."""
    counts: dict[str, int] = {}
    for opcode, rest in computations.get(name, []):
        if opcode == "call" or opcode == "async-start":
            for callee in _called(rest, "to_apply") + _called(rest, "calls"):
                for k, v in launches(computations, callee, loops, depth + 1).items():
                    counts[k] = counts.get(k, 0) + v
        elif opcode == "while":
            for body in _called(rest, "body"):
                inner: list[dict] = []
                body_counts = launches(computations, body, inner, depth + 1)
                loops.append({"body": body, "depth": depth, "launches": sum(body_counts.values()),
                              "by_opcode": body_counts, "inner_loops": inner})
            counts["while"] = counts.get("while", 0) + 1
        elif opcode == "conditional":
            counts["conditional"] = counts.get("conditional", 0) + 1
        elif opcode in LAUNCHING:
            key = opcode
            if opcode == "custom-call":
                target = re.search(r'custom_call_target="([^"]+)"', rest)
                key = f"custom-call:{target.group(1) if target else '?'}"
            counts[key] = counts.get(key, 0) + 1
    return counts


def modules(dump: Path) -> list[dict]:
    out = []
    for path in sorted(dump.glob("*after_optimizations.txt")):
        computations, entry = parse(path.read_text())
        if entry is None:
            continue
        loops: list[dict] = []
        counts = launches(computations, entry, loops)
        out.append({"module": path.name.split(".")[1] if "." in path.name else path.name,
                    "file": path.name, "launches_outside_loops": sum(counts.values()),
                    "by_opcode": counts, "loops": loops})
    return out


def run(lib: str, batch: int, save_hlo: Path | None = None) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ,
               "XLA_FLAGS": (os.environ.get("XLA_FLAGS", "")
                             + f" --xla_dump_to={tmp} --xla_dump_hlo_as_text"),
               "CORNU_COMPILATION_CACHE": "0", "KERAS_BACKEND": "jax",
               "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT),
                                                           os.environ.get("PYTHONPATH")]))}
        code = _CHILD.format(bench=str(ROOT / "benchmarks"), lib=lib, batch=batch)
        done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                              text=True, timeout=300, cwd=ROOT)
        if done.returncode:
            return {"library": lib, "error": done.stderr[-2000:]}
        found = modules(Path(tmp))
        if save_hlo is not None:  # the busiest program's optimised HLO, for reading
            texts = sorted(Path(tmp).glob("*after_optimizations.txt"),
                           key=lambda f: f.stat().st_size)
            if texts:
                save_hlo.mkdir(parents=True, exist_ok=True)
                (save_hlo / f"{lib}-step-b{batch}.hlo.txt").write_text(texts[-1].read_text())
    # the step: cornu's largest loop body; Keras' busiest program without a loop
    step = None
    if lib == "cornu":
        bodies = [loop for m in found for loop in m["loops"]]
        step = max(bodies, key=lambda b: b["launches"], default=None)
    else:
        step = max(found, key=lambda m: m["launches_outside_loops"], default=None)
    summary = {"library": lib, "batch_size": batch, "programs": len(found)}
    if step is not None:
        summary["launches_per_step"] = step.get("launches", step.get("launches_outside_loops"))
        summary["step_by_opcode"] = step["by_opcode"]
        summary["step_program"] = step.get("body", step.get("module"))
    summary["all"] = [{k: m[k] for k in ("module", "launches_outside_loops")}
                      | {"loop_launches": [loop["launches"] for loop in m["loops"]]}
                      for m in found]
    return summary


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--batch", type=int, default=100)
    p.add_argument("--no-keras", action="store_true")
    p.add_argument("--out", type=Path, default=None, help="write the JSON here too")
    p.add_argument("--save-hlo", type=Path, default=None,
                   help="folder for each library's largest optimised program (text)")
    args = p.parse_args(argv)
    libs = ["cornu"] + ([] if args.no_keras else ["keras"])
    result = {"batch_size": args.batch, "libraries": {lib: run(lib, args.batch, args.save_hlo)
                                                        for lib in libs}}
    line = json.dumps(result)
    print(line)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(line + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
