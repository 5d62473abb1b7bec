"""The one layer pattern, the one Keras 3 users write.

    class Scale(cornu.layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)            # config only: no arrays here

        def build(self, input_shape):
            self.w = self.add_weight(shape=(input_shape[-1],), initializer="ones")

        def call(self, inputs):
            return inputs * self.w                # cornu.ops / jax.numpy

`__call__` builds the layer on the first input's shape, then calls `call`. On symbolic
tensors (`cornu.Input`) it records a node of the functional graph and returns symbolic
outputs, their shapes from `compute_output_shape` or from tracing `call`. Layers held in
attributes (directly, or in lists and dicts) are tracked, so their weights are the outer
layer's too. The engine reads `call` as a pure function: it traces it in a
`StatelessScope` where every variable reads its traced value.
"""

from __future__ import annotations

import contextlib
import inspect
import re
import threading
import warnings
from collections.abc import Iterator
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from cornu import _deprecation, mixed_precision, regularizers, variables
from cornu.layers._tracing import (
    _shapes_to_specs,
    _spec_from_shapes,
    _spec_shapes,
    _trace_output_spec,
)
from cornu.layers.keras_tensor import KerasTensor, Node
from cornu.variables import Variable, structure_changed

Shape = tuple[int | None, ...]
ShapeOrShapes = Shape | list[Shape]

_name_counts: dict[str, int] = {}


def unique_name(base: str) -> str:
    """Keras' automatic names: dense, dense_1, dense_2, ..."""
    count = _name_counts.get(base, 0)
    _name_counts[base] = count + 1
    return base if count == 0 else f"{base}_{count}"


def reset_names() -> None:
    _name_counts.clear()


def _snake(name: str) -> str:
    """Keras' default names: Conv2D -> conv2d, MaxPooling2D -> max_pooling2d."""
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


# -- the call context: `training` flows from an outer call to the layers inside -------------
_context = threading.local()


def _training_stack() -> list:
    if not hasattr(_context, "training"):
        _context.training = []
    return _context.training


def current_training() -> Any:
    stack = _training_stack()
    return stack[-1] if stack else None


@contextlib.contextmanager
def masks_hidden() -> Iterator[None]:
    """Layer calls inside see no mask on their inputs (an explicit mask= still goes to
    `call`) and warn of none dropped: for a layer that handles its inputs' masks itself and
    calls sublayers on them, as Keras' MultiHeadAttention takes the masks off before its
    projections and TimeDistributed calls its layer's `call` with the steps' mask."""
    _context.hidden = getattr(_context, "hidden", 0) + 1
    try:
        yield
    finally:
        _context.hidden -= 1


def _masks_hidden() -> bool:
    return getattr(_context, "hidden", 0) > 0


#: attributes that hold bookkeeping, not sublayers
_UNTRACKED = frozenset({"_inbound_nodes", "_outbound_nodes", "_losses", "_own_weights",
                        "_tracker_parent", "_compiled", "_engine", "_predictor", "optimizer",
                        "history", "_callbacks", "_heads",
                        "_loss_spec", "_metric_specs", "loss", "_resume", "_fit_position",
                        "_opt_state", "_train_rng", "_build_shapes", "_output_shapes",
                        "_slots_cache", "_slots_versioned", "_carries_versioned",
                        "_signature_versioned",
                        "_steps_programs", "_carried"})
#: of those, the ones that hold weights all the same (set: the model's weights may change)
_HOLDS_WEIGHTS = frozenset({"_carried"})


def _walk(value: Any, kind: type, seen: set[int], depth: int = 0) -> Iterator[Any]:
    """Objects of `kind` in a value: itself, or inside lists, tuples and dicts."""
    if isinstance(value, kind):
        if id(value) not in seen:
            seen.add(id(value))
            yield value
    elif depth < 4 and isinstance(value, list | tuple):
        for item in value:
            yield from _walk(item, kind, seen, depth + 1)
    elif depth < 4 and isinstance(value, dict):
        for item in value.values():
            yield from _walk(item, kind, seen, depth + 1)


