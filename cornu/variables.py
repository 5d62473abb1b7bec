"""Variables and the stateless scope.

A `Variable` holds one array of a layer (a kernel, a moving mean, a metric's total). Users
read it (`layer.kernel`, `ops.matmul(x, self.kernel)`) and change it (`assign`), as in
Keras 3. The engine never sees variables: it gathers their values into pytrees, and while
it traces a layer's `call` under a `StatelessScope`, each variable reads its traced value
from the scope and `assign` records the new value in the scope instead of changing the
variable. So the compiled step stays a pure function of pytrees.
"""

from __future__ import annotations

import contextlib
import math
import threading
import weakref
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

__all__ = ["StatelessScope", "Variable", "abstract_variables", "in_stateless_scope"]

_local = threading.local()


def _stack(name: str) -> list:
    stack = getattr(_local, name, None)
    if stack is None:
        stack = []
        setattr(_local, name, stack)
    return stack


class StatelessScope:
    """Variables read the values given here and record their assignments here.

        with StatelessScope([(v, traced_value), ...], rng=key) as scope:
            y = layer(x)
        new_value = scope.get_current_value(v)

    `rng` is the key random draws inside the scope come from (the training step's key);
    `sample_mask` marks the real samples of a padded batch (batch statistics skip the
    rest); `losses` collects `add_loss` values; the scope also remembers the logits of
    softmax and sigmoid outputs, for cross-entropies computed from logits.
    """

    def __init__(self, state_mapping: Sequence[tuple[Variable, Any]] = (), *, rng=None,
                 sample_mask=None, collect_losses: bool = True) -> None:
        self._values: dict[int, Any] = {}
        for variable, value in state_mapping:
            if not isinstance(variable, Variable):
                raise TypeError("StatelessScope takes (Variable, value) pairs. Received: "
                                f"{type(variable).__name__}")
            # a Variable given as a value stands for its current value (read now, before
            # this scope makes variables read from it)
            self._values[id(variable)] = value.value if isinstance(value, Variable) else value
        self._variables: dict[int, Variable] = {id(v): v for v, _ in state_mapping}
        self.rng = rng
        self._draws = 0
        self.sample_mask = sample_mask
        self.collect_losses = collect_losses
        self.losses: list[Any] = []
        self._logits: dict[int, tuple[Any, Any, str]] = {}
        self._masks: dict[int, tuple[Any, Any]] = {}

    # -- variables -----------------------------------------------------------------------
    def get_current_value(self, variable: Variable) -> Any:
        return self._values.get(id(variable))

    def assign(self, variable: Variable, value: Any) -> None:
        self._values[id(variable)] = value
        self._variables[id(variable)] = variable

    def __contains__(self, variable: Variable) -> bool:
        return id(variable) in self._values

    # -- randomness ----------------------------------------------------------------------
    def next_key(self, salt: int) -> jax.Array:
        """A key for one random draw: the scope's key folded with the generator's salt and
        the number of draws so far, so each draw in a traced call differs."""
        self._draws += 1
        return jax.random.fold_in(jax.random.fold_in(self.rng, salt), self._draws)

    # -- logits of softmax/sigmoid outputs -------------------------------------------------
    def record_logits(self, output: Any, logits: Any, activation: str) -> None:
        self._logits[id(output)] = (output, logits, activation)

    def logits_of(self, output: Any) -> tuple[Any, str] | None:
        found = self._logits.get(id(output))
        if found is None or found[0] is not output:
            return None
        return found[1], found[2]

    # -- masks of model outputs ----------------------------------------------------------
    def record_mask(self, output: Any, mask: Any) -> None:
        self._masks[id(output)] = (output, mask)

    def has_masks(self) -> bool:
        """Whether any array traced in this scope carries a mask (none: layer calls skip
        the look-ups)."""
        return bool(self._masks)

    def mask_of(self, output: Any) -> Any:
        """The mask a model's call gave `output` (Embedding(mask_zero=True) upstream), or
        None."""
        found = self._masks.get(id(output))
        return found[1] if found is not None and found[0] is output else None

    def __enter__(self) -> StatelessScope:
        _stack("scopes").append(self)
        return self

    def __exit__(self, *exc: Any) -> None:
        _stack("scopes").pop()


