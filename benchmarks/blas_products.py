"""Every matrix product of the lecture net's and the convnet's training step: XLA:CPU's
own product against a BLAS, both inside a compiled loop, in GFLOP/s.

    .venv/bin/python benchmarks/blas_products.py                 # batches 1, 10, 100, 1000
    .venv/bin/python benchmarks/blas_products.py --batches 100 --rounds 9 --no-convnet

For each product shape of one training step (the forward products, the input gradients
the backward pass needs and the weight gradients), one process measures in rounds
(alternating order, best of 3 calls a round, median over rounds):

- xla: the product in a `lax.scan` of many steps under cornu's compiler options, the
  operands program arguments and the whole result carried out of every step (what
  cornu's training program runs);
- xla-ynn: the same with XLA's YNNPACK library for the product (an XLA option);
- ffi-blas: the same loop, the product a `jax.ffi` custom call into numpy's bundled
  OpenBLAS (sgemm, 64-bit integers) through benchmarks/native/blas_gemm.cc, compiled
  here with the system's C++ compiler against the headers jaxlib ships: the route that
  would put a BLAS inside cornu's compiled programs;
- ffi-blas-1t: the same with OpenBLAS on one thread;
- numpy: `np.matmul(..., out=)` in a Python loop (dispatch included): the BLAS a process
  reaches without XLA.

The convnet's convolutions are the products of their im2col form, which is how cornu
runs them on the CPU (cornu/layers/_conv_ops.py): rows = batch x output positions, the
patches' gathering (the same on either route) not counted.

Two whole-step programs close the table: the lecture net's eight products and a plain
SGD update in one `lax.scan` over an epoch, once with XLA's products and once with every
product through the BLAS (the "products + SGD" row of roofline.py), so the effect on a
step is measured, not added up. The machine's peak is a 2048x2048 product through each.
Results go to benchmarks/results/blas_products-<machine>-<date>.json and .md.
"""

from __future__ import annotations

import argparse
import ctypes
import datetime as dt
import glob
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fit_speed import DEFAULT_OUT, _loadavg, machine_info  # noqa: E402

NATIVE = Path(__file__).resolve().parent / "native" / "blas_gemm.cc"
LECTURE = (784, 500, 500, 10)
FLOP_PER_SCAN = 1e9  # each loop runs about this much work (a few ms to 0.2 s a call)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--batches", default="1,10,100,1000",
                   help="lecture-net batch sizes, comma-separated (default 1,10,100,1000)")
    p.add_argument("--step-batches", default="10,100",
                   help="batch sizes of the whole-step programs (default 10,100; an epoch "
                        "at batch 1 is 60,000 steps)")
    p.add_argument("--convnet-batch", type=int, default=128,
                   help="the convnet's batch size (default 128, as keras.io's example)")
    p.add_argument("--no-convnet", action="store_true", help="skip the convnet's products")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--out", type=Path, default=DEFAULT_OUT)
    return p.parse_args(argv)


# ----------------------------------------------------------------------------- the BLAS
def openblas() -> tuple[ctypes.CDLL | None, str]:
    """numpy's bundled OpenBLAS (ILP64 CBLAS symbols), or None and why not."""
    import numpy

    found = sorted(glob.glob(os.path.join(os.path.dirname(numpy.__file__), os.pardir,
                                          "numpy.libs", "libscipy_openblas64_*.so")))
    if not found:
        return None, "numpy has no bundled libscipy_openblas64_ (not a manylinux wheel?)"
    lib = ctypes.CDLL(found[0])
    if not hasattr(lib, "scipy_cblas_sgemm64_"):
        return None, f"{found[0]} has no scipy_cblas_sgemm64_"
    return lib, found[0]


def build_kernel(workdir: Path) -> tuple[ctypes.CDLL | None, str]:
    """Compile blas_gemm.cc into `workdir`; (library, note) or (None, why not)."""
    import jax

    compiler = shutil.which("c++") or shutil.which("g++")
    if compiler is None:
        return None, "no C++ compiler on PATH"
    target = workdir / "libcornu_blas_gemm.so"
    cmd = [compiler, "-O2", "-std=c++17", "-shared", "-fPIC", "-w",
           f"-I{jax.ffi.include_dir()}", str(NATIVE), "-o", str(target)]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        return None, f"compiling {NATIVE.name} failed: {done.stderr[-400:]}"
    return ctypes.CDLL(str(target)), " ".join(cmd)


