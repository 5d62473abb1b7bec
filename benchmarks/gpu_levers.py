"""cornu alone on the lecture's net: epoch times from a callback inside one `fit`, and the
seconds XLA spent compiling (from jax.monitoring), for comparing compiler settings.

Each setting needs its own process (XLA_FLAGS is read once) and a cold compilation
cache, for example:

    CORNU_COMPILATION_CACHE=/tmp/cc1 python benchmarks/gpu_levers.py base 1:6000:3 100:60000:4
    CORNU_COMPILATION_CACHE=/tmp/cc2 CORNU_GPU_TRITON_GEMM=1 \\
        python benchmarks/gpu_levers.py triton 100:60000:4

Arguments: a label, then batch:samples:epochs for each fit. Results are printed as JSON
lines and appended to $OUT/levers.jsonl when OUT is set. Written for a GPU; runs on a
CPU too. `benchmarks/results/gpu-levers-h100-20261127.jsonl` holds the H100 runs that
docs/performance.md cites.
"""

import json
import os
import sys
import time

import jax
import numpy as np

compile_seconds = {"total": 0.0, "count": 0}


def _listen(name, seconds, **kwargs):
    if name == "/jax/core/compile/backend_compile_duration":
        compile_seconds["total"] += seconds
        compile_seconds["count"] += 1


jax.monitoring.register_event_duration_secs_listener(_listen)

from _shared import epoch_timer, lecture_net  # noqa: E402

import cornu  # noqa: E402
from cornu.datasets import mnist  # noqa: E402


def measure(label, batch_size, n, epochs, data):
    (x, y), (xt, yt) = data
    cornu.utils.set_random_seed(0)
    model = lecture_net(cornu)
    model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    timer = epoch_timer(cornu)
    before = dict(compile_seconds)
    start = time.perf_counter()
    model.fit(x[:n], y[:n], batch_size=batch_size, epochs=epochs, verbose=0, callbacks=[timer])
    total = time.perf_counter() - start
    accuracy = float(model.evaluate(xt, yt, verbose=0)[1])  # its compilation is counted too
    return {
        "first": timer.times[0],
        "steady_per60k": float(np.median(timer.times[1:])) * 60000 / n,
        "epochs": [round(t, 5) for t in timer.times],
        "total": total,
        "acc": accuracy,
        "compile_s": compile_seconds["total"] - before["total"],
        "compiles": compile_seconds["count"] - before["count"],
        "label": label, "batch": batch_size, "n": n,
        "xla_flags": os.environ.get("XLA_FLAGS", ""),
        "unroll": os.environ.get("CORNU_SCAN_UNROLL", "auto"),
        "device": jax.devices()[0].device_kind,
    }


def main(argv):
    if len(argv) < 2:
        sys.exit(__doc__)
    (x, y), (xt, yt) = mnist.load_data()
    x = x.reshape(-1, 784).astype("float32") / 255
    xt = xt.reshape(-1, 784).astype("float32") / 255
    data = ((x, np.eye(10, dtype="float32")[y]), (xt, np.eye(10, dtype="float32")[yt]))
    for spec in argv[1:]:
        batch_size, n, epochs = map(int, spec.split(":"))
        result = measure(argv[0], batch_size, n, epochs, data)
        print(json.dumps(result), flush=True)
        if os.environ.get("OUT"):
            with open(os.path.join(os.environ["OUT"], "levers.jsonl"), "a") as f:
                f.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main(sys.argv[1:])
