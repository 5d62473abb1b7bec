"""cornu next to Keras 3 (JAX backend) in one process, epoch times taken by a callback
inside one `fit` (so the one-time copy of the data to the device is not counted).

Written for a GPU machine, where each `fit(epochs=1)` call's data transfer would
dominate an epoch of a few milliseconds; it runs on a CPU too.

    python benchmarks/gpu_side_by_side.py main      # MLP at 1/10/100/1000, convnet at 128
    CORNU_SCAN_UNROLL=1 python benchmarks/gpu_side_by_side.py unroll

Results are printed as JSON lines and written to $OUT when that is set.
"""

import json
import os
import sys
import time

os.environ.setdefault("KERAS_BACKEND", "jax")

import jax  # noqa: E402
import numpy as np  # noqa: E402
from _shared import epoch_timer, lecture_net  # noqa: E402

import cornu  # noqa: E402
from cornu.datasets import mnist  # noqa: E402

try:
    import keras
except ImportError as err:
    keras = None
    print("keras unavailable:", err)


def convnet(lib):
    layers = lib.layers
    return lib.Sequential([
        lib.Input(shape=(28, 28, 1)),
        layers.Conv2D(32, (3, 3), activation="relu"),
        layers.MaxPooling2D((2, 2)),
        layers.Conv2D(64, (3, 3), activation="relu"),
        layers.MaxPooling2D((2, 2)),
        layers.Flatten(),
        layers.Dropout(0.5),
        layers.Dense(10, activation="softmax"),
    ])


def run(lib, build, batch_size, n, epochs, data):
    (x, y), (xt, yt) = data
    lib.utils.set_random_seed(0)
    model = build(lib)
    model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    timer = epoch_timer(lib)
    start = time.perf_counter()
    model.fit(x[:n], y[:n], batch_size=batch_size, epochs=epochs, verbose=0, callbacks=[timer])
    total = time.perf_counter() - start
    accuracy = float(model.evaluate(xt, yt, verbose=0)[1])
    steady = float(np.median(timer.times[1:])) * 60000 / n
    return {"first": timer.times[0], "steady_per60k": steady, "total": total,
            "acc": accuracy, "epochs": epochs}


def main(which: str) -> None:
    print("devices", jax.devices(), "jax", jax.__version__, flush=True)
    (x, y), (xt, yt) = mnist.load_data()
    x = x.reshape(-1, 784).astype("float32") / 255
    xt = xt.reshape(-1, 784).astype("float32") / 255
    y = np.eye(10, dtype="float32")[y]
    yt = np.eye(10, dtype="float32")[yt]
    flat = ((x, y), (xt, yt))
    images = ((x.reshape(-1, 28, 28, 1), y), (xt.reshape(-1, 28, 28, 1), yt))
    results = []

    def record(result):
        print(json.dumps(result), flush=True)
        results.append(result)

    if which == "main":
        configs = [("mlp", 1, 6000, 3), ("mlp", 10, 6000, 4), ("mlp", 100, 60000, 5),
                   ("mlp", 1000, 60000, 5), ("cnn", 128, 60000, 3)]
        for name, batch_size, n, epochs in configs:
            for lib in [cornu, keras] if keras else [cornu]:
                build, data = (lecture_net, flat) if name == "mlp" else (convnet, images)
                try:
                    result = run(lib, build, batch_size, n, epochs, data)
                except Exception as err:  # keep measuring the other configurations
                    result = {"error": repr(err)[:300]}
                result.update(lib=lib.__name__, model=name, batch=batch_size, n=n)
                record(result)
        # the lecture: 20 epochs at batch 100 in one fit call
        cornu.utils.set_random_seed(0)
        model = lecture_net(cornu)
        model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
        model.fit(x[:1000], y[:1000], batch_size=100, epochs=1, verbose=0)
        start = time.perf_counter()
        model.fit(x, y, batch_size=100, epochs=20, verbose=0)
        record({"lib": "cornu", "model": "lecture 20 epochs batch 100 (one fit)",
                "seconds": time.perf_counter() - start,
                "acc": float(model.evaluate(xt, yt, verbose=0)[1])})
    else:
        for batch_size, n in ((1, 6000), (100, 60000)):
            result = run(cornu, lecture_net, batch_size, n, 3, flat)
            result.update(lib="cornu", unroll=os.environ.get("CORNU_SCAN_UNROLL"),
                          batch=batch_size)
            record(result)
    out = os.environ.get("OUT")
    if out:
        name = f"gpu-{which}-{os.environ.get('CORNU_SCAN_UNROLL', 'auto')}.json"
        with open(os.path.join(out, name), "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "main")