class Blas:
    """The FFI route: registers the kernel with XLA and points it at OpenBLAS's sgemm."""

    def __init__(self, kernel: ctypes.CDLL, blas: ctypes.CDLL) -> None:
        import jax

        kernel.cornu_set_sgemm(ctypes.cast(blas.scipy_cblas_sgemm64_, ctypes.c_void_p))
        jax.ffi.register_ffi_target("cornu_blas_gemm", jax.ffi.pycapsule(kernel.cornu_gemm),
                                    platform="cpu")
        self.set_threads = blas.scipy_openblas_set_num_threads64_
        self.set_threads.argtypes = [ctypes.c_int]
        self.threads = os.cpu_count() or 1

    def threads_used(self, n: int) -> None:
        self.set_threads(n)

    @staticmethod
    def gemm(a: Any, b: Any, trans_a: bool = False, trans_b: bool = False) -> Any:
        import jax
        import jax.numpy as jnp

        m = a.shape[1] if trans_a else a.shape[0]
        n = b.shape[0] if trans_b else b.shape[1]
        call = jax.ffi.ffi_call("cornu_blas_gemm", jax.ShapeDtypeStruct((m, n), jnp.float32))
        return call(a, b, trans_a=bool(trans_a), trans_b=bool(trans_b))


def xla_gemm(a: Any, b: Any, trans_a: bool = False, trans_b: bool = False) -> Any:
    return (a.T if trans_a else a) @ (b.T if trans_b else b)


# ----------------------------------------------------------------------------- shapes
def lecture_products(batch: int) -> list[tuple[str, tuple, tuple, bool, bool]]:
    """(name, left shape, right shape, transpose left, transpose right) of a step."""
    out = []
    for i, (n_in, n_out) in enumerate(zip(LECTURE[:-1], LECTURE[1:], strict=True)):
        out.append((f"{batch}x{n_in} by {n_in}x{n_out}", (batch, n_in), (n_in, n_out),
                    False, False))
        if i > 0:  # the first layer's input gradient is not needed
            out.append((f"{batch}x{n_out} by ({n_in}x{n_out})^T", (batch, n_out),
                        (n_in, n_out), False, True))
        out.append((f"({batch}x{n_in})^T by {batch}x{n_out}", (batch, n_in),
                    (batch, n_out), True, False))
    return out


def convnet_products(batch: int) -> list[tuple[str, tuple, tuple, bool, bool]]:
    """The convnet's products: its convolutions in the im2col form cornu runs on the CPU
    (rows = batch x output positions; patches of 3x3 x channels), and its Dense layer."""
    p1, p2 = batch * 26 * 26, batch * 11 * 11  # output positions of the two convolutions
    return [
        (f"conv1 {p1}x9 by 9x32", (p1, 9), (9, 32), False, False),
        (f"conv1 ({p1}x9)^T by {p1}x32", (p1, 9), (p1, 32), True, False),
        (f"conv2 {p2}x288 by 288x64", (p2, 288), (288, 64), False, False),
        (f"conv2 {p2}x64 by (288x64)^T", (p2, 64), (288, 64), False, True),
        (f"conv2 ({p2}x288)^T by {p2}x64", (p2, 288), (p2, 64), True, False),
        (f"{batch}x1600 by 1600x10", (batch, 1600), (1600, 10), False, False),
        (f"{batch}x10 by (1600x10)^T", (batch, 10), (1600, 10), False, True),
        (f"({batch}x1600)^T by {batch}x10", (batch, 1600), (batch, 10), True, False),
    ]


# ----------------------------------------------------------------------------- programs
def loop_program(fn: Any, left: Any, right: Any, steps: int, options: dict) -> Any:
    """jit of a scan running fn(left, right) `steps` times, the whole result carried out."""
    import jax
    import jax.numpy as jnp

    def step(carry, _):
        u, v, _ = carry
        out = fn(u, v)
        return (u + jnp.float32(1e-12) * out.reshape(-1)[0], v, out), None

    def run(u, v):
        first = jnp.zeros(jax.eval_shape(fn, u, v).shape, jnp.float32)
        return jax.lax.scan(step, (u, v, first), None, length=steps)[0]

    program = jax.jit(run, compiler_options=options)
    jax.block_until_ready(program(left, right))
    return lambda: jax.block_until_ready(program(left, right))


