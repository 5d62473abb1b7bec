"""Where an epoch of the lecture's net goes, against the machine's matrix-product speed.

    .venv/bin/python benchmarks/roofline.py                 # batch 100, 5 rounds
    .venv/bin/python benchmarks/roofline.py --batch 1000 --no-keras

One process measures, in rounds (alternating order, so a change of the machine's speed
reaches every item alike), in seconds per epoch of 60,000 samples:

- peak: an NxN float32 product under jax.jit (N = 2048 on a CPU, 8192 on a GPU, where a
  smaller one is mostly launch time), best of 5 per round; the epoch's floating-point
  work divided by this rate is what an epoch would take if every operation ran at that
  speed;
- products + SGD: the eight matrix products of a training step (forward, the weight
  gradients and the two input gradients the backward pass needs) and a plain SGD update
  of the weights (so that, as in training, the weights change every step and each step
  depends on the last), in one `lax.scan` compiled with cornu's options: about what any
  library using XLA's matrix kernels pays at this batch size;
- bare JAX: the whole step (batch gather, forward, cross-entropy, gradients, optax's adam)
  in one `lax.scan`, cornu's compiler options, no metrics;
- cornu: a steady epoch of `model.fit` (the second epoch of a 2-epoch call);
- keras: a steady epoch of Keras 3 (JAX backend) when it is installed;
- with --each, every product of the step alone (one `lax.scan` of `steps` products of
  the program's arguments, each result carried out of its step and the left operand
  nudged by it, so the product stays inside the loop and whole).
  These sum to a little less than "products + SGD", which also updates the weights.

The epoch's work is 2 * batch * steps * (3 * weights - the first layer's input gradient),
counting multiply-adds of the products only. Results go to
benchmarks/results/roofline-<device>-<date>.json and .md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _shared import epoch_timer, lecture_net  # noqa: E402
from fit_speed import (  # noqa: E402
    DEFAULT_OUT,
    FULL_N,
    _loadavg,
    import_keras,
    locate_data,
    machine_info,
    timed,
)

SIZES = (784, 500, 500, 10)
PEAK_N = {"cpu": 2048}  # else 8192


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--batch", type=int, default=100, help="batch size (default 100)")
    p.add_argument("--rounds", type=int, default=5, help="rounds of every item (default 5)")
    p.add_argument("--no-keras", action="store_true", help="leave Keras out")
    p.add_argument("--each", action="store_true", help="time each product alone too")
    p.add_argument("--data", type=Path, default=None, help="folder that holds mnist/")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = p.parse_args(argv)
    for name in ("batch", "rounds"):
        if getattr(args, name) < 1:
            p.error(f"--{name} must be at least 1. Received: --{name}={getattr(args, name)}")
    if args.batch > FULL_N:
        p.error(f"--batch must be at most {FULL_N:,} (one epoch of MNIST). "
                f"Received: --batch={args.batch}")
    return args


def epoch_flops(batch: int, steps: int) -> float:
    """Multiply-adds x 2 of one epoch's matrix products."""
    weights = [a * b for a, b in zip(SIZES[:-1], SIZES[1:], strict=False)]
    per_sample = sum(weights) * 2 + sum(weights[1:])  # forward + weight grads + input grads
    return 2.0 * batch * steps * per_sample


def load_data() -> tuple[np.ndarray, np.ndarray, str]:
    """MNIST's training set when it can be found, else random numbers of the same shapes
    (the speed of these programs does not depend on the values)."""
    import cornu

    try:
        (x, y), _ = cornu.datasets.mnist.load_data()
        source = "MNIST"
    except Exception as exc:  # not found and no download: speed needs no real digits
        rng = np.random.default_rng(0)
        x, y = rng.random((FULL_N, 784), np.float32), rng.integers(0, 10, FULL_N)
        source = f"random numbers ({type(exc).__name__}: MNIST not found)"
    x = x.reshape(len(x), -1).astype(np.float32)[:FULL_N] / (255.0 if source == "MNIST" else 1)
    return x, cornu.utils.to_categorical(y[:FULL_N], 10).astype(np.float32), source


