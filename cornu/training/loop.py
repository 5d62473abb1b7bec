"""Compiled programs for fit, evaluate and predict.

One training call runs `steps` optimizer steps as a `lax.scan` over device-resident
data: each step gathers its batch through the epoch's permutation (sent once per epoch), so the
host only launches a call per chunk of steps and reads the epoch's sums once. The last
partial batch is padded and masked, so every epoch has the same shapes and nothing
recompiles after the first one.

Inputs and labels are tuples of arrays (one per model input / output); a model with
one output has one head, and its logs are Keras' plain 'loss', 'accuracy', ...
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import os
import re
from collections import Counter
from collections.abc import Callable, Hashable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax import flatten_util

from cornu import _cpu_devices, _settings, devices
from cornu.data import staging
from cornu.losses import Loss
from cornu.metrics import Metric
from cornu.random import keys as global_rng
from cornu.training.state import TrainState

Forward = Callable[..., tuple[Any, Any, Any]]
Sums = jax.Array  # [loss sum, sample count, per-head loss and metric sums...], float32


@dataclasses.dataclass(frozen=True)
class Head:
    """One model output: its loss, weight in the total loss, metrics and log prefix."""

    name: str  # '' for a single-output model (logs 'loss', 'accuracy')
    loss: Loss
    #: metrics with a `per_sample` function (their sums are kept with the loss's)
    metrics: tuple[Metric, ...] = ()
    weight: float = 1.0
    use_logits: bool = False  # feed the loss the output layer's logits (stable path)
    #: the output carries a mask (Embedding(mask_zero=True) upstream): the loss and the
    #: metrics weigh its entries by it, as Keras
    masked: bool = False

    @property
    def loss_fn(self) -> Loss:
        return self.loss.with_logits() if self.use_logits else self.loss


def default_unroll(batch_size: int) -> int:
    """Steps unrolled per loop iteration of the compiled scan.

    Each loop iteration has a fixed cost, which matters when a step is small: on this
    project's 2-core CPU, unrolling 2 saves 8-10% at batch 1 and 10, 4% at batch 100, and
    costs ~0.6 s more compilation, so it is used up to batch 16 (at 32 the longer
    compilation made the first epoch slower than Keras'). On a GPU nothing is unrolled:
    on an H100, unrolling batch 1 8 times ran its epochs 1.2x faster but compiled for 45 s
    instead of 1.8 s. CORNU_SCAN_UNROLL overrides."""
    setting = os.environ.get("CORNU_SCAN_UNROLL")
    if setting:
        try:
            return max(1, int(setting))
        except ValueError:
            raise ValueError(
                f"CORNU_SCAN_UNROLL must be a whole number of steps. Received "
                f"CORNU_SCAN_UNROLL={setting!r}; set it to e.g. 1 or 8, or unset it for "
                "cornu's default.") from None
    if on_gpu():
        return 1
    return 2 if batch_size <= 16 else 1


def on_gpu() -> bool:
    return jax.default_backend() in ("gpu", "cuda", "rocm")


#: training programs from this batch size on let YNNPACK sum over the batch (CPU)
YNN_REDUCE_MIN_BATCH = 100


def compiler_options(batch_size: int | None = None,
                     split: bool = False) -> dict[str, Any] | None:
    """XLA options for cornu's programs (None: XLA's defaults); `batch_size` for a
    training program; `split` for a recurrent model's program split over CPU devices
    (see below).

    On a GPU, matrix products go to cuBLAS instead of XLA's Triton GEMM fusions, which
    pad every operand of the lecture's net to tile multiples (784 -> 800, 500 -> 512: 7
    extra kernels per step) and make the first compilation autotune them.
    CORNU_GPU_TRITON_GEMM=1 keeps XLA's default.

    On the CPU, XLA's own loops are vectorized 512 bits wide where the processor has
    AVX-512 (the Adam update of the lecture's net took 0.10 s an epoch at XLA's default
    of 256 bits, 0.072 s at 512; LLVM keeps 256 on processors without AVX-512), and
    matrix products are XLA's Eigen calls instead of YNNPACK fusions (the lecture net's
    forward products, 100x784 by 784x500, ran 12-19% faster). Together: 0.70 -> 0.62 s an
    epoch at batch 100 on this project's 2-core machine. XLA's copy insertion also uses
    its region analysis: without it the training loop copied the 500x500 weights every
    step before updating them in place (batch 100: 0.692 -> 0.673 s an epoch; batch 1
    4.5% faster). Training programs for batches of YNN_REDUCE_MIN_BATCH and more leave
    the sums over the batch to YNNPACK: four fewer loops for LLVM to compile in the
    lecture's net (0.46 -> 0.39 s of compilation), the same epoch times at batch 100 and
    1000, but 10-20% slower epochs at batch 1. (Since session 14 the bias gradients of
    Dense, EinsumDense and LayerNormalization are products with ones instead, ops/_rows.py:
    the lecture net's epoch at batch 100 the same, 0.991 paired; Conv biases, losses and
    metrics still sum.) Eigen's products
    serve every model, recurrent and attention layers included: on two free cores
    YNNPACK's dot fusions made GRU(128)'s fit epoch 1.4-2x and its evaluate 1.6x slower,
    LSTM(128)'s 5% and 1.5x, and XLA's own choice of YNNPACK fusions a transformer
    block's evaluate 2.3x slower; they won only while another process held a core
    (docs/performance.md, session 13). A recurrent model's batch split over CPU devices
    (`split`), where each device runs its loop on one thread, keeps the dot fusions: an
    LSTM(128) epoch split over 2 devices took 0.66 s with them against 0.79 s without.
    CORNU_CPU_XLA_DEFAULTS=1 keeps XLA's defaults."""
    if on_gpu():
        if _settings.switch("CORNU_GPU_TRITON_GEMM", False):
            return None
        return {"xla_gpu_enable_triton_gemm": False}
    if jax.default_backend() != "cpu" or _settings.switch("CORNU_CPU_XLA_DEFAULTS", False):
        return None
    options: dict[str, Any] = {"xla_cpu_prefer_vector_width": 512}
    if _has_ynn_fusions():
        reduce = (batch_size is not None and batch_size >= YNN_REDUCE_MIN_BATCH
                  and _measured_on(jaxlib_version()))
        kinds = (["LIBRARY_FUSION_TYPE_DOT"] if split else []) + (
            ["LIBRARY_FUSION_TYPE_REDUCE"] if reduce else [])
        options["xla_cpu_experimental_ynn_fusion_type"] = ",".join(kinds)
    if _measured_on(jaxlib_version()):
        options["xla_cpu_copy_insertion_use_region_analysis"] = True
    return options


