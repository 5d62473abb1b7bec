"""Model: the Keras facade (compile, fit, evaluate, predict, weights, summary).

A model owns its arrays as pytrees (`params`, `state`: one dict per layer, in
`layers` order); layers hold config only. All compiled work is in cornu.training.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from cornu import _deprecation, devices, losses, metrics, optimizers, variables
from cornu.callbacks.base import CallbackList
from cornu.callbacks.history import History
from cornu.data import arrays, sources
from cornu.distribution import split
from cornu.layers.base import Layer, _spec_from_shapes, _trace_output_spec
from cornu.layers.input_layer import InputLayer
from cornu.layers.keras_tensor import KerasTensor
from cornu.metrics.compile_metrics import CompileMetrics
from cornu.random import keys as global_rng
from cornu.reports.summary import summary_text
from cornu.training import evaluate as evaluate_run
from cornu.training import stepped
from cornu.training import steps as step_protocol
from cornu.training.evaluate import refuse_distributed as _refuse_distributed
from cornu.training.fit import ArrayFit
from cornu.training.fit_stream import StreamFit
from cornu.training.loop import Engine, Head, Predictor
from cornu.training.state import Position, TrainState
from cornu.variables import Variable


def _positive_int(value: Any, argument: str, fix: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise ValueError(f"{argument} must be a positive integer. Received: {argument}={value!r}. "
                         f"{fix}")
    return int(value)


def _adjust_rank(x: np.ndarray, shape: Any) -> np.ndarray:
    """Keras' rank fix for an input whose last axis is 1: (n,) data for an (None, 1)
    input gains the axis, (n, k, 1) data for an (None, k) input loses it."""
    rank = len(shape)
    if x.ndim == rank - 1 and shape[-1] == 1:
        return x[..., None]
    if x.ndim == rank + 1 and x.shape[-1] == 1:
        return x[..., 0]
    return x


def _optional_positive_int(value: Any, argument: str) -> int | None:
    if value is None:
        return None
    return _positive_int(value, argument, f"Pass a number of batches, or {argument}=None.")


def _verbosity(verbose: Any) -> int:
    if verbose == "auto":
        return 1
    if verbose not in (0, 1, 2) or isinstance(verbose, bool):
        raise ValueError(f"verbose must be 'auto', 0, 1 or 2. Received: verbose={verbose!r}")
    return int(verbose)


def _deciding_rows(method: Any) -> Any:
    """fit, evaluate and predict: in a job of several processes, whether the arrays
    passed are the whole data on every process or each process's own rows is decided
    once for the call, from the data (x, y, sample_weight; fit's validation_data), by
    `devices.whose_rows`; one device or one process: the call as it is."""
    signature = inspect.signature(method)

    @functools.wraps(method)
    def call(self: Any, *args: Any, **kwargs: Any) -> Any:
        if devices.active() is None or jax.process_count() == 1:
            return method(self, *args, **kwargs)
        given = signature.bind_partial(self, *args, **kwargs).arguments
        data = (given.get("x"), given.get("y"), given.get("sample_weight"))
        with devices.whose_rows(data, given.get("validation_data")):
            return method(self, *args, **kwargs)

    return call


class Model(Layer):
    """A layer with a training API: compile, fit, evaluate, predict, save.

    `cornu.Model(inputs, outputs)` makes a functional model; subclasses make their layers
    in `__init__` and compute in `call`, as in Keras. The arrays live in the layers'
    variables; the compiled programs receive them as pytrees (`_params`: the trainable
    values, `_state`: the others, one dict per entry of `layers`) and write the results
    back.
    """

    def __new__(cls, *args: Any, **kwargs: Any):
        # Keras: Model(inputs, outputs) builds a functional model, and so does a subclass
        # of Model called that way (its train_step and other overrides kept)
        if args or "inputs" in kwargs:
            from cornu.models.functional import Functional

            if cls is Model:
                return Layer.__new__(Functional)
            if not issubclass(cls, Functional) and _takes_graph(cls):
                return Layer.__new__(_functional_subclass(cls))
        return Layer.__new__(cls, *args, **kwargs)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if args:
            raise TypeError(f"{type(self).__name__}() takes keyword arguments only (name=..., "
                            f"trainable=...); received {len(args)} positional arguments.")
        super().__init__(**kwargs)
        self._predictor = Predictor(self._forward)
        self._engine: Engine | None = None
        self.optimizer: optimizers.Optimizer | None = None
        self.loss: Any = None
        self._metric_specs: list[Any] = []
        self._weighted_specs: Any = None
        self._heads: list[Head] = []
        #: per output, compile's weighted_metrics (sample weights apply to these)
        self._weighted: list[tuple[Any, ...]] = []
        self._loss_spec: Any = None
        self._loss_weights: Any = None
        self._steps_per_execution: int | str = "auto"
        self._epoch_compile_seconds: float | None = None
        self.nan_stop: tuple[int, int] | None = None
        self._resume: Position | None = None
        self._fit_position: Position | None = None
        self._opt_state: Any = None
        self._train_rng: jax.Array | None = None
        self._engine_signature: Any = None
        self.history: History | None = None
        self.stop_training = False

    # -- structure --------------------------------------------------------------------------
    @property
    def layers(self) -> list[Layer]:
        """The layers the model holds (in the order they were set as attributes)."""
        return [layer for layer in self._layers if not isinstance(layer, InputLayer)]

    @property
    def output_shape(self) -> Any:
        shapes = self._output_shapes
        return shapes

    def build(self, input_shape: Any) -> None:
        """Build a subclassed model: trace `call` on inputs of this shape, which builds
        the layers it uses (as Keras' Model.build)."""
        _trace_output_spec(self, (_spec_from_shapes(input_shape),), {})
        self._build_shapes = input_shape

    def _ensure_built(self, shapes: list[tuple], dtypes: list[Any] | None = None) -> None:
        if self.built:
            return
        shapes = [(None, *s[1:]) for s in shapes]
        arg = shapes[0] if len(shapes) == 1 else shapes
        self.build(arg)
        object.__setattr__(self, "built", True)

    def _weight_slots(self) -> list[list[tuple[str, Variable]]]:
        """Per entry of `layers` (and one more for the model's own weights, if any): the
        (name, variable) pairs of its weights, each variable once in the model."""
        seen: set[int] = set()
        slots = []
        for layer in [*self.layers, self]:
            named = ([(v.name, v) for v in layer._own_variables()] if layer is self
                     else layer._named_weights())
            entry, names = [], set()
            for key, variable in named:
                if id(variable) in seen:
                    continue
                seen.add(id(variable))
                base, k = key, 1
                while key in names:
                    key, k = f"{base}_{k}", k + 1
                names.add(key)
                entry.append((key, variable))
            if layer is not self or entry:
                slots.append(entry)
        return slots

    def _engine_slots(self):
        """(trainable, non-trainable) per-entry dicts of variables, as the engine sees them
        (a frozen layer's weights are non-trainable). During a fit they are kept
        (`_slots_cache`): reading and writing the state between compiled calls must not
        walk the layers each time."""
        cached = self.__dict__.get("_slots_cache")
        if cached is not None:
            return cached
        return self._per_structure("_slots_versioned", self._walk_slots)

    def _walk_slots(self):
        trainable = {id(v) for v in self.trainable_weights}
        slots = self._weight_slots()
        return ([{k: v for k, v in entry if id(v) in trainable} for entry in slots],
                [{k: v for k, v in entry if id(v) not in trainable} for entry in slots])

    def _per_structure(self, key: str, make: Callable[[], Any]) -> Any:
        """`make()`, kept under `key` while variables.structure_version() stands still
        (walking the layers costs more than a small model's compiled call)."""
        version = variables.structure_version()
        kept = self.__dict__.get(key)
        if kept is None or kept[0] != version:
            kept = (version, make())
            self.__dict__[key] = kept
        return kept[1]

    def _values(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """(`_params`, `_state`) from one walk of the layers (evaluate, predict and calls
        read both; each walk costs about as much as a small model's compiled call)."""
        trainable, rest = self._engine_slots()
        return ([{k: v._value for k, v in d.items()} for d in trainable],
                [{k: v._value for k, v in d.items()} for d in rest])

    @property
    def _params(self) -> list[dict[str, Any]]:
        return [{k: v._value for k, v in d.items()} for d in self._engine_slots()[0]]

    @_params.setter
    def _params(self, trees) -> None:
        for d, values in zip(self._engine_slots()[0], trees, strict=True):
            for k, v in d.items():
                v._direct_assign(values[k])

    @property
    def _state(self) -> list[dict[str, Any]]:
        return [{k: v._value for k, v in d.items()} for d in self._engine_slots()[1]]

    @_state.setter
    def _state(self, trees) -> None:
        for d, values in zip(self._engine_slots()[1], trees, strict=True):
            for k, v in d.items():
                v._direct_assign(values[k])

    def _place_weights(self) -> None:
        """The weights where the active distribution lays them out (cornu/devices.py:
        replicated, or sharded by a LayoutMap); nothing without a distribution."""
        if devices.active() is None:
            return
        for trees in self._engine_slots():
            for entry in trees:
                for v in entry.values():
                    v._direct_assign(devices.put_variable(v._value, v))

    # -- the training-state API that saving and backups use ---------------------------------
    def weight_trees(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """(params, state): per entry of `layers` (and one for the model's own weights),
        the values of the weights created trainable and of the others, by name. Files hold
        these (`layers.{i}.params.{name}`), whatever is frozen when the model is saved."""
        slots = self._weight_slots()
        return ([{k: v._value for k, v in entry if v.trainable} for entry in slots],
                [{k: v._value for k, v in entry if not v.trainable} for entry in slots])

    def set_weight_trees(self, params: Sequence[Mapping[str, Any]],
                         state: Sequence[Mapping[str, Any]]) -> None:
        """Set the weights from `weight_trees()`-shaped values (checked by the caller)."""
        for entry, p, s in zip(self._weight_slots(), params, state, strict=True):
            for k, v in entry:
                v._direct_assign((p if v.trainable else s)[k])

    @property
    def train_state(self) -> TrainState:
        """The arrays a fit carries: trainable values and layer state (per entry of
        `layers`, as the engine sees them: a frozen layer's weights are state), the
        optimizer state and the training key (None until the first fit)."""
        return TrainState(self._params, self._state, self._opt_state, self._train_rng)

    @train_state.setter
    def train_state(self, ts: TrainState) -> None:
        self._params, self._state, self._opt_state, self._train_rng = ts

    @property
    def fit_position(self) -> Position | None:
        """Where the current (or last) fit is: the epoch and step its next call starts."""
        return self._fit_position

    @fit_position.setter
    def fit_position(self, position: Position | None) -> None:
        self._fit_position = position

    def resume_at(self, position: Position) -> None:
        """Make the next fit start at `position` (BackupAndRestore, after a restore)."""
        self._resume = position

    def take_resume(self) -> Position | None:
        """The position set by resume_at, once (the fit that starts there takes it)."""
        resume, self._resume = self._resume, None
        return resume

    def _forward(self, params, state, x, *, training: bool, rng, logits: bool,
                 sample_mask=None, masks: bool = False):
        """(output, logits of softmax/sigmoid outputs or None, new state, extra loss): the
        model's call traced with the variables reading `params` and `state`. The extra loss
        is the sum of add_loss values and weight regularization (0.0 if none). With
        `masks`, a fifth item: each output's mask (Embedding(mask_zero=True)) or None."""
        tslots, nslots = self._engine_slots()
        mapping = [(v, p[k]) for d, p in zip(tslots, params, strict=True) for k, v in d.items()]
        mapping += [(v, s[k]) for d, s in zip(nslots, state, strict=True) for k, v in d.items()]
        with variables.StatelessScope(mapping, rng=rng, sample_mask=sample_mask) as scope:
            out = Layer.__call__(self, x, training=training)
            if isinstance(out, Mapping):  # dict outputs, in the order of output_names
                out = [out[name] for name in self.output_names]
            extra = [jnp.sum(jnp.asarray(v, jnp.float32)) for v in scope.losses]
            penalty = self._regularization()
            if penalty is not None:
                extra.append(jnp.asarray(penalty, jnp.float32))
            new_state = [{k: scope.get_current_value(v) for k, v in d.items()} for d in nslots]
            zs = None
            if logits:
                zs = [scope.logits_of(o) for o in _as_list(out)]  # (logits, kind) or None
            found = [scope.mask_of(o) for o in _as_list(out)] if masks else None
        total = sum(extra[1:], extra[0]) if extra else jnp.zeros((), jnp.float32)
        if masks:
            return out, zs, new_state, total, found
        return out, zs, new_state, total

    def _require_built(self, what: str) -> None:
        if not self.built:
            raise ValueError(
                f"Model '{self.name}' is not built yet, so {what} is unknown. Give the first "
                "layer input_shape=(...) (or start with cornu.Input(shape=...)), or call the "
                "model on data first."
            )

    # -- outputs and inputs -------------------------------------------------------------------
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
        shapes = self._output_shapes
        if isinstance(shapes, list) and shapes and isinstance(shapes[0], tuple):
            return [f"output_{i}" for i in range(len(shapes))]
        return ["output_0"]

    def _input_names(self) -> list[str]:
        return ["input"]

    def _input_dtypes(self) -> list[Any]:
        return [None] * len(self._input_names())

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
        weighted_metrics: Any = None,
        **kwargs: Any,
    ) -> None:
        """Keras' compile. `loss`, `metrics`, `weighted_metrics` and `loss_weights` may be
        given per output (a list in output order, or a dict by output layer name).
        `weighted_metrics` see the sample weights (and class weights); `metrics` do not."""
        if kwargs:
            raise TypeError(
                f"compile got unexpected keyword arguments: {', '.join(sorted(kwargs))}.")
        for argument, value in (("metrics", metrics), ("weighted_metrics", weighted_metrics)):
            if isinstance(value, str):
                raise TypeError(
                    f"{argument} must be a list of names. Received: {argument}={value!r}. "
                    f"Use {argument}=[{value!r}]."
                )
        if steps_per_execution != "auto":
            _positive_int(steps_per_execution, "steps_per_execution", "Use 'auto' or e.g. 100.")
        self.optimizer = optimizers.get(optimizer)
        # resolve every name now, so a misspelling fails at compile, not at the first fit
        for spec in _leaves(loss):
            losses.get(spec)
        # a metric class becomes one instance here (so its automatic name is made once)
        metrics = _map_leaves(metrics, lambda spec: metrics_get(spec, None, None)
                              if isinstance(spec, type) else spec)
        weighted_metrics = _map_leaves(weighted_metrics, lambda spec: metrics_get(spec, None, None)
                                       if isinstance(spec, type) else spec)
        for spec in _leaves(metrics) + _leaves(weighted_metrics):
            metrics_get(spec, None, None)
        self._loss_spec, self._metric_specs, self._loss_weights = loss, metrics, loss_weights
        self._weighted_specs = weighted_metrics or None
        self.loss = (losses.get(loss) if loss is not None and not isinstance(
            loss, list | tuple | dict) else loss)
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
        if self._loss_spec is None:  # the model's own add_loss values are the loss
            self._heads = []
            self._weighted = []
            object.__setattr__(self, "_compile_metrics", None)
            object.__setattr__(self, "_output_loss_trackers", [])
            self._engine = Engine(self._forward, [], self.optimizer.transform(),
                                  tx_key=self.optimizer.transform_key(),
                                  split_blocker=split.blocker(self, has_loss=False),
                                  recurrent=split.is_recurrent(self))
            self._engine_signature = self._trainable_signature()
            return
        names = self.output_names
        shapes = self._shapes(self.output_shape)
        loss_list = self._per_output(self._loss_spec, "loss", names, None)
        metric_lists = self._per_output(self._metric_specs or [], "metrics", names, [])
        weighted_lists = self._per_output(self._weighted_specs or [], "metrics", names, [])
        weights = self._per_output(self._loss_weights, "loss_weights", names, 1.0) \
            if self._loss_weights is not None else [1.0] * len(names)
        masked = _masked_outputs(self, len(names))
        heads, weighted = [], []
        for k, name in enumerate(names):
            if loss_list[k] is None:
                raise ValueError(f"loss gives no loss for output '{name}'.")
            loss = losses.get(loss_list[k])
            metric_objs = tuple(metrics_get(m, loss, shapes[k][-1]) for m in metric_lists[k])
            for metric in metric_objs:  # per-class variables (F1Score), before any step
                if hasattr(metric, "build_for_output"):
                    metric.build_for_output(tuple(shapes[k]))
            seen = [m.name for m in metric_objs]
            if len(set(seen)) != len(seen) or "loss" in seen:
                raise ValueError(f"metrics must have distinct names other than 'loss'. "
                                 f"Received: metrics={self._metric_specs!r}")
            # a softmax/sigmoid output is fed to its cross-entropy as logits (when the
            # traced call shows where the output came from)
            use_logits = not loss.from_logits and loss.logits_of is not None
            heads.append(Head("" if len(names) == 1 else name, loss, metric_objs,
                              float(weights[k]), use_logits, masked[k]))
            weighted_objs = tuple(metrics_get(m, loss, shapes[k][-1]) for m in weighted_lists[k])
            for metric in weighted_objs:  # Keras: "weighted_" where the name is taken
                if hasattr(metric, "build_for_output"):
                    metric.build_for_output(tuple(shapes[k]))
                if metric.name in seen:
                    metric.name = f"weighted_{metric.name}"
                seen.append(metric.name)
            weighted.append(weighted_objs)
        self._heads = heads
        self._weighted = weighted
        compiled = CompileMetrics([h.metrics for h in heads], weighted,
                                  [h.name for h in heads], names)
        object.__setattr__(self, "_compile_metrics", compiled if compiled.metrics else None)
        # Keras: with several outputs, a Mean of each output's loss, updated by compute_loss
        object.__setattr__(self, "_output_loss_trackers", [
            metrics.Mean(name=f"{head.name}_loss") for head in heads] if len(heads) > 1 else [])
        self._engine = Engine(self._forward, heads, self.optimizer.transform(),
                              tx_key=self.optimizer.transform_key(),
                              constraints=self._constraints(),
                              split_blocker=split.blocker(self),
                              recurrent=split.is_recurrent(self))
        self._engine_signature = self._trainable_signature()

    def _trainable_signature(self) -> tuple:
        """Which weights train now (kept per structure version: a stream's batches ask)."""
        return self._per_structure("_signature_versioned",
                                   lambda: tuple(id(v) for v in self.trainable_weights))

    def _constraints(self):
        """Per-entry dicts of the trainable weights' constraints (None where there are
        none): the engine applies them after each update."""
        found = [{k: v.constraint for k, v in d.items() if v.constraint is not None}
                 for d in self._engine_slots()[0]]
        return found if any(found) else None

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
        if self._engine is not None and self._engine_signature != self._trainable_signature():
            # a layer was frozen or unfrozen since compile: the optimizer starts afresh on
            # the new set of trainable weights (what compile() again would do)
            self._engine, self._opt_state = None, None
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

    def _expected_input_shapes(self) -> list[Any] | None:
        """The input shapes the model was built for (None entries: not known)."""
        shapes = self._build_shapes
        if shapes is None:
            return None
        return list(shapes) if isinstance(shapes, list) else [shapes]

    def _host_steps(self) -> dict[int, Any]:
        """Input index -> the layer that maps that string input to numbers on the host
        (a StringLookup or TextVectorization reading an Input(dtype="string")): strings
        never enter a compiled program (docs/data.md)."""
        if not self.built or "string" not in self._input_dtypes():
            return {}
        steps = {}
        for i, t in enumerate(self.inputs):
            if t.dtype != "string":
                continue
            readers = [layer for layer in self.layers if any(
                any(u is t for u in node.inputs) for node in layer._inbound_nodes)]
            if len(readers) != 1 or not hasattr(readers[0], "host_map"):
                raise ValueError(
                    f"Model '{self.name}': the string input '{t.layer.name}' must be read by "
                    "exactly one StringLookup or TextVectorization layer, which maps the "
                    "strings to numbers on the host before the compiled model. Received "
                    f"readers: {[r.name for r in readers]}")
            steps[i] = readers[0]
        return steps

    def _prepare_x(self, x: Any, argument: str = "x") -> list[np.ndarray]:
        hosts = self._host_steps()
        parts = [hosts[i].host_map(p) if i in hosts else
                 arrays.as_numeric(p, argument if i == 0 else f"{argument}[{i}]")
                 for i, p in enumerate(self._split_inputs(x, argument))]
        if hosts:  # mapped on the host: their shapes and dtypes are the layers' outputs
            return self._check_lengths(parts, argument)
        if not self.built:
            self._ensure_built([p.shape for p in parts],
                               [_input_dtype(p.dtype, None) for p in parts])
        expected = self._expected_input_shapes() or [None] * len(parts)
        for i, (part, shape, name) in enumerate(zip(
                parts, expected, self._input_names(), strict=True)):
            label = argument if len(parts) == 1 else f"{argument}[{i}]"
            if shape is not None:
                part = parts[i] = _adjust_rank(part, shape)
                arrays.check_features(part, shape, name, label)
            if part.shape[0] != parts[0].shape[0]:
                arrays.check_lengths(parts[0], part, f"{argument}[0]", label)
        # as Keras: inputs become the dtype of their Input (float32 by default); values that
        # overflow it are refused (checked after the cast)
        return [arrays.cast(p, _input_dtype(p.dtype, d),
                            argument if len(parts) == 1 else f"{argument}[{i}]")
                for i, (p, d) in enumerate(zip(parts, self._input_dtypes(), strict=True))]

    def _check_lengths(self, parts: list[np.ndarray], argument: str) -> list[np.ndarray]:
        for i, part in enumerate(parts):
            if part.shape[0] != parts[0].shape[0]:
                arrays.check_lengths(parts[0], part, f"{argument}[0]", f"{argument}[{i}]")
        return parts

    def _prepare_y(self, y: Any, n: int, argument: str = "y", x_argument: str = "x"
                   ) -> list[np.ndarray]:
        if self._loss_spec is None:  # no compiled loss: targets go to the steps as given
            return [np.asarray(a) for a in jax.tree.leaves(y)]
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
                    f"{x_argument} and {label} must have the same number of samples. "
                    f"Received: {x_argument}.shape[0]={n}, {label}.shape[0]={arr.shape[0]}. "
                    "Pass one label per sample."
                )
            checked = arrays.check_labels(arr, head.loss, shape, label)
            if self._uses_steps():
                # Keras' steps see the targets as given (floats as float32): users' losses,
                # metrics and train_step read their shape, e.g. (n, 1) sparse labels
                checked = arrays.cast(arr, np.float32 if arrays.is_floating(arr.dtype)
                                      else arr.dtype, label)
            out.append(checked)
        return out

    def _prepare_xy(self, x: Any, y: Any, names=("x", "y"), method: str = "fit"):
        if y is None and self._loss_spec is not None:
            raise ValueError(f"{names[1]} is required. Received: {names[1]}=None. "
                             f"Pass the labels, e.g. model.fit(x_train, y_train).")
        xs = self._prepare_x(x, names[0])
        self._require_compiled(method)
        return xs, self._prepare_y(y, xs[0].shape[0], names[1], names[0])

    # -- fit ----------------------------------------------------------------------------------
    @_deciding_rows
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
        steps_per_epoch: int | None = None,
        validation_steps: int | None = None,
        validation_batch_size: int | None = None,
        validation_freq: int = 1,
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
        steps_per_epoch = _optional_positive_int(steps_per_epoch, "steps_per_epoch")
        validation_steps = _optional_positive_int(validation_steps, "validation_steps")
        validation_freq = _positive_int(validation_freq, "validation_freq",
                                        "Use e.g. validation_freq=1 (every epoch).")
        val_stream = None
        if validation_data is not None and sources.is_stream(validation_data):
            val_stream = sources.EpochIterator(
                sources.stream_of(validation_data, "validation_data"), validation_steps)
        if sources.is_mapped(x) or sources.is_mapped(y):
            return self._fit_mapped(
                x, y, batch_size=batch_size, sample_weight=sample_weight,
                class_weight=class_weight, validation_split=validation_split,
                validation_data=validation_data, val_stream=val_stream,
                validation_batch_size=validation_batch_size, validation_steps=validation_steps,
                shuffle=bool(shuffle), steps_per_epoch=steps_per_epoch, epochs=epochs,
                verbose=verbose, callbacks=callbacks, initial_epoch=initial_epoch,
                validation_freq=validation_freq)
        if sources.is_stream(x):
            self._refuse_with_stream(x, y=y, sample_weight=sample_weight,
                                     class_weight=class_weight,
                                     validation_split=validation_split)
            if val_stream is None and validation_data is not None:
                val_stream = self._array_stream(validation_data, "validation_data",
                                                validation_batch_size or batch_size,
                                                validation_steps)
            seed = np.asarray(global_rng.next_key(), np.uint32).tolist()
            train = sources.EpochIterator(sources.stream_of(x, "x", bool(shuffle), seed),
                                          steps_per_epoch)
            return self._fit_stream(train, val_stream, prepared=False, epochs=epochs,
                                    verbose=verbose, callbacks=callbacks,
                                    initial_epoch=initial_epoch,
                                    validation_freq=validation_freq)
        xs, ys = self._prepare_xy(x, y)
        engine = self._require_compiled("fit")
        sw = self._sample_weights(sample_weight, xs[0].shape[0], "sample_weight")
        if class_weight is not None:
            cw = self._class_weights(class_weight, ys)
            sw = cw if sw is None else sw * cw
        val = None
        if validation_data is not None and val_stream is None:
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
            (xs, ys, sw), val = _split_rows(validation_split, xs, ys, sw)
        # as Keras: a batch larger than the data is the data (no padding beyond it)
        batch_size = min(batch_size, max(1, xs[0].shape[0]))
        val_batch_size = batch_size if validation_batch_size is None else _positive_int(
            validation_batch_size, "validation_batch_size", "Use e.g. validation_batch_size=100.")
        if val is not None and (val_stream is None):
            if self._uses_steps() or steps_per_epoch or validation_steps or \
                    validation_freq != 1 or devices.per_process():
                val_stream = sources.EpochIterator(sources.ArrayBatches(
                    val[0], val[1], val[2], min(val_batch_size, val[0][0].shape[0])),
                    validation_steps)
                val = None
        # (each process passing its own rows: batch by batch, each its own part)
        if self._uses_steps() or steps_per_epoch or val_stream is not None or \
                devices.per_process():
            seed = np.asarray(global_rng.next_key(), np.uint32).tolist()
            train = sources.ArrayBatches(xs, ys, sw, batch_size, bool(shuffle), seed)
            return self._fit_stream(sources.EpochIterator(train, steps_per_epoch), val_stream,
                                    prepared=True, epochs=epochs, verbose=verbose,
                                    callbacks=callbacks, initial_epoch=initial_epoch,
                                    validation_freq=validation_freq)
        val_batches = (self._eval_batches(*val, min(val_batch_size, val[0][0].shape[0]))
                       if val is not None else None)
        self.__dict__.pop("_slots_cache", None)
        self.__dict__["_slots_cache"] = self._engine_slots()  # dropped when the fit ends
        try:
            return ArrayFit(self, engine, xs, ys, sw, batch_size=batch_size,
                            shuffle=bool(shuffle), val_batches=val_batches, epochs=epochs,
                            initial_epoch=initial_epoch, verbose=verbose,
                            callbacks=callbacks).run()
        finally:
            self.__dict__.pop("_slots_cache", None)

    def _fit_stream(self, train: sources.EpochIterator, val: Any, *, prepared: bool,
                    epochs: int, verbose: int, callbacks: Any, initial_epoch: int,
                    validation_freq: int) -> History:
        """A fit on batches read one by one: by chunks through the compiled programs
        (fit_stream.py), or one step per batch for models with their own steps."""
        from cornu.callbacks.backup import BackupAndRestore

        backups = [c for c in callbacks or [] if isinstance(c, BackupAndRestore)]
        steps = self._stream_uses_steps(train)
        if backups and steps:
            raise ValueError(
                "BackupAndRestore resumes the compiled fit; this model runs one step per "
                "batch (it has a stateful metric or its own train_step), which cannot "
                "resume yet. Save checkpoints with ModelCheckpoint instead.")
        if any(c.save_freq != "epoch" for c in backups) and not train.resumable:
            raise ValueError(
                "BackupAndRestore with an integer save_freq resumes in the middle of an "
                "epoch, which a generator or plain iterable cannot do (it cannot say where "
                "it was). Use save_freq='epoch' with such a source, or a PyDataset or grain "
                "source. Received: save_freq="
                f"{next(c.save_freq for c in backups if c.save_freq != 'epoch')!r}")
        if steps:
            _refuse_distributed("fit with the model's own train_step or a stateful metric")
            return stepped.fit(self, train, val=val, val_prepared=isinstance(
                getattr(val, "batches", None), sources.ArrayBatches), epochs=epochs,
                verbose=verbose, callbacks=callbacks, initial_epoch=initial_epoch,
                validation_freq=validation_freq, prepared=prepared,
                batch_size=getattr(train.batches, "batch_size", None),
                samples=train.batches.xs[0].shape[0] if prepared else None)
        self.__dict__.pop("_slots_cache", None)
        self.__dict__["_slots_cache"] = self._engine_slots()  # dropped when the fit ends
        try:
            return StreamFit(self, train, val=val, epochs=epochs, initial_epoch=initial_epoch,
                             verbose=verbose, callbacks=callbacks,
                             validation_freq=validation_freq).run()
        finally:
            self.__dict__.pop("_slots_cache", None)

    def _fit_mapped(self, x: Any, y: Any, *, batch_size: int, sample_weight: Any,
                    class_weight: Any, validation_split: float, validation_data: Any,
                    val_stream: Any, validation_batch_size: int | None,
                    validation_steps: int | None, shuffle: bool, **run: Any) -> History:
        """x or y in file mappings (np.memmap, np.load(mmap_mode=...)): read batch by
        batch through the stream run, each batch checked as fit checks arrays; never
        copied whole (docs/data.md)."""
        if y is None and self._loss_spec is not None:
            raise ValueError("y is required. Received: y=None. Pass the labels, e.g. "
                             "model.fit(x_train, y_train).")
        xs, ys = self._mapped_parts(x, y, "x")
        n = xs[0].shape[0]
        sw = self._sample_weights(sample_weight, n, "sample_weight")
        if class_weight is not None:
            cw = self._class_weights(class_weight, [np.asarray(a) for a in ys or []])
            sw = cw if sw is None else sw * cw
        val = val_stream
        if validation_data is not None and val is None:
            if not isinstance(validation_data, tuple | list) or \
                    len(validation_data) not in (2, 3):
                raise ValueError("validation_data must be a tuple (x_val, y_val) or (x_val, "
                                 "y_val, sample_weight_val), or a source of batches. Received: "
                                 f"validation_data of type {type(validation_data).__name__}")
            vx, vy = self._mapped_parts(*validation_data[:2], "validation_data[0]")
            vsw = None if len(validation_data) == 2 else self._sample_weights(
                validation_data[2], vx[0].shape[0], "validation_data[2]")
            val = sources.EpochIterator(sources.MappedBatches(
                vx, vy, vsw,
                min(validation_batch_size or batch_size, vx[0].shape[0])), validation_steps)
        elif validation_split > 0:
            (xs, ys, sw), (vx, vy, vsw) = _split_rows(validation_split, xs, ys, sw)
            n = xs[0].shape[0]
            val = sources.EpochIterator(sources.MappedBatches(
                vx, vy, vsw, min(validation_batch_size or batch_size, vx[0].shape[0])),
                validation_steps)
        seed = np.asarray(global_rng.next_key(), np.uint32).tolist()
        train = sources.EpochIterator(sources.MappedBatches(
            xs, ys, sw, min(batch_size, n), shuffle, seed), run.pop("steps_per_epoch"))
        return self._fit_stream(train, val, prepared=False, **run)

    def _mapped_parts(self, x: Any, y: Any, argument: str) -> tuple[list, list | None]:
        """Inputs and targets as arrays that may read file mappings: their values are not
        read here (each batch is checked when it is read)."""
        xs = [arrays.as_numeric(p, argument, False) for p in self._split_inputs(x, argument)]
        ys = None if y is None else [a if isinstance(a, np.ndarray) else np.asarray(a)
                                     for a in (y if isinstance(y, list | tuple) else [y])]
        return xs, ys

    def _stream_uses_steps(self, data: sources.EpochIterator, method: str = "fit") -> bool:
        """Whether a stream goes one step per batch (Keras' step protocol); an unbuilt
        model is built from the stream's first batch first (which the stream keeps)."""
        if not self.built:
            first = data.batches.peek()
            if first is None:
                return True  # empty: the step runs say so, as Keras
            x, _, _ = sources.unpack(sources.to_numpy(first))
            if x is None:
                return True
            self._prepare_x(x, "a batch of x")
        if method == "predict":
            return type(self).predict_step is not Model.predict_step
        self._require_compiled(method)
        return self._uses_steps()

    # -- Keras' step protocol: one jitted step per batch (training/steps.py) ---------------
    def _step_programs(self) -> step_protocol.StepPrograms:
        programs = self.__dict__.get("_steps_programs")
        if self.optimizer is not None and not self.optimizer.built:
            self.optimizer.build(self.trainable_variables)
        signature = self._trainable_signature()
        if programs is None or programs.signature != signature or \
                programs.optimizer is not self.optimizer:  # frozen, or recompiled: anew
            programs = step_protocol.StepPrograms(self)
            programs.signature, programs.optimizer = signature, self.optimizer
            object.__setattr__(self, "_steps_programs", programs)
        return programs

    def _metrics_result_or_logs(self, logs: Any) -> dict[str, float]:
        """As Keras: the metrics' results (in their order) when a step's logs name the same
        metrics, or is not a dict; else the step's own logs."""
        results = self.get_metrics_result()
        if not isinstance(logs, dict) or set(logs) == set(results):
            return stepped.floats(results)
        return stepped.floats(logs)

    def _refuse_with_stream(self, x: Any, **arguments: Any) -> None:
        """The arguments a batch source carries itself (as Keras refuses them)."""
        given = [k for k, v in arguments.items()
                 if v is not None and not (isinstance(v, int | float) and v == 0)]
        if given:
            raise ValueError(
                f"{given[0]} is not supported when x is a {type(x).__name__} (a source of "
                f"batches): its batches carry the targets and sample weights. Received: "
                f"{given[0]}={arguments[given[0]]!r}. Yield (x, y) or (x, y, sample_weight) "
                "batches instead.")

    def _array_stream(self, data: Any, argument: str, batch_size: int,
                      steps: int | None) -> sources.EpochIterator:
        """In-memory (x, y[, sample_weight]) as a stream of checked batches."""
        if not isinstance(data, tuple | list) or len(data) not in (2, 3):
            raise ValueError(f"{argument} must be a tuple (x_val, y_val) or (x_val, y_val, "
                             f"sample_weight_val), or a source of batches. Received: "
                             f"{argument} of type {type(data).__name__}")
        xs, ys = self._prepare_xy(*data[:2], (f"{argument}[0]", f"{argument}[1]"))
        sw = None if len(data) == 2 else self._sample_weights(
            data[2], xs[0].shape[0], f"{argument}[2]")
        return sources.EpochIterator(
            sources.ArrayBatches(xs, ys, sw, min(batch_size, xs[0].shape[0])), steps)

    # -- evaluate / predict -------------------------------------------------------------------
    def _eval_batches(self, xs: list[np.ndarray], ys: list[np.ndarray], sw, batch_size: int):
        """The evaluation program's batches and mask on the device (training/evaluate.py)."""
        return evaluate_run.eval_batches(xs, ys, sw, batch_size)

    def _sample_weights(self, sample_weight: Any, n: int, argument: str) -> np.ndarray | None:
        if sample_weight is None:
            return None
        sw = arrays.cast(arrays.as_numeric(sample_weight, argument), np.float32, argument)
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
        # the table is sized by the classes the labels and the output can hold, never by
        # a key (class_weight={10**12: 1.0} must not allocate terabytes)
        width = y.shape[-1] if y.ndim > 1 and y.shape[-1] > 1 else 2
        outputs = self._shapes(self.output_shape)[0][-1] if self.built else None
        if isinstance(outputs, int) and outputs > 1:  # Keras: any class the model outputs,
            width = max(width, outputs)  # whether or not these labels hold it
        classes = max(int(labels.max()) + 1 if labels.size else 0, width)
        table = np.ones(classes, np.float32)
        for cls, weight in class_weight.items():
            if isinstance(cls, bool) or not isinstance(cls, int | np.integer) or cls < 0:
                raise ValueError(f"class_weight keys must be class indices (ints >= 0). "
                                 f"Received: class_weight={class_weight!r}")
            if cls >= classes:
                raise ValueError(
                    f"class_weight names class {cls}, but the labels and the model's output "
                    f"have {classes} classes (0..{classes - 1}). Received: "
                    f"class_weight with keys {sorted(class_weight)[:5]}.")
            if isinstance(weight, bool) or not isinstance(weight, int | float | np.number):
                raise ValueError(f"class_weight values must be numbers. Received: "
                                 f"class_weight[{cls}]={weight!r}")
            if not np.isfinite(weight) or abs(float(weight)) > float(np.finfo(np.float32).max):
                raise ValueError(
                    f"class_weight values must be finite numbers within float32's range "
                    f"(the loss is weighted in float32). Received: class_weight[{cls}]="
                    f"{weight!r}")
            table[cls] = float(weight)
        return table[labels.astype(np.int64)]

    @_deciding_rows
    def evaluate(
        self, x: Any = None, y: Any = None, batch_size: int | None = None,
        verbose: int | str = "auto", sample_weight: Any = None, steps: int | None = None,
        callbacks: Sequence[Any] | None = None, return_dict: bool = False,
        **kwargs: Any,
    ):
        if kwargs:
            raise TypeError(
                f"evaluate got unexpected keyword arguments: {', '.join(sorted(kwargs))}.")
        self._check_compiled("evaluate")
        self.__dict__.pop("_slots_cache", None)
        batch_size = _positive_int(32 if batch_size is None else batch_size, "batch_size",
                                   "Use e.g. batch_size=100.")
        verbose = _verbosity(verbose)
        steps = _optional_positive_int(steps, "steps")
        cbs = CallbackList(list(callbacks or []), self,
                           {"verbose": verbose, "epochs": 1, "steps": steps})
        logs = evaluate_run.evaluate(self, x, y, batch_size=batch_size, verbose=verbose,
                                     sample_weight=sample_weight, steps=steps, cbs=cbs)
        return self._evaluate_result(logs, return_dict)

    def _evaluate_result(self, logs: dict[str, float], return_dict: bool) -> Any:
        if return_dict:
            return logs
        names = [n for n in self.metrics_names if n in logs]
        values = [logs[n] for n in names] if len(names) == len(logs) else list(logs.values())
        return values[0] if len(values) == 1 else values

    @_deciding_rows
    def predict(self, x: Any, batch_size: int | None = None, verbose: int | str = "auto",
                steps: int | None = None, callbacks: Sequence[Any] | None = None,
                **kwargs: Any):
        if kwargs:
            raise TypeError(
                f"predict got unexpected keyword arguments: {', '.join(sorted(kwargs))}.")
        batch_size = _positive_int(32 if batch_size is None else batch_size, "batch_size",
                                   "Use e.g. batch_size=100.")
        verbose = _verbosity(verbose)
        self.__dict__.pop("_slots_cache", None)
        steps = _optional_positive_int(steps, "steps")
        cbs = CallbackList(list(callbacks or []), self,
                           {"verbose": verbose, "epochs": 1, "steps": steps})
        return evaluate_run.predict(self, x, batch_size=batch_size, verbose=verbose,
                                    steps=steps, cbs=cbs,
                                    own_step=type(self).predict_step is not Model.predict_step)

    def _as_output_struct(self, result: Any) -> Any:
        """A functional model with dict outputs predicts a dict, as Keras."""
        if isinstance(getattr(self, "_outputs_struct", None), Mapping) and \
                isinstance(result, list | tuple):
            return dict(zip(self._outputs_struct, result, strict=True))
        return result

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """The model on a batch. Called on symbolic tensors it is a layer of a functional
        model; inside another model's call it runs as a layer; at the top level on arrays
        it runs one compiled program. training=True runs it as in fit (dropout on, batch
        statistics from the batch and moving statistics updated), as Keras does."""
        x = args[0] if args else kwargs.get("inputs")
        if (any(isinstance(t, KerasTensor) for t in _tree_leaves(x))
                or variables.in_stateless_scope()
                or any(isinstance(t, jax.core.Tracer) for t in _tree_leaves(x))
                or set(kwargs) - {"training", "inputs"} or len(args) > 1):
            return super().__call__(*args, **kwargs)
        training = bool(kwargs.get("training") or False)
        self.__dict__.pop("_slots_cache", None)
        parts = x if isinstance(x, list | tuple) and len(self._input_names()) > 1 else [x]
        if all(isinstance(p, jax.Array) for p in parts) and self.built:
            xs = tuple(p.astype(jnp.float32) if jnp.issubdtype(p.dtype, jnp.floating)
                       else p for p in parts)
        else:
            xs = tuple(self._prepare_x(x))
        if training:
            out, self._state, masks = self._predictor.call_training(
                self._params, self._state, xs, global_rng.next_key())
        else:
            out, state, masks = self._predictor.call(*self._values(), xs)
            self._keep_carried(state)
        # outputs that carry a mask (Embedding(mask_zero=True) upstream) say so, as Keras'
        # `_keras_mask`: a loss or metric computed on them weighs their entries by it
        for output, mask in zip(_as_list(out), masks, strict=True):
            if mask is not None:
                variables.set_output_mask(output, mask)
        return out

    def _keep_carried(self, state: Any) -> None:
        """Keep the state a prediction left when a layer carries one (stateful RNNs)."""
        if self._per_structure("_carries_versioned", lambda: any(
                layer._carried for layer in self._flatten_layers())):
            self._state = state

    # -- weights and summary --------------------------------------------------------------------
    def get_weights(self) -> list[np.ndarray]:
        """The weights as numpy arrays; weights split over the devices of several
        processes (a LayoutMap's) are gathered from all of them (every process must
        call it then, as for a save)."""
        self._require_built("its weights")
        return [np.array(a) for a in devices.get([v.value for v in self.weights])]

    def set_weights(self, weights: Sequence[Any]) -> None:
        self._require_built("its weights")
        super().set_weights(weights)

    def count_params(self) -> int:
        self._require_built("its parameter count")
        return variables.count(self.weights)

    def summary(self, print_fn=None, line_length: int = 72, expand_nested: bool = False,
                **kwargs: Any) -> None:
        """The layers, their output shapes and parameter counts; `expand_nested=True` lists
        the layers of nested models too (indented under theirs), as Keras."""
        self._require_built("its summary")
        rows: list[tuple] = []

        def add(model: Any, depth: int) -> None:
            for layer in model.layers:
                rows.append(("  " * depth + layer.name, type(layer).__name__,
                             layer.output_shape, variables.count(layer.weights)))
                if expand_nested and isinstance(layer, Model) and depth < 16:
                    add(layer, depth + 1)

        add(self, 0)
        trainable = variables.count(self.trainable_weights)
        non_trainable = variables.count(self.non_trainable_weights)
        text = summary_text(self.name, rows, trainable, non_trainable, line_length)
        (print_fn or print)(text)

    # -- batch-level API --------------------------------------------------------------------
    def train_on_batch(self, x: Any, y: Any = None, sample_weight: Any = None,
                       class_weight: Any = None, return_dict: bool = False) -> Any:
        """One optimizer step on this batch; the loss (and metrics) on it, as Keras."""
        n = self._batch_rows(x)
        history = self.fit(x, y, batch_size=n, epochs=1, verbose=0, shuffle=False,
                           sample_weight=sample_weight, class_weight=class_weight)
        logs = {k: v[-1] for k, v in history.history.items()}
        return logs if return_dict else _scalar_or_list(list(logs.values()))

    def test_on_batch(self, x: Any, y: Any = None, sample_weight: Any = None,
                      return_dict: bool = False) -> Any:
        return self.evaluate(x, y, batch_size=self._batch_rows(x), verbose=0,
                             sample_weight=sample_weight, return_dict=return_dict)

    def predict_on_batch(self, x: Any) -> Any:
        return self.predict(x, batch_size=self._batch_rows(x), verbose=0)

    def _batch_rows(self, x: Any) -> int:
        leaves = jax.tree.leaves(x)
        if not leaves or not hasattr(leaves[0], "shape") or not leaves[0].shape:
            raise ValueError(f"x must be an array (or arrays) with a batch axis. Received: "
                             f"{type(x).__name__}")
        return max(1, int(leaves[0].shape[0]))

    # -- Keras' step protocol (models that override a step, or use stateful metrics) ------
    def train_step(self, state: Any, data: Any) -> Any:
        """One training step as Keras' JAX backend defines it: (logs, new state) from
        state = (trainable, non-trainable, optimizer and metric variable values)."""
        return step_protocol.default_train_step(self, state, data)

    def test_step(self, state: Any, data: Any) -> Any:
        return step_protocol.default_test_step(self, state, data)

    def predict_step(self, state: Any, data: Any) -> Any:
        return step_protocol.default_predict_step(self, state, data)

    def compute_loss(self, x: Any = None, y: Any = None, y_pred: Any = None,
                     sample_weight: Any = None, training: bool = True) -> Any:
        """The compiled losses (weighted per output) plus the layers' add_loss values and
        weight penalties, as in Keras."""
        total = jnp.zeros((), jnp.float32)
        if self._heads:
            ys = self._per_output_values(y, "y")
            preds = self._per_output_values(y_pred, "y_pred")
            weights = self._per_output_weights(sample_weight)
            trackers = self.__dict__.get("_output_loss_trackers") or [None] * len(ys)
            for head, yk, pk, wk, tracker in zip(self._heads, ys, preds, weights, trackers,
                                                 strict=True):
                value = head.loss(yk, pk, wk)
                if tracker is not None and _may_update(value):
                    # each output's unweighted loss, a mean over the batches' samples
                    tracker.update_state(value, sample_weight=_rows(pk))
                total = total + head.weight * value
        pending = getattr(self, "_pending_losses", None)
        extra = list(pending) if pending is not None else self.losses
        if not self._heads and not extra:
            raise ValueError(
                "No loss to compute: compile() was given no loss and the model adds none "
                "(add_loss). Pass a loss, e.g. model.compile(optimizer='adam', "
                "loss='categorical_crossentropy').")
        for value in extra:
            total = total + jnp.sum(jnp.asarray(value, jnp.float32))
        return total

    def stateless_compute_loss(self, trainable_variables: Sequence[Any],
                               non_trainable_variables: Sequence[Any],
                               metrics_variables: Sequence[Any], x: Any = None, y: Any = None,
                               y_pred: Any = None, sample_weight: Any = None,
                               training: bool = True):
        """Keras' `compute_loss` as a pure function of the values: (loss, (trainable,
        non-trainable, metrics values)), the metrics' values updated (each output's loss
        tracker)."""
        mapping = [*zip(self.trainable_variables, trainable_variables, strict=True),
                   *zip(self.non_trainable_variables, non_trainable_variables, strict=True),
                   *zip(self.metrics_variables, metrics_variables, strict=True)]
        with variables.StatelessScope(mapping) as scope:
            loss = self.compute_loss(x=x, y=y, y_pred=y_pred, sample_weight=sample_weight,
                                     training=training)
            non_trainable = [scope.get_current_value(v) for v in self.non_trainable_variables]
            metric_values = [scope.get_current_value(v) for v in self.metrics_variables]
        return loss, (list(trainable_variables), non_trainable, metric_values)

    def _per_output_weights(self, sample_weight: Any) -> list:
        """Sample weights per output: one array for all, or a list / dict per output."""
        n = len(self._heads)
        if isinstance(sample_weight, dict):
            return [sample_weight.get(name) for name in self.output_names]
        if n > 1 and isinstance(sample_weight, list | tuple) and len(sample_weight) == n:
            return list(sample_weight)
        return [sample_weight] * n

    def _per_output_values(self, value: Any, argument: str) -> list:
        if isinstance(value, dict):
            return [value[name] for name in self.output_names]
        return list(value) if isinstance(value, list | tuple) and len(self._heads) > 1 \
            else [value]

    def compute_metrics(self, x: Any, y: Any, y_pred: Any, sample_weight: Any = None
                        ) -> dict[str, Any]:
        """Update the compiled metrics with a batch; the results of all metrics. As in
        Keras, compile's `metrics` are not weighted: `sample_weight` weighs the loss and
        compile's `weighted_metrics` only."""
        compiled = self.__dict__.get("_compile_metrics")
        if compiled is not None:
            compiled.update_state(y, y_pred, sample_weight=sample_weight)
        return self.get_metrics_result()

    def get_metrics_result(self) -> dict[str, Any]:
        logs = {}
        for metric in self.metrics:
            # a result may be a variable itself (`return self.total`): read its value here,
            # inside the step's scope, where it holds the step's value
            result = jax.tree.map(lambda r: r.value if isinstance(r, Variable) else r,
                                  metric.result(),
                                  is_leaf=lambda r: isinstance(r, Variable))
            if isinstance(result, dict):
                logs.update(result)
            else:
                logs[metric.name] = result
        return logs

    @property
    def _loss_tracker(self) -> Any:
        tracker = self.__dict__.get("_loss_tracker_metric")
        if tracker is None:
            tracker = metrics.Mean(name="loss")
            object.__setattr__(self, "_loss_tracker_metric", tracker)
        return tracker

    @property
    def metrics(self) -> list[Any]:
        """The loss tracker, compile's metrics as one metric ("compile_metrics", whose
        `metrics` lists them) and the metrics the model's attributes hold, as Keras lists
        them."""
        found = [self._loss_tracker] if self.optimizer is not None else []
        compiled = self.__dict__.get("_compile_metrics")
        if compiled is not None:
            found.append(compiled)
        found += self.__dict__.get("_output_loss_trackers") or []
        seen = {id(m) for m in found}
        seen.update(id(m) for m in (compiled.metrics if compiled is not None else ()))
        for layer in self._flatten_layers():
            for metric in layer._tracked(metrics.Metric):
                if id(metric) not in seen:
                    seen.add(id(metric))
                    found.append(metric)
        return found

    @property
    def metrics_variables(self) -> list[Variable]:
        return [v for metric in self.metrics for v in metric.variables]

    def reset_metrics(self) -> None:
        for metric in self.metrics:
            metric.reset_state()

    def _apply_constraints(self, trainable_values: list) -> list:
        return [v.constraint(value) if v.constraint is not None else value
                for v, value in zip(self.trainable_variables, trainable_values, strict=True)]

    def _uses_steps(self) -> bool:
        """Whether fit/evaluate/predict run Keras' step protocol (see training/steps.py)."""
        cls = type(self)
        overridden = (cls.train_step is not Model.train_step
                      or cls.test_step is not Model.test_step
                      or cls.compute_loss is not Model.compute_loss
                      or cls.compute_metrics is not Model.compute_metrics)
        if overridden or not self._heads or any(self._weighted):
            return True
        return any(hasattr(m, "variables") and getattr(m, "per_sample", None) is None
                   for h in self._heads for m in h.metrics)

    # -- config -------------------------------------------------------------------------------
    @classmethod
    def from_config(cls, config: dict[str, Any], custom_objects: Mapping[str, Any] | None = None
                    ) -> Model:
        """A model with fresh weights from `get_config()`: Sequential and functional
        configs are rebuilt layer by layer (only known or registered classes, or those in
        custom_objects); a subclassed model is made as `cls(**config)`, as in Keras."""
        from cornu.models.functional import Functional
        from cornu.models.sequential import Sequential

        if cls in (Sequential, Functional) or cls is Model and "layers" in config:
            from cornu.saving import registry

            name = cls.__name__ if cls is not Model else (
                "Functional" if "inputs" in config else "Sequential")
            return registry.build_model({"class_name": name, "config": config},
                                        custom_objects, "the config")
        params = inspect.signature(cls.__init__).parameters
        if not any(p.kind is p.VAR_KEYWORD for p in params.values()):
            # the base settings (Layer.get_config's) that a constructor without **kwargs
            # cannot take (Keras' automatic config records them all the same)
            config = {k: v for k, v in config.items()
                      if k in params or k not in ("name", "trainable", "dtype")}
        return cls(**config)

    def to_json(self, **kwargs: Any) -> str:
        """The architecture as JSON (no weights), for cornu.models.model_from_json."""
        import json

        from cornu.saving import registry

        return json.dumps(registry.model_entry(self), **kwargs)

    # -- Keras' batch-level and stateless API ------------------------------------------------
    def stateless_call(self, trainable_variables: Sequence[Any],
                       non_trainable_variables: Sequence[Any], *args: Any,
                       return_losses: bool = False, **kwargs: Any):
        """(outputs, non_trainable_variables after the call): the model as a pure function
        of the variables' values (in the order of `trainable_variables` and
        `non_trainable_variables`), for jax.grad and jax.jit loops, as in Keras."""
        trainable, others = self.trainable_variables, self.non_trainable_variables
        if len(trainable_variables) != len(trainable) or \
                len(non_trainable_variables) != len(others):
            raise ValueError(
                f"stateless_call expected {len(trainable)} trainable and {len(others)} "
                f"non-trainable values (model.trainable_variables, "
                f"model.non_trainable_variables). Received {len(trainable_variables)} and "
                f"{len(non_trainable_variables)}.")
        mapping = [*zip(trainable, trainable_variables, strict=True),
                   *zip(others, non_trainable_variables, strict=True)]
        with variables.StatelessScope(mapping) as scope:
            outputs = Layer.__call__(self, *args, **kwargs)
            losses = list(scope.losses)
            penalty = self._regularization()
            if penalty is not None:
                losses.append(penalty)
            new = [scope.get_current_value(v) for v in others]
            if scope._masks:  # outputs that carry masks, for compute_loss and the metrics
                for o in jax.tree.leaves(outputs):
                    variables.set_output_mask(o, scope.mask_of(o))
        if return_losses:
            return outputs, new, losses
        return outputs, new

    # -- saving (cornu.saving holds the format) ----------------------------------------------------
    def save(self, filepath: str, overwrite: bool = True) -> None:
        """One .cornu file: architecture, compile settings, weights, optimizer state."""
        from cornu.saving import save_model

        save_model(self, filepath, overwrite=overwrite)

    def save_weights(self, filepath: str, overwrite: bool = True) -> None:
        from cornu.saving import save_weights

        save_weights(self, filepath, overwrite=overwrite)

    def load_weights(self, filepath: str, skip_mismatch: bool = False, **kwargs: Any) -> None:
        """Weights from any file cornu reads; `by_name=True` and `skip_mismatch` for
        legacy .h5 files, as Keras."""
        from cornu.saving import load_weights

        by_name = kwargs.pop("by_name", False)
        if kwargs:
            raise TypeError(f"load_weights() got unexpected arguments {sorted(kwargs)}; it "
                            "takes filepath, skip_mismatch and by_name.")
        load_weights(self, filepath, skip_mismatch, by_name=by_name)

    def export(self, filepath: str, format: str = "tf_saved_model",
               verbose: bool | None = None, **kwargs: Any) -> None:
        """The inference forward for serving, as Keras 3: format "tf_saved_model",
        "onnx" or "stablehlo" (cornu.export; docs/interop.md)."""
        from cornu.export import export_model

        export_model(self, filepath, format=format, verbose=verbose, **kwargs)

    def get_compile_config(self) -> dict | None:
        """Compile settings by name (what a saved file holds), or None before compile()."""
        if self.optimizer is None:
            return None
        def loss_config(spec):  # a name stays a name; objects as Keras writes them
            return spec if isinstance(spec, str) else losses.serialize(losses.get(spec))

        def metric_names(spec):  # names, or configs of metrics their name would not give
            return [metrics._saved_form(m) for m in (spec or [])]

        loss, metrics_spec = self._loss_spec, self._metric_specs
        config = {"optimizer": optimizers.serialize(self.optimizer)}
        if isinstance(loss, dict):
            config["loss"] = {name: loss_config(v) for name, v in loss.items()}
        elif isinstance(loss, list | tuple):
            config["loss"] = [loss_config(v) for v in loss]
        else:
            config["loss"] = loss_config(loss)
        def metric_config(spec):  # one list, a list per output, or a dict by output
            if isinstance(spec, dict):
                return {name: metric_names(v) for name, v in spec.items()}
            if spec and all(isinstance(m, list | tuple) for m in spec):
                return [metric_names(v) for v in spec]
            return metric_names(spec)

        config["metrics"] = metric_config(metrics_spec)
        if self._weighted_specs:
            config["weighted_metrics"] = metric_config(self._weighted_specs)
        if self._loss_weights is not None:
            weights = self._loss_weights
            config["loss_weights"] = ({k: float(v) for k, v in weights.items()}
                                      if isinstance(weights, dict) else
                                      [float(v) for v in weights]
                                      if isinstance(weights, list | tuple) else float(weights))
        return config


_FUNCTIONAL_SUBCLASSES: dict[type, type] = {}


def _masked_outputs(model: Model, n: int) -> list[bool]:
    """Which outputs of a Sequential or functional model carry a mask (their symbolic
    tensors have one): the compiled loss and metrics weigh those by it, as Keras. A
    subclassed model's are known only when its call is traced: all may, when one of its
    layers makes masks (Embedding(mask_zero=True), Masking, a compute_mask of the user's);
    an output the trace finds without one is then unmasked."""
    from cornu.models.functional import Functional
    from cornu.models.sequential import Sequential

    if not isinstance(model, Functional | Sequential):
        return [_may_make_masks(model)] * n
    try:
        outputs = model.outputs if model.built else []
    except (AttributeError, ValueError, TypeError):
        outputs = []
    flags = [getattr(t, "_keras_mask", None) is not None for t in outputs or []]
    return flags if len(flags) == n else [False] * n


def _may_make_masks(model: Model) -> bool:
    """Whether a layer of `model` makes masks: an Embedding(mask_zero=True), Masking, or a
    layer with a compute_mask of its own outside cornu."""
    for layer in model._flatten_layers():
        if getattr(layer, "_makes_masks", False):
            return True
        method = getattr(type(layer), "compute_mask", None)
        if method is not None and not getattr(method, "__module__", "").startswith("cornu."):
            return True
    return False


def _may_update(value: Any) -> bool:
    """Whether compute_loss may update a loss tracker with `value`: eagerly, or while a
    step is traced in a StatelessScope (which records the update); a traced value outside
    a scope (a step that calls compute_loss in jax.grad with no scope) updates nothing,
    where Keras fails."""
    return variables.in_stateless_scope() or not isinstance(value, jax.core.Tracer)


def _rows(y_pred: Any) -> Any:
    leaves = jax.tree.leaves(y_pred)
    return leaves[0].shape[0] if leaves and getattr(leaves[0], "ndim", 0) else 1


def _takes_graph(cls: type) -> bool:
    """A subclass that keeps Model's constructor, or passes *args/**kwargs on to it."""
    import inspect

    if cls.__init__ is Model.__init__:
        return True
    params = inspect.signature(cls.__init__).parameters.values()
    return any(p.kind is inspect.Parameter.VAR_POSITIONAL for p in params)


def _functional_subclass(cls: type) -> type:
    """`cls` with the functional model's graph behind it (as Keras does for a Model
    subclass constructed with inputs and outputs)."""
    from cornu.models.functional import Functional

    made = _FUNCTIONAL_SUBCLASSES.get(cls)
    if made is None:
        made = type(cls.__name__, (cls, Functional), {"__module__": cls.__module__,
                                                      "__qualname__": cls.__qualname__})
        _FUNCTIONAL_SUBCLASSES[cls] = made
    return made


def _split_rows(validation_split: float, xs: list, ys: list | None, sw: Any
                ) -> tuple[tuple, tuple]:
    """((xs, ys, sw) to train on, (xs, ys, sw) to validate on): the last rows, as Keras
    takes them for validation_split."""
    total = xs[0].shape[0]
    split = int(total * (1.0 - validation_split))
    if split == 0 or split == total:
        raise ValueError(
            f"validation_split={validation_split} leaves "
            f"{'no training' if split == 0 else 'no validation'} samples out of "
            f"{total}. Use more data or another split.")

    def part(rows: slice) -> tuple:
        return ([a[rows] for a in xs], None if ys is None else [a[rows] for a in ys],
                None if sw is None else sw[rows])

    return part(slice(None, split)), part(slice(split, None))


def _scalar_or_list(values: list) -> Any:
    return values[0] if len(values) == 1 else values


def _input_dtype(dtype: np.dtype, declared: Any) -> np.dtype:
    """What an input array becomes: its Input's dtype where declared, else float32 for
    numbers (integers too, as Keras' float32 Inputs) unless the model declares integers."""
    if declared is not None:
        return np.dtype(declared)
    return np.dtype(np.float32)


def _as_list(value: Any) -> list:
    return list(value) if isinstance(value, list | tuple) else [value]


def _leaves(spec: Any) -> list:
    """The names/objects inside a per-output spec (value, list, list of lists or dict)."""
    if spec is None:
        return []
    if isinstance(spec, dict):
        spec = list(spec.values())
    if isinstance(spec, list | tuple):
        return [leaf for item in spec for leaf in _leaves(item)]
    return [spec]


def _map_leaves(spec: Any, fn) -> Any:
    """`spec` (value, list, list of lists or dict) with `fn` applied to each leaf."""
    if spec is None:
        return None
    if isinstance(spec, dict):
        return {k: _map_leaves(v, fn) for k, v in spec.items()}
    if isinstance(spec, list | tuple):
        return type(spec)(_map_leaves(item, fn) for item in spec)
    return fn(spec)


def metrics_get(identifier, loss, output_dim):
    """cornu.metrics.get, reachable inside compile() whose `metrics` argument shadows the
    module. Metrics without per-sample values (stateful ones: AUC, Precision, users'
    Metric subclasses) make fit run Keras' step protocol (see Model._uses_steps)."""
    return metrics.get(identifier, loss, output_dim)


def _tree_leaves(tree: Any) -> list:
    return jax.tree.leaves(tree, is_leaf=lambda t: isinstance(t, KerasTensor))
