"""What progress output and callbacks without batch hooks cost on the lecture's net.

One process, the same data; each configuration trains a fresh seeded model with
`fit(epochs=E)` and the median epoch time (from an epoch timer callback) is compared with
the plain run (verbose=0, no callbacks). Configurations are interleaved, repeated.

    python benchmarks/callback_overhead.py [--epochs 4] [--repeats 3]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import tempfile

import numpy as np
from _shared import epoch_timer, lecture_net

import cornu
from cornu import callbacks
from cornu.datasets import mnist


def compiled_lecture_net() -> cornu.Sequential:
    model = lecture_net(cornu)
    model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    return model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=100)
    args = parser.parse_args()
    (x, y), _ = mnist.load_data()
    x = x.reshape(-1, 784).astype("float32") / 255
    y = np.eye(10, dtype="float32")[y]
    folder = tempfile.mkdtemp()

    def configs():
        yield "plain (verbose=0)", 0, []
        yield "verbose=2 (one line per epoch)", 2, []
        yield "verbose=1 to a pipe", 1, []
        yield "History+EarlyStopping+CSVLogger+ReduceLROnPlateau", 0, [
            callbacks.EarlyStopping(monitor="loss", patience=50),
            callbacks.CSVLogger(os.path.join(folder, "log.csv")),
            callbacks.ReduceLROnPlateau(monitor="loss", patience=50)]

    results: dict[str, list[float]] = {}
    for _ in range(args.repeats):
        for name, verbose, extra in configs():
            cornu.utils.set_random_seed(0)
            model = compiled_lecture_net()
            timer = epoch_timer(cornu)
            sink = io.StringIO()  # not a terminal: the one-line-per-epoch writer
            with contextlib.redirect_stdout(sink):
                model.fit(x, y, batch_size=args.batch_size, epochs=args.epochs,
                          verbose=verbose, callbacks=[*extra, timer])
            results.setdefault(name, []).extend(timer.times[1:])
    base = float(np.median(results["plain (verbose=0)"]))
    print(f"lecture net, batch {args.batch_size}, median steady epoch over "
          f"{args.repeats} x {args.epochs - 1} epochs")
    print("| configuration | median epoch s | overhead vs plain |")
    print("|---|---|---|")
    for name, times in results.items():
        median = float(np.median(times))
        print(f"| {name} | {median:.4f} | {100 * (median / base - 1):+.1f}% |")


if __name__ == "__main__":
    main()