#: jaxlib releases whose XLA has the experimental CPU options cornu sets: naming an option
#: an XLA lacks fails every compilation, and experimental options come and go, so a
#: release outside these gets XLA's defaults for them until it is measured
_EXPERIMENTAL_OPTIONS_FROM, _EXPERIMENTAL_OPTIONS_BEFORE = (0, 10, 1), (0, 11, 0)


def jaxlib_version() -> tuple[int, int, int]:
    """(major, minor, patch) of this jaxlib; (0, 0, 0) where it cannot be read."""
    found = re.match(r"(\d+)\.(\d+)\.(\d+)", getattr(jax.lib, "__version__", ""))
    return tuple(map(int, found.groups())) if found else (0, 0, 0)  # type: ignore[return-value]


def _has_ynn_fusions() -> bool:
    """Whether this jaxlib's XLA:CPU has the YNNPACK fusion option (0.10.1 and 0.10.2)."""
    return _EXPERIMENTAL_OPTIONS_FROM <= jaxlib_version() < _EXPERIMENTAL_OPTIONS_BEFORE


def _measured_on(version: tuple[int, int, int]) -> bool:
    """The jaxlib releases the later options were measured on (0.10.2)."""
    return (0, 10, 2) <= version < _EXPERIMENTAL_OPTIONS_BEFORE


def _jit_options(batch_size: int | None = None, split: bool = False) -> dict[str, Any]:
    """jax.jit keyword arguments: compiler options where there are some and this jax takes
    them (its compiler_options argument arrived in jax 0.4.36; before it, XLA's defaults)."""
    options = compiler_options(batch_size, split)
    if not options or "compiler_options" not in inspect.signature(jax.jit).parameters:
        return {}
    return {"compiler_options": options}


def _as_list(value) -> list:
    return list(value) if isinstance(value, list | tuple) else [value]


def _take(tree, idx):
    # fit's training arrays may be host memory read in place (data/staging.py)
    return jax.tree.map(lambda a: jnp.take(staging.whole(a), idx, axis=0), tree,
                        is_leaf=staging.is_in_place)


#: traces of the programs every model of the process shares (by name)
SHARED_TRACES: Counter[str] = Counter()


