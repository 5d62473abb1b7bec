"""DataParallel over all of the machine's devices, cornu next to Keras 3 (JAX backend), in
one process: the lecture's net at batch 100 and the convnet at batch 128 on MNIST.

    python benchmarks/dataparallel_speed.py --out benchmarks/results
    python benchmarks/dataparallel_speed.py --epochs 2 --rows 12000     # shorter

Each library trains under its own `distribution.DataParallel()` (cornu's through
`cornu.distribution.set_distribution`, Keras' through `keras.distribution`) in one
`fit(epochs=1+E)` call, one library after the other; steady epochs are the median after
the first (which compiles), scaled to 60,000 samples. On a one-GPU
machine the mesh has one device: the figure is then what DataParallel's sharded programs
cost against fit_speed.py's plain ones on the same device.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fit_speed import (  # noqa: E402
    DEFAULT_OUT,
    FULL_N,
    Library,
    import_keras,
    load_mnist,
    locate_data,
    machine_info,
)

BATCHES = {"mlp": 100, "convnet": 128}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--epochs", type=int, default=3, help="timed epochs after the first")
    p.add_argument("--rows", type=int, default=FULL_N, help="training rows")
    p.add_argument("--models", default="mlp,convnet")
    p.add_argument("--no-keras", action="store_true")
    p.add_argument("--data", type=Path, default=None)
    p.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = p.parse_args(argv)
    locate_data(args.data)
    os.environ.setdefault("CORNU_COMPILATION_CACHE", "0")
    keras, note = import_keras(not args.no_keras)
    import jax

    import cornu

    libs = [Library("cornu", cornu)] + ([Library("keras", keras)] if keras is not None else [])
    cornu.distribution.set_distribution(cornu.distribution.DataParallel())
    if keras is not None:
        keras.distribution.set_distribution(keras.distribution.DataParallel())
    data = load_mnist()
    machine = machine_info(keras)
    results = []
    for model in [m.strip() for m in args.models.split(",") if m.strip()]:
        kind = "img" if model == "convnet" else "flat"
        x, y = data[f"x_train_{kind}"][:args.rows], data["y_train"][:args.rows]
        batch = BATCHES[model]
        entry: dict[str, Any] = {"model": model, "batch_size": batch, "rows": len(x),
                                 "devices": len(jax.devices()), "libraries": {}}
        nets = {}
        for lib in libs:
            lib.seed(1337)
            nets[lib.name] = lib.build(model)
            entry["libraries"][lib.name] = {"epoch_seconds": []}
        for lib in libs:
            entry["libraries"][lib.name]["epoch_seconds"] = lib.fit_epochs(
                nets[lib.name], x, y, batch, 1 + args.epochs)
        for lib in libs:
            e = entry["libraries"][lib.name]
            e["first_epoch_s"] = e["epoch_seconds"][0]
            e["steady_epoch_s"] = statistics.median(e["epoch_seconds"][1:]) * FULL_N / len(x)
        if keras is not None:
            entry["speedup_steady_epoch"] = (entry["libraries"]["keras"]["steady_epoch_s"]
                                             / entry["libraries"]["cornu"]["steady_epoch_s"])
        results.append(entry)
        print(json.dumps({k: entry[k] for k in ("model", "batch_size", "devices")}
                         | {n: round(e["steady_epoch_s"], 4)
                            for n, e in entry["libraries"].items()}
                         | ({"speedup": round(entry["speedup_steady_epoch"], 2)}
                            if "speedup_steady_epoch" in entry else {})), flush=True)
    report = {"machine": machine, "notes": [note] if note else [], "results": results}
    args.out.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M%S")
    path = args.out / f"dataparallel_speed-{machine['slug']}-{stamp}.json"
    path.write_text(json.dumps(report, indent=1) + "\n")
    print(f"wrote {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