def numpy_loop(left: np.ndarray, right: np.ndarray, ta: bool, tb: bool, steps: int) -> Any:
    lhs = left.T if ta else left
    rhs = right.T if tb else right
    out = np.empty((lhs.shape[0], rhs.shape[1]), np.float32)

    def run():
        for _ in range(steps):
            np.matmul(lhs, rhs, out=out)
    return run


def step_program(gemm: Any, batch: int, steps: int, options: dict) -> Any:
    """The lecture net's eight products and an SGD update, scanned over `steps` steps."""
    import jax
    import jax.numpy as jnp

    rng = np.random.default_rng(1)
    weights = [jnp.asarray(rng.standard_normal((a, b), np.float32) / math.sqrt(a))
               for a, b in zip(LECTURE[:-1], LECTURE[1:], strict=True)]
    x0 = jnp.asarray(rng.random((batch, 784), np.float32))

    def step(carry, _):
        xb, w1, w2, w3 = carry
        h1 = gemm(xb, w1)
        h2 = gemm(h1, w2)
        out = gemm(h2, w3)
        d2 = gemm(out, w3, False, True)
        d1 = gemm(d2, w2, False, True)
        g3, g2, g1 = gemm(h2, out, True), gemm(h1, d2, True), gemm(xb, d1, True)
        lr = jnp.float32(1e-6)
        return (xb + lr * d1[:1, :1], w1 - lr * g1, w2 - lr * g2, w3 - lr * g3), None

    program = jax.jit(lambda c: jax.lax.scan(step, c, None, length=steps)[0],
                      compiler_options=options)
    start = (x0, *weights)
    jax.block_until_ready(program(start))
    return lambda: jax.block_until_ready(program(start))


def check_equal(left: np.ndarray, right: np.ndarray, ta: bool, tb: bool) -> None:
    """The BLAS route's product equals XLA's within float32 rounding (relative 1e-5 of
    the result's largest value), else the benchmark stops: a fast wrong product is no
    route."""
    import jax

    ours = np.asarray(jax.jit(lambda u, v: Blas.gemm(u, v, ta, tb))(left, right))
    theirs = np.asarray(jax.jit(lambda u, v: xla_gemm(u, v, ta, tb))(left, right))
    scale = float(np.max(np.abs(theirs))) or 1.0
    error = float(np.max(np.abs(ours - theirs))) / scale
    if not error <= 1e-5:
        raise SystemExit(f"the BLAS route's {ours.shape} product differs from XLA's by "
                         f"{error:.2e} of its largest value")


def ynn_options(options: dict) -> dict | None:
    """cornu's options with XLA's other CPU product library (YNNPACK) for every dot, where
    this XLA has the option (the oneDNN and XNNPACK options of jaxlib 0.10 change nothing
    in the compiled program on this build); None where it has not."""
    if "xla_cpu_experimental_ynn_fusion_type" not in options:
        return None
    return {**options, "xla_cpu_experimental_ynn_fusion_type":
            "LIBRARY_FUSION_TYPE_INDIVIDUAL_DOT"}


def best_of(run: Any, calls: int = 3) -> float:
    best = math.inf
    for _ in range(calls):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return best


