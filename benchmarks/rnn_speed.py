"""Sequence models: cornu next to Keras 3 (JAX backend), in one process, on the CPU.

    .venv/bin/python benchmarks/rnn_speed.py            # about 5 minutes on 2 free cores
    .venv/bin/python benchmarks/rnn_speed.py --quick    # smoke test

Each model runs in a child process of its own (--one-process: all in this one).

What is measured, each library alternating with the other round by round (so machine
noise reaches both; the ratios are keras seconds / cornu seconds, > 1: cornu faster):
- fit: LSTM(128) and GRU(128) -> Dense(10, softmax) reading MNIST digits as 28 rows of 28
  pixels (the first --rows training images, batch 128, adam, sparse categorical
  cross-entropy, accuracy). One `fit(epochs=1)` call per round; a warm-up epoch (with
  the compilation) is left out.
- step: a transformer block (MultiHeadAttention(4 heads, key_dim 16) + Add +
  LayerNormalization + FFN(Dense 128 relu, Dense 64) + Add + LayerNormalization, then
  GlobalAveragePooling1D and Dense(10)) on (32, 64, 64) inputs: fit epochs of 32 steps
  (forward, backward and the adam update, compiled); and the LSTM/GRU/transformer
  forward+backward alone (jax.jit(jax.grad) of the sum of squared outputs, through each
  library's stateless call), which shows whether a difference is in the layers or in
  the training loop.
The load average before and after is in the report: with other work on the machine the
absolute times move a lot, the ratios less.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fit_speed import _loadavg, import_keras, locate_data, machine_info  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "benchmarks" / "results"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="smoke test: fewer rows and rounds")
    p.add_argument("--rows", type=int, default=None, help="MNIST training images (default 6400)")
    p.add_argument("--rounds", type=int, default=None, help="timed rounds (default 3)")
    p.add_argument("--transformer-rows", type=int, default=None,
                   help="random sequences for the transformer block (default 1024)")
    p.add_argument("--only", default="lstm,gru,transformer",
                   help="comma-separated subset of lstm,gru,transformer")
    p.add_argument("--no-keras", action="store_true", help="run cornu alone")
    p.add_argument("--one-process", action="store_true",
                   help="run every model in this process (default: one child process per "
                        "model, so one model's run does not disturb the next one's)")
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--out", type=Path, default=DEFAULT_OUT)
    p.add_argument("--data", type=Path, default=None, help="folder that holds mnist/")
    args = p.parse_args(argv)
    args.rows = args.rows or (1280 if args.quick else 6400)
    args.rounds = args.rounds or (1 if args.quick else 3)
    args.only = [s.strip() for s in args.only.split(",") if s.strip()]
    return args


# -- the models, one definition for either library -----------------------------------------
def rnn_model(lib: Any, kind: str) -> Any:
    layer = lib.layers.LSTM(128) if kind == "lstm" else lib.layers.GRU(128)
    return lib.Sequential([lib.Input(shape=(28, 28)), layer,
                           lib.layers.Dense(10, activation="softmax")])


def transformer_model(lib: Any) -> Any:
    layers = lib.layers
    inputs = lib.Input(shape=(64, 64))
    attention = layers.MultiHeadAttention(num_heads=4, key_dim=16)(inputs, inputs)
    x = layers.LayerNormalization(epsilon=1e-6)(layers.Add()([inputs, attention]))
    ffn = layers.Dense(64)(layers.Dense(128, activation="relu")(x))
    x = layers.LayerNormalization(epsilon=1e-6)(layers.Add()([x, ffn]))
    x = layers.GlobalAveragePooling1D()(x)
    return lib.Model(inputs, layers.Dense(10, activation="softmax")(x))


def build(lib: Any, kind: str) -> Any:
    model = transformer_model(lib) if kind == "transformer" else rnn_model(lib, kind)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return model


def grad_program(lib_name: str, model: Any, x: np.ndarray):
    """jit(grad) of sum(model(x)**2) over the trainable weights, via the stateless call."""
    import jax
    import jax.numpy as jnp

    trainable = [jnp.array(v.value, copy=True) for v in model.trainable_variables]
    others = [jnp.array(v.value, copy=True) for v in model.non_trainable_variables]

    def loss(ws):
        out, _ = model.stateless_call(ws, others, x)
        return jnp.sum(out ** 2)

    program = jax.jit(jax.grad(loss))
    return lambda: jax.block_until_ready(program(trainable))


# -- timing ---------------------------------------------------------------------------------
def timed(fn) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the whole process: all its threads) of fn()."""
    start, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - start, time.process_time() - cpu