class Layer:
    """Base class of every layer and model. Override `build`, `call`, `get_config`."""

    # variables the engine carries from call to call that are not weights (Keras leaves
    # them out of `weights`): a stateful RNN's states
    _carried: tuple = ()
    # a Keras operation rather than a layer (OpLayer): as Keras, no mask is handed to its
    # call and none is warned of
    _keras_operation = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        build = cls.__dict__.get("build")
        if build is not None and not getattr(build, "_marks_built", False):
            def marked(self, input_shape=None, *args, __build=build, **kw):
                result = __build(self, input_shape, *args, **kw)
                object.__setattr__(self, "built", True)  # as Keras: build() builds
                if self._build_shapes is None and input_shape is not None:
                    object.__setattr__(self, "_build_shapes", input_shape)
                return result

            marked._marks_built = True
            marked.__doc__, marked.__name__ = build.__doc__, "build"
            cls.build = marked

    def __new__(cls, *args: Any, **kwargs: Any):
        layer = super().__new__(cls)
        # bookkeeping exists before a subclass' __init__ sets its first attribute
        object.__setattr__(layer, "_own_weights", [])
        object.__setattr__(layer, "_losses", [])
        object.__setattr__(layer, "_inbound_nodes", [])
        object.__setattr__(layer, "_trainable", True)
        object.__setattr__(layer, "built", False)
        object.__setattr__(layer, "_output_shapes", None)
        object.__setattr__(layer, "_build_shapes", None)
        if cls.get_config is Layer.get_config and cls.__init__ is not Layer.__init__:
            object.__setattr__(layer, "_auto_config", _auto_config(cls, args, kwargs))
        return layer

    def __init__(
        self,
        *,
        activity_regularizer: Any = None,
        trainable: bool = True,
        dtype: str | mixed_precision.DTypePolicy | None = None,
        autocast: bool = True,
        name: str | None = None,
        input_shape: tuple[int | None, ...] | None = None,
        **kwargs: Any,
    ) -> None:
        self.dtype_policy = (mixed_precision.global_policy() if dtype is None
                             else mixed_precision.get(dtype, "dtype"))
        input_dim = _deprecation.renamed(
            kwargs, "input_dim", "input_shape=(n,) or cornu.Input(shape=(n,))", type(self).__name__,
            depth=2 + sum(1 for k in type(self).__mro__[1:] if k is not Layer and k is not object
                          and "__init__" in vars(k)),
        )
        batch_input_shape = kwargs.pop("batch_input_shape", None)
        kwargs.pop("batch_size", None)
        if batch_input_shape is not None and input_shape is None:
            input_shape = tuple(batch_input_shape)[1:]
        if input_dim is not None:
            if input_shape is not None:
                raise TypeError(
                    f"Got both input_dim={input_dim!r} and input_shape={input_shape!r}. "
                    "Pass input_shape only."
                )
            input_shape = (input_dim,)
        if kwargs:
            raise TypeError(
                f"{type(self).__name__} got unexpected keyword arguments: "
                f"{', '.join(sorted(kwargs))}. Check the spelling against the Keras 3 docs."
            )
        if name is not None and (not isinstance(name, str) or not name or "/" in name):
            raise ValueError(f"name must be a non-empty string without '/'. Received: "
                             f"name={name!r}")
        self.name = name or unique_name(_snake(type(self).__name__))
        self._input_shape_arg: Shape | None = None
        if input_shape is not None:
            self._input_shape_arg = _as_shape(input_shape, "input_shape")
        self._trainable = bool(trainable)
        self.autocast = bool(autocast)
        self.activity_regularizer = regularizers.get(activity_regularizer,
                                                     "activity_regularizer")
        # as Keras 3: a layer whose class writes its own compute_mask supports masking
        # unless it says otherwise
        self.supports_masking = getattr(self, "supports_masking",
                                        type(self).compute_mask is not Layer.compute_mask)

    # -- weights ---------------------------------------------------------------------------
    def add_weight(
        self,
        shape: Any = None,
        initializer: Any = None,
        dtype: Any = None,
        trainable: bool = True,
        autocast: bool = True,
        regularizer: Any = None,
        constraint: Any = None,
        aggregation: str = "none",
        name: str | None = None,
        **kwargs: Any,
    ) -> Variable:
        """A new weight of this layer (Keras 3's add_weight): `initializer` is a name, an
        initializer object, or a callable `(shape, dtype)`; by default glorot_uniform for
        floats and zeros otherwise."""
        if kwargs:
            raise TypeError(f"add_weight got unexpected keyword arguments: "
                            f"{', '.join(sorted(kwargs))}.")
        shape = () if shape is None else shape
        if dtype is None:
            dtype = self.dtype_policy.variable_dtype
        if initializer is None:
            floating = jnp.issubdtype(jnp.dtype(dtype), jnp.floating)
            initializer = "glorot_uniform" if floating else "zeros"
        from cornu import constraints, initializers

        initializer = initializers.get(initializer, "initializer")
        if name is None:
            name = f"variable_{len(self._own_weights)}" if self._own_weights else "variable"
        variable = Variable(initializer, shape=shape, dtype=dtype, trainable=trainable,
                            autocast=autocast, name=name, aggregation=aggregation)
        variable.path = f"{self.name}/{name}"
        variable.regularizer = regularizers.get(regularizer, "regularizer")
        variable.constraint = constraints.get(constraint, "constraint")
        self._own_weights.append(variable)
        structure_changed()
        return variable

    def add_variable(self, shape: Any, initializer: Any, dtype: Any = None,
                     trainable: bool = True, autocast: bool = True, regularizer: Any = None,
                     constraint: Any = None, name: str | None = None) -> Variable:
        return self.add_weight(shape=shape, initializer=initializer, dtype=dtype,
                               trainable=trainable, autocast=autocast,
                               regularizer=regularizer, constraint=constraint, name=name)

    def __setattr__(self, name: str, value: Any) -> None:
        object.__setattr__(self, name, value)
        if name not in _UNTRACKED or name in _HOLDS_WEIGHTS:  # a sublayer or weight may
            structure_changed()  # have come or gone

    def __delattr__(self, name: str) -> None:
        object.__delattr__(self, name)
        if name not in _UNTRACKED or name in _HOLDS_WEIGHTS:
            structure_changed()

    def _tracked(self, kind: type) -> list[Any]:
        seen: set[int] = {id(self)}
        found = []
        for key, value in vars(self).items():
            if key in _UNTRACKED:
                continue
            if isinstance(value, kind):  # most attributes: no generator to walk them
                if id(value) not in seen:
                    seen.add(id(value))
                    found.append(value)
            elif isinstance(value, list | tuple | dict):
                found.extend(_walk(value, kind, seen))
        return found

    @property
    def _layers(self) -> list[Layer]:
        """The layers this one holds (its attributes, and lists and dicts of them)."""
        return self._tracked(Layer)

    def _flatten_layers(self, include_self: bool = True) -> list[Layer]:
        out, seen = [], set()
        stack = [self] if include_self else list(reversed(self._layers))
        while stack:
            layer = stack.pop()
            if id(layer) in seen:
                continue
            seen.add(id(layer))
            out.append(layer)
            stack.extend(reversed(layer._layers))
        return out

    def _named_sublayers(self) -> list[tuple[str, Layer]]:
        """(name, layer) for the layers held: the attribute's name, with the position or
        key inside a list or dict ('blocks/0')."""
        found: list[tuple[str, Layer]] = []
        seen: set[int] = {id(self)}

        def visit(name: str, value: Any, depth: int) -> None:
            if isinstance(value, Layer):
                if id(value) not in seen:
                    seen.add(id(value))
                    found.append((name, value))
            elif depth < 4 and isinstance(value, list | tuple):
                for i, item in enumerate(value):
                    visit(f"{name}/{i}", item, depth + 1)
            elif depth < 4 and isinstance(value, dict):
                for key, item in value.items():
                    visit(f"{name}/{key}", item, depth + 1)

        for key, value in vars(self).items():
            if key not in _UNTRACKED:
                visit(key.lstrip("_") or key, value, 0)
        return found

    def _named_weights(self, prefix: str = "") -> list[tuple[str, Variable]]:
        """(name, variable) for every weight, named by the structure that holds it (the
        attributes' names, not the layers' generated names), so two instances of the same
        class name their weights alike."""
        out = [(prefix + v.name, v) for v in [*self._own_variables(), *self._carried]]
        for name, layer in self._named_sublayers():
            out += layer._named_weights(f"{prefix}{name}/")
        return out

    def _own_variables(self) -> list[Variable]:
        """add_weight's variables, then Variables set as attributes."""
        own = list(self._own_weights)
        ids = {id(v) for v in own}
        own += [v for v in self._tracked(Variable) if id(v) not in ids]
        return own

    def _collect(self, pick) -> list[Variable]:
        out, seen = [], set()
        for variable in pick(self):
            if id(variable) not in seen:
                seen.add(id(variable))
                out.append(variable)
        for layer in self._layers:
            for variable in layer._collect(pick):
                if id(variable) not in seen:
                    seen.add(id(variable))
                    out.append(variable)
        return out

    @property
    def weights(self) -> list[Variable]:
        """Every weight (trainable or not) of this layer and the layers it holds."""
        return self._collect(lambda layer: layer._own_variables())

    @property
    def trainable_weights(self) -> list[Variable]:
        if not self.trainable:
            return []
        out, seen = [], set()
        for v in self._own_variables():
            if v.trainable and id(v) not in seen:
                seen.add(id(v))
                out.append(v)
        for layer in self._layers:
            for v in layer.trainable_weights:
                if id(v) not in seen:
                    seen.add(id(v))
                    out.append(v)
        return out

    @property
    def non_trainable_weights(self) -> list[Variable]:
        trainable = {id(v) for v in self.trainable_weights}
        return [v for v in self.weights if id(v) not in trainable]

    @property
    def variables(self) -> list[Variable]:
        """The weights and the random generators' states (as Keras)."""
        return [*self.weights, *self._seed_states()]

    def _seed_states(self) -> list[Variable]:
        from cornu.random import SeedGenerator

        return [g.state for layer in self._flatten_layers() for g in
                layer._tracked(SeedGenerator)]

    @property
    def trainable_variables(self) -> list[Variable]:
        return self.trainable_weights

    @property
    def non_trainable_variables(self) -> list[Variable]:
        return [*self.non_trainable_weights, *self._seed_states()]

    @property
    def trainable(self) -> bool:
        return self._trainable

    @trainable.setter
    def trainable(self, value: bool) -> None:
        """Freezing a layer freezes the layers it holds (recompile to take effect in fit,
        as in Keras; cornu also picks it up at the next fit)."""
        for layer in self._flatten_layers():
            object.__setattr__(layer, "_trainable", bool(value))
        structure_changed()

    def get_build_config(self) -> dict[str, Any] | None:
        """What rebuilds this layer after loading: {"input_shape": ...} once built (a file
        records it as the layer's build_config). Override with build_from_config where
        build takes more than the input shape."""
        if not self.built or self._build_shapes is None:
            return None
        return {"input_shape": _shape_lists(self._build_shapes)}

    def build_from_config(self, config: dict[str, Any] | None) -> None:
        """Build from `get_build_config()`'s dict (load_model calls this for a layer whose
        class overrides it, before the model calls the layer)."""
        if not config or config.get("input_shape") is None:
            return
        shapes = _shape_tuples(config["input_shape"])
        self._build_shapes = shapes
        self.build(shapes)
        object.__setattr__(self, "built", True)

    def save_own_variables(self, store: Any) -> None:
        """Write this layer's own variables (not its sublayers') into the dict-like `store`
        under "0", "1", ... (trainable first, as Keras orders them). Keras files call this
        for a layer whose class overrides it, so a layer can save state of its own too."""
        own = self._own_variables()
        ordered = [v for v in own if v.trainable] + [v for v in own if not v.trainable]
        for i, variable in enumerate(ordered):
            store[str(i)] = np.array(variable.value)

    def load_own_variables(self, store: Any) -> None:
        """Set this layer's own variables from what `save_own_variables` wrote."""
        own = self._own_variables()
        ordered = [v for v in own if v.trainable] + [v for v in own if not v.trainable]
        if len(store.keys()) != len(ordered):
            raise ValueError(
                f"Layer '{self.name}' expected {len(ordered)} variables in the store, but "
                f"received {len(store.keys())} ({sorted(store.keys())}). Override "
                "load_own_variables where save_own_variables writes more.")
        for i, variable in enumerate(ordered):
            variable.assign(store[str(i)])

    def get_weights(self) -> list[np.ndarray]:
        return [np.array(v.value) for v in self.weights]

    def set_weights(self, weights: Any) -> None:
        own = self.weights
        weights = list(weights)
        if len(weights) != len(own):
            raise ValueError(
                f"set_weights on layer '{self.name}' expected a list of {len(own)} arrays (the "
                f"order of get_weights()), received {len(weights)}.")
        for variable, value in zip(own, weights, strict=True):
            value = np.asarray(value)
            if value.shape != variable.shape:
                owner, _, name = variable.path.rpartition("/")
                raise ValueError(
                    f"set_weights: weight '{name}' of layer '{owner or self.name}' has shape "
                    f"{variable.shape}, received an array of shape {value.shape}.")
        for variable, value in zip(own, weights, strict=True):
            variable.assign(np.array(value, dtype=variable.dtype))

    def count_params(self) -> int:
        if not self.built:
            raise ValueError(
                f"Layer '{self.name}' is not built yet, so its parameter count is unknown. "
                "Give the first layer input_shape=... or call the model on data first."
            )
        return variables.count(self.weights)

    # -- losses ----------------------------------------------------------------------------
    def add_loss(self, loss: Any) -> None:
        """Add a scalar to the training loss (inside a compiled step it goes to the step's
        loss; called eagerly, it is kept in `layer.losses` until the next call)."""
        scope = variables.current_scope()
        if scope is not None and scope.collect_losses:
            scope.losses.append(loss)
        else:
            self._losses.append(loss)

    @property
    def losses(self) -> list[Any]:
        """add_loss values of the last eager call, then the weights' regularization."""
        values = [loss for layer in self._flatten_layers() for loss in layer._losses]
        return values + [v.regularizer(v.value) for v in self.weights
                         if v.regularizer is not None]

    # -- the pattern ------------------------------------------------------------------------
    def build(self, input_shape: Any) -> None:
        """Make the weights (override it); the default makes none."""

    def call(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"Layer {type(self).__name__} does not implement call().")

    def compute_output_shape(self, input_shape: Any) -> Any:
        """The output shape for an input shape; by default found by tracing `call`."""
        return _spec_shapes(self.compute_output_spec(_spec_from_shapes(input_shape)))

    def compute_output_spec(self, *args: Any, **kwargs: Any) -> Any:
        return _trace_output_spec(self, args, kwargs)

    @property
    def compute_dtype(self) -> str:
        return self.dtype_policy.compute_dtype

    @property
    def variable_dtype(self) -> str:
        return self.dtype_policy.variable_dtype

    @property
    def dtype(self) -> str:
        return self.dtype_policy.variable_dtype

    def _maybe_build(self, first: Any) -> None:
        if self.built:
            return
        shapes = jax.tree.map(lambda a: tuple(a.shape), first,
                              is_leaf=lambda a: hasattr(a, "shape"))
        self._build_shapes = shapes
        self.build(shapes)
        object.__setattr__(self, "built", True)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if not args and "inputs" in kwargs:
            args = (kwargs.pop("inputs"),)
        if any(isinstance(t, KerasTensor) for t in _leaves((args, kwargs))):
            return self._symbolic_call(args, kwargs)
        if not args:
            raise TypeError(f"Layer '{self.name}' was called without inputs.")
        scope = variables.current_scope()
        if scope is not None:  # traced (fit, evaluate, predict, stateless_call)
            return self._traced_call(scope, args, kwargs)
        # eagerly, an array that carries a mask (an eager Embedding(mask_zero=True) output)
        # hands it to `mask` and on to the output, as Keras' `_keras_mask` does
        in_mask = None if _masks_hidden() else _eager_mask(args[0])
        first = jax.tree.map(self._convert_input, args[0], is_leaf=_is_array_like)
        args = (first, *args[1:])
        self._maybe_build(first)
        if in_mask is not None and _takes_mask(self) \
                and kwargs.get("mask") is None:
            kwargs = {**kwargs, "mask": in_mask}
        if kwargs.get("mask") is not None:
            in_mask = kwargs["mask"]
        outputs = self._call_built(args, kwargs)
        _warn_dropped_mask(self, in_mask)
        if _computes_mask(self, in_mask) and isinstance(outputs, jax.Array) \
                and not isinstance(outputs, jax.core.Tracer):
            out_mask = self.compute_mask(first, in_mask)
            if out_mask is not None:
                variables.set_output_mask(outputs, out_mask)
        return outputs

    def _traced_call(self, scope: variables.StatelessScope, args: tuple,
                     kwargs: dict) -> Any:
        """The call inside a traced model call (a subclassed model's or custom layer's
        `call` calling its sublayers): masks go from layer to layer as in eager code, kept
        in the scope by the traced arrays' identity (tracers take no attributes), so they
        live for one trace only."""
        first = args[0]
        if scope.has_masks() and not _masks_hidden():
            in_mask = _scope_mask(scope, first)
            if in_mask is not None and _takes_mask(self) \
                    and kwargs.get("mask") is None:
                kwargs = {**kwargs, "mask": in_mask}
            named = argument_masks(self, args, kwargs, scope.mask_of)
            if named:
                kwargs = {**kwargs, **named}
        else:
            in_mask = None
        given = kwargs.get("mask")
        if given is not None:  # an explicit mask= (the functional graph's, or the user's)
            in_mask = given
        first = jax.tree.map(self._convert_input, first, is_leaf=_is_array_like)
        args = (first, *args[1:])
        self._maybe_build(first)
        outputs = self._call_built(args, kwargs)
        _warn_dropped_mask(self, in_mask)
        if not _computes_mask(self, in_mask):
            return outputs
        out_mask = self.compute_mask(first, in_mask)
        if out_mask is None:
            return outputs
        flat = jax.tree.leaves(outputs)
        if isinstance(out_mask, list | tuple):  # one per output (an RNN's return_state)
            pairs = zip(flat, out_mask, strict=False) if len(out_mask) == len(flat) else ()
        else:
            pairs = [(flat[0], out_mask)] if len(flat) == 1 else ()
        for output, mask in pairs:
            # an output that already carries one (a nested model's own) keeps it
            if mask is not None and scope.mask_of(output) is None:
                scope.record_mask(output, mask)
        return outputs

    def _convert_input(self, value: Any) -> Any:
        if isinstance(value, Variable):
            value = value.value
        if isinstance(value, np.ndarray | float | int | list) and not isinstance(value, bool):
            value = jnp.asarray(value)
        if self.autocast and hasattr(value, "dtype") and jnp.issubdtype(value.dtype,
                                                                          jnp.floating):
            dtype = jnp.dtype(self.compute_dtype)
            if value.dtype != dtype:
                value = value.astype(dtype)
        return value

    def _call_built(self, args: tuple, kwargs: dict) -> Any:
        accepts = _call_arguments(type(self))
        training = kwargs.get("training") if "training" in kwargs else current_training()
        if "training" in accepts and "training" not in kwargs and training is not None:
            kwargs["training"] = training
        for argument in ("training", "mask"):
            if argument in kwargs and argument not in accepts:
                kwargs.pop(argument)
        if not isinstance(training, bool | type(None)):
            raise ValueError(f"training must be True, False or None. Received: "
                             f"training={training!r}")
        if variables.current_scope() is None:
            self._losses.clear()
        stack = _training_stack()
        stack.append(training)
        cast = self.compute_dtype if self.dtype_policy.name != "float32" else None
        try:
            if cast is not None:
                with variables.autocast(cast):
                    outputs = self.call(*args, **kwargs)
            else:
                outputs = self.call(*args, **kwargs)
        finally:
            stack.pop()
        if self.activity_regularizer is not None:
            for output in jax.tree.leaves(outputs):
                penalty = self.activity_regularizer(output)
                if getattr(output, "ndim", 0) > 0 and output.shape[0]:
                    penalty = penalty / output.shape[0]  # per sample, as Keras 3
                self.add_loss(penalty)
        self._output_shapes = jax.tree.map(lambda a: (None, *a.shape[1:]), outputs,
                                           is_leaf=lambda a: hasattr(a, "shape"))
        return outputs

    def _symbolic_call(self, args: tuple, kwargs: dict) -> Any:
        inputs = [t for t in _leaves((args, kwargs)) if isinstance(t, KerasTensor)]
        first = args[0] if args else inputs[0]
        if not self.built:
            shapes = jax.tree.map(lambda t: tuple(t.shape), first,
                                  is_leaf=lambda t: isinstance(t, KerasTensor))
            self._build_shapes = shapes
            self.build(shapes)
            object.__setattr__(self, "built", True)
        # the symbolic mask the inputs carry (Embedding(mask_zero=True) upstream): traced
        # calls that take `mask` see it, as in Keras; the graph passes real masks at run time
        in_mask = _symbolic_mask(first)
        if isinstance(kwargs.get("mask"), KerasTensor | list | tuple):
            in_mask = kwargs["mask"]  # an explicit mask=, as Keras' previous mask
        trace_kwargs = kwargs
        if in_mask is not None and _takes_mask(self) and "mask" not in kwargs:
            trace_kwargs = {**kwargs, "mask": in_mask}
        if type(self).compute_output_shape is not Layer.compute_output_shape:
            shapes = jax.tree.map(lambda t: tuple(t.shape), first,
                                  is_leaf=lambda t: isinstance(t, KerasTensor))
            out_shapes = self.compute_output_shape(shapes)
            specs = _shapes_to_specs(out_shapes, self.compute_dtype)
        else:
            specs = _trace_output_spec(self, args, trace_kwargs)
        node = Node(self, args, kwargs, inputs)
        outputs = node.make_outputs(specs)
        _warn_dropped_mask(self, in_mask)
        self._set_symbolic_masks(first, in_mask, node.flat_outputs)
        self._inbound_nodes.append(node)
        self._output_shapes = jax.tree.map(lambda t: tuple(t.shape), outputs,
                                           is_leaf=lambda t: isinstance(t, KerasTensor))
        return outputs

    # -- masks ----------------------------------------------------------------------------------
    def _set_symbolic_masks(self, first: Any, in_mask: Any, outputs: list) -> None:
        """Give the output tensors the abstract mask compute_mask makes from the inputs'."""
        if not _computes_mask(self, in_mask):
            return
        def spec_of(t: Any, dtype: Any = None) -> Any:
            return jax.ShapeDtypeStruct(tuple(1 if d is None else d for d in t.shape),
                                        jnp.dtype(dtype or t.dtype))

        if isinstance(first, list | tuple) and first and all(
                isinstance(t, KerasTensor) for t in first):  # Attention's [query, value]
            spec = [spec_of(t) for t in first]
            first = first[0]
        elif isinstance(first, KerasTensor):
            spec = spec_of(first)
        else:
            return
        mask_spec = None if in_mask is None else jax.tree.map(
            lambda m: spec_of(m, jnp.bool_), in_mask,
            is_leaf=lambda t: isinstance(t, KerasTensor))
        try:
            made = jax.eval_shape(lambda x, m: self.compute_mask(x, m), spec, mask_spec)
        except Exception:  # noqa: BLE001 - a mask that cannot be traced is not carried
            return
        made = made[0] if isinstance(made, list | tuple) else made
        if made is None or not hasattr(made, "shape"):
            return
        shape = tuple(None if i < len(first.shape) and first.shape[i] is None else d
                      for i, d in enumerate(made.shape))
        for tensor in outputs:
            tensor._keras_mask = KerasTensor(shape, "bool")

    def compute_mask(self, inputs: Any, previous_mask: Any = None) -> Any:
        """The mask of this layer's output: the input's mask when the layer supports
        masking (keeps the time steps), else None. Embedding(mask_zero=True) makes one."""
        return previous_mask if self.supports_masking else None

    # -- the symbolic API ---------------------------------------------------------------------
    @property
    def input(self) -> Any:
        if not self._inbound_nodes:
            raise AttributeError(f"Layer '{self.name}' has never been called on a symbolic "
                                 "tensor, so it has no input.")
        node = self._inbound_nodes[0]
        return node.inputs[0] if len(node.inputs) == 1 else list(node.inputs)

    @property
    def output(self) -> Any:
        if not self._inbound_nodes:
            raise AttributeError(f"Layer '{self.name}' has never been called on a symbolic "
                                 "tensor, so it has no output.")
        return self._inbound_nodes[0].outputs

    @property
    def output_shape(self) -> Any:
        """The last call's output shape(s), batch axis None (for summaries)."""
        return self._output_shapes

    @property
    def input_shape(self) -> Any:
        shapes = self._build_shapes
        if isinstance(shapes, tuple) and shapes and shapes[0] is not None:
            return (None, *shapes[1:])
        return shapes

    # -- config --------------------------------------------------------------------------------
    def get_config(self) -> dict[str, Any]:
        config: dict[str, Any] = {"name": self.name, "trainable": self.trainable}
        if self.dtype_policy.name != "float32":
            config["dtype"] = self.dtype_policy.name
        if self._input_shape_arg is not None:
            config["input_shape"] = list(self._input_shape_arg)
        if self.activity_regularizer is not None:
            config["activity_regularizer"] = regularizers.serialize(self.activity_regularizer)
        auto = self.__dict__.get("_auto_config")
        if type(self).get_config is Layer.get_config and auto is not None:
            return _with_auto_config(self, config, auto)
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Layer:
        config = dict(config)
        if "input_shape" in config and config["input_shape"] is not None:
            config["input_shape"] = tuple(config["input_shape"])
        return cls(**config)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name!r}, built={self.built}>"

    # -- penalties -------------------------------------------------------------------------------
    def _regularization(self) -> Any:
        """The sum of the weights' penalties (inside a scope: of their traced values)."""
        terms = [v.regularizer(v.value) for v in self.weights if v.regularizer is not None]
        if not terms:
            return None
        return sum(terms[1:], terms[0])