# ----------------------------------------------------------------------------- main
def collect(args: argparse.Namespace, blas: Blas | None) -> list[dict[str, Any]]:
    import jax.numpy as jnp

    from cornu.training import loop

    rows: list[dict[str, Any]] = []
    rng = np.random.default_rng(0)
    plan: list[tuple[str, int, str, tuple, tuple, bool, bool]] = []
    for batch in [int(b) for b in args.batches.split(",") if b]:
        plan += [("lecture", batch, *case) for case in lecture_products(batch)]
    if not args.no_convnet:
        plan += [("convnet", args.convnet_batch, *case)
                 for case in convnet_products(args.convnet_batch)]
    for net, batch, name, sa, sb, ta, tb in plan:
        options = loop.compiler_options(batch) or {}
        m, k = (sa[1], sa[0]) if ta else sa
        n = sb[0] if tb else sb[1]
        flop = 2.0 * m * k * n
        steps = max(20, min(2000, int(FLOP_PER_SCAN / flop)))
        left, right = rng.random(sa, np.float32), rng.random(sb, np.float32)
        runs: dict[str, Any] = {}
        for key, opts in (("xla", options), ("xla-ynn", ynn_options(options))):
            if opts is not None:
                runs[key] = loop_program(lambda u, v, ta=ta, tb=tb: xla_gemm(u, v, ta, tb),
                                         jnp.asarray(left), jnp.asarray(right), steps, opts)
        if blas is not None:
            check_equal(left, right, ta, tb)
            runs["ffi-blas"] = loop_program(lambda u, v, ta=ta, tb=tb: Blas.gemm(u, v, ta, tb),
                                            jnp.asarray(left), jnp.asarray(right), steps,
                                            options)
        runs["numpy"] = numpy_loop(left, right, ta, tb, steps)
        times: dict[str, list[float]] = {key: [] for key in runs}
        if blas is not None:
            times["ffi-blas-1t"] = []
        for r in range(args.rounds):
            keys = list(times) if r % 2 == 0 else list(times)[::-1]
            for key in keys:
                if key == "ffi-blas-1t":
                    blas.threads_used(1)
                    times[key].append(best_of(runs["ffi-blas"]))
                    blas.threads_used(blas.threads)
                else:
                    times[key].append(best_of(runs[key]))
        row = {"net": net, "batch": batch, "product": name, "m": m, "k": k, "n": n,
               "steps": steps,
               "gflops": {key: flop * steps / statistics.median(t) / 1e9
                          for key, t in times.items()},
               "seconds": times}
        rows.append(row)
        print(f"{net} {name:30s} " + "  ".join(f"{key} {v:6.1f}" for key, v in
                                              row["gflops"].items()), file=sys.stderr,
              flush=True)
    return rows


def whole_steps(args: argparse.Namespace, blas: Blas | None) -> list[dict[str, Any]]:
    from cornu.training import loop

    out = []
    for batch in [int(b) for b in args.step_batches.split(",") if b]:
        steps = math.ceil(60000 / batch)
        options = loop.compiler_options(batch) or {}
        runs = {"xla": step_program(xla_gemm, batch, steps, options)}
        if blas is not None:
            runs["ffi-blas"] = step_program(blas.gemm, batch, steps, options)
        if blas is not None:
            runs["ffi-blas-1t"] = runs["ffi-blas"]
        times: dict[str, list[float]] = {key: [] for key in runs}
        for r in range(args.rounds):
            for key in (list(runs) if r % 2 == 0 else list(runs)[::-1]):
                if key == "ffi-blas-1t":
                    blas.threads_used(1)
                times[key].append(best_of(runs[key], 1))
                if key == "ffi-blas-1t":
                    blas.threads_used(blas.threads)
        out.append({"batch": batch, "steps": steps,
                    "median_s": {key: statistics.median(t) for key, t in times.items()},
                    "seconds": times})
        print(f"products + SGD, batch {batch}: " + ", ".join(
            f"{key} {statistics.median(t):.3f} s" for key, t in times.items()),
            file=sys.stderr, flush=True)
    return out


def peaks(blas: Blas | None, rounds: int) -> dict[str, float]:
    import jax
    import jax.numpy as jnp

    from cornu.training import loop

    n = 2048
    a = np.random.default_rng(3).random((n, n), np.float32)
    square = jax.jit(lambda m: m @ m, compiler_options=loop.compiler_options(None) or {})
    ad = jnp.asarray(a)
    jax.block_until_ready(square(ad))
    runs = {"xla": lambda: jax.block_until_ready(square(ad)),
            "numpy": lambda: np.matmul(a, a)}
    if blas is not None:
        through = jax.jit(lambda m: blas.gemm(m, m))
        jax.block_until_ready(through(ad))
        runs["ffi-blas"] = lambda: jax.block_until_ready(through(ad))
    return {key: 2.0 * n ** 3 / statistics.median(best_of(run) for _ in range(rounds)) / 1e9
            for key, run in runs.items()}


