"""Where `predict` on 10,000 samples spends its time, next to Keras' whole call.

cornu's predict checks and converts the input, hands it to the device as batches (on the
CPU read in place, the last, partial batch copied and padded; on a GPU copied), runs one
compiled program over all batches and copies the outputs back; this
times each of those steps separately (median of repeated calls) for the lecture's net,
so a slow step shows on a GPU, where the copies matter more than the arithmetic.

    python benchmarks/predict_phases.py [--batch 1000] [--repeats 20]
"""

import argparse
import json
import os
import time

os.environ.setdefault("KERAS_BACKEND", "jax")

import jax  # noqa: E402
import numpy as np  # noqa: E402
from _shared import lecture_net  # noqa: E402

import cornu  # noqa: E402
from cornu.data import staging  # noqa: E402
from cornu.datasets import mnist  # noqa: E402

try:
    import keras
except ImportError:
    keras = None


def median_ms(fn, repeats):
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return round(float(np.median(times)) * 1e3, 3)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--batch", type=int, default=1000)
    p.add_argument("--repeats", type=int, default=20)
    args = p.parse_args()
    _, (xt, _) = mnist.load_data()
    x = xt.reshape(-1, 784).astype("float32") / 255
    model = lecture_net(cornu)
    model.compile(loss="categorical_crossentropy", optimizer="adam")
    batch = args.batch
    on_device = tuple(staging.put_batches([x], batch))
    jax.block_until_ready(on_device)
    run = model._predictor.predict_all  # the compiled program predict calls

    def program():
        jax.block_until_ready(run(model._params, model._state, on_device))

    result = {
        "device": jax.devices()[0].device_kind,
        "batch": batch,
        "cornu predict ms": median_ms(lambda: model.predict(x, batch_size=batch, verbose=0),
                                      args.repeats),
        "prepare input ms": median_ms(lambda: model._prepare_x(x), args.repeats),
        "batches to the device ms": median_ms(
            lambda: jax.block_until_ready(staging.put_batches([x], batch)), args.repeats),
        "program ms": median_ms(program, args.repeats),
        "program and outputs to host ms": median_ms(
            lambda: jax.device_get(run(model._params, model._state, on_device)), args.repeats),
    }
    if keras is not None:
        keras.utils.set_random_seed(0)
        k = lecture_net(keras)
        result["keras predict ms"] = median_ms(lambda: k.predict(x, batch_size=batch, verbose=0),
                                               args.repeats)
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