_PLAIN_CONFIG = (str, int, float, bool, type(None))


def _plain(value: Any, depth: int = 0) -> bool:
    if isinstance(value, list | tuple) and depth < 16:
        return all(_plain(v, depth + 1) for v in value)
    if isinstance(value, dict) and depth < 16:
        return all(_plain(v, depth + 1) for v in value.values())
    return isinstance(value, _PLAIN_CONFIG)


def _auto_config(cls: type, args: tuple, kwargs: dict) -> dict[str, Any] | str:
    """Keras' automatic config of a class that does not override get_config: the
    arguments its __init__ received (defaults filled in, `name` left to get_config), when
    they are all plain values (str, int, float, bool, None, and lists, tuples and dicts of
    them). Otherwise why there is none: "positional" (positional-only or *args) or
    "values"."""
    signature = inspect.signature(cls.__init__)
    params = list(signature.parameters.values())
    if any(p.kind is p.POSITIONAL_ONLY for p in params[1:]):
        return "positional"
    try:
        bound = signature.bind(None, *args, **kwargs)
    except TypeError:
        return "values"
    bound.apply_defaults()
    values = dict(bound.arguments)
    values.pop(params[0].name, None)
    for p in params:
        if p.kind is p.VAR_KEYWORD:
            values.update(values.pop(p.name, {}))
        elif p.kind is p.VAR_POSITIONAL and values.pop(p.name, ()):
            return "positional"
    values.pop("name", None)
    return dict(values) if _plain(values) else "values"