def _start_state(tx: optax.GradientTransformation, params, state, opt_state):
    """The state fit trains: the optimizer's slots made on the first fit (opt_state None),
    and every buffer copied once, since the compiled steps donate theirs (no aliasing
    between params, slots or arrays the caller still holds). One program instead of an
    operation-by-operation start that compiled a dozen small ones."""
    SHARED_TRACES["start_state"] += 1
    if opt_state is None:
        opt_state = tx.init(params)
    return jax.tree.map(jnp.copy, (params, state, opt_state))


def _copy_tree(tree):
    SHARED_TRACES["copy_state"] += 1
    return jax.tree.map(jnp.copy, tree)


# Keyed by the arrays' shapes alone (jit's own cache), so shared by all models: a second
# model of the same shapes in one process (a notebook re-running its cells, a search over
# settings) compiles neither this nor, with the same optimizer settings, start_state.
_copy_state = jax.jit(_copy_tree)
_START_PROGRAMS: dict[Hashable, Callable] = {}


class Engine:
    """The jitted programs of one compiled model; `traces` counts compilations by name."""

    def __init__(
        self,
        forward: Forward,
        heads: Sequence[Head],
        tx: optax.GradientTransformation,
        unroll: int | None = None,
        tx_key: Hashable | None = None,
        constraints: Any = None,
        split_blocker: str | None = "the model did not say",
        recurrent: bool = False,
    ) -> None:
        self.forward = forward
        #: why the training step may not split its batch with shard_map (None: it may;
        #: cornu/distribution/split.py), and whether the model has a recurrent layer
        self.split_blocker = split_blocker
        self.recurrent = recurrent
        self.heads = list(heads)
        self.unroll = unroll  # None: default_unroll(batch size)
        self.tx = tx
        self.constraints = constraints  # per-entry {name: w -> w} applied after updates
        self.want_logits = any(h.use_logits for h in self.heads)
        self.want_masks = any(h.masked for h in self.heads)
        #: the metrics of masked outputs: each keeps its own sum of mask weights (after
        #: the sums named in sum_names), its mean being over the unmasked entries
        self._weighted = [f"{h.name}_{m.name}" if h.name else m.name
                          for h in self.heads if h.masked for m in h.metrics]
        self.traces: Counter[str] = Counter()
        options = _jit_options()
        #: jitted _train_chunk by (options, donation), and by (batch size, donation)
        self._train_programs: dict[tuple[str, bool], Callable] = {}
        self._train_program_of: dict[tuple[int, bool], Callable] = {}
        self._placed_programs: dict[Hashable, Callable] = {}  # under distributions
        self._split_programs: dict[Hashable, Callable] = {}  # shard_map's, by mesh
        self.evaluate_all = jax.jit(self._evaluate_all, **options)
        # shared by the models of this process with the same optimizer configuration
        # (tx_key) and array shapes: a second model compiles neither
        if tx_key is None or tx_key not in _START_PROGRAMS:
            self.start_state = jax.jit(functools.partial(_start_state, tx))
            if tx_key is not None:
                _START_PROGRAMS[tx_key] = self.start_state
        else:
            self.start_state = _START_PROGRAMS[tx_key]
        self.copy_state = _copy_state

    def train_program(self, batch_size: int, donate: bool = True) -> Callable:
        """The jitted `_train_chunk` for this batch size: one per set of compiler options
        (on the CPU, small and large batches differ; see compiler_options). Without
        `donate` the call keeps its input state (a stream's chunk replays from it should
        its loss stop being finite), at the price of fresh output buffers, not a copy."""
        program = self._train_program_of.get((batch_size, donate))
        if program is None:  # options read once per batch size (inspect is slow per call)
            options = _jit_options(batch_size)
            key = (repr(sorted(options.get("compiler_options", {}).items())), donate)
            if key not in self._train_programs:
                self._train_programs[key] = jax.jit(
                    self._train_chunk, static_argnums=(8, 10),
                    donate_argnums=(0, 1) if donate else (), **options)
            program = self._train_program_of[(batch_size, donate)] = \
                self._train_programs[key]
        return program

    def train_chunk(self, ts: TrainState, sums: Sums, x, y, sw, order, mask, start,
                    steps: int, first_number=None, skip_empty: bool = False,
                    auto: bool = False):
        """`steps` optimizer steps (see _train_chunk), compiled for the batch size. With
        `auto` (no distribution; `auto_splits` said yes), the batch is split over the CPU
        devices cornu made (`_auto_call`)."""
        if auto:
            return self._auto_call(ts, sums, x, y, sw, order, mask, start, steps,
                                   start if first_number is None else first_number,
                                   skip_empty)
        # a stream's program (skip_empty) keeps its inputs: see train_program
        if devices.active() is not None and self.splits_batch():
            program = self._split_program(order.shape[1], donate=not skip_empty)
            return program(ts, sums, x, y, sw, order, mask, start, steps,
                           start if first_number is None else first_number, skip_empty)
        program = self.train_program(order.shape[1], donate=not skip_empty)
        if devices.active() is not None:
            program = self._placed_program(program, order.shape[1],
                                           (ts, sums, x, y, sw, order, mask, start))
        return program(ts, sums, x, y, sw, order, mask, start, steps,
                       start if first_number is None else first_number, skip_empty)

    def _placed_program(self, program: Callable, batch_size: int, args: tuple) -> Callable:
        """Under a distribution: the training program jitted with the shardings of its
        arguments as they were placed (devices.py), the state coming back as it came in
        and the sums replicated; one per placement, kept."""
        shardings = devices.shardings_of(args)
        leaves, tree = jax.tree.flatten(shardings)
        key = (id(program), batch_size, tree, tuple(leaves))
        placed = self._placed_programs.get(key)
        if placed is None:
            whole = devices.replicated()
            placed = self._placed_programs[key] = jax.jit(
                self._train_chunk, static_argnums=(8, 10), donate_argnums=(0, 1),
                in_shardings=(*shardings, whole), out_shardings=(shardings[0], whole),
                **_jit_options(batch_size))
        return placed

    def splits_batch(self) -> bool:
        """Whether the active distribution's training steps split each batch with
        `shard_map` (`_split_chunk`) rather than XLA's partitioner: a distribution that
        asks for it (DataParallel: every weight whole on every device), one process, a
        model whose rows are independent (distribution/split.py) and, by default, that
        holds a recurrent layer. On 2 CPU devices the shard_map step ran the LSTM's and
        GRU's epochs 1.6-1.7x faster than the partitioner's, but the lecture net's and a
        convnet's 1.1-1.2x slower (docs/performance.md, session 12). CORNU_SHARD_MAP=1
        splits every model that may, 0 none."""
        if not (getattr(devices.active(), "_split_by_shard_map", False)
                and self.split_blocker is None and jax.process_count() == 1):
            return False
        return _settings.switch("CORNU_SHARD_MAP", self.recurrent)

    def auto_splits(self, batch_size: int) -> bool:
        """Whether fit, with no distribution set, splits each batch over the CPU devices
        cornu made at import (cornu/_cpu_devices.py) with the shard_map step: a model with
        a recurrent layer (their loops of small products are where a second device's
        thread pays: docs/performance.md, session 12) whose rows are independent, a
        batch that divides over the devices, the CPU backend, and CORNU_SHARD_MAP not 0.
        Everything else runs on the first device as before (a second device made the
        lecture net's and the convnet's steps slower: docs/performance.md, session 12)."""
        count = _cpu_devices.MADE
        return bool(count and devices.active() is None and self.recurrent
                    and self.split_blocker is None and batch_size % count == 0
                    and jax.default_backend() == "cpu" and jax.process_count() == 1
                    and _settings.switch("CORNU_SHARD_MAP", True))

    @staticmethod
    def auto_mesh() -> jax.sharding.Mesh:
        """The mesh of the CPU devices cornu made (axis "batch")."""
        made = _cpu_devices.MADE or 1
        key = ("auto", made)
        mesh = _AUTO_MESHES.get(key)
        if mesh is None:
            mesh = _AUTO_MESHES[key] = jax.sharding.Mesh(
                np.array(jax.local_devices(backend="cpu")[:made]), ("batch",))
        return mesh

    @classmethod
    def auto_put(cls, tree, spec=None):
        """`tree` on the auto mesh: replicated, or as PartitionSpec `spec`."""
        from jax.sharding import NamedSharding, PartitionSpec

        return jax.device_put(tree, NamedSharding(cls.auto_mesh(), spec or PartitionSpec()))

    def _auto_call(self, ts, sums, x, y, sw, order, mask, start, steps, first_number,
                   skip_empty):
        """The split program over the auto mesh, called with the state and sums of the
        first device (replicated for the call; the data, placed by fit, are whole on
        every device) and giving them back on the first device: outside the training
        call the model stays a one-device model (predict, evaluate, saving, callbacks)."""
        from jax.sharding import PartitionSpec

        program = self._split_program(order.shape[1], donate=not skip_empty,
                                      mesh=self.auto_mesh(), axis="batch")
        cols = PartitionSpec(None, "batch")
        ts, sums, start = self.auto_put((ts, sums, start))
        out = program(ts, sums, *self.auto_put((x, y, sw)), self.auto_put(order, cols),
                      self.auto_put(mask, cols), start, steps, first_number, skip_empty)
        return jax.tree.map(_first_device, out)

    def _split_program(self, batch_size: int, donate: bool = True, mesh=None,
                       axis: str | None = None) -> Callable:
        """The training program under a data-parallel distribution: `_train_chunk` inside
        `jax.shard_map` over the mesh's batch axis. Each device takes its columns of the
        epoch's order and mask (its rows of every batch) from its whole copy of the data
        (fit puts the arrays replicated; rows that come split, a stream's chunk, are
        gathered by the program), and the state and sums come back whole (replicated).
        One per mesh, batch size and donation, kept."""
        if mesh is None:
            mesh, axis = devices.mesh(), devices.active().batch_dim_name
        key = (id(mesh), mesh.shape_tuple, axis, batch_size, donate)
        program = self._split_programs.get(key)
        if program is None:
            from jax.sharding import PartitionSpec as P

            whole, cols = P(), P(None, axis)

            def chunk(ts, sums, x, y, sw, order, mask, start, steps, first_number,
                      skip_empty):
                body = functools.partial(self._train_chunk, steps=steps,
                                         skip_empty=skip_empty, axis=axis)
                return _shard_map(
                    lambda ts, sums, x, y, sw, order, mask, start, first, every: body(
                        ts, sums, x, y, sw, order, mask, start, first_number=first,
                        whole_mask=every),
                    mesh=mesh, in_specs=(whole, whole, whole, whole, whole, cols, cols,
                                         whole, whole, whole),
                    out_specs=(whole, whole))(ts, sums, x, y, sw, order, mask, start,
                                              first_number, mask)

            program = self._split_programs[key] = jax.jit(
                chunk, static_argnums=(8, 10), donate_argnums=(0, 1) if donate else (),
                **_jit_options(batch_size, split=self.recurrent))
        return program

    # -- pieces ----------------------------------------------------------------------------
    @property
    def sum_names(self) -> list[str]:
        names = ["loss", "count", "nan_step"]
        for head in self.heads:
            prefix = f"{head.name}_" if head.name else ""
            if head.name:
                names.append(f"{prefix}loss")
            names += [f"{prefix}{m.name}" for m in head.metrics]
        return names

    def zero_sums(self) -> np.ndarray:
        """Zeros for the sums, made on the host (outside jit, jnp.zeros compiles)."""
        return np.zeros(len(self.sum_names) + len(self._weighted), np.float32)

    def _per_sample(self, params, state, x, y, *, training: bool, rng, mask=None,
                    rows=None):
        """Per-head outputs, per-sample loss values, the new layer state, the batch's
        extra loss (add_loss values and weight penalties, which Keras adds to the loss)
        and the outputs' masks (None each, unless a head is masked). `mask` goes to the
        layers (batch statistics over the real samples), `rows` marks the real samples
        for the masked losses."""
        if self.want_masks:
            out, logits, new_state, extra, masks = self.forward(
                params, state, x if len(x) > 1 else x[0], training=training, rng=rng,
                logits=self.want_logits, sample_mask=mask, masks=True)
            masks = [m if h.masked else None for h, m in zip(self.heads, masks, strict=True)]
        else:
            out, logits, new_state, extra = self.forward(
                params, state, x if len(x) > 1 else x[0], training=training, rng=rng,
                logits=self.want_logits, sample_mask=mask)
            masks = [None] * len(self.heads)
        # outputs in float32 whatever the layers computed in (mixed precision)
        outs = [o.astype(jnp.float32) for o in _as_list(out)]
        found = logits if logits is not None else [None] * len(outs)
        per_head = []
        for head, o, z, yk, mk in zip(self.heads, outs, found, y, masks, strict=True):
            loss, given = head.loss, o
            if head.use_logits and z is not None and z[1] == head.loss.logits_of:
                loss, given = head.loss_fn, z[0].astype(jnp.float32)
            if mk is None:
                per_head.append(loss.per_sample(yk, given))
            else:
                per_head.append(loss.per_sample_masked(
                    yk, given, mk, jnp.ones(o.shape[:1], jnp.float32) if rows is None
                    else rows))
        total = sum((h.weight * p for h, p in zip(self.heads[1:], per_head[1:], strict=True)),
                    self.heads[0].weight * per_head[0])
        return outs, per_head, total, new_state, extra, masks

    def _constrain(self, params):
        if self.constraints is None:
            return params
        return [{k: (c[k](v) if k in c else v) for k, v in p.items()}
                for p, c in zip(params, self.constraints, strict=True)]

    def _batch_sums(self, sums: Sums, y, outs, per_head, total, mask, weight, penalty,
                    masks=None, marker=None) -> Sums:
        """`weight` (sample weights, or None) scales the loss only, as Keras' `metrics`;
        the batch's regularization penalty counts once per sample in the loss. A masked
        output's metrics sum their values over its unmasked entries, and the mask's
        weights beside them (their means: one over the other, as Keras' Mean), where
        `masks` gives the masks: evaluate does; fit's steps do not, as in Keras (its JAX
        trainer's metrics see the outputs that jax.value_and_grad hands back, which no
        longer carry their masks), so the training metrics are plain means. `marker(loss)`
        (fit's steps): the third sum's increment, given the batch's loss sum."""
        lw = mask if weight is None else mask * weight
        rows = [total * lw, mask]
        weights = []
        masks = masks or [None] * len(self.heads)
        for head, yk, o, per, mk in zip(self.heads, y, outs, per_head, masks, strict=True):
            if head.name:
                rows.append(per * lw)
            for metric in head.metrics:
                if mk is None:
                    rows.append(metric.per_sample(yk, o) * mask)
                    if head.masked:  # (training) the plain mean, in the masked layout
                        weights.append(mask)
                else:
                    value, count = metric.per_sample_masked(yk, o, mk)
                    rows.append(value * mask)
                    weights.append(count * mask)
        # one reduction over the batch for all the sums: XLA:CPU compiles each reduction
        # separately, and a dozen of them cost a third of the training program's compile
        values = jnp.sum(jnp.stack(rows + weights), axis=1)
        loss = values[0] + penalty * values[1]
        third = jnp.zeros((), jnp.float32) if marker is None else marker(loss)
        return sums + jnp.concatenate([loss[None], values[1:2], third[None].astype(jnp.float32),
                                       values[2:]])

    def logs(self, sums: Sums) -> dict[str, float]:
        """Sums (on the device, or already read back) -> per-sample means."""
        read = jax.device_get(sums).tolist()
        n = len(self.sum_names)
        values = dict(zip(self.sum_names, read[:n], strict=True))
        weights = dict(zip(self._weighted, read[n:], strict=True))
        count = values.pop("count")
        if values.pop("nan_step") > 0 and count == 0:
            # the first step was already not finite: there is no finite mean to report
            return {name: float("nan") for name in values}
        count = max(count, 1.0)
        return {name: (value / count if name not in weights else
                       value / weights[name] if weights[name] else 0.0)
                for name, value in values.items()}

    def nan_step(self, sums: Sums) -> int | None:
        """The epoch step whose loss was first non-finite, or None."""
        marker = int(jax.device_get(sums)[2])  # whole: indexing on the device compiles
        return marker - 1 if marker > 0 else None

    # -- programs ---------------------------------------------------------------------------
    @staticmethod
    def epoch_mask(n: int, steps: int, batch_size: int) -> jax.Array:
        """(steps, batch) float mask: 1 for the n real samples, 0 for the last batch's
        padding. The same for every epoch, so fit sends it to the device once."""
        return devices.put_batch_sharded((np.arange(steps * batch_size) < n)
                                         .astype(np.float32).reshape(steps, batch_size),
                                         axis=1)

    def epoch_order(self, seed: Sequence[int], epoch: int, n: int, steps: int,
                    batch_size: int, shuffle: bool) -> jax.Array:
        """(steps, batch) int32 sample indices: a fresh permutation per epoch, drawn on the
        host (about a millisecond for 60,000 samples; a sort on the device cost a compile
        of ~0.13 s in the first epoch) from the fit's seed and the epoch number, so a
        resumed fit repeats it exactly. The padding of the last batch points at sample 0."""
        self.traces["epoch_order"] += 1
        order = np.zeros(steps * batch_size, np.int32)
        if shuffle:
            order[:n] = np.random.default_rng([*seed, epoch]).permutation(n)
        else:
            order[:n] = np.arange(n)
        return devices.put_batch_sharded(order.reshape(steps, batch_size), axis=1)

    def _train_chunk(self, ts: TrainState, sums: Sums, x, y, sw, order, mask, start,
                     steps: int, first_number, skip_empty: bool, axis: str | None = None,
                     whole_mask=None):
        """`steps` optimizer steps from batch `start` of the epoch's order; x, y: tuples;
        sw: per-sample loss weights or None. The steps are numbered from `first_number`
        (their keys and the NaN marker). With `skip_empty`, a step whose mask is all zero
        changes nothing (a stream's last chunk is filled with such steps, so that it has
        the shape of the others); the arrays' program has no such steps.

        With `axis` (a mesh axis name: the body of `_split_program`'s shard_map), order
        and mask are this device's columns, so each step sees this device's rows of the
        batch: it takes the gradient of their loss sum over the whole batch's count, adds
        the weight penalty on device 0 only, and one psum over `axis` sums the gradients
        and the batch's sums before the update every device makes alike. The step's key
        is folded with the device's index, so each device's rows draw their own
        dropout."""
        self.traces["train"] += 1
        idx = jax.lax.dynamic_slice_in_dim(order, start, steps)
        msk = jax.lax.dynamic_slice_in_dim(mask, start, steps)
        # the whole batches' mask (every device's columns), where the batch is split
        every = msk if whole_mask is None else jax.lax.dynamic_slice_in_dim(
            whole_mask, start, steps)

        def step(carry, batch):
            ts, sums = carry
            i, m, number, m_all = batch
            batch = (_take(x, i), _take(y, i), _take(sw, i), m)
            # split over the devices under a distribution (devices.py); unchanged on one
            # (and inside shard_map, where each device has its rows already)
            xb, yb, wb, m = batch if axis else devices.constrain_batch(batch)
            # the step's key comes from the epoch's key (ts.rng, which Model.fit advances
            # between epochs) and the step number, so any chunking (and the NaN replay) draws
            # the same numbers; a model that draws none (no dropout) leaves it unused and
            # the compiler drops it from the loop
            sub = global_rng.step_key(ts.rng, number)
            count = jnp.sum(m_all)  # the batch's rows (all devices'), without a collective
            if axis:
                sub = jax.random.fold_in(sub, jax.lax.axis_index(axis))
                first = (jax.lax.axis_index(axis) == 0).astype(jnp.float32)

            def objective(params):
                outs, per_head, total, new_state, penalty, masks = self._per_sample(
                    params, ts.state, xb, yb, training=True, rng=sub, mask=m, rows=m)
                lw = m if wb is None else m * wb
                value = jnp.sum(total * lw) / jnp.maximum(count, 1.0)
                # the weight penalty once: on device 0 where the batch is split
                added = penalty * first if axis else penalty
                return value + added, (outs, per_head, total, new_state, penalty, masks)

            grads, (outs, per_head, total, new_state, penalty, masks) = jax.grad(
                objective, has_aux=True)(ts.params)
            del masks  # the loss is masked; the training metrics are not, as in Keras

            # the first step whose loss is not finite is recorded (sums[2] = step + 1); the
            # host then replays the epoch up to the step before it (Model._rewind), so the
            # normal path pays nothing for keeping the last finite weights. Added to the
            # sums with the batch's (sums[2] is 0 until then): an update of one element
            # costs a GPU two more kernels a step
            def marker(loss):
                return jnp.where(~jnp.isfinite(sums[0] + loss) & (sums[2] == 0),
                                 number + 1.0, 0.0)

            if axis:  # the devices' sums added up first: the marker sees the batch's loss
                batch_sums = self._batch_sums(jnp.zeros_like(sums), yb, outs, per_head,
                                              total, m, wb, penalty)
                grads, batch_sums = _psum_flat((grads, batch_sums), axis)
                new_sums = (sums + batch_sums).at[2].add(marker(batch_sums[0]))
            else:
                new_sums = self._batch_sums(sums, yb, outs, per_head, total, m, wb, penalty,
                                            marker=marker)
            updates, opt_state = self.tx.update(grads, ts.opt_state, ts.params)
            params = self._constrain(optax.apply_updates(ts.params, updates))
            return (TrainState(params, new_state, opt_state, ts.rng), new_sums), None

        if skip_empty:
            run = step

            def step(carry, batch):  # noqa: F811 - the same step, or none for an empty one
                # the whole batch's mask: every device takes the same branch (a psum
                # inside waits for all)
                live = jnp.any(batch[3] > 0)
                return jax.lax.cond(live, run, lambda c, b: (c, None), carry, batch)

        numbers = first_number + jnp.arange(steps, dtype=jnp.int32)
        (ts, sums), _ = jax.lax.scan(step, (ts, sums), (idx, msk, numbers, every),
                                     unroll=min(self.unroll or default_unroll(order.shape[1]),
                                                steps))
        return ts, sums

    def _evaluate_all(self, params, state, xs, ys, mask, sw=None) -> tuple[Sums, Any]:
        """xs, ys: tuples of batches (staging.batch_at: an array's Batches, or a chunk's
        (steps, batch, ...) arrays), mask: (steps, batch); one call evaluates all.
        (sums, the layer state after the last step): as in predict, the state goes from
        batch to batch, so a stateful RNN's states carry over (Keras' documented meaning;
        inference changes no other state)."""
        self.traces["evaluate"] += 1

        def step(carry, i, batch):
            sums, state = carry
            xb, yb, m, wb = devices.constrain_batch(batch)
            outs, per_head, total, new, penalty, masks = self._per_sample(
                params, state, xb, yb, training=False, rng=None, rows=m)
            real = jnp.any(m > 0)  # a stream's empty filler steps leave the state
            state = jax.tree.map(lambda n, o: jnp.where(real, n, o), new, state)
            return (self._batch_sums(sums, yb, outs, per_head, total, m, wb, penalty,
                                     masks), state), None

        (sums, state), _ = staging.scan_batches(step, (self.zero_sums(), state),
                                                (xs, ys, mask, sw))
        return sums, state


