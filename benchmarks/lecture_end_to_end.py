"""The lecture's whole program, cornu next to Keras 3: each library in a fresh process with
a cold compilation cache, timed step by step (import, building and compiling the model,
fit for 20 epochs at batch 100, evaluate, predict) and in total.

    python benchmarks/lecture_end_to_end.py [--rounds 3] [--epochs 20] [--out DIR]

Writes lecture_end_to_end-<device>-<date-time>.json and .md into --out (default
benchmarks/results).

Rounds alternate the libraries (cornu, keras, keras, cornu, ...), so a drifting machine
affects both alike. The table gives each step's median over the rounds. MNIST is read
once by cornu.datasets.mnist (set CORNU_DATA to read a local copy) and handed to both
programs as .npy files, so neither imports the other library.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

STEPS = ["import", "data", "build and compile", "fit", "evaluate", "predict", "total"]


def child(library: str, epochs: int, data: Path) -> None:
    """The lecture's program (modern spellings), printing one JSON line of step times."""
    start = time.perf_counter()
    marks = {}

    def mark(name):
        marks[name] = time.perf_counter() - start - sum(marks.values())

    if library == "keras":
        os.environ["KERAS_BACKEND"] = "jax"
        import keras as lib
    else:
        import cornu as lib
    import numpy as np
    mark("import")
    x_train, y_train, x_test, y_test = (np.load(data / f"{name}.npy")
                                        for name in ("x_train", "y_train", "x_test", "y_test"))
    x_train = x_train.reshape(60000, 784).astype("float32") / 255
    x_test = x_test.reshape(10000, 784).astype("float32") / 255
    y_train = np.eye(10, dtype="float32")[y_train]
    y_test = np.eye(10, dtype="float32")[y_test]
    mark("data")
    layers = lib.layers
    model = lib.Sequential([lib.Input(shape=(784,)),
                            layers.Dense(500), layers.Activation("sigmoid"),
                            layers.Dense(500), layers.Activation("sigmoid"),
                            layers.Dense(10), layers.Activation("softmax")])
    model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    mark("build and compile")
    model.fit(x_train, y_train, batch_size=100, epochs=epochs, verbose=0)
    mark("fit")
    accuracy = float(model.evaluate(x_test, y_test, verbose=0)[1])
    mark("evaluate")
    model.predict(x_test[:5], verbose=0)
    mark("predict")
    marks["total"] = time.perf_counter() - start
    print(json.dumps({"library": library, "accuracy": accuracy, **marks}), flush=True)


def run_child(library: str, epochs: int, data: Path) -> dict:
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, CORNU_COMPILATION_CACHE="0", XDG_CACHE_HOME=cache)
        done = subprocess.run([sys.executable, __file__, "--child", library, "--epochs",
                               str(epochs), "--data", str(data)], env=env,
                              capture_output=True, text=True, check=False)
    if done.returncode != 0:
        return {"library": library, "error": done.stderr[-600:]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    p.add_argument("--child", choices=["cornu", "keras"], help=argparse.SUPPRESS)
    p.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        child(args.child, args.epochs, args.data)
        return
    import numpy as np

    from cornu.datasets import mnist

    runs = []
    with tempfile.TemporaryDirectory() as data:
        (x_train, y_train), (x_test, y_test) = mnist.load_data()
        for name, array in [("x_train", x_train), ("y_train", y_train), ("x_test", x_test),
                            ("y_test", y_test)]:
            np.save(Path(data) / f"{name}.npy", array)
            np.load(Path(data) / f"{name}.npy")  # in the page cache for every child alike
        for r in range(args.rounds):
            for library in ("cornu", "keras") if r % 2 == 0 else ("keras", "cornu"):
                runs.append(run_child(library, args.epochs, Path(data)))
                print(json.dumps(runs[-1]), flush=True)
    import jax

    device = jax.devices()[0]
    where = (f"{device.platform}-{os.cpu_count()}cores" if device.platform == "cpu"
             else f"{device.platform}-{device.device_kind.lower().replace(' ', '-')}")
    lines = [f"# The lecture's program end to end: cornu vs Keras 3 (JAX), {where}", "",
             f"jax {jax.__version__}, {device.device_kind}, {os.cpu_count()} CPUs, "
             f"{time.strftime('%Y-%m-%d %H:%M', time.gmtime())} UTC; each library in a "
             f"fresh process, cold compilation cache, {args.epochs} epochs at batch 100; command "
             f"`{' '.join([Path(sys.argv[0]).name, *sys.argv[1:]])}`.", "",
             f"| step (s, median of {args.rounds}) | cornu | keras | keras / cornu |",
             "|---|---|---|---|"]
    for step in [*STEPS, "accuracy"]:
        medians = []
        for library in ("cornu", "keras"):
            values = [run[step] for run in runs if run["library"] == library and step in run]
            medians.append(statistics.median(values) if values else float("nan"))
        ratio = "" if step == "accuracy" else f"{medians[1] / medians[0]:.2f}x"
        lines.append(f"| {step} | {medians[0]:.4g} | {medians[1]:.4g} | {ratio} |")
    print("\n".join(lines))
    args.out.mkdir(parents=True, exist_ok=True)
    stem = args.out / f"lecture_end_to_end-{where}-{time.strftime('%Y%m%d-%H%M%S', time.gmtime())}"
    stem.with_suffix(".json").write_text(json.dumps(runs, indent=1))
    stem.with_suffix(".md").write_text("\n".join(lines) + "\n")
    print(f"wrote {stem}.json and .md")


if __name__ == "__main__":
    main()
