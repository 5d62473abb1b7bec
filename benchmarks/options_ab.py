"""XLA compiler options side by side in one process: one model per setting, epochs alternating.

This project's VM changes speed by 10-40% from minute to minute, so two processes run one
after the other can disagree more than two settings do. Here each setting gets its own
model of the lecture's net, built while cornu's programs are compiled with that setting
(cornu reads its compiler options when a model's programs are made), and the models
train in turns: each round runs one `fit(epochs=3)` per model, in alternating order, and
the steady epochs of all rounds are compared. Example:

    python benchmarks/options_ab.py --batch 100 --rounds 8 \\
        xla_cpu_copy_insertion_use_region_analysis=false

Each argument is one setting: comma-separated `option=value` pairs added to (or replacing)
cornu's own options. The first model always has cornu's options unchanged. The losses
after the last round are printed too: options that do not change the arithmetic leave
them bit for bit equal.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _shared import lecture_net  # noqa: E402


def parse_setting(text: str) -> dict[str, Any]:
    setting: dict[str, Any] = {}
    # pairs are separated by commas followed by the next option's name, so a value may be
    # a list itself: xla_cpu_experimental_ynn_fusion_type=LIBRARY_FUSION_TYPE_REDUCE,LIBR...
    for pair in filter(None, re.split(r",(?=\s*xla_)", text)):
        name, sep, value = (part.strip() for part in pair.partition("="))
        if not sep or not name.startswith("xla_"):
            raise argparse.ArgumentTypeError(
                f"a setting is option=value pairs separated by commas, e.g. "
                f"xla_cpu_prefer_vector_width=256. Received: {text!r}")
        lowered = value.lower()
        if lowered in ("true", "false"):
            setting[name] = lowered == "true"
        elif lowered.lstrip("-").isdigit():
            setting[name] = int(lowered)
        else:
            setting[name] = value
    return setting


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("settings", nargs="*", type=parse_setting,
                   help="one setting per argument: option=value[,option=value...]")
    p.add_argument("--batch", type=int, default=100)
    p.add_argument("--samples", type=int, default=60_000,
                   help="training samples (fewer for small batches; default 60000)")
    p.add_argument("--rounds", type=int, default=6)
    p.add_argument("--data", type=Path, default=None, help="folder that holds mnist/")
    args = p.parse_args(argv)
    if args.data is not None:
        os.environ["CORNU_DATA"] = str(args.data)
    elif "CORNU_DATA" not in os.environ:
        shared = Path(__file__).resolve().parents[2] / "shared" / "data"
        if (shared / "mnist").is_dir():
            os.environ["CORNU_DATA"] = str(shared)

    import cornu
    from cornu.datasets import mnist
    from cornu.training import loop

    (x, y), _ = mnist.load_data()
    x = x.reshape(-1, 784).astype("float32")[:args.samples] / 255
    y = cornu.utils.to_categorical(y[:args.samples], 10)
    defaults = loop.compiler_options

    def build(extra: dict[str, Any]):
        loop.compiler_options = lambda batch_size=None: {
            **(defaults(batch_size) or {}), **extra}
        try:
            cornu.utils.set_random_seed(1)
            model = lecture_net(cornu)
            model.compile(loss="categorical_crossentropy", optimizer="adam")
            model.fit(x[:args.batch * 2], y[:args.batch * 2], batch_size=args.batch,
                      verbose=0)  # makes (and compiles) the model's programs now
        finally:
            loop.compiler_options = defaults
        model.fit(x, y, batch_size=args.batch, verbose=0)  # this shape compiled too
        return model

    names = ["cornu's options"] + [",".join(f"{k}={v}" for k, v in s.items())
                                   for s in args.settings]
    models = [build({})] + [build(s) for s in args.settings]
    times: list[list[float]] = [[] for _ in models]
    losses: list[float] = [0.0] * len(models)
    for r in range(args.rounds):
        order = list(range(len(models)))
        for i in (order if r % 2 == 0 else order[::-1]):
            cornu.utils.set_random_seed(100 + r)  # the same shuffles for every model
            marks = [time.perf_counter()]
            history = models[i].fit(x, y, batch_size=args.batch, epochs=3, verbose=0,
                                    callbacks=[cornu.callbacks.LambdaCallback(
                                        on_epoch_end=lambda e, logs, m=marks: m.append(
                                            time.perf_counter()))])
            times[i] += np.diff(marks)[1:].tolist()  # the call's first epoch pays its set-up
            losses[i] = history.history["loss"][-1]
    print(f"batch {args.batch}, {len(x):,} samples, {args.rounds} rounds of 2 steady epochs "
          f"per model (seconds per epoch of these samples)")
    for name, t, loss in zip(names, times, losses, strict=True):
        print(f"  median {statistics.median(t):.3f}  min {min(t):.3f}  loss {loss:.6f}  {name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