class Items:
    """Every measured item: a callable returning seconds per epoch of 60,000 samples."""

    def __init__(self, x: np.ndarray, y: np.ndarray, batch: int, keras: Any,
                 each: bool = False) -> None:
        import jax
        import jax.numpy as jnp
        import optax

        import cornu
        from cornu.training import loop

        self.batch = batch
        self.steps = math.ceil(FULL_N / batch)
        options = loop.compiler_options(batch) or {}
        rng = np.random.default_rng(1)
        scale = [np.float32(1 / math.sqrt(a)) for a in SIZES[:-1]]
        weights = [jnp.asarray(rng.standard_normal((a, b), np.float32) * s)
                   for a, b, s in zip(SIZES[:-1], SIZES[1:], scale, strict=True)]

        self.peak_n = n = PEAK_N.get(jax.default_backend(), 8192)
        a = jnp.asarray(rng.random((n, n), np.float32))
        square = jax.jit(lambda m: m @ m, compiler_options=options)
        jax.block_until_ready(square(a))
        self.peak_seconds: list[float] = []

        def peak() -> float:
            best = min(timed(lambda: jax.block_until_ready(square(a))) for _ in range(5))
            self.peak_seconds.append(best)
            return epoch_flops(batch, self.steps) / (2.0 * n ** 3 / best)

        def products_step(carry, _):
            xb, w1, w2, w3 = carry
            h1 = xb @ w1
            h2 = h1 @ w2
            out = h2 @ w3
            d2 = out @ w3.T
            d1 = d2 @ w2.T
            g3, g2, g1 = h2.T @ out, h1.T @ d2, xb.T @ d1
            lr = jnp.float32(1e-6)
            return (xb + lr * d1[:1, :1], w1 - lr * g1, w2 - lr * g2, w3 - lr * g3), None

        x0 = jnp.asarray(x[:batch])
        products_program = jax.jit(
            lambda c: jax.lax.scan(products_step, c, None, length=self.steps)[0],
            compiler_options=options)
        start = (x0, *weights)
        jax.block_until_ready(products_program(start))

        tx = optax.adam(1e-3, eps=1e-7)
        biases = [jnp.zeros(b, jnp.float32) for b in SIZES[1:]]
        # copies: the bare program donates its state, the products program keeps `weights`
        params = [(jnp.array(w, copy=True), b) for w, b in zip(weights, biases, strict=True)]
        xd, yd = jax.device_put(x), jax.device_put(y)

        def loss_fn(params, xb, yb):
            h = xb
            for i, (w, b) in enumerate(params):
                z = h @ w + b
                h = jax.nn.sigmoid(z) if i < len(params) - 1 else z
            return -jnp.mean(jnp.sum(yb * jax.nn.log_softmax(h), axis=-1))

        def bare_step(carry, idx):
            params, opt_state = carry
            grads = jax.grad(loss_fn)(params, xd[idx], yd[idx])
            updates, opt_state = tx.update(grads, opt_state, params)
            return (optax.apply_updates(params, updates), opt_state), None

        bare_program = jax.jit(lambda c, order: jax.lax.scan(bare_step, c, order)[0],
                               compiler_options=options, donate_argnums=0)
        order_rng = np.random.default_rng(2)

        def order() -> Any:
            idx = np.zeros(self.steps * batch, np.int32)
            idx[:FULL_N] = order_rng.permutation(FULL_N)
            return jax.device_put(idx.reshape(self.steps, batch))

        self.bare_state = (params, tx.init(params))
        self.bare_state = jax.block_until_ready(bare_program(self.bare_state, order()))

        def bare() -> float:
            o = order()
            begin = time.perf_counter()
            self.bare_state = jax.block_until_ready(bare_program(self.bare_state, o))
            return time.perf_counter() - begin

        def library_epoch(lib: Any) -> Any:
            lib.utils.set_random_seed(3)
            net = lecture_net(lib)
            net.compile(loss="categorical_crossentropy", optimizer="adam",
                        metrics=["accuracy"])
            net.fit(x, y, batch_size=batch, epochs=2, verbose=0)  # compiles both sizes

            def epoch() -> float:
                timer = epoch_timer(lib)
                net.fit(x, y, batch_size=batch, epochs=2, verbose=0, callbacks=[timer])
                return timer.times[1]
            return epoch

        self.flops = {name: epoch_flops(batch, self.steps)
                      for name in ("peak", "products + SGD", "bare JAX", "cornu", "keras")}
        self.items = {
            "peak": peak,
            "products + SGD": lambda: timed(lambda: jax.block_until_ready(products_program(start))),
            "bare JAX": bare,
            "cornu": library_epoch(cornu),
        }
        if keras is not None:
            self.items["keras"] = library_epoch(keras)
        if each:
            self.items.update(self._each_product(batch, weights, options))

    def _each_product(self, batch: int, weights: list[Any], options: dict[str, Any]):
        """(name -> timer) for each product of the step alone. The operands are arguments
        of the program (not constants XLA could transform while compiling) and the whole
        product is carried out of every step."""
        import jax
        import jax.numpy as jnp

        rng = np.random.default_rng(4)
        activations = [jnp.asarray(rng.random((batch, n), np.float32)) for n in SIZES]
        items = {}
        for i, w in enumerate(weights):
            a, d = activations[i], activations[i + 1]
            n_in, n_out = w.shape
            # (name, product of (left, right), left, right, contracted length)
            cases = [(f"{batch}x{n_in} by {n_in}x{n_out}", lambda u, v: u @ v, a, w, n_in)]
            if i > 0:
                cases.append((f"{batch}x{n_out} by ({n_in}x{n_out})^T",
                              lambda u, v: u @ v.T, d, w, n_out))
            cases.append((f"({batch}x{n_in})^T by {batch}x{n_out}",
                          lambda u, v: u.T @ v, a, d, batch))
            for name, fn, left, right, k in cases:
                def step(carry, _, fn=fn):
                    u, v, _ = carry
                    out = fn(u, v)
                    return (u + jnp.float32(1e-12) * out[0, 0], v, out), None

                def run(u, v, fn=fn, step=step):
                    first = jnp.zeros(jax.eval_shape(fn, u, v).shape, jnp.float32)
                    return jax.lax.scan(step, (u, v, first), None, length=self.steps)[0]

                program = jax.jit(run, compiler_options=options)
                jax.block_until_ready(program(left, right))
                items[name] = (lambda program=program, left=left, right=right:
                               timed(lambda: jax.block_until_ready(program(left, right))))
                rows, cols = jax.eval_shape(fn, left, right).shape
                self.flops[name] = 2.0 * self.steps * rows * cols * k
        return items