def _with_auto_config(layer: Layer, base: dict[str, Any], auto: dict[str, Any] | str
                      ) -> dict[str, Any]:
    """get_config() of a class that does not override it, as in Keras: its __init__
    arguments, or an error asking for get_config()."""
    name = type(layer).__name__
    if isinstance(auto, str):
        why = ("positional-only or variadic positional arguments (*args) to __init__(), "
               "which automatic configs cannot pass back" if auto == "positional" else
               "argument values to __init__() that are not plain values (str, int, float, "
               "bool, None, or lists and dicts of them)")
        raise NotImplementedError(
            f"Object {name} was created by passing {why}, so it must override get_config() "
            "to be serializable. Implement get_config(), e.g.\n\n"
            f"    def get_config(self):\n"
            f"        config = super().get_config()\n"
            f"        config.update({{\"arg1\": self.arg1, \"arg2\": self.arg2}})\n"
            f"        return config\n\n"
            "(and from_config() if __init__ needs more than cls(**config)).")
    config = {"name": base["name"], **auto, **{k: v for k, v in base.items() if k != "name"}}
    parameters = inspect.signature(type(layer).__init__).parameters
    if "name" not in parameters and not any(p.kind is p.VAR_KEYWORD
                                            for p in parameters.values()):
        config.pop("name")
    return config