def markdown(report: dict[str, Any]) -> str:
    m = report["machine"]
    peak = report["peak_gflops"]
    lines = [
        f"# Matrix products: XLA:CPU against a BLAS inside the compiled loop "
        f"({m['slug']}, {m['date']})", "",
        f"{m['cpu_model']}, {os.cpu_count()} cores; jax {m['jax']}; cornu {m['cornu']} "
        f"({m['cornu_git']}); BLAS: {report['blas']}; {report['rounds']} rounds; load "
        f"average {m['loadavg_at_start']} -> {report['loadavg_at_end']}.", "",
        "Peak, a 2048x2048 product: " + ", ".join(f"{k} {v:.0f} GFLOP/s"
                                                  for k, v in peak.items()) + ".", "",
        "GFLOP/s, median of the rounds (each round the best of 3 loops); the best column "
        "of each row in bold. m x k by k x n; ^T: the operand is read transposed. Last "
        "column: the best BLAS column's rate over xla's (above 1: the BLAS is faster).", "",
        "| net | batch | product | xla | xla-ynn | ffi-blas | ffi-blas-1t | numpy "
        "| best BLAS / xla |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for row in report["rows"]:
        g = row["gflops"]
        top = max(g.values())
        cells = [(f"**{g[k]:.1f}**" if k in g and g[k] == top else
                  (f"{g[k]:.1f}" if k in g else "-"))
                 for k in ("xla", "xla-ynn", "ffi-blas", "ffi-blas-1t", "numpy")]
        blas_best = max(v for k, v in g.items() if not k.startswith("xla"))
        lines.append(f"| {row['net']} | {row['batch']} | {row['product']} | "
                     + " | ".join(cells) + f" | {blas_best / g['xla']:.2f} |")
    if report["steps"]:
        lines += ["", "The lecture net's eight products and an SGD update over an epoch "
                  "(seconds, median):", "",
                  "| batch | steps | xla | ffi-blas | ffi-blas-1t | speed of the best BLAS / xla |",
                  "| --- | --- | --- | --- | --- | --- |"]
        for s in report["steps"]:
            t = s["median_s"]
            blas_best = min((v for k, v in t.items() if k != "xla"), default=None)
            ratio = f"{t['xla'] / blas_best:.2f}" if blas_best else "-"
            cells = " | ".join(f"{t[k]:.3f}" if k in t else "-"
                               for k in ("xla", "ffi-blas", "ffi-blas-1t"))
            lines.append(f"| {s['batch']} | {s['steps']} | {cells} | {ratio} |")
    lines += ["", *report["notes"], ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    os.environ.setdefault("CORNU_COMPILATION_CACHE", "0")
    try:
        import cornu  # noqa: F401
    except ImportError:
        sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    import jax

    if jax.default_backend() != "cpu":
        print("blas_products.py compares CPU routes; this jax runs on "
              f"{jax.default_backend()}", file=sys.stderr)
        return 2
    machine = machine_info(None)
    notes: list[str] = []
    library, where = openblas()
    blas = None
    with tempfile.TemporaryDirectory() as tmp:
        kernel, how = build_kernel(Path(tmp)) if library is not None else (None, where)
        if kernel is None or library is None:
            notes.append(f"No ffi-blas column: {how}")
        else:
            blas = Blas(kernel, library)
            notes.append(f"Kernel built with: {how}")
        peak = peaks(blas, args.rounds)
        rows = collect(args, blas)
        steps = whole_steps(args, blas)
    report = {"machine": machine, "rounds": args.rounds, "blas": where,
              "peak_gflops": peak, "rows": rows, "steps": steps, "notes": notes,
              "loadavg_at_end": _loadavg()}
    text = markdown(report)
    args.out.mkdir(parents=True, exist_ok=True)
    stem = f"blas_products-{machine['slug']}-{dt.datetime.now():%Y%m%d-%H%M%S}"
    (args.out / f"{stem}.json").write_text(json.dumps(report, indent=1) + "\n")
    (args.out / f"{stem}.md").write_text(text)
    print(text)
    print(f"wrote {args.out / stem}.json and .md", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