_AUTO_MESHES: dict[Hashable, jax.sharding.Mesh] = {}


def _first_device(array: jax.Array) -> jax.Array:
    """A replicated array's copy on its first device (no copy made)."""
    return array.addressable_shards[0].data


def _psum_flat(tree, axis: str):
    """`jax.lax.psum(tree, axis)` as ONE all-reduce of the leaves laid end to end. XLA:CPU
    (jaxlib 0.10.2) aborted in its in-process all-reduce ("Id can't be larger than the
    number of participating threads") when a scanned step held several: a device that
    left one rendezvous early joined the next while the other was still in the first."""
    flat, unflatten = flatten_util.ravel_pytree(tree)
    return unflatten(jax.lax.psum(flat, axis))


def _shard_map(f, *, mesh, in_specs, out_specs):
    """jax.shard_map (jax 0.6 on; earlier jax.experimental.shard_map) without its
    replication check: the outputs (the state, after a psum of the gradients) are the
    same on every device by construction."""
    if hasattr(jax, "shard_map"):
        return jax.shard_map(f, mesh=mesh, in_specs=in_specs, out_specs=out_specs,
                             check_vma=False)
    from jax.experimental.shard_map import shard_map

    return shard_map(f, mesh=mesh, in_specs=in_specs, out_specs=out_specs,
                     check_rep=False)