def markdown(report: dict[str, Any]) -> str:
    m, r = report["machine"], report["results"]
    peak_rate = report["peak_gflops"]
    lines = [
        f"# Roofline of the lecture's net, batch {report['batch']} "
        f"({m['slug']}, {m['date']})",
        "",
        f"{m['cpu_model']}; jax {m['jax']} on {m['jax_device_kind']}; "
        f"keras {m['keras'] or 'not run'}; "
        f"cornu {m['cornu']} ({m['cornu_git']}); data: {report['data']}; "
        f"{report['rounds']} rounds; load average {m['loadavg_at_start']} -> "
        f"{report['loadavg_at_end']}.",
        "",
        f"An epoch: {report['steps']} steps, {report['epoch_gflop']:.0f} GFLOP of matrix "
        f"products; the {report['peak_n']}x{report['peak_n']} product ran at {peak_rate:.0f} "
        "GFLOP/s (the median round's best). Peak: the epoch's products at that rate. "
        "Seconds per epoch "
        "(each product alone: its calls of one epoch).",
        "",
        "| item | seconds (median) | min | GFLOP/s (median) | share of the peak rate |",
        "| --- | --- | --- | --- | --- |",
    ]
    for name, entry in r.items():
        t, rate = entry["median_s"], entry["gflop"] / entry["median_s"]
        lines.append(f"| {name} | {t:.3f} | {entry['min_s']:.3f} | {rate:.0f} | "
                     f"{rate / peak_rate:.0%} |")
    lines += ["", "Ratios of the medians: " + ", ".join(
        f"{a} / {b} {r[a]['median_s'] / r[b]['median_s']:.2f}"
        for a, b in (("cornu", "products + SGD"), ("cornu", "bare JAX"), ("keras", "cornu"))
        if a in r and b in r), ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    locate_data(args.data)
    os.environ.setdefault("CORNU_COMPILATION_CACHE", "0")
    keras, keras_note = import_keras(not args.no_keras)
    try:
        import cornu  # noqa: F401
    except ImportError:  # a bare checkout: the repository's cornu
        sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    machine = machine_info(keras)
    x, y, source = load_data()
    print(f"roofline batch {args.batch} on {machine['slug']}: compiling ...", file=sys.stderr,
          flush=True)
    items = Items(x, y, args.batch, keras, args.each)
    times: dict[str, list[float]] = {name: [] for name in items.items}
    for r in range(args.rounds):
        names = list(items.items) if r % 2 == 0 else list(items.items)[::-1]
        for name in names:
            times[name].append(items.items[name]())
        print(f"round {r + 1}: " + ", ".join(f"{n} {times[n][-1]:.3f}" for n in items.items),
              file=sys.stderr, flush=True)
    flops = epoch_flops(args.batch, items.steps)
    report = {
        "machine": machine, "batch": args.batch, "rounds": args.rounds, "steps": items.steps,
        "data": source, "notes": [keras_note] if keras_note else [],
        "epoch_gflop": flops / 1e9,
        "peak_n": items.peak_n,
        "peak_product_seconds": items.peak_seconds,  # each round's best
        # the rate of the peak row (epoch-equivalent seconds, median of the rounds)
        "peak_gflops": flops / statistics.median(times["peak"]) / 1e9,
        "results": {name: {"seconds": t, "median_s": statistics.median(t), "min_s": min(t),
                           "gflop": items.flops[name] / 1e9}
                    for name, t in times.items()},
        "loadavg_at_end": _loadavg(),
    }
    text = markdown(report)
    args.out.mkdir(parents=True, exist_ok=True)
    stem = f"roofline-{machine['slug']}-b{args.batch}-{dt.datetime.now():%Y%m%d-%H%M%S}"
    (args.out / f"{stem}.json").write_text(json.dumps(report, indent=1) + "\n")
    (args.out / f"{stem}.md").write_text(text)
    print(text)
    print(f"wrote {args.out / stem}.json and .md", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