def current_scope() -> StatelessScope | None:
    stack = _stack("scopes")
    return stack[-1] if stack else None


def record_logits(output: Any, logits: Any, kind: str) -> Any:
    """Tell the scope a compiled step traces in that `output` is softmax or sigmoid of
    `logits`: a cross-entropy on this output is then computed from the logits (no clipped
    logarithms). Returns `output`."""
    scope = current_scope()
    if scope is not None:
        scope.record_logits(output, logits, kind)
    return output


def record_mask(output: Any, mask: Any) -> Any:
    """Tell the scope a compiled step traces in that `output` (a model's output) carries
    `mask`: the compiled loss and metrics then weigh its entries by it, as Keras."""
    scope = current_scope()
    if scope is not None and mask is not None:
        scope.record_mask(output, mask)
    return output


#: masks of arrays a model's stateless_call returned (Keras' `_keras_mask`), by id, held
#: only while the array lives
_OUTPUT_MASKS: dict[int, tuple[Any, Any]] = {}


def set_output_mask(output: Any, mask: Any) -> None:
    """Let `output` (an array or tracer that stateless_call returns) carry `mask`, as
    Keras sets `_keras_mask` on a model's outputs: Loss.__call__ and the mean metrics
    weigh it."""
    key = id(output)
    try:
        ref = weakref.ref(output, lambda _, key=key: _OUTPUT_MASKS.pop(key, None))
    except TypeError:  # not weakly referable: no mask is carried
        return
    _OUTPUT_MASKS[key] = (ref, mask)
    if not isinstance(output, jax.core.Tracer):
        try:  # readable as Keras users read it (an eager output's `_keras_mask`)
            output._keras_mask = mask
        except AttributeError:
            pass


def output_mask(output: Any) -> Any:
    """The mask `output` carries (set_output_mask, or a `_keras_mask` set on an array as
    Keras users set it), or None."""
    found = _OUTPUT_MASKS.get(id(output))
    if found is not None and found[0]() is output:
        return found[1]
    if isinstance(output, jax.Array) and not isinstance(output, jax.core.Tracer):
        return getattr(output, "_keras_mask", None)
    return None


def in_stateless_scope() -> bool:
    return current_scope() is not None


@contextlib.contextmanager
def abstract_variables() -> Iterator[None]:
    """Variables made inside hold only their shape and dtype (jax.ShapeDtypeStruct): a
    model can be built from a file's config and checked against the file before any array
    is allocated."""
    stack = _stack("abstract")
    stack.append(True)
    try:
        yield
    finally:
        stack.pop()


def _abstract_mode() -> bool:
    return bool(_stack("abstract"))


@contextlib.contextmanager
def autocast(dtype: str | None) -> Iterator[None]:
    """Floating variables read in `dtype` inside (a mixed-precision layer's call)."""
    stack = _stack("autocast")
    stack.append(dtype)
    try:
        yield
    finally:
        stack.pop()


def _autocast_dtype() -> str | None:
    stack = _stack("autocast")
    return stack[-1] if stack else None


def _standard_dtype(dtype: Any) -> str:
    if dtype is None:
        return "float32"
    try:
        return np.dtype(dtype).name if not isinstance(dtype, str) else np.dtype(
            jnp.dtype(dtype)).name
    except TypeError:
        raise ValueError(f"dtype must be a NumPy/JAX dtype name such as 'float32'. "
                         f"Received: dtype={dtype!r}") from None


# -- the structure version --------------------------------------------------------------------
# A count that moves whenever the weights a model holds, or which of them train, may have
# changed: a layer attribute set or deleted, a weight added, `trainable` set on a layer or a
# variable, a layer added to or taken from a Sequential. Models keep the lists of their weights
# between predict, evaluate and call for as long as it stands still (walking the layers costs
# more than a small model's compiled call).
_structure = [0]


def structure_changed() -> None:
    _structure[0] += 1


def structure_version() -> int:
    return _structure[0]