def summary(times: dict[str, list[tuple[float, float]]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, pairs in times.items():
        wall, cpu = [p[0] for p in pairs], [p[1] for p in pairs]
        out[name] = {"seconds": [round(t, 4) for t in wall],
                     "cpu_seconds": [round(t, 4) for t in cpu],
                     "median_s": round(statistics.median(wall), 4), "min_s": round(min(wall), 4),
                     "median_cpu_s": round(statistics.median(cpu), 4)}
    if "cornu" in times and "keras" in times:
        c, k = out["cornu"], out["keras"]
        out["ratio_median"] = round(k["median_s"] / c["median_s"], 3)
        out["ratio_min"] = round(k["min_s"] / c["min_s"], 3)
        out["ratio_cpu"] = round(k["median_cpu_s"] / c["median_cpu_s"], 3)
    return out


def run(kind: str, libs: dict[str, Any], data: tuple, args: argparse.Namespace) -> dict:
    import jax

    x, y = data
    batch = 128 if kind != "transformer" else 32
    models, fits, grads, first = {}, {}, {}, {}
    for name, lib in libs.items():
        with jax.numpy_rank_promotion("allow"):  # Keras' code broadcasts as NumPy does
            lib.utils.set_random_seed(0)
            models[name] = build(lib, kind)
            fits[name] = lambda m=models[name]: m.fit(x, y, batch_size=batch, epochs=1,
                                                      verbose=0, shuffle=False)
            first[name] = round(timed(fits[name])[0], 3)  # warm-up: compiles
            grads[name] = grad_program(name, models[name], x[:batch])
            grads[name]()
    fit_times = {name: [] for name in libs}
    grad_times = {name: [] for name in libs}
    for _ in range(args.rounds):
        for name in libs:
            with jax.numpy_rank_promotion("allow"):
                fit_times[name].append(timed(fits[name]))
        for name in libs:
            with jax.numpy_rank_promotion("allow"):
                grad_times[name].append(min(timed(grads[name]) for _ in range(5)))  # fastest
    return {"model": kind, "batch_size": batch, "samples": len(x),
            "steps_per_epoch": -(-len(x) // batch), "first_epoch_s": first,
            "fit_epoch": summary(fit_times), "forward_backward_one_batch": summary(grad_times)}


def load(kind: str, args: argparse.Namespace) -> tuple[np.ndarray, np.ndarray]:
    if kind == "transformer":
        rng = np.random.default_rng(0)
        n = args.transformer_rows or 32 * (8 if args.quick else 32)
        return rng.normal(size=(n, 64, 64)).astype(np.float32), rng.integers(0, 10, n)
    import cornu

    (x, y), _ = cornu.datasets.mnist.load_data()
    return x[:args.rows].astype(np.float32) / 255, y[:args.rows].astype(np.int32)


def markdown(report: dict[str, Any]) -> str:
    m = report["machine"]
    lines = [f"# rnn_speed on {m['slug']} ({m['cpu_model']})", "",
             f"{m['date']}; jax {m['jax']}, keras {m['keras']}, cornu {m['cornu']} "
             f"({m['cornu_git']}); load average at start {m['loadavg_at_start']}, at end "
             f"{report['loadavg_at_end']}.", "",
             "Ratio = Keras seconds / cornu seconds (> 1: cornu faster): wall time, median "
             "and fastest round, and the process's CPU time (all threads), which other work "
             "on the machine disturbs less.", "",
             "| model | batch | what | cornu median s | keras median s | ratio (median) | "
             "ratio (min) | ratio (CPU) |", "|---|---|---|---|---|---|---|---|"]
    for r in report["results"]:
        for what, key in (("fit epoch", "fit_epoch"),
                          ("fwd+bwd, one batch", "forward_backward_one_batch")):
            s = r[key]
            keras = s.get("keras", {}).get("median_s", "-")
            lines.append(f"| {r['model']} | {r['batch_size']} | {what} | "
                         f"{s['cornu']['median_s']} | {keras} | {s.get('ratio_median', '-')} | "
                         f"{s.get('ratio_min', '-')} | {s.get('ratio_cpu', '-')} |")
    lines += ["", "Goals (issue 20): LSTM/GRU fit >= 1.5, transformer >= 1.2.", ""]
    lines += [f"- {note}" for note in report["notes"]]
    return "\n".join(lines) + "\n"


CHILD_PREFIX = "rnn_speed result: "


def run_child(kind: str, argv: list[str]) -> dict[str, Any]:
    """One model's run in a child process (this script with --child --only kind): a
    library's earlier models leave nothing behind (caches, memory, threads) that slows
    the next (Keras' GRU after its LSTM took 2x in one run, session 13)."""
    import subprocess

    rest, skip = [], False
    for item in argv:  # the same arguments, --only replaced
        if skip:
            skip = False
        elif item == "--only":
            skip = True
        elif not item.startswith("--only="):
            rest.append(item)
    done = subprocess.run([sys.executable, str(Path(__file__).resolve()), *rest, "--child",
                           "--only", kind], stdout=subprocess.PIPE, text=True)
    lines = [line for line in done.stdout.splitlines() if line.startswith(CHILD_PREFIX)]
    if done.returncode != 0 or not lines:
        raise SystemExit(f"rnn_speed: the {kind} child failed (exit {done.returncode})")
    return json.loads(lines[-1][len(CHILD_PREFIX):])


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    locate_data(args.data)
    keras, note = import_keras(not args.no_keras)
    import cornu

    libs = {"cornu": cornu, **({"keras": keras} if keras is not None else {})}
    machine = machine_info(keras)
    report: dict[str, Any] = {"machine": machine, "args": {
        k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "notes": [note] if note else [], "results": []}
    for kind in args.only:
        print(f"{kind} ...", file=sys.stderr, flush=True)
        if args.one_process or args.child or len(args.only) == 1:
            result = run(kind, libs, load(kind, args), args)
        else:
            result = run_child(kind, argv if argv is not None else sys.argv[1:])
        if args.child:
            print(CHILD_PREFIX + json.dumps(result, default=float), flush=True)
            return 0
        report["results"].append(result)
        print(json.dumps({k: result[k] for k in ("fit_epoch", "forward_backward_one_batch")}),
              file=sys.stderr, flush=True)
    report["loadavg_at_end"] = _loadavg()
    text = markdown(report)
    args.out.mkdir(parents=True, exist_ok=True)
    stem = f"rnn_speed-{machine['slug']}-{dt.datetime.now():%Y%m%d-%H%M%S}" + (
        "-quick" if args.quick else "")
    (args.out / f"{stem}.json").write_text(json.dumps(report, indent=1, default=float) + "\n")
    (args.out / f"{stem}.md").write_text(text)
    print(text)
    print(f"wrote {args.out / stem}.json and .md", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