_ARGUMENTS: dict[type, frozenset[str]] = {}


def _call_arguments(cls: type) -> frozenset[str]:
    found = _ARGUMENTS.get(cls)
    if found is None:
        params = inspect.signature(cls.call).parameters
        found = frozenset(params)
        if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
            found = found | {"training", "mask"}
        _ARGUMENTS[cls] = found
    return found


def _computes_mask(layer: Layer, in_mask: Any) -> bool:
    """Whether `layer`'s output gets its mask from compute_mask: as in Keras, only when the
    layer supports masking; without a mask coming in, only when its class writes its own
    compute_mask (one that may make a mask: Embedding(mask_zero=True), Masking, a user's
    layer), since the default one hands the incoming mask on."""
    if not layer.supports_masking:
        return False
    return in_mask is not None or type(layer).compute_mask is not Layer.compute_mask


def _takes_mask(layer: Layer) -> bool:
    """Whether masks are handed to `layer`'s call (as Keras: when its call takes `mask`)."""
    return not layer._keras_operation and "mask" in _call_arguments(type(layer))


def _warn_dropped_mask(layer: Layer, in_mask: Any) -> None:
    """Keras' warning when a mask reaches a layer that does not support masking: the mask
    stops there."""
    if layer.supports_masking or layer._keras_operation or _masks_hidden() \
            or not _leaves(in_mask):
        return
    warnings.warn(
        f"Layer '{layer.name}' (of type {type(layer).__name__}) was passed an input with a "
        "mask attached to it. However, this layer does not support masking and will "
        "therefore destroy the mask information. Downstream layers will not see the mask.",
        UserWarning, stacklevel=3)