class Predictor:
    """Inference programs; they need no compile() and are shared by every fit."""

    def __init__(self, forward: Forward) -> None:
        self.forward = forward
        self.traces: Counter[str] = Counter()
        options = _jit_options()
        self.predict_all = jax.jit(self._predict_all, **options)
        self.call = jax.jit(self._call, **options)
        self.call_training = jax.jit(self._call_training, **options)

    def _predict_all(self, params, state, xs, mask=None):
        """xs: tuple of batches (staging.batch_at: an array's Batches, or a chunk's
        (steps, batch, ...) arrays) -> (outputs stacked per step, the state after the last
        step: a stateful RNN's states go from batch to batch). mask: None, or the
        (steps, batch) rows of a stream's chunk, whose empty filler steps leave the
        state."""
        self.traces["predict"] += 1

        def step(state, i, batch):
            xb, m = batch
            xb = devices.constrain_batch(xb)
            out, _, new, _ = self.forward(params, state, xb if len(xb) > 1 else xb[0],
                                          training=False, rng=None, logits=False)
            if m is not None:
                real = jnp.any(m > 0)
                new = jax.tree.map(lambda n, o: jnp.where(real, n, o), new, state)
            return new, jax.tree.map(lambda o: o.astype(jnp.float32), out)

        state, outs = staging.scan_batches(step, state, (xs, mask))
        return outs, state

    def _call(self, params, state, x):
        """(outputs, the state after the call, each output's mask or None)."""
        self.traces["call"] += 1
        out, _, state, _, masks = self.forward(params, state, x if len(x) > 1 else x[0],
                                               training=False, rng=None, logits=False,
                                               masks=True)
        return jax.tree.map(lambda o: o.astype(jnp.float32), out), state, masks

    def _call_training(self, params, state, x, rng):
        """model(x, training=True): dropout active, batch statistics used and updated."""
        self.traces["call_training"] += 1
        out, _, new_state, _, masks = self.forward(params, state, x if len(x) > 1 else x[0],
                                                   training=True, rng=rng, logits=False,
                                                   masks=True)
        return jax.tree.map(lambda o: o.astype(jnp.float32), out), new_state, masks
