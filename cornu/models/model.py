"""Model: the Keras facade (compile, fit, evaluate, predict, weights, summary).

A model owns its arrays as pytrees (`params`, `state`: one dict per layer, in
`layers` order); layers hold config only. All compiled work is in cornu.training.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from cornu import _deprecation, activations, losses, metrics, optimizers
from cornu.callbacks.base import CallbackList
from cornu.callbacks.history import History
from cornu.callbacks.progbar_logger import ProgbarLogger
from cornu.data import arrays, staging
from cornu.layers.base import Layer, Shape
from cornu.reports import progbar
from cornu.reports.summary import summary_text
from cornu.training import rng as global_rng
from cornu.training.loop import Engine, Head, Predictor
from cornu.training.state import TrainState


def _positive_int(value: Any, argument: str, fix: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise ValueError(f"{argument} must be a positive integer. Received: {argument}={value!r}. "
                         f"{fix}")
    return int(value)


def _verbosity(verbose: Any) -> int:
    if verbose == "auto":
        return 1
    if verbose not in (0, 1, 2) or isinstance(verbose, bool):
        raise ValueError(f"verbose must be 'auto', 0, 1 or 2. Received: verbose={verbose!r}")
    return int(verbose)


class Model:
    """Base of Sequential (and of functional models). Subclasses provide `layers`,
    `_build(input_shape)` and `_forward`."""

    def __new__(cls, *args: Any, **kwargs: Any):
        # Keras: Model(inputs, outputs) builds a functional model
        if cls is Model and (args or "inputs" in kwargs):
            from cornu.models.functional import Functional

            return super().__new__(Functional)
        return super().__new__(cls)

    def __init__(self, name: str | None = None) -> None:
        self.name = name
        self._params: list[dict[str, jax.Array]] | None = None
        self._state: list[dict[str, jax.Array]] | None = None
        self._predictor = Predictor(self._forward)
        self._engine: Engine | None = None
        self.optimizer: optimizers.Optimizer | None = None
        self.loss: losses.Loss | None = None
        self._metric_specs: list[Any] = []
        self._heads: list[Head] = []
        self._loss_spec: Any = None
        self._loss_weights: Any = None
        self._steps_per_execution: int | str = "auto"
        self._epoch_compile_seconds: float | None = None
        self.nan_stop: tuple[int, int] | None = None
        self._resume: dict[str, Any] | None = None
        self._fit_position: dict[str, Any] | None = None
        self._staging = staging.HostStaging()  # host buffers of the training arrays between fits
        self._padded = staging.PaddedBuffers()  # and of evaluate's and predict's padded batches
        self._opt_state: Any = None
        self._train_rng: jax.Array | None = None
        self.history: History | None = None
        self.stop_training = False

    # -- structure (subclasses) ---------------------------------------------------------------
    @property
    def layers(self) -> list[Layer]:
        raise NotImplementedError

    @property
    def input_shape(self) -> Shape | None:
        raise NotImplementedError

    @property
    def output_shape(self) -> Shape | None:
        return self.layers[-1].output_shape if self.built else None

    @property
    def built(self) -> bool:
        return self._params is not None

    def build(self, input_shape: Shape) -> None:
        raise NotImplementedError

    def _forward(self, params, state, x, *, training: bool, rng, logits: bool,
                 sample_mask=None):
        """(output, logits of the output activation or None, new state). `sample_mask`
        marks the real samples of a padded batch (for batch statistics)."""
        raise NotImplementedError

    def _init_weights(self) -> None:
        self._params = [layer.init(global_rng.next_key()) for layer in self.layers]
        self._state = [layer.init_state() for layer in self.layers]

    def _require_built(self, what: str) -> None:
        if not self.built:
            raise ValueError(
                f"Model '{self.name}' is not built yet, so {what} is unknown. Give the first "
                "layer input_shape=(...) (or start with cornu.Input(shape=...)), or call the "
                "model on data first."
            )

    # -- outputs and inputs -------------------------------------------------------------------
    def _output_layers(self) -> list[Layer]:
        return [self.layers[-1]]

    def get_layer(self, name: str | None = None, index: int | None = None) -> Layer:
        """A layer by name or by index in `layers`, as Keras."""
        if index is not None:
            return self.layers[index]
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise ValueError(f"No layer named {name!r} in model '{self.name}'. Layers: "
                         f"{[layer.name for layer in self.layers]}")

    @property
    def output_names(self) -> list[str]:
        return [layer.name for layer in self._output_layers()]

    def _input_names(self) -> list[str]:
        return [self.layers[0].name]

    def _shapes(self, shape) -> list:
        return list(shape) if isinstance(shape, list) else [shape]

    # -- compile ------------------------------------------------------------------------------
    def compile(
        self,
        optimizer: str | optimizers.Optimizer = "rmsprop",
        loss: Any = None,
        loss_weights: Any = None,
        metrics: Any = None,
        steps_per_execution: int | str = "auto",
        **kwargs: Any,
    ) -> None:
        """Keras' compile. `loss`, `metrics` and `loss_weights` may be given per output (a
        list in output order, or a dict by output layer name)."""
        if kwargs:
            raise TypeError(
                f"compile got unexpected keyword arguments: {', '.join(sorted(kwargs))}.")
        if loss is None:
            raise ValueError(
                "compile needs a loss. Received: loss=None. For the lecture's classifier: "
                "loss='categorical_crossentropy'."
            )
        if isinstance(metrics, str):
            raise TypeError(
                f"metrics must be a list of names. Received: metrics={metrics!r}. "
                f"Use metrics=[{metrics!r}]."
            )
        if steps_per_execution != "auto":
            _positive_int(steps_per_execution, "steps_per_execution", "Use 'auto' or e.g. 100.")
        self.optimizer = optimizers.get(optimizer)
        # resolve every name now, so a misspelling fails at compile, not at the first fit
        for spec in _leaves(loss):
            losses.get(spec)
        for spec in _leaves(metrics):
            metrics_get(spec, None, None)
        self._loss_spec, self._metric_specs, self._loss_weights = loss, metrics, loss_weights
        self.loss = losses.get(loss) if not isinstance(loss, list | tuple | dict) else loss
        self._steps_per_execution = steps_per_execution
        self._engine = None
        self._opt_state = None
        if self.built:
            self._make_engine()

    def _per_output(self, spec: Any, argument: str, names: list[str], default: Any) -> list:
        """A per-output setting: one value for all, a list in output order, or a dict."""
        if isinstance(spec, dict):
            unknown = sorted(set(spec) - set(names))
            if unknown:
                raise ValueError(f"{argument} names outputs that the model does not have: "
                                 f"{unknown}. The outputs are {names}.")
            return [spec.get(name, default) for name in names]
        if isinstance(spec, list | tuple) and (argument != "metrics" or (
                spec and all(isinstance(s, list | tuple) for s in spec))):
            if len(spec) != len(names):
                raise ValueError(
                    f"{argument} has {len(spec)} entries but the model has {len(names)} "
                    f"outputs ({names}). Give one per output, or a dict by output name."
                )
            return list(spec)
        return [spec] * len(names)

    def _make_engine(self) -> None:
        names = self.output_names
        shapes = self._shapes(self.output_shape)
        loss_list = self._per_output(self._loss_spec, "loss", names, None)
        metric_lists = self._per_output(self._metric_specs or [], "metrics", names, [])
        weights = self._per_output(self._loss_weights, "loss_weights", names, 1.0) \
            if self._loss_weights is not None else [1.0] * len(names)
        heads = []
        for k, (name, layer) in enumerate(zip(names, self._output_layers(), strict=True)):
            if loss_list[k] is None:
                raise ValueError(f"loss gives no loss for output '{name}'.")
            loss = losses.get(loss_list[k])
            metric_objs = tuple(metrics_get(m, loss, shapes[k][-1]) for m in metric_lists[k])
            seen = [m.name for m in metric_objs]
            if len(set(seen)) != len(seen) or "loss" in seen:
                raise ValueError(f"metrics must have distinct names other than 'loss'. "
                                 f"Received: metrics={self._metric_specs!r}")
            use_logits = (not loss.from_logits and loss.logits_of is not None
                          and layer.output_activation == loss.logits_of)
            heads.append(Head("" if len(names) == 1 else name, loss, metric_objs,
                              float(weights[k]), use_logits))
        self._heads = heads
        self._engine = Engine(self._forward, heads, self.optimizer.transform(),
                              self._regularization(), tx_key=self.optimizer.transform_key())

    def _regularization(self):
        """params -> the sum of the layers' regularization penalties, or None."""
        layers = self.layers
        if not any(layer.has_regularization for layer in layers):
            return None

        def penalty(params):
            terms = [layer.regularization(p) for layer, p in zip(layers, params, strict=True)
                     if layer.has_regularization]
            return sum(terms[1:], terms[0])

        return penalty

    def _check_compiled(self, method: str) -> None:
        """compile() was called (checked before any data builds the model)."""
        if self.optimizer is None:
            raise ValueError(
                f"You must call compile() before {method}(). For example: "
                "model.compile(loss='categorical_crossentropy', optimizer='adam', "
                "metrics=['accuracy'])."
            )

    def _require_compiled(self, method: str) -> Engine:
        """The compiled programs (made on first use once the model is built)."""
        self._check_compiled(method)
        if self._engine is None:
            self._require_built(f"what {method}() needs")
            self._make_engine()
        return self._engine

    @property
    def metrics_names(self) -> list[str]:
        if self._engine is None:
            return ["loss"]
        return [name for name in self._engine.sum_names if name not in ("count", "nan_step")]

    # -- data ---------------------------------------------------------------------------------
    def _split_inputs(self, x: Any, argument: str) -> list[Any]:
        names = self._input_names() if self.built else [argument]
        if len(names) == 1:
            return [x[names[0]] if isinstance(x, dict) and names[0] in x else x]
        if isinstance(x, dict):
            missing = [n for n in names if n not in x]
            if missing:
                raise ValueError(f"{argument} is missing inputs {missing}; the model's inputs "
                                 f"are {names}.")
            return [x[n] for n in names]
        if not isinstance(x, list | tuple) or len(x) != len(names):
            raise ValueError(
                f"The model has {len(names)} inputs ({names}); pass {argument} as a list of "
                f"{len(names)} arrays or a dict by input name."
            )
        return list(x)

    def _prepare_x(self, x: Any, argument: str = "x") -> list[np.ndarray]:
        parts = [arrays.as_numeric(p, argument if i == 0 else f"{argument}[{i}]")
                 for i, p in enumerate(self._split_inputs(x, argument))]
        if not self.built:
            self.build((None, *parts[0].shape[1:]))
        for i, (part, shape, name) in enumerate(zip(
                parts, self._shapes(self.input_shape), self._input_names(), strict=True)):
            label = argument if len(parts) == 1 else f"{argument}[{i}]"
            arrays.check_features(part, shape, name, label)
            if part.shape[0] != parts[0].shape[0]:
                arrays.check_lengths(parts[0], part, f"{argument}[0]", label)
        # as Keras: inputs become float32 (an Embedding casts its indices back)
        return [p.astype(np.float32, copy=False) for p in parts]

    def _prepare_y(self, y: Any, n: int, argument: str = "y") -> list[np.ndarray]:
        names = self.output_names
        if len(names) == 1:
            parts = [y[names[0]] if isinstance(y, dict) and names[0] in y else y]
        elif isinstance(y, dict):
            missing = [k for k in names if k not in y]
            if missing:
                raise ValueError(f"{argument} is missing targets for outputs {missing}.")
            parts = [y[k] for k in names]
        elif isinstance(y, list | tuple) and len(y) == len(names):
            parts = list(y)
        else:
            raise ValueError(
                f"The model has {len(names)} outputs ({names}); pass {argument} as a list of "
                f"{len(names)} arrays or a dict by output name."
            )
        out = []
        for k, (part, head, shape) in enumerate(zip(
                parts, self._heads, self._shapes(self.output_shape), strict=True)):
            label = argument if len(parts) == 1 else f"{argument}[{k}]"
            arr = arrays.as_numeric(part, label)
            if arr.shape[0] != n:
                raise ValueError(
                    f"x and {label} must have the same number of samples. Received: "
                    f"x.shape[0]={n}, {label}.shape[0]={arr.shape[0]}. Pass one label per "
                    "sample."
                )
            out.append(arrays.check_labels(arr, head.loss, shape, label))
        return out

    def _prepare_xy(self, x: Any, y: Any, names=("x", "y"), method: str = "fit"):
        if y is None:
            raise ValueError(f"{names[1]} is required. Received: {names[1]}=None. "
                             f"Pass the labels, e.g. model.fit(x_train, y_train).")
        xs = self._prepare_x(x, names[0])
        self._require_compiled(method)
        return xs, self._prepare_y(y, xs[0].shape[0], names[1])

    # -- fit ----------------------------------------------------------------------------------
    def fit(
        self,
        x: Any = None,
        y: Any = None,
        batch_size: int | None = None,
        epochs: int = 1,
        verbose: int | str = "auto",
        callbacks: Sequence[Any] | None = None,
        validation_split: float = 0.0,
        validation_data: tuple | None = None,
        shuffle: bool = True,
        class_weight: dict[int, float] | None = None,
        sample_weight: Any = None,
        initial_epoch: int = 0,
        **kwargs: Any,
    ) -> History:
        nb_epoch = _deprecation.renamed(kwargs, "nb_epoch", "epochs", "fit")
        epochs = _deprecation.pick(epochs, 1, nb_epoch, "nb_epoch", "epochs")
        if kwargs:
            raise TypeError(f"fit got unexpected keyword arguments: {', '.join(sorted(kwargs))}.")
        self._check_compiled("fit")
        batch_size = _positive_int(32 if batch_size is None else batch_size, "batch_size",
                                   "Use e.g. batch_size=100.")
        if isinstance(epochs, bool) or not isinstance(epochs, int | np.integer) or epochs < 0:
            raise ValueError(f"epochs must be a non-negative integer. Received: epochs={epochs!r}")
        if isinstance(initial_epoch, bool) or not isinstance(initial_epoch, int) \
                or initial_epoch < 0:
            raise ValueError("initial_epoch must be a non-negative integer. "
                             f"Received: initial_epoch={initial_epoch!r}")
        verbose = _verbosity(verbose)
        if not (isinstance(validation_split, int | float) and 0.0 <= validation_split < 1.0):
            raise ValueError(
                "validation_split must be a number in [0, 1). "
                f"Received: validation_split={validation_split!r}. E.g. validation_split=0.1."
            )
        xs, ys = self._prepare_xy(x, y)
        engine = self._require_compiled("fit")
        sw = self._sample_weights(sample_weight, xs[0].shape[0], "sample_weight")
        if class_weight is not None:
            cw = self._class_weights(class_weight, ys)
            sw = cw if sw is None else sw * cw
        val = None
        if validation_data is not None:
            if not isinstance(validation_data, tuple | list) or len(validation_data) not in (2, 3):
                raise ValueError("validation_data must be a tuple (x_val, y_val) or (x_val, y_val, "
                                 "sample_weight_val). Received: validation_data of type "
                                 f"{type(validation_data).__name__}")
            val = self._prepare_xy(*validation_data[:2], ("validation_data[0]",
                                                          "validation_data[1]"))
            val_sw = None if len(validation_data) == 2 else self._sample_weights(
                validation_data[2], val[0][0].shape[0], "validation_data[2]")
            val = (*val, val_sw)
        elif validation_split > 0:
            total = xs[0].shape[0]
            split = int(total * (1.0 - validation_split))
            if split == 0 or split == total:
                raise ValueError(
                    f"validation_split={validation_split} leaves "
                    f"{'no training' if split == 0 else 'no validation'} samples out of "
                    f"{total}. Use more data or another split."
                )
            val = ([a[split:] for a in xs], [a[split:] for a in ys],
                   None if sw is None else sw[split:])
            xs, ys = [a[:split] for a in xs], [a[:split] for a in ys]
            sw = None if sw is None else sw[:split]
        val_batches = self._eval_batches(*val, batch_size) if val is not None else None

        n = xs[0].shape[0]
        steps = math.ceil(n / batch_size)
        history = History()
        params = {"verbose": verbose, "epochs": epochs, "steps": steps, "samples": n,
                  "batch_size": batch_size}
        progress = [ProgbarLogger()] if verbose else []
        cbs = CallbackList([*progress, *(callbacks or []), history], self, params)
        self.history = history
        self.stop_training = False
        self.nan_stop = None

        leaves = self._staging.device_put(
            [*xs, *ys, sw], wait=lambda: jax.block_until_ready(self._params))
        x_dev, y_dev, sw_dev = (tuple(leaves[:len(xs)]), tuple(leaves[len(xs):-1]),
                                leaves[-1])
        if self._opt_state is None or self._train_rng is None:
            self._params, self._state, self._opt_state = engine.start_state(
                self._params, self._state, self._opt_state)
            # the program is shared by optimizers that differ in their learning rate only
            self._opt_state = optimizers.set_learning_rate(
                self._opt_state, self.optimizer.learning_rate)
            if self._train_rng is None:
                self._train_rng = global_rng.next_key()
        else:
            # owned copies through the epoch-snapshot program, which has this very shape:
            # a later fit compiles nothing before its first step
            _, (self._params, self._state, self._opt_state, self._train_rng) = \
                engine.copy_state((engine.zero_sums(), TrainState(
                    self._params, self._state, self._opt_state, self._train_rng)))
        shuffle_key = global_rng.next_key()

        self._callbacks = cbs  # BackupAndRestore keeps the other callbacks' state
        cbs.on_train_begin()
        # BackupAndRestore may have put the model back where an earlier run stopped
        resume, self._resume = self._resume, None
        if resume is not None:
            initial_epoch = resume["epoch"]
            shuffle_key = jnp.asarray(resume.get("shuffle_key", shuffle_key))
        shuffle_seed = np.asarray(shuffle_key, np.uint32).ravel().tolist()
        mask = engine.epoch_mask(n, steps, batch_size)
        batch_hooks = cbs.wants("on_train_batch_begin") or cbs.wants("on_train_batch_end")
        chunk_hooks = cbs.wants("on_chunk_end")
        limits = [c.max_chunk_steps for c in cbs.callbacks if c.max_chunk_steps]
        if self._steps_per_execution != "auto":
            limits.append(self._steps_per_execution)
        chunk = 1 if batch_hooks else min([steps, *limits])
        logs: dict[str, float] = {}
        for epoch in range(initial_epoch, epochs):
            cbs.on_epoch_begin(epoch)
            compiles_before = engine.traces["train"]
            start = time.perf_counter()
            self._opt_state = optimizers.set_learning_rate(
                self._opt_state, self.optimizer.learning_rate)
            order = engine.epoch_order(shuffle_seed, epoch, n, steps, batch_size,
                                       bool(shuffle))
            fit_data = (x_dev, y_dev, sw_dev, order, mask)
            first_step, sums = 0, jax.device_put(engine.zero_sums())
            if resume is not None and resume.get("step"):
                first_step, sums = resume["step"], jnp.asarray(resume["sums"], jnp.float32)
            resume = None
            # where this epoch started (a copy: the compiled calls donate their state), to
            # replay up to the last finite step should the loss stop being finite
            snapshot = (first_step, *engine.copy_state((sums, TrainState(
                self._params, self._state, self._opt_state, self._train_rng))))
            for first in range(first_step, steps, chunk):
                size = min(chunk, steps - first)
                if batch_hooks:
                    cbs.on_train_batch_begin(first)
                ts = TrainState(self._params, self._state, self._opt_state, self._train_rng)
                ts, sums = engine.train_chunk(ts, sums, x_dev, y_dev, sw_dev, order, mask,
                                              np.int32(first), size)
                self._params, self._state, self._opt_state, self._train_rng = ts
                self._fit_position = {"epoch": epoch, "step": first + size, "sums": sums,
                                      "shuffle_key": shuffle_key}
                if batch_hooks or chunk_hooks:
                    read = jax.device_get(sums)  # the one host read of this call
                    if engine.nan_step(read) is not None:
                        sums = self._rewind(engine, snapshot, sums, fit_data)
                        self._stop_on_nan(engine, sums, epoch)
                        break
                    logs = engine.logs(read)
                    if batch_hooks:
                        cbs.on_train_batch_end(first, logs)
                    if chunk_hooks:
                        cbs.on_chunk_end(first + size, logs)
                    if self.stop_training:
                        break
            read = jax.device_get(sums)  # the epoch's host read of its sums
            if engine.nan_step(read) is not None and not self.stop_training:
                sums = self._rewind(engine, snapshot, sums, fit_data)
                read = jax.device_get(sums)
            # the next epoch's key (the step keys are folded from this one), made on the host
            self._train_rng = global_rng.next_epoch_key(self._train_rng)
            logs = engine.logs(read)
            nan = self._stop_on_nan(engine, read, epoch)
            if val_batches is not None and not nan:
                val_logs = engine.logs(engine.evaluate_all(self._params, self._state,
                                                           *val_batches))
                logs.update({f"val_{k}": v for k, v in val_logs.items()})
            compiled = engine.traces["train"] > compiles_before
            self._epoch_compile_seconds = time.perf_counter() - start if compiled else None
            self._fit_position = {"epoch": epoch + 1, "step": 0, "sums": None,
                                  "shuffle_key": shuffle_key}
            cbs.on_epoch_end(epoch, logs)
            if self.stop_training:
                break
        cbs.on_train_end(logs)
        return history

    def _rewind(self, engine: Engine, snapshot, sums, fit_data):
        """The loss became non-finite at some step of this epoch: replay the epoch from its
        start up to the step before (same data order and keys, so the same numbers) and
        keep that state. Returns the sums of the finite steps, still marked."""
        bad = engine.nan_step(sums)
        first_step, sums0, ts0 = snapshot
        if bad > first_step:
            ts, sums0 = engine.train_chunk(ts0, sums0, *fit_data, np.int32(first_step),
                                           bad - first_step)
        else:
            ts = ts0
        self._params, self._state, self._opt_state, self._train_rng = ts
        return sums0.at[2].set(bad + 1.0)

    def _stop_on_nan(self, engine: Engine, sums, epoch: int) -> bool:
        """The compiled loop freezes the weights at the first non-finite loss and records
        its step; here that becomes a stop with a message."""
        step = engine.nan_step(sums)
        if step is None:
            return False
        if not self.stop_training:
            print(f"Loss became NaN or infinite at epoch {epoch + 1}, step {step + 1}: "
                  "training stopped; the model keeps the weights of the last finite step.",
                  file=sys.stderr)
        self.stop_training = True
        self.nan_stop = (epoch, step)
        return True

    # -- evaluate / predict -------------------------------------------------------------------
    def _eval_batches(self, xs: list[np.ndarray], ys: list[np.ndarray], sw, batch_size: int,
                      pad=None):
        """Padded batches on the device; `pad(key, array, batch_size)` from
        PaddedBuffers.lease, or fresh buffers (fit's validation data, which a callback's
        evaluate must not overwrite)."""
        pad = pad or staging.fresh_batches
        n = xs[0].shape[0]
        batch_size = min(batch_size, n)
        return jax.device_put((
            tuple(pad(("x", i), a, batch_size) for i, a in enumerate(xs)),
            tuple(pad(("y", i), a, batch_size) for i, a in enumerate(ys)),
            arrays.batch_mask(n, batch_size),
            None if sw is None else pad(("sw",), sw, batch_size)))

    def _sample_weights(self, sample_weight: Any, n: int, argument: str) -> np.ndarray | None:
        if sample_weight is None:
            return None
        sw = arrays.as_numeric(sample_weight, argument).astype(np.float32)
        if sw.ndim == 2 and sw.shape[1] == 1:
            sw = sw[:, 0]
        if sw.shape != (n,):
            raise ValueError(f"{argument} must have one weight per sample, shape ({n},). "
                             f"Received: {argument} with shape {sw.shape}.")
        return sw

    def _class_weights(self, class_weight: Any, ys: list[np.ndarray]) -> np.ndarray:
        if not isinstance(class_weight, dict) or len(ys) != 1:
            raise ValueError(
                "class_weight must be a dict {class index: weight} for a single-output model. "
                f"Received: class_weight={class_weight!r}")
        y = ys[0]
        labels = y if y.ndim == 1 else (y.argmax(-1) if y.shape[-1] > 1 else np.round(y[..., 0]))
        table = np.ones(int(max(labels.max(), *class_weight)) + 1, np.float32)
        for cls, weight in class_weight.items():
            if isinstance(cls, bool) or not isinstance(cls, int | np.integer) or cls < 0:
                raise ValueError(f"class_weight keys must be class indices (ints >= 0). "
                                 f"Received: class_weight={class_weight!r}")
            table[cls] = float(weight)
        return table[labels.astype(np.int64)]

    def evaluate(
        self, x: Any = None, y: Any = None, batch_size: int | None = None,
        verbose: int | str = "auto", sample_weight: Any = None, return_dict: bool = False,
        **kwargs: Any,
    ):
        if kwargs:
            raise TypeError(
                f"evaluate got unexpected keyword arguments: {', '.join(sorted(kwargs))}.")
        self._check_compiled("evaluate")
        batch_size = _positive_int(32 if batch_size is None else batch_size, "batch_size",
                                   "Use e.g. batch_size=100.")
        verbose = _verbosity(verbose)
        xs, ys = self._prepare_xy(x, y, method="evaluate")
        engine = self._require_compiled("evaluate")
        sw = self._sample_weights(sample_weight, xs[0].shape[0], "sample_weight")
        start = time.perf_counter()
        with self._padded.lease() as pad:
            logs = engine.logs(engine.evaluate_all(
                self._params, self._state, *self._eval_batches(xs, ys, sw, batch_size, pad)))
        if verbose:
            n = xs[0].shape[0]
            print(progbar.format_epoch_end(math.ceil(n / batch_size),
                                           time.perf_counter() - start, n, logs), flush=True)
        if return_dict:
            return logs
        values = [logs[name] for name in self.metrics_names]
        return values[0] if len(values) == 1 else values

    def predict(self, x: Any, batch_size: int | None = None, verbose: int | str = "auto",
                **kwargs: Any):
        if kwargs:
            raise TypeError(
                f"predict got unexpected keyword arguments: {', '.join(sorted(kwargs))}.")
        batch_size = _positive_int(32 if batch_size is None else batch_size, "batch_size",
                                   "Use e.g. batch_size=100.")
        verbose = _verbosity(verbose)
        xs = self._prepare_x(x)
        n = xs[0].shape[0]
        batch_size = min(batch_size, n)
        start = time.perf_counter()

        def unbatch(o):
            o = np.asarray(o)
            return o.reshape(-1, *o.shape[2:])[:n]

        with self._padded.lease() as pad:
            outs = self._predictor.predict_all(
                self._params, self._state,
                jax.device_put(tuple(pad(("x", i), a, batch_size)
                                     for i, a in enumerate(xs))))
            result = ([unbatch(o) for o in outs] if isinstance(outs, list | tuple)
                      else unbatch(outs))
        if verbose:
            print(progbar.format_epoch_end(math.ceil(n / batch_size),
                                           time.perf_counter() - start, n, {}), flush=True)
        return result

    def __call__(self, x: Any, training: bool = False) -> Any:
        """The model on a batch. training=True runs it as in fit (dropout on, batch
        statistics from the batch and moving statistics updated), as Keras does."""
        parts = x if isinstance(x, list | tuple) and len(self._input_names()) > 1 else [x]
        if all(isinstance(p, jax.Array) for p in parts) and self.built:
            xs = tuple(p.astype(jnp.float32) for p in parts)
        else:
            xs = tuple(self._prepare_x(x))
        if training:
            out, self._state = self._predictor.call_training(self._params, self._state, xs,
                                                             global_rng.next_key())
            return out
        return self._predictor.call(self._params, self._state, xs)

    # -- weights and summary --------------------------------------------------------------------
    def _weight_slots(self) -> list[tuple[int, str, str]]:
        """(layer index, 'params' or 'state', name) in Keras' get_weights order."""
        slots = []
        for i, layer in enumerate(self.layers):
            slots += [(i, "params", k) for k in layer.weight_names if k in self._params[i]]
            slots += [(i, "state", k) for k in getattr(layer, "state_names", ())
                      if k in self._state[i]]
        return slots

    def get_weights(self) -> list[np.ndarray]:
        self._require_built("its weights")
        trees = {"params": self._params, "state": self._state}
        return [np.array(trees[kind][i][k]) for i, kind, k in self._weight_slots()]

    def set_weights(self, weights: Sequence[Any]) -> None:
        self._require_built("its weights")
        slots = self._weight_slots()
        weights = list(weights)
        if len(weights) != len(slots):
            raise ValueError(
                f"set_weights expected a list of {len(slots)} arrays (the order of "
                f"get_weights()), received {len(weights)}."
            )
        trees = {"params": [dict(p) for p in self._params], "state": [dict(s) for s in self._state]}
        for (i, kind, k), w in zip(slots, weights, strict=True):
            current = trees[kind][i][k]
            w = np.asarray(w)
            if w.shape != current.shape:
                raise ValueError(
                    f"set_weights: weight '{k}' of layer '{self.layers[i].name}' has shape "
                    f"{current.shape}, received an array of shape {w.shape}."
                )
            # a private copy, sent with device_put (jnp.asarray compiles a program per shape)
            trees[kind][i][k] = jax.device_put(np.array(w, dtype=current.dtype))
        self._params, self._state = trees["params"], trees["state"]

    def count_params(self) -> int:
        self._require_built("its parameter count")
        return sum(int(np.prod(v.shape)) for tree in (self._params, self._state)
                   for d in tree for v in d.values())

    def summary(self, print_fn=None, line_length: int = 72) -> None:
        self._require_built("its summary")
        rows = [(layer.name, type(layer).__name__, layer.output_shape, layer.count_params())
                for layer in self.layers]
        trainable = sum(int(np.prod(v.shape)) for d in self._params for v in d.values())
        non_trainable = sum(int(np.prod(v.shape)) for d in self._state for v in d.values())
        text = summary_text(self.name, rows, trainable, non_trainable, line_length)
        (print_fn or print)(text)

    # -- saving (cornu.saving holds the format) ----------------------------------------------------
    def save(self, filepath: str, overwrite: bool = True) -> None:
        """One .cornu file: architecture, compile settings, weights, optimizer state."""
        from cornu.saving import save_model

        save_model(self, filepath, overwrite=overwrite)

    def save_weights(self, filepath: str, overwrite: bool = True) -> None:
        from cornu.saving import save_weights

        save_weights(self, filepath, overwrite=overwrite)

    def load_weights(self, filepath: str) -> None:
        from cornu.saving import load_weights

        load_weights(self, filepath)

    def get_compile_config(self) -> dict | None:
        """Compile settings by name (what a saved file holds), or None before compile()."""
        if self.optimizer is None:
            return None
        def loss_config(spec):
            return losses.get(spec).get_config()

        def metric_names(spec):
            return [m if isinstance(m, str) else m.name for m in (spec or [])]

        loss, metrics_spec = self._loss_spec, self._metric_specs
        config = {"optimizer": optimizers.serialize(self.optimizer)}
        if isinstance(loss, dict):
            config["loss"] = {name: loss_config(v) for name, v in loss.items()}
        elif isinstance(loss, list | tuple):
            config["loss"] = [loss_config(v) for v in loss]
        else:
            config["loss"] = loss_config(loss)
        if isinstance(metrics_spec, dict):
            config["metrics"] = {name: metric_names(v) for name, v in metrics_spec.items()}
        elif metrics_spec and all(isinstance(m, list | tuple) for m in metrics_spec):
            config["metrics"] = [metric_names(v) for v in metrics_spec]
        else:
            config["metrics"] = metric_names(metrics_spec)
        if self._loss_weights is not None:
            weights = self._loss_weights
            config["loss_weights"] = ({k: float(v) for k, v in weights.items()}
                                      if isinstance(weights, dict) else
                                      [float(v) for v in weights]
                                      if isinstance(weights, list | tuple) else float(weights))
        return config


def _leaves(spec: Any) -> list:
    """The names/objects inside a per-output spec (value, list, list of lists or dict)."""
    if spec is None:
        return []
    if isinstance(spec, dict):
        spec = list(spec.values())
    if isinstance(spec, list | tuple):
        return [leaf for item in spec for leaf in _leaves(item)]
    return [spec]


def metrics_get(identifier, loss, output_dim):
    """cornu.metrics.get, reachable inside compile() whose `metrics` argument shadows the
    module."""
    return metrics.get(identifier, loss, output_dim)


def output_activation_fn(layer: Layer):
    return activations.get(layer.output_activation)