def _eager_mask(first: Any) -> Any:
    """The mask an eager call's first argument carries (a list of masks for a list of
    arrays that carries any), or None."""
    if isinstance(first, list | tuple):
        found = [variables.output_mask(t) if isinstance(t, jax.Array) else None
                 for t in first]
        return found if any(m is not None for m in found) else None
    return variables.output_mask(first) if isinstance(first, jax.Array) else None


def _scope_mask(scope: variables.StatelessScope, first: Any) -> Any:
    """The mask a traced call's first argument carries in `scope` (a list of masks for a
    list of arrays that carries any), or None."""
    if isinstance(first, list | tuple):
        found = [scope.mask_of(t) for t in first]
        return found if any(m is not None for m in found) else None
    return scope.mask_of(first)


def _symbolic_mask(first: Any) -> Any:
    if isinstance(first, list | tuple) and first and all(
            isinstance(t, KerasTensor) for t in first):  # a list input: a list of masks
        found = [t._keras_mask for t in first]
        return found if any(m is not None for m in found) else None
    return getattr(first, "_keras_mask", None) if isinstance(first, KerasTensor) else None


def argument_masks(layer: Layer, args: tuple, kwargs: dict, mask_of: Any) -> dict[str, Any]:
    """The `<argument>_mask` keywords Keras fills in for a call with several tensor
    arguments (MultiHeadAttention's query_mask, value_mask, key_mask): for each tensor
    argument whose call takes `<name>_mask` and was not given one, `mask_of(tensor)`."""
    accepts = _call_arguments(type(layer))
    if not any(a.endswith("_mask") for a in accepts):
        return {}
    names = [n for n, p in inspect.signature(type(layer).call).parameters.items()
             if n != "self" and p.kind in (inspect.Parameter.POSITIONAL_ONLY,
                                           inspect.Parameter.POSITIONAL_OR_KEYWORD)]
    bound = {**dict(zip(names, args, strict=False)), **kwargs}
    tensors = {k: v for k, v in bound.items() if v is not None and _is_array_like(v)}
    if len(tensors) < 2:
        return {}
    found = {}
    for name, tensor in tensors.items():
        if f"{name}_mask" in accepts and bound.get(f"{name}_mask") is None:
            mask = mask_of(tensor)
            if mask is not None:
                found[f"{name}_mask"] = mask
    return found


