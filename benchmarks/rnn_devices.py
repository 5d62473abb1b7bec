"""An LSTM's training epoch on one CPU device and split over two (the next step of issue 20).

    .venv/bin/python benchmarks/rnn_devices.py             # about a minute on 2 free cores
    .venv/bin/python benchmarks/rnn_devices.py --rounds 6

cornu's LSTM(128) -> Dense(10, softmax) (through its stateless call) on the first 6,400
MNIST training images read as 28 rows of 28 pixels, batch 128, optax's adam: one epoch is
one compiled program that scans over the 50 batches. "one device" runs it as cornu's fit
does today; "two devices" splits each batch over two CPU devices with `jax.shard_map`
(each device its 64 rows, one `psum` of the gradients), the CPU's cores made devices with
XLA's `--xla_force_host_platform_device_count=2` (set here before JAX starts). On a
2-core machine each device runs its half in its own thread, where one device uses the
second core only inside the matrix products. Wall and process CPU time per epoch, the two
alternating round by round; compare with rnn_speed.py's fit epochs (cornu and Keras).
"""

from __future__ import annotations

import os

os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "")
                           + " --xla_force_host_platform_device_count=2")

import argparse  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import optax  # noqa: E402
from jax.sharding import Mesh, NamedSharding  # noqa: E402
from jax.sharding import PartitionSpec as P  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fit_speed import locate_data  # noqa: E402

ROWS, BATCH, STEPS = 6400, 128, 50


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rounds", type=int, default=4)
    p.add_argument("--data", type=Path, default=None, help="folder that holds mnist/")
    args = p.parse_args(argv)
    locate_data(args.data)
    import cornu
    from cornu.training import loop

    if len(jax.devices("cpu")) < 2:
        print("JAX started with one CPU device (XLA_FLAGS was read before this script set "
              "it); run the script in a fresh process.", file=sys.stderr)
        return 2
    (x, y), _ = cornu.datasets.mnist.load_data()
    x = jnp.asarray(x[:ROWS].astype(np.float32) / 255)
    y = jnp.asarray(y[:ROWS].astype(np.int32))
    model = cornu.Sequential([cornu.Input(shape=(28, 28)), cornu.layers.LSTM(128),
                              cornu.layers.Dense(10, activation="softmax")])
    weights = [jnp.array(v.value) for v in model.trainable_variables]
    others = [jnp.array(v.value) for v in model.non_trainable_variables]
    opt = optax.adam(1e-3)

    def loss(ws, xb, yb):
        out, _ = model.stateless_call(ws, others, xb)
        picked = jnp.take_along_axis(out, yb[:, None], axis=1)
        return -jnp.sum(jnp.log(picked + 1e-7)) / BATCH

    def epoch(rows: int, reduce):
        def run(ws, state, xs, ys):
            def step(carry, i):
                ws, state = carry
                xb = jax.lax.dynamic_slice_in_dim(xs, i * rows, rows)
                yb = jax.lax.dynamic_slice_in_dim(ys, i * rows, rows)
                updates, state = opt.update(reduce(jax.grad(loss)(ws, xb, yb)), state, ws)
                return (optax.apply_updates(ws, updates), state), None

            return jax.lax.scan(step, (ws, state), jnp.arange(STEPS))[0]
        return run

    options = {"compiler_options": loop.compiler_options(BATCH, True) or {}}
    one = jax.jit(epoch(BATCH, lambda g: g), **options)
    mesh = Mesh(np.array(jax.devices("cpu")[:2]), ("batch",))
    two = jax.jit(jax.shard_map(epoch(BATCH // 2, lambda g: jax.lax.psum(g, "batch")),
                                mesh=mesh, in_specs=(P(), P(), P("batch"), P("batch")),
                                out_specs=(P(), P()), check_vma=False), **options)
    # device d holds the d-th half of every batch, one after the other
    half = BATCH // 2
    xs = x.reshape(STEPS, 2, half, 28, 28).transpose(1, 0, 2, 3, 4).reshape(ROWS, 28, 28)
    ys = y.reshape(STEPS, 2, half).transpose(1, 0, 2).reshape(ROWS)
    state = opt.init(weights)
    split, whole = NamedSharding(mesh, P("batch")), NamedSharding(mesh, P())
    placed = (jax.device_put(weights, whole), jax.device_put(state, whole),
              jax.device_put(xs, split), jax.device_put(ys, split))
    runs = {"one device": lambda: jax.block_until_ready(one(weights, state, x, y)),
            "two devices": lambda: jax.block_until_ready(two(*placed))}
    for run in runs.values():
        run()  # compiles
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in runs}
    for _ in range(args.rounds):
        for name, run in runs.items():
            start, cpu = time.perf_counter(), time.process_time()
            run()
            times[name].append((time.perf_counter() - start, time.process_time() - cpu))
    print(f"LSTM(128) epoch, {ROWS} rows, batch {BATCH}, adam; {args.rounds} rounds; "
          f"load {os.getloadavg()[0]:.2f}")
    for name, pairs in times.items():
        wall = [w for w, _ in pairs]
        print(f"{name:12s} wall median {statistics.median(wall):.3f} s, fastest "
              f"{min(wall):.3f} s, CPU median {statistics.median(c for _, c in pairs):.3f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