class Variable:
    """One array of a layer, model or metric (Keras 3's `keras.Variable`).

    `initializer` is an array-like value or a callable `(shape, dtype) -> array` (a Keras
    initializer object, or a name such as 'zeros'). `trainable` says whether the optimizer
    updates it; `assign`, `assign_add` and `assign_sub` change it (inside a compiled step
    the change goes to the stateless scope and becomes part of the step's result).
    """

    _ids = 0

    def __init__(self, initializer: Any, shape: Sequence[int] | None = None,
                 dtype: Any = None, trainable: bool = True, autocast: bool = True,
                 name: str | None = None, aggregation: str = "none",
                 synchronization: str = "auto") -> None:
        if name is not None and (not isinstance(name, str) or "/" in name or not name):
            raise ValueError("name must be a non-empty string without '/'. Received: "
                             f"name={name!r}")
        Variable._ids += 1
        self.name = name if name is not None else f"variable_{Variable._ids}"
        self.path = self.name
        self._trainable = bool(trainable)
        self.autocast = bool(autocast)
        self.aggregation = aggregation
        self.synchronization = synchronization
        self.regularizer: Callable | None = None
        self.constraint: Callable | None = None
        if isinstance(initializer, str):
            from cornu import initializers

            initializer = initializers.get(initializer, "initializer")
        if callable(initializer):
            if shape is None:
                raise ValueError(f"Variable '{self.name}' has an initializer function, so it "
                                 "needs shape=. Received: shape=None")
            shape = _as_shape(shape, self.name)
            dtype = _standard_dtype(dtype)
            if _abstract_mode():
                self._value = jax.ShapeDtypeStruct(shape, jnp.dtype(dtype))
            else:
                with jax.ensure_compile_time_eval():  # real arrays even inside a trace
                    self._value = _call_initializer(initializer, shape, dtype)
        else:
            if isinstance(initializer, Variable):
                initializer = initializer.value
            value = np.asarray(initializer) if not isinstance(initializer, jax.Array) \
                else initializer
            if dtype is None:
                dtype = "float32" if np.issubdtype(value.dtype, np.floating) \
                    and value.dtype == np.float64 else value.dtype
            dtype = _standard_dtype(dtype)
            if shape is not None and tuple(value.shape) != _as_shape(shape, self.name):
                raise ValueError(f"Variable '{self.name}': the initial value has shape "
                                 f"{tuple(value.shape)}, but shape={tuple(shape)}.")
            with jax.ensure_compile_time_eval():
                self._value = jax.device_put(np.asarray(value, dtype=dtype)) \
                    if not isinstance(value, jax.Array) else value.astype(dtype)

    @property
    def trainable(self) -> bool:
        return self._trainable

    @trainable.setter
    def trainable(self, value: bool) -> None:
        self._trainable = bool(value)
        structure_changed()

    # -- reading ---------------------------------------------------------------------------
    @property
    def value(self) -> Any:
        for scope in reversed(_stack("scopes")):
            if self in scope:
                value = scope.get_current_value(self)
                break
        else:
            value = self._value
        if isinstance(value, jax.ShapeDtypeStruct):  # abstract (a model planned from a
            value = jnp.zeros(value.shape, value.dtype)  # file): read by a trace building it
        cast = _autocast_dtype()
        if cast is not None and self.autocast and jnp.issubdtype(self.dtype, jnp.floating) \
                and jnp.dtype(cast) != self.dtype:
            return value.astype(cast)
        return value

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self._value.shape)

    @property
    def dtype(self) -> Any:
        return jnp.dtype(self._value.dtype)

    @property
    def ndim(self) -> int:
        return len(self._value.shape)

    @property
    def is_abstract(self) -> bool:
        """Only a shape and dtype so far (built under abstract_variables)."""
        return isinstance(self._value, jax.ShapeDtypeStruct)

    def numpy(self) -> np.ndarray:
        return np.array(self.value)

    # -- changing --------------------------------------------------------------------------
    def assign(self, value: Any) -> Variable:
        if isinstance(value, Variable):
            value = value.value
        scope = current_scope()
        if scope is not None:
            value = jnp.asarray(value, self.dtype)
            if value.shape != self.shape:
                raise ValueError(f"Variable '{self.path}' has shape {self.shape}; assign "
                                 f"received shape {value.shape}.")
            scope.assign(self, value)
            return self
        if isinstance(value, jax.core.Tracer):
            raise RuntimeError(
                f"Variable '{self.path}' was assigned a traced value outside a "
                "StatelessScope. Inside jax.jit, use model.stateless_call and return the "
                "new values instead.")
        array = value if isinstance(value, jax.Array) else np.asarray(value)
        if tuple(array.shape) != self.shape:
            raise ValueError(f"Variable '{self.path}' has shape {self.shape}; assign "
                             f"received shape {tuple(array.shape)}.")
        self._value = (array.astype(self.dtype) if isinstance(array, jax.Array)
                       else jax.device_put(np.asarray(array, self.dtype)))
        return self

    def _direct_assign(self, value: Any) -> None:
        """Set the stored value (the engine writing back its results; no checks)."""
        self._value = value

    def assign_add(self, value: Any) -> Variable:
        return self.assign(self.value + _unwrap(value))

    def assign_sub(self, value: Any) -> Variable:
        return self.assign(self.value - _unwrap(value))

    # -- behaving like an array --------------------------------------------------------------
    def __jax_array__(self) -> Any:
        return self.value

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        array = np.asarray(self.value)
        return array if dtype is None else array.astype(dtype)

    def __repr__(self) -> str:
        return (f"<Variable path={self.path}, shape={self.shape}, dtype={self.dtype.name}, "
                f"trainable={self.trainable}>")

    def __len__(self) -> int:
        return self.shape[0]

    def __bool__(self) -> bool:
        return bool(self.value)

    def __float__(self) -> float:
        return float(self.value)

    def __int__(self) -> int:
        return int(self.value)

    def __getitem__(self, index: Any) -> Any:
        return self.value[index]

    def astype(self, dtype: Any) -> Any:
        return self.value.astype(dtype)

    @property
    def T(self) -> Any:  # noqa: N802 - numpy's name
        return self.value.T

    def __neg__(self):
        return -self.value

    def __pos__(self):
        return self.value

    def __abs__(self):
        return abs(self.value)

    def __invert__(self):
        return ~self.value

    def __hash__(self) -> int:
        return id(self)

    def __eq__(self, other: Any) -> Any:  # arrays compare elementwise, as Keras' variables
        return self.value == _unwrap(other)

    def __ne__(self, other: Any) -> Any:
        return self.value != _unwrap(other)


