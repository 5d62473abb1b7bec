"""The stream reader's pass alone: a PyDataset's (or generator's) batches checked, stacked
into chunks and put on the device, as fit's background thread does, without training.

    python benchmarks/stream_reader.py --rows 30000 --repeats 5
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import numpy as np


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, default=30000)
    p.add_argument("--batch", type=int, default=100)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--profile", action="store_true", help="cProfile one pass")
    args = p.parse_args(argv)
    import cornu
    from cornu.data import sources
    from cornu.training import fit_stream

    rng = np.random.default_rng(0)
    x = rng.random((args.rows, 784), np.float32)
    y = np.eye(10, dtype=np.float32)[rng.integers(0, 10, args.rows)]
    b, steps = args.batch, args.rows // args.batch

    class Rows(cornu.utils.PyDataset):
        def __len__(self):
            return steps

        def __getitem__(self, i):
            return x[i * b:(i + 1) * b], y[i * b:(i + 1) * b]

    net = cornu.Sequential([cornu.Input((784,)), cornu.layers.Dense(500, activation="sigmoid"),
                            cornu.layers.Dense(500, activation="sigmoid"),
                            cornu.layers.Dense(10, activation="softmax")])
    net.compile(optimizer="adam", loss="categorical_crossentropy")
    data = sources.EpochIterator(sources.stream_of(Rows(), "x"))

    def one_pass() -> float:
        reader = fit_stream.Reader(data, fit_stream.batch_preparer(net, "x", "fit"), None)
        began = time.perf_counter()
        for chunk in reader.epoch():
            chunk.x[0].block_until_ready()
        took = time.perf_counter() - began
        reader.close()
        return took

    one_pass()
    if args.profile:
        import cProfile
        import pstats
        prof = cProfile.Profile()
        reader = fit_stream.Reader(data, fit_stream.batch_preparer(net, "x", "fit"), None)
        prof.enable()  # the reading thread's work, in this thread
        for chunk in reader._produce():
            chunk.x[0].block_until_ready()
        prof.disable()
        pstats.Stats(prof).sort_stats("tottime").print_stats(25)
    times = [one_pass() for _ in range(args.repeats)]
    med = statistics.median(times)
    print(f"reader pass: median {med * 1e3:.1f} ms, min {min(times) * 1e3:.1f} ms over "
          f"{args.repeats}; {med / steps * 1e6:.0f} us per batch ({steps} batches)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
