"""Speed of cornu next to Keras 3 (JAX backend), in one process, on the same MNIST data.

    .venv/bin/python benchmarks/fit_speed.py            # full run (about 7 minutes, 2 CPUs)
    .venv/bin/python benchmarks/fit_speed.py --quick    # smoke test
    .venv/bin/python benchmarks/fit_speed.py --help

What is measured (see benchmarks/README.md for each column):
- fit: the lecture's net (784 -> Dense 500 sigmoid -> Dense 500 sigmoid -> Dense 10
  softmax; categorical_crossentropy, adam, accuracy) at several batch sizes, and Keras'
  mnist_convnet at batch 128. Every epoch is one `model.fit(..., epochs=1, verbose=0)`
  call timed with time.perf_counter; the first one includes compilation. Both libraries
  keep their compiled programs across fit calls. The libraries alternate epoch by epoch
  on the same configuration, so machine noise reaches both.
- evaluate / predict on the 10,000 test images, at batch 32 and 1000.
- latency of `model.predict(one_sample)` and of `model(one_sample)`.
- peak host memory of the whole process (both libraries together).

Only cornu's public API is used. Keras is optional: without it (or with --no-keras)
cornu runs alone and the report says so.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import os
import platform
import re
import resource
import statistics
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "benchmarks" / "results"
FULL_N = 60_000  # one reported epoch
SLICE_N = 6_000  # training samples for the smallest batch sizes (time reported x10)
SLICE_MAX_BATCH = 10  # batch sizes up to this train on the slice
DEFAULT_SIZES = (1, 10, 32, 100, 1000)
QUICK_SIZES = (100, 1000)
CONVNET_BATCH = 128
INFERENCE_BATCHES = (32, 1000)
CONVNET_LAYERS = ("Conv2D", "MaxPooling2D", "Flatten", "Dropout")
POLICIES = ("float32", "mixed_bfloat16")


# -- command line and environment ---------------------------------------------------------------
def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true",
                   help="smoke test: batch sizes 100 and 1000, 1 steady epoch, the convnet on "
                        f"a {SLICE_N:,}-sample slice, fewer inference repeats")
    p.add_argument("--sizes", type=_sizes, default=None,
                   help="comma-separated batch sizes for the lecture's net, e.g. 1,10,100 "
                        f"(default {','.join(map(str, DEFAULT_SIZES))})")
    p.add_argument("--epochs", type=int, default=None,
                   help="steady epochs timed after the first one (default 3, --quick 1)")
    p.add_argument("--no-keras", action="store_true", help="run cornu alone")
    p.add_argument("--no-convnet", action="store_true", help="skip mnist_convnet")
    p.add_argument("--no-inference", action="store_true",
                   help="skip the evaluate/predict throughput and latency measurements")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT,
                   help="folder for the .json and .md results (default benchmarks/results)")
    p.add_argument("--data", type=Path, default=None,
                   help="folder that holds mnist/ (sets CORNU_DATA; default: $CORNU_DATA, "
                        "else a shared/data folder next to the repository, else cornu's cache)")
    p.add_argument("--compile-cache", action="store_true",
                   help="keep cornu's persistent compilation cache (on by default in cornu; it "
                        "is JAX-wide, so Keras uses it too). Without this flag the benchmark "
                        "sets CORNU_COMPILATION_CACHE=0, so first epochs compile cold")
    p.add_argument("--seed", type=int, default=1337)
    p.add_argument("--policy", choices=POLICIES, default="float32",
                   help="dtype policy of both libraries' models (default float32); "
                        "mixed_bfloat16 computes the layers in bfloat16, with float32 weights")
    args = p.parse_args(argv)
    if args.epochs is None:
        args.epochs = 1 if args.quick else 3
    if args.epochs < 1:
        p.error(f"--epochs must be at least 1. Received: --epochs={args.epochs}")
    if args.sizes is None:
        args.sizes = QUICK_SIZES if args.quick else DEFAULT_SIZES
    args.inference_repeats = 2 if args.quick else 5
    args.latency_calls = 20 if args.quick else 50
    return args


def _sizes(text: str) -> tuple[int, ...]:
    try:
        sizes = tuple(int(s) for s in text.split(",") if s.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected e.g. 1,10,100. Received: {text!r}") from None
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError(f"batch sizes must be positive. Received: {text!r}")
    return sizes


def locate_data(data: Path | None) -> str | None:
    """Point CORNU_DATA at the MNIST folder: --data, else $CORNU_DATA, else shared/data."""
    if data is not None:
        if not (data / "mnist").is_dir():
            sys.exit(f"--data must be a folder that holds mnist/. Received: --data={data}")
        os.environ["CORNU_DATA"] = str(data.resolve())
    elif not os.environ.get("CORNU_DATA"):
        for candidate in (ROOT / "shared" / "data", ROOT.parent / "shared" / "data"):
            if (candidate / "mnist").is_dir():
                os.environ["CORNU_DATA"] = str(candidate)
                break
    return os.environ.get("CORNU_DATA")


def import_keras(wanted: bool) -> tuple[Any, str | None]:
    """(keras module or None, why not). KERAS_BACKEND must be set before the import."""
    if not wanted:
        return None, "Keras was not run (--no-keras)."
    previous = os.environ.get("KERAS_BACKEND")
    os.environ["KERAS_BACKEND"] = "jax"
    try:
        import keras
    except Exception as exc:  # ImportError, or a broken install
        return None, f"Keras was not available ({type(exc).__name__}: {exc}); cornu ran alone."
    if keras.backend.backend() != "jax":
        return None, (f"Keras was imported with backend {keras.backend.backend()!r}, not jax; "
                      "cornu ran alone.")
    note = None
    if previous not in (None, "jax"):
        note = f"KERAS_BACKEND was {previous!r}; this benchmark set it to 'jax'."
    return keras, note


# -- machine description ------------------------------------------------------------------------
def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith(("model name", "hardware", "cpu model")):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _git_revision() -> str | None:
    try:
        rev = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
                             capture_output=True, text=True, timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--", "cornu"],
                               capture_output=True, text=True, timeout=10).stdout.strip()
        return rev + ("+uncommitted changes in cornu/" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return None


def machine_info(keras: Any) -> dict[str, Any]:
    import jax
    import optax

    import cornu

    device = jax.devices()[0]
    affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    cores = affinity or os.cpu_count() or 0
    if device.platform == "cpu":
        slug = f"cpu-{cores}cores"
    else:
        slug = f"{device.platform}-" + re.sub(r"[^a-z0-9]+", "-", device.device_kind.lower())
    slug = slug.strip("-")
    return {
        "slug": slug,
        "date": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "cpu_model": _cpu_model(),
        "os_cpu_count": os.cpu_count(),
        "sched_getaffinity": affinity,
        "jax_platform": device.platform,
        "jax_device_kind": device.device_kind,
        "jax_device_count": jax.device_count(),
        "python": platform.python_version(),
        "os": platform.platform(),
        "jax": jax.__version__,
        "optax": optax.__version__,
        "numpy": np.__version__,
        "keras": keras.__version__ if keras is not None else None,
        "cornu": cornu.__version__,
        "cornu_git": _git_revision(),
        "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]),
        "loadavg_at_start": _loadavg(),
        "jax_compilation_cache_dir": jax.config.jax_compilation_cache_dir,
        "environment": {k: os.environ[k] for k in sorted(os.environ)
                        if k.startswith(("XLA_", "CORNU_", "JAX_", "KERAS_"))
                        or k in ("CUDA_VISIBLE_DEVICES", "OMP_NUM_THREADS")},
    }


def _loadavg() -> list[float] | None:
    """1, 5 and 15 minute load averages: other work on the machine shows here."""
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except OSError:
        return None


def peak_rss_mib() -> float:
    """Peak resident memory of this process so far (ru_maxrss: KiB on Linux, bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


# -- the two libraries behind one small interface ---------------------------------------------
class Library:
    """What the benchmark needs from cornu or Keras, through each one's public API."""

    def __init__(self, name: str, module: Any) -> None:
        self.name = name
        self.module = module

    def seed(self, seed: int) -> None:
        self.module.utils.set_random_seed(seed)

    def clear(self) -> None:
        self.module.utils.clear_session()

    def missing(self, model: str) -> list[str]:
        if model != "convnet":
            return []
        return [n for n in CONVNET_LAYERS if not hasattr(self.module.layers, n)]

    def set_policy(self, policy: str) -> None:
        self.module.mixed_precision.set_global_policy(policy)

    def build(self, model: str) -> Any:
        m, layers = self.module, self.module.layers
        if model == "mlp":
            stack = [m.Input(shape=(784,)),
                     layers.Dense(500, activation="sigmoid"),
                     layers.Dense(500, activation="sigmoid"),
                     layers.Dense(10, activation="softmax")]
        else:  # keras.io/examples/vision/mnist_convnet
            stack = [m.Input(shape=(28, 28, 1)),
                     layers.Conv2D(32, kernel_size=(3, 3), activation="relu"),
                     layers.MaxPooling2D(pool_size=(2, 2)),
                     layers.Conv2D(64, kernel_size=(3, 3), activation="relu"),
                     layers.MaxPooling2D(pool_size=(2, 2)),
                     layers.Flatten(),
                     layers.Dropout(0.5),
                     layers.Dense(10, activation="softmax")]
        net = m.Sequential(stack)
        net.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
        return net

    def fit_epoch(self, net: Any, x: np.ndarray, y: np.ndarray,
                  batch_size: int) -> tuple[float, float]:
        """(wall seconds, CPU seconds of the whole process) of one fit(epochs=1) call."""
        cpu, start = time.process_time(), time.perf_counter()
        history = net.fit(x, y, batch_size=batch_size, epochs=1, verbose=0)
        self._sync(net, history)
        return time.perf_counter() - start, time.process_time() - cpu

    def fit_epochs(self, net: Any, x: np.ndarray, y: np.ndarray, batch_size: int,
                   epochs: int) -> list[float]:
        """Seconds of each epoch inside one fit(epochs=...) call: from the call (first) or
        the previous epoch's end to this epoch's end, marked by a LambdaCallback."""
        marks = [time.perf_counter()]
        mark = self.module.callbacks.LambdaCallback(
            on_epoch_end=lambda epoch, logs: marks.append(time.perf_counter()))
        history = net.fit(x, y, batch_size=batch_size, epochs=epochs, verbose=0,
                          callbacks=[mark])
        self._sync(net, history)
        marks[-1] = time.perf_counter()  # the last epoch ends when its work is done
        return np.diff(marks).tolist()

    def _sync(self, net: Any, history: Any) -> None:
        # cornu's fit reads its logs back from the device, which waits for the whole epoch;
        # Keras may return with work queued, so wait for its weights.
        float(history.history["loss"][-1])
        if self.name == "keras":
            import jax

            jax.block_until_ready([v.value for v in net.weights])

    def call(self, net: Any, x: np.ndarray) -> None:
        out = net(x)
        if hasattr(out, "block_until_ready"):
            out.block_until_ready()
        else:
            np.asarray(out)


def timed(fn: Callable[[], Any]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def _error(exc: BaseException) -> str:
    traceback.print_exc(file=sys.stderr)
    return f"{type(exc).__name__}: {exc}"


# -- fit ----------------------------------------------------------------------------------------
def run_fit(config: dict[str, Any], libs: list[Library], data: dict[str, np.ndarray],
            args: argparse.Namespace) -> dict[str, Any]:
    model, batch, n = config["model"], config["batch_size"], config["train_samples"]
    kind = "img" if model == "convnet" else "flat"
    x, y = data[f"x_train_{kind}"][:n], data["y_train"][:n]
    scale = FULL_N / n
    result: dict[str, Any] = {**config, "scale_to_60000": scale, "libraries": {},
                              "loadavg_before": _loadavg()}
    nets: dict[str, Any] = {}
    for lib in libs:
        entry: dict[str, Any] = {"available": True}
        result["libraries"][lib.name] = entry
        missing = lib.missing(model)
        if missing:
            entry.update(available=False,
                         reason=f"not available: {lib.name}.layers lacks {', '.join(missing)}")
            continue
        try:
            lib.clear()
            lib.seed(args.seed)
            nets[lib.name] = lib.build(model)
            entry["epoch_seconds"], entry["epoch_cpu_seconds"] = [], []
        except Exception as exc:
            entry.update(available=False, reason=f"build failed: {_error(exc)}")
    def running():
        """(library, net, entry) of each library still in this configuration."""
        for lib in libs:
            net, entry = nets.get(lib.name), result["libraries"][lib.name]
            if net is not None and "error" not in entry:
                yield lib, net, entry

    for _ in range(1 + args.epochs):  # alternate the libraries epoch by epoch
        for lib, net, entry in running():
            try:
                wall, cpu = lib.fit_epoch(net, x, y, batch)
                entry["epoch_seconds"].append(wall)
                entry["epoch_cpu_seconds"].append(cpu)
            except Exception as exc:
                entry["error"] = f"fit failed: {_error(exc)}"
    for _lib, net, entry in running():
        first, steady = entry["epoch_seconds"][0], statistics.median(entry["epoch_seconds"][1:])
        # On a slice, scale the training part of the first epoch, not its compilation.
        entry["first_epoch_s"] = first + (scale - 1.0) * steady
        entry["first_epoch_overhead_s"] = first - steady
        entry["steady_epoch_s"] = steady * scale
        entry["samples_per_s"] = n / steady
        entry["steady_epoch_cpu_s"] = statistics.median(entry["epoch_cpu_seconds"][1:]) * scale
        try:
            t0 = time.perf_counter()
            scores = net.evaluate(data[f"x_test_{kind}"], data["y_test"], batch_size=1000,
                                  verbose=0)
            entry["evaluate_for_accuracy_s"] = time.perf_counter() - t0
            entry["test_loss"], entry["test_accuracy"] = float(scores[0]), float(scores[1])
        except Exception as exc:
            entry["error"] = f"evaluate failed: {_error(exc)}"
    # then one fit(epochs=1+E) call each, as users train: no per-call work (such as copying
    # the data to the device) inside its steady epochs; its first epoch is left out (the
    # test accuracy above is from before these epochs)
    for lib, net, entry in running():
        try:
            entry["in_fit_epoch_seconds"] = lib.fit_epochs(net, x, y, batch, 1 + args.epochs)
            entry["in_fit_steady_epoch_s"] = statistics.median(
                entry["in_fit_epoch_seconds"][1:]) * scale
        except Exception as exc:
            entry["error"] = f"fit failed: {_error(exc)}"
    _ratios(result)
    nets.clear()
    gc.collect()
    result["peak_rss_mib_after"] = peak_rss_mib()
    result["loadavg_after"] = _loadavg()
    return result


def _ratios(result: dict[str, Any]) -> None:
    c, k = result["libraries"].get("cornu", {}), result["libraries"].get("keras", {})
    for key, out in (("first_epoch_s", "speedup_first_epoch"),
                     ("steady_epoch_s", "speedup_steady_epoch"),
                     ("steady_epoch_cpu_s", "speedup_steady_cpu"),
                     ("in_fit_steady_epoch_s", "speedup_in_fit"),
                     ("median_s", "speedup")):
        if key in c and key in k:
            result[out] = k[key] / c[key]


# -- evaluate / predict / latency ---------------------------------------------------------------
Work = Callable[[Library, Any], Any]


def measure(libs: list[Library], nets: dict[str, Any], work: Work, warmup: int,
            repeats: int) -> dict[str, dict[str, Any]]:
    """Time `work(lib, net)`: the first call, `warmup - 1` more untimed, then `repeats`
    timed calls with the libraries alternating call by call."""
    out: dict[str, dict[str, Any]] = {}
    for lib in libs:
        out[lib.name] = {"first_s": timed(lambda lib=lib: work(lib, nets[lib.name])),
                         "seconds": []}
        for _ in range(warmup - 1):
            work(lib, nets[lib.name])
    for _ in range(repeats):
        for lib in libs:
            out[lib.name]["seconds"].append(timed(lambda lib=lib: work(lib, nets[lib.name])))
    for entry in out.values():
        s = entry["seconds"]
        entry.update(median_s=statistics.median(s), min_s=min(s),
                     p90_s=float(np.percentile(s, 90)))
    return out


def run_inference(libs: list[Library], data: dict[str, np.ndarray],
                  args: argparse.Namespace) -> dict[str, Any]:
    x, y = data["x_test_flat"], data["y_test"]
    n = x.shape[0]
    nets = {}
    for lib in libs:  # the lecture's net, compiled, untrained: speed does not depend on weights
        lib.clear()
        lib.seed(args.seed)
        nets[lib.name] = lib.build("mlp")
    out: dict[str, Any] = {"samples": n, "throughput": [], "latency": []}
    for batch in INFERENCE_BATCHES:
        for op, work in (
            ("evaluate", lambda lib, net, b=batch: net.evaluate(x, y, batch_size=b, verbose=0)),
            ("predict", lambda lib, net, b=batch: net.predict(x, batch_size=b, verbose=0)),
        ):
            row = {"operation": op, "batch_size": batch,
                   "libraries": measure(libs, nets, work, 1, args.inference_repeats)}
            for entry in row["libraries"].values():
                entry["samples_per_s"] = n / entry["median_s"]
            _ratios(row)
            out["throughput"].append(row)
    one = x[:1]
    for label, work in (("predict(x[:1])", lambda lib, net: net.predict(one, verbose=0)),
                        ("model(x[:1])", lambda lib, net: lib.call(net, one))):
        row = {"operation": label,
               "libraries": measure(libs, nets, work, 5, args.latency_calls)}
        _ratios(row)
        out["latency"].append(row)
    nets.clear()
    gc.collect()
    out["peak_rss_mib_after"] = peak_rss_mib()
    return out


# -- report -------------------------------------------------------------------------------------
def _s(value: float | None) -> str:
    if value is None:
        return "—"
    if value >= 100:
        return f"{value:,.0f}"
    return f"{value:.3g}" if value >= 0.01 else f"{value:.2g}"


def _overhead(value: float | None) -> str:
    return "<0 (noise)" if value is not None and value < 0 else _s(value)


def _load(values: list[float] | None) -> str:
    return "unknown" if values is None else " / ".join(f"{v:.2f}" for v in values)


def _rate(value: float | None) -> str:
    return "—" if value is None else f"{value:,.0f}"


def _x(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}x"


def _cell(entry: dict[str, Any] | None, key: str, fmt: Callable[[Any], str]) -> str:
    if entry is None:
        return "n/a"
    if not entry.get("available", True):
        return "not available"
    if "error" in entry:
        return "failed"
    return fmt(entry.get(key))


def markdown(report: dict[str, Any]) -> str:
    m, a = report["machine"], report["args"]
    names = report["libraries"]
    lines = [
        f"# fit_speed: cornu vs Keras 3 (JAX) — {m['slug']}, {m['date'][:10]}",
        "",
        "| machine | |",
        "| --- | --- |",
        f"| CPU | {m['cpu_model']} |",
        f"| cores | os.cpu_count()={m['os_cpu_count']}, "
        f"sched_getaffinity={m['sched_getaffinity']} |",
        f"| JAX device | {m['jax_device_kind']} (platform {m['jax_platform']}, "
        f"{m['jax_device_count']} device(s)) |",
        f"| versions | jax {m['jax']}, keras {m['keras'] or 'not available'}, "
        f"cornu {m['cornu']} ({m['cornu_git'] or 'git revision unknown'}), optax {m['optax']}, "
        f"numpy {m['numpy']}, Python {m['python']} |",
        f"| JAX compilation cache | {m['jax_compilation_cache_dir'] or 'off'} (both "
        "libraries; off: first epochs compile cold) |",
        f"| date | {m['date']} |",
        f"| load average (1/5/15 min) | at start {_load(m['loadavg_at_start'])}, at end "
        f"{_load(report.get('loadavg_at_end'))} (a load above the core count means other work "
        "shared the CPUs) |",
        f"| command | `{m['command']}` |",
        "| settings | " + (", ".join(f"{k}={v}" for k, v in m.get("environment", {}).items()
                                    if k not in ("CORNU_DATA", "KERAS_BACKEND")) or "none")
        + " |",
        f"| dtype policy | {a.get('policy', 'float32')} (both libraries) |",
        "",
    ]
    if report["notes"]:
        lines += [f"> {note}" for note in report["notes"]] + [""]
    lines += [
        f"## fit: seconds per epoch of {FULL_N:,} samples",
        "",
        f"Steady = median of the {a['epochs']} epoch(s) after the first. First epoch includes "
        "compilation; compile s = first epoch minus steady epoch (compilation and other "
        "first-call work). Speed-up = Keras time / cornu time (>1: cornu faster). Test "
        "accuracy on the 10,000 test images after all epochs. Speed-up CPU time: the same "
        "ratio for the process CPU seconds of the steady epochs, which other work on the "
        "machine disturbs less than wall time. In-fit steady: median of the same number of "
        "epochs timed inside one more fit(epochs=1+N) call (its first epoch left out), "
        "without the work each fit call does before its epoch. * trained on a "
        f"{SLICE_N:,}-sample slice: epoch times x{FULL_N // SLICE_N}, compile s not scaled.",
        "",
    ]
    header = ["model", "batch"]
    for key in ("first epoch s", "compile s", "steady epoch s", "in-fit steady s", "samples/s",
                "test acc"):
        header += [f"{lib} {key}" for lib in names]
    if "keras" in names and "cornu" in names:
        header += ["speed-up steady", "speed-up in-fit", "speed-up first", "speed-up CPU time"]
    lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for r in report["fit"]:
        label = "lecture MLP" if r["model"] == "mlp" else "mnist_convnet"
        star = "*" if r["train_samples"] < FULL_N else ""
        cells = [label, f"{r['batch_size']}{star}"]
        libs = r["libraries"]
        for key, fmt in (("first_epoch_s", _s), ("first_epoch_overhead_s", _overhead),
                         ("steady_epoch_s", _s), ("in_fit_steady_epoch_s", _s),
                         ("samples_per_s", _rate),
                         ("test_accuracy", lambda v: "—" if v is None else f"{v:.4f}")):
            cells += [_cell(libs.get(lib), key, fmt) for lib in names]
        if "keras" in names and "cornu" in names:
            cells += [_x(r.get("speedup_steady_epoch")), _x(r.get("speedup_in_fit")),
                      _x(r.get("speedup_first_epoch")), _x(r.get("speedup_steady_cpu"))]
        lines.append("| " + " | ".join(cells) + " |")
    problems = [(r, lib, e) for r in report["fit"] for lib, e in r["libraries"].items()
                if "error" in e or not e.get("available", True)]
    if problems:
        lines.append("")
        for r, lib, e in problems:
            lines.append(f"- {r['model']} batch {r['batch_size']}, {lib}: "
                         f"{e.get('error') or e.get('reason')}")
    inf = report.get("inference")
    if inf:
        lines += [
            "",
            f"## evaluate / predict: {inf['samples']:,} test samples",
            "",
            f"First call includes compilation; median of {a['inference_repeats']} calls after it.",
            "",
        ]
        header = ["call", "batch"]
        for key in ("first s", "median s", "samples/s"):
            header += [f"{lib} {key}" for lib in names]
        if len(names) == 2:
            header.append("speed-up")
        lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        for r in inf["throughput"]:
            cells = [r["operation"], str(r["batch_size"])]
            for key, fmt in (("first_s", _s), ("median_s", _s), ("samples_per_s", _rate)):
                cells += [fmt(r["libraries"][lib].get(key)) for lib in names]
            if len(names) == 2:
                cells.append(_x(r.get("speedup")))
            lines.append("| " + " | ".join(cells) + " |")
        lines += [
            "",
            f"## latency of one sample: milliseconds, median of {a['latency_calls']} calls "
            "after 5 warm-up calls (min / p90 in the JSON)",
            "",
        ]
        header = ["call", *(f"{lib} ms" for lib in names)] + (["speed-up"] if len(names) == 2
                                                               else [])
        lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        for r in inf["latency"]:
            cells = [f"`{r['operation']}`",
                     *(f"{r['libraries'][lib]['median_s'] * 1e3:.3g}" for lib in names)]
            if len(names) == 2:
                cells.append(_x(r.get("speedup")))
            lines.append("| " + " | ".join(cells) + " |")
    lines += [
        "",
        f"Peak host memory (ru_maxrss, whole process: {' and '.join(names)} and the data "
        f"together): {report['peak_rss_mib']:,.0f} MiB. Total run time "
        f"{report['total_seconds']:,.0f} s.",
        "",
    ]
    return "\n".join(lines)


# -- main ---------------------------------------------------------------------------------------
def load_mnist() -> dict[str, np.ndarray]:
    import cornu

    (x_train, y_train), (x_test, y_test) = cornu.datasets.mnist.load_data()
    x_train = x_train.astype(np.float32) / 255.0
    x_test = x_test.astype(np.float32) / 255.0
    return {
        "x_train_flat": x_train.reshape(-1, 784), "x_test_flat": x_test.reshape(-1, 784),
        "x_train_img": x_train.reshape(-1, 28, 28, 1), "x_test_img": x_test.reshape(-1, 28, 28, 1),
        "y_train": cornu.utils.to_categorical(y_train, 10).astype(np.float32),
        "y_test": cornu.utils.to_categorical(y_test, 10).astype(np.float32),
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    data_dir = locate_data(args.data)
    if not args.compile_cache:  # cold compilation for both libraries (cornu reads it at import)
        os.environ["CORNU_COMPILATION_CACHE"] = "0"
    keras, keras_note = import_keras(not args.no_keras)  # before jax is used anywhere
    try:
        import cornu
    except ImportError:  # a bare checkout (e.g. on a GPU machine): use the repository's cornu
        sys.path.insert(0, str(ROOT))
        import cornu

    libs = [Library("cornu", cornu)] + ([Library("keras", keras)] if keras is not None else [])
    for lib in libs:
        lib.set_policy(args.policy)
    notes = [keras_note] if keras_note else []
    machine = machine_info(keras)
    print(f"fit_speed on {machine['slug']}: {machine['jax_device_kind']}, "
          f"libraries {', '.join(lib.name for lib in libs)}; MNIST from "
          f"{data_dir or 'the cornu cache'}", file=sys.stderr, flush=True)
    data = load_mnist()

    configs = [{"model": "mlp", "batch_size": b,
                "train_samples": SLICE_N if b <= SLICE_MAX_BATCH else FULL_N} for b in args.sizes]
    if not args.no_convnet:
        configs.append({"model": "convnet", "batch_size": CONVNET_BATCH,
                        "train_samples": SLICE_N if args.quick else FULL_N})
        if not hasattr(cornu.layers, "Conv2D"):
            notes.append("cornu has no Conv2D layer yet: mnist_convnet "
                         + ("ran with Keras only." if keras is not None else "was not run."))
    report: dict[str, Any] = {"machine": machine, "libraries": [lib.name for lib in libs],
                              "notes": notes, "args": {}, "fit": []}
    report["args"] = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()}
    for config in configs:
        t0 = time.perf_counter()
        print(f"fit {config['model']} batch {config['batch_size']} "
              f"({config['train_samples']:,} samples) ...", file=sys.stderr, end=" ", flush=True)
        result = run_fit(config, libs, data, args)
        report["fit"].append(result)
        summary = ", ".join(f"{name} " + (f"{e['steady_epoch_s']:.2f}s/epoch"
                                          if "steady_epoch_s" in e else
                                          e.get("error") or e.get("reason", "?"))
                            for name, e in result["libraries"].items())
        print(f"{summary} [{time.perf_counter() - t0:.0f}s]", file=sys.stderr, flush=True)
    if not args.no_inference:
        print("evaluate / predict / latency ...", file=sys.stderr, flush=True)
        report["inference"] = run_inference(libs, data, args)
    report["peak_rss_mib"] = peak_rss_mib()
    report["loadavg_at_end"] = _loadavg()
    report["total_seconds"] = time.perf_counter() - started

    text = markdown(report)
    args.out.mkdir(parents=True, exist_ok=True)
    stem = (f"fit_speed-{machine['slug']}-{dt.date.today():%Y%m%d}"
            + ("" if args.policy == "float32" else f"-{args.policy}")
            + ("-quick" if args.quick else ""))
    if (args.out / f"{stem}.json").exists():  # keep an earlier run of the same day
        stem += f"-{dt.datetime.now():%H%M%S}"
    (args.out / f"{stem}.json").write_text(json.dumps(report, indent=1, default=float) + "\n")
    (args.out / f"{stem}.md").write_text(text)
    print(text)
    print(f"wrote {args.out / stem}.json and .md", file=sys.stderr)
    failed = any("error" in e for r in report["fit"] for e in r["libraries"].values())
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