def call_with_mask(layer: Layer, args: tuple, kwargs: dict, mask: Any,
                   named: dict[str, Any] | None = None) -> tuple[Any, Any]:
    """(outputs, output mask): the layer called with `mask=` when its call takes one and
    there is a mask (as Keras passes masks along a model), and with the `<argument>_mask`
    keywords in `named`; and the mask it hands on (from the first argument's mask)."""
    if mask is not None and _takes_mask(layer) and "mask" not in kwargs:
        kwargs = {**kwargs, "mask": mask}
    if named:
        kwargs = {**kwargs, **named}
    outputs = layer(*args, **kwargs)
    symbolic = any(isinstance(t, KerasTensor) for t in _leaves(args))
    if symbolic or not _computes_mask(layer, mask):
        return outputs, None
    return outputs, layer.compute_mask(args[0] if args else None, mask)


def _is_array_like(value: Any) -> bool:
    return isinstance(value, np.ndarray | jax.Array | Variable | KerasTensor) or hasattr(
        value, "__jax_array__")


def _leaves(tree: Any) -> list[Any]:
    return jax.tree.leaves(tree, is_leaf=lambda t: isinstance(t, KerasTensor | Variable))


def _as_shape(shape: Any, argument: str) -> Shape:
    if isinstance(shape, int):
        shape = (shape,)
    try:
        dims = tuple(shape)
    except TypeError:
        raise TypeError(
            f"{argument} must be a tuple of positive integers. Received: {argument}={shape!r}"
        ) from None
    for d in dims:
        if d is not None and (isinstance(d, bool) or not isinstance(d, int | np.integer)
                              or d < 1):
            raise ValueError(
                f"{argument} must be a tuple of positive integers (None for unknown). "
                f"Received: {argument}={shape!r}"
            )
    return tuple(None if d is None else int(d) for d in dims)


def _shape_lists(shapes: Any) -> Any:
    """Shapes (tuples, possibly nested in lists or dicts) as JSON lists."""
    if isinstance(shapes, dict):
        return {k: _shape_lists(v) for k, v in shapes.items()}
    if isinstance(shapes, list | tuple) and shapes and all(
            d is None or isinstance(d, int) for d in shapes):
        return list(shapes)
    if isinstance(shapes, list | tuple):
        return [_shape_lists(v) for v in shapes]
    return shapes


def _shape_tuples(shapes: Any) -> Any:
    """JSON shape lists back as tuples (a list of ints/None is one shape)."""
    if isinstance(shapes, dict):
        return {k: _shape_tuples(v) for k, v in shapes.items()}
    if isinstance(shapes, list | tuple) and all(d is None or isinstance(d, int) for d in shapes):
        return tuple(shapes)
    if isinstance(shapes, list | tuple):
        return [_shape_tuples(v) for v in shapes]
    return shapes