def _unwrap(value: Any) -> Any:
    return value.value if isinstance(value, Variable) else value


def _binary(name: str) -> None:
    def forward(self, other):
        return getattr(self.value, name)(_unwrap(other))

    forward.__name__ = name
    setattr(Variable, name, forward)


for _name in ("add", "sub", "mul", "truediv", "floordiv", "mod", "pow", "matmul", "and",
              "or", "xor", "lt", "le", "gt", "ge"):
    if _name in ("lt", "le", "gt", "ge"):
        _binary(f"__{_name}__")
    else:
        _binary(f"__{_name}__")
        _binary(f"__r{_name}__")


def _as_shape(shape: Any, name: str) -> tuple[int, ...]:
    try:
        dims = tuple(int(d) for d in shape)
    except (TypeError, ValueError):
        raise ValueError(f"Variable '{name}': shape must be a tuple of non-negative integers. "
                         f"Received: shape={shape!r}") from None
    if any(d < 0 for d in dims):
        raise ValueError(f"Variable '{name}': shape must be a tuple of non-negative integers. "
                         f"Received: shape={shape!r}")
    return dims


def _call_initializer(initializer: Callable, shape: tuple[int, ...], dtype: str) -> jax.Array:
    """Values from an initializer object or a user function, both called as Keras calls
    them: `(shape, dtype=...)`."""
    value = initializer(shape, dtype=dtype)
    if not isinstance(value, jax.Array):
        value = jax.device_put(np.asarray(value, dtype))
    if tuple(value.shape) != shape:
        raise ValueError(f"The initializer returned shape {tuple(value.shape)}; the variable "
                         f"has shape {shape}.")
    return value.astype(dtype) if value.dtype != jnp.dtype(dtype) else value


def count(variables: Sequence[Variable]) -> int:
    return sum(math.prod(v.shape) for v in variables)


# A variable inside a pytree (Keras' guides pass `model.trainable_variables` to jitted
# functions) stands for its current value: flattening gives the value, and unflattening
# gives the array back (the function receives arrays, not Variable objects).
jax.tree_util.register_pytree_node(
    Variable, lambda v: ((v.value,), None), lambda _, children: children[0])
