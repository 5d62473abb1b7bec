"""Compiled programs for fit, evaluate and predict.

One training call runs `steps` optimizer steps as a `lax.scan` over device-resident
data: each step gathers its batch through a permutation drawn on the device, so the
host only launches a call per chunk of steps and reads the epoch's sums once. The last
partial batch is padded and masked, so every epoch has the same shapes and nothing
recompiles after the first one.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import optax

from cornu.losses import Loss
from cornu.metrics import Metric
from cornu.training.state import TrainState

Forward = Callable[..., tuple[jax.Array, jax.Array | None, Any]]
Sums = jax.Array  # [loss sum, sample count, metric sums...], one float32 vector


class Engine:
    """The jitted programs of one compiled model; `traces` counts compilations by name."""

    def __init__(
        self,
        forward: Forward,
        loss: Loss,
        metrics: Sequence[Metric],
        tx: optax.GradientTransformation,
        use_logits: bool,
        regularization: Callable[[Any], jax.Array] | None = None,
    ) -> None:
        self.forward = forward
        self.loss = dataclasses.replace(loss, from_logits=True) if use_logits else loss
        self.use_logits = use_logits
        self.metrics = list(metrics)
        self.tx = tx
        self.regularization = regularization
        self.traces: Counter[str] = Counter()
        self.train_chunk = jax.jit(self._train_chunk, static_argnums=(7,), donate_argnums=(0, 1))
        self.evaluate_all = jax.jit(self._evaluate_all)
        self.epoch_indices = jax.jit(self._epoch_indices, static_argnums=(1, 2, 3, 4))

    # -- pieces ----------------------------------------------------------------------------
    @property
    def sum_names(self) -> list[str]:
        return ["loss", "count", *(m.name for m in self.metrics)]

    def zero_sums(self) -> Sums:
        return jnp.zeros(len(self.sum_names), jnp.float32)

    def _batch_sums(self, sums: Sums, y, out, per_sample, mask) -> Sums:
        values = [jnp.sum(per_sample * mask), jnp.sum(mask)]
        values += [jnp.sum(metric(y, out) * mask) for metric in self.metrics]
        return sums + jnp.stack(values)

    def logs(self, sums: Sums) -> dict[str, float]:
        """Sums read back from the device -> per-sample means (one host sync)."""
        values = dict(zip(self.sum_names, jax.device_get(sums).tolist(), strict=True))
        count = max(values.pop("count"), 1.0)
        return {name: value / count for name, value in values.items()}

    def _outputs(self, params, state, x, *, training: bool, rng):
        out, logits, new_state = self.forward(
            params, state, x, training=training, rng=rng, logits=self.use_logits
        )
        return out, (logits if self.use_logits else out), new_state

    # -- programs ---------------------------------------------------------------------------
    def _epoch_indices(self, key, n: int, steps: int, batch_size: int, shuffle: bool):
        """(steps, batch) sample indices, a fresh permutation per epoch, and the mask."""
        self.traces["epoch_indices"] += 1
        order = jax.random.permutation(key, n) if shuffle else jnp.arange(n)
        total = steps * batch_size
        order = jnp.concatenate([order.astype(jnp.int32), jnp.zeros(total - n, jnp.int32)])
        mask = (jnp.arange(total) < n).astype(jnp.float32)
        return order.reshape(steps, batch_size), mask.reshape(steps, batch_size)

    def _train_chunk(self, ts: TrainState, sums: Sums, x, y, order, mask, start, steps: int):
        self.traces["train"] += 1
        idx = jax.lax.dynamic_slice_in_dim(order, start, steps)
        msk = jax.lax.dynamic_slice_in_dim(mask, start, steps)

        def step(carry, batch):
            ts, sums = carry
            i, m = batch
            xb = jnp.take(x, i, axis=0)
            yb = jnp.take(y, i, axis=0)
            rng, sub = jax.random.split(ts.rng)

            def objective(params):
                out, pred, new_state = self._outputs(params, ts.state, xb, training=True, rng=sub)
                per = self.loss(yb, pred)
                value = jnp.sum(per * m) / jnp.maximum(jnp.sum(m), 1.0)
                if self.regularization is not None:
                    value = value + self.regularization(params)
                return value, (out, per, new_state)

            grads, (out, per, new_state) = jax.grad(objective, has_aux=True)(ts.params)
            updates, opt_state = self.tx.update(grads, ts.opt_state, ts.params)
            params = optax.apply_updates(ts.params, updates)
            sums = self._batch_sums(sums, yb, out, per, m)
            return (TrainState(params, new_state, opt_state, rng), sums), None

        (ts, sums), _ = jax.lax.scan(step, (ts, sums), (idx, msk))
        return ts, sums

    def _evaluate_all(self, params, state, xs, ys, mask) -> Sums:
        """xs: (steps, batch, ...) padded; the whole evaluation is one call."""
        self.traces["evaluate"] += 1

        def step(sums, batch):
            xb, yb, m = batch
            out, pred, _ = self._outputs(params, state, xb, training=False, rng=None)
            return self._batch_sums(sums, yb, out, self.loss(yb, pred), m), None

        sums, _ = jax.lax.scan(step, self.zero_sums(), (xs, ys, mask))
        return sums


class Predictor:
    """Inference programs; they need no compile() and are shared by every fit."""

    def __init__(self, forward: Forward) -> None:
        self.forward = forward
        self.traces: Counter[str] = Counter()
        self.predict_all = jax.jit(self._predict_all)
        self.call = jax.jit(self._call)

    def _predict_all(self, params, state, xs):
        self.traces["predict"] += 1

        def step(_, xb):
            out, _, _ = self.forward(params, state, xb, training=False, rng=None, logits=False)
            return None, out

        _, outs = jax.lax.scan(step, None, xs)
        return outs

    def _call(self, params, state, x):
        self.traces["call"] += 1
        out, _, _ = self.forward(params, state, x, training=False, rng=None, logits=False)
        return out
