"""Model: the Keras facade (compile, fit, evaluate, predict, weights, summary).

A model owns its arrays as pytrees (`params`, `state`: one dict per layer, in
`layers` order); layers hold config only. All compiled work is in cornu.training.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from cornu import _deprecation, activations, losses, metrics, optimizers
from cornu.callbacks.history import History
from cornu.data import arrays
from cornu.layers.base import Layer, Shape
from cornu.reports import progbar
from cornu.reports.summary import summary_text
from cornu.training import rng as global_rng
from cornu.training.loop import Engine, Predictor
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
        self._metrics: list[metrics.Metric] = []
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

    def _forward(self, params, state, x, *, training: bool, rng, logits: bool):
        """(output, logits of the output activation or None, new state)."""
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

    # -- compile ------------------------------------------------------------------------------
    def compile(
        self,
        optimizer: str | optimizers.Optimizer = "rmsprop",
        loss: str | losses.Loss | None = None,
        metrics: Sequence[str | metrics.Metric] | None = None,
        steps_per_execution: int | str = "auto",
    ) -> None:
        if loss is None:
            raise ValueError(
                "compile needs a loss. Received: loss=None. For the lecture's classifier: "
                "loss='categorical_crossentropy'."
            )
        self.optimizer = optimizers.get(optimizer)
        self.loss = losses.get(loss)
        if metrics is None:
            metrics = []
        if isinstance(metrics, str):
            raise TypeError(
                f"metrics must be a list of names. Received: metrics={metrics!r}. "
                f"Use metrics=[{metrics!r}]."
            )
        self._metric_specs = list(metrics)
        if steps_per_execution != "auto":
            _positive_int(steps_per_execution, "steps_per_execution", "Use 'auto' or e.g. 100.")
        self._steps_per_execution = steps_per_execution
        # fail now on an unknown metric name, not at the first fit
        self._metrics = [metrics_get(m, self.loss, None) for m in self._metric_specs]
        self._engine = None
        self._opt_state = None
        if self.built:
            self._make_engine()

    def _make_engine(self) -> None:
        last = self.layers[-1]
        output_dim = self.output_shape[-1] if self.output_shape else None
        self._metrics = [metrics_get(m, self.loss, output_dim) for m in self._metric_specs]
        names = [m.name for m in self._metrics]
        if len(set(names)) != len(names) or "loss" in names:
            raise ValueError(f"metrics must have distinct names other than 'loss'. "
                             f"Received: metrics={self._metric_specs!r}")
        use_logits = (not self.loss.from_logits and self.loss.logits_of is not None
                      and last.output_activation == self.loss.logits_of)
        self._engine = Engine(self._forward, self.loss, self._metrics,
                              self.optimizer.transform(), use_logits, self._regularization())
        self._tx_optimizer = self.optimizer

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

    def _require_compiled(self, method: str) -> Engine:
        if self.optimizer is None or self.loss is None:
            raise ValueError(
                f"You must call compile() before {method}(). For example: "
                "model.compile(loss='categorical_crossentropy', optimizer='adam', "
                "metrics=['accuracy'])."
            )
        if self._engine is None:
            self._make_engine()
        return self._engine

    @property
    def metrics_names(self) -> list[str]:
        return ["loss", *(m.name for m in self._metrics)]

    # -- data ---------------------------------------------------------------------------------
    def _prepare_x(self, x: Any, argument: str = "x") -> np.ndarray:
        x = arrays.as_numeric(x, argument)
        if not self.built:
            self.build((None, *x.shape[1:]))
        arrays.check_features(x, self.input_shape, self.layers[0].name, argument)
        return x.astype(np.float32, copy=False)

    def _prepare_xy(self, x: Any, y: Any, names=("x", "y")) -> tuple[np.ndarray, np.ndarray]:
        x_arr = arrays.as_numeric(x, names[0])
        y_arr = arrays.as_numeric(y, names[1])
        arrays.check_lengths(x_arr, y_arr, *names)
        x_arr = self._prepare_x(x_arr, names[0])
        y_arr = arrays.check_labels(y_arr, self.loss, self.output_shape, names[1])
        return x_arr, y_arr

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
        initial_epoch: int = 0,
        **kwargs: Any,
    ) -> History:
        nb_epoch = _deprecation.renamed(kwargs, "nb_epoch", "epochs", "fit")
        epochs = _deprecation.pick(epochs, 1, nb_epoch, "nb_epoch", "epochs")
        if kwargs:
            raise TypeError(f"fit got unexpected keyword arguments: {', '.join(sorted(kwargs))}.")
        engine = self._require_compiled("fit")
        batch_size = _positive_int(32 if batch_size is None else batch_size, "batch_size",
                                   "Use e.g. batch_size=100.")
        if isinstance(epochs, bool) or not isinstance(epochs, int | np.integer) or epochs < 0:
            raise ValueError(f"epochs must be a non-negative integer. Received: epochs={epochs!r}")
        if isinstance(initial_epoch, bool) or not isinstance(initial_epoch, int) \
                or initial_epoch < 0:
            raise ValueError("initial_epoch must be a non-negative integer. "
                             f"Received: initial_epoch={initial_epoch!r}")
        verbose = _verbosity(verbose)
        if callbacks:
            raise NotImplementedError("callbacks are not supported yet; use History from fit.")
        if not (isinstance(validation_split, int | float) and 0.0 <= validation_split < 1.0):
            raise ValueError(
                "validation_split must be a number in [0, 1). "
                f"Received: validation_split={validation_split!r}. E.g. validation_split=0.1."
            )
        x_arr = arrays.as_numeric(x, "x")
        y_arr = arrays.as_numeric(y, "y")
        arrays.check_lengths(x_arr, y_arr)
        val = None
        if validation_data is not None:
            if not isinstance(validation_data, tuple | list) or len(validation_data) != 2:
                raise ValueError("validation_data must be a tuple (x_val, y_val). Received: "
                                 f"validation_data of type {type(validation_data).__name__}")
            val = validation_data
        elif validation_split > 0:
            split = int(x_arr.shape[0] * (1.0 - validation_split))
            if split == 0 or split == x_arr.shape[0]:
                raise ValueError(
                    f"validation_split={validation_split} leaves "
                    f"{'no training' if split == 0 else 'no validation'} samples out of "
                    f"{x_arr.shape[0]}. Use more data or another split."
                )
            val = (x_arr[split:], y_arr[split:])
            x_arr, y_arr = x_arr[:split], y_arr[:split]
        x_arr, y_arr = self._prepare_xy(x_arr, y_arr)
        if engine is not self._engine or self._engine is None:
            engine = self._require_compiled("fit")
        val_batches = None
        if val is not None:
            xv, yv = self._prepare_xy(val[0], val[1], ("validation_data[0]", "validation_data[1]"))
            val_batches = self._eval_batches(xv, yv, batch_size)

        n = x_arr.shape[0]
        steps = math.ceil(n / batch_size)
        chunk = steps if self._steps_per_execution == "auto" else min(
            steps, self._steps_per_execution)
        x_dev, y_dev = jax.device_put(x_arr), jax.device_put(y_arr)
        if self._opt_state is None:
            self._opt_state = engine.tx.init(self._params)
        # the compiled step donates its state: own every buffer once (no aliasing between
        # params, optimizer slots or arrays the caller still holds)
        self._params, self._state, self._opt_state = jax.tree.map(
            jnp.copy, (self._params, self._state, self._opt_state))
        if self._train_rng is None:
            self._train_rng = global_rng.next_key()
        shuffle_key = global_rng.next_key()

        history = History()
        history.params = {"verbose": verbose, "epochs": epochs, "steps": steps}
        history.model = self
        self.history = history
        self.stop_training = False
        printer = progbar.EpochPrinter(epochs) if verbose else None
        for epoch in range(initial_epoch, epochs):
            if printer:
                printer.epoch_begin(epoch)
            compiles_before = engine.traces["train"]
            start = time.perf_counter()
            self._opt_state = optimizers.set_learning_rate(
                self._opt_state, self.optimizer.learning_rate)
            order, mask = engine.epoch_indices(
                jax.random.fold_in(shuffle_key, epoch), n, steps, batch_size, bool(shuffle))
            ts = TrainState(self._params, self._state, self._opt_state, self._train_rng)
            sums = engine.zero_sums()
            for first in range(0, steps, chunk):
                size = min(chunk, steps - first)
                ts, sums = engine.train_chunk(ts, sums, x_dev, y_dev, order, mask,
                                              jnp.int32(first), size)
                self._params, self._state, self._opt_state, self._train_rng = ts
            logs = engine.logs(sums)
            if val_batches is not None:
                val_logs = engine.logs(engine.evaluate_all(self._params, self._state,
                                                           *val_batches))
                logs.update({f"val_{k}": v for k, v in val_logs.items()})
            seconds = time.perf_counter() - start
            history.append(epoch, logs)
            if printer:
                compiled = engine.traces["train"] > compiles_before
                printer.epoch_end(steps, seconds, n, logs, seconds if compiled else None)
            if self.stop_training:
                break
        return history

    # -- evaluate / predict -------------------------------------------------------------------
    def _eval_batches(self, x: np.ndarray, y: np.ndarray, batch_size: int):
        return (jax.device_put(arrays.pad_batches(x, batch_size)),
                jax.device_put(arrays.pad_batches(y, batch_size)),
                jax.device_put(arrays.batch_mask(x.shape[0], batch_size)))

    def evaluate(
        self, x: Any = None, y: Any = None, batch_size: int | None = None,
        verbose: int | str = "auto", return_dict: bool = False, **kwargs: Any,
    ):
        if kwargs:
            raise TypeError(
                f"evaluate got unexpected keyword arguments: {', '.join(sorted(kwargs))}.")
        engine = self._require_compiled("evaluate")
        batch_size = _positive_int(32 if batch_size is None else batch_size, "batch_size",
                                   "Use e.g. batch_size=100.")
        _verbosity(verbose)
        x_arr, y_arr = self._prepare_xy(x, y)
        engine = self._require_compiled("evaluate")
        logs = engine.logs(engine.evaluate_all(
            self._params, self._state, *self._eval_batches(x_arr, y_arr, batch_size)))
        if return_dict:
            return logs
        values = [logs[name] for name in self.metrics_names]
        return values[0] if len(values) == 1 else values

    def predict(self, x: Any, batch_size: int | None = None, verbose: int | str = "auto",
                **kwargs: Any) -> np.ndarray:
        if kwargs:
            raise TypeError(
                f"predict got unexpected keyword arguments: {', '.join(sorted(kwargs))}.")
        batch_size = _positive_int(32 if batch_size is None else batch_size, "batch_size",
                                   "Use e.g. batch_size=100.")
        _verbosity(verbose)
        x_arr = self._prepare_x(x)
        n = x_arr.shape[0]
        batch_size = min(batch_size, n)
        outs = self._predictor.predict_all(
            self._params, self._state, jax.device_put(arrays.pad_batches(x_arr, batch_size)))
        outs = np.asarray(outs)
        return outs.reshape(-1, *outs.shape[2:])[:n]

    def __call__(self, x: Any, training: bool = False) -> jax.Array:
        if training:
            raise NotImplementedError("model(x, training=True) is not supported yet.")
        if isinstance(x, jax.Array):
            if not self.built:
                self.build((None, *x.shape[1:]))
            return self._predictor.call(self._params, self._state, x.astype(jnp.float32))
        return self._predictor.call(self._params, self._state, self._prepare_x(x))

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
            trees[kind][i][k] = jnp.asarray(w, dtype=current.dtype)
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
        return {
            "optimizer": optimizers.serialize(self.optimizer),
            "loss": self.loss.get_config(),
            "metrics": [m if isinstance(m, str) else m.name for m in self._metric_specs],
        }


def metrics_get(identifier, loss, output_dim):
    return metrics.get(identifier, loss, output_dim)


def output_activation_fn(layer: Layer):
    return activations.get(layer.output_activation)
