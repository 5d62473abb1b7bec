"""Tensors, dtypes and control flow: `keras.ops` core (keras/src/ops/core.py).

Every op converts its array arguments with `convert_to_tensor` first, so it takes anything
`jnp.asarray` takes: NumPy arrays, Python scalars and lists, and objects with
`__jax_array__` (cornu Variables). Control flow is `jax.lax`'s, so it also works under `jit`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

FLOATX = "float32"
EPSILON = 1e-7  # keras.backend.epsilon()

_PYTHON_DTYPES = {bool: "bool", int: "int32", float: "float32", complex: "complex64"}
_NARROW = {"float64": "float32", "int64": "int32", "uint64": "uint32", "complex128": "complex64"}


def standardize_dtype(dtype: Any) -> str | None:
    """The dtype's name ("float32"); Python `float`/`int` give float32/int32 as in Keras.
    None stays None (callers pick their default)."""
    if dtype is None:
        return None
    dtype = _PYTHON_DTYPES.get(dtype, dtype)
    try:
        return jnp.dtype(dtype).name
    except TypeError:
        raise ValueError(f"Invalid dtype: {dtype!r}. Received: dtype={dtype!r}") from None


def convert_to_tensor(x: Any, dtype: Any = None, sparse: bool | None = None,
                      ragged: bool | None = None) -> jax.Array:
    """A `jax.Array` holding `x` (returned as is when it already is one of `dtype`).

    Python scalars and (nested) lists give float32/int32, never float64/int64, also when
    JAX runs with 64-bit types enabled. Sparse and ragged tensors do not exist in cornu:
    `sparse=True` or `ragged=True` is a ValueError."""
    if sparse:
        raise ValueError(f"cornu has no sparse tensors. Received: sparse={sparse}")
    if ragged:
        raise ValueError(f"cornu has no ragged tensors. Received: ragged={ragged}")
    dtype = standardize_dtype(dtype)
    if isinstance(x, jax.Array) and (dtype is None or x.dtype == dtype):
        return x
    out = jnp.asarray(x, dtype=dtype)
    if dtype is None and isinstance(x, (bool, int, float, complex, list, tuple)):
        narrow = _NARROW.get(out.dtype.name)
        if narrow is not None:
            out = out.astype(narrow)
    return out


def convert_to_numpy(x: Any) -> np.ndarray:
    """A NumPy array holding `x` (copied to the host)."""
    return np.asarray(convert_to_tensor(x))


def is_tensor(x: Any) -> bool:
    """Whether `x` is a JAX array (or a tracer of one); NumPy arrays are not."""
    return isinstance(x, jax.Array)


def shape(x: Any) -> tuple[int, ...]:
    """The shape as a tuple of ints."""
    s = getattr(x, "shape", None)
    return tuple(s) if s is not None else tuple(convert_to_tensor(x).shape)


def dtype(x: Any) -> str:
    """The dtype's name, e.g. "float32"."""
    d = getattr(x, "dtype", None)
    return standardize_dtype(d) if d is not None else convert_to_tensor(x).dtype.name


def cast(x: Any, dtype: Any) -> jax.Array:
    """`x` as `dtype` (a name such as "float32", a NumPy/JAX dtype, or `float`/`int`)."""
    return convert_to_tensor(x, dtype=dtype)


def stop_gradient(variable: Any) -> jax.Array:
    return lax.stop_gradient(convert_to_tensor(variable))


def cond(pred: Any, true_fn: Callable, false_fn: Callable) -> Any:
    """`true_fn()` if `pred` else `false_fn()` (both are traced; outputs must match)."""
    return lax.cond(pred, true_fn, false_fn)


def switch(index: Any, branches: Sequence[Callable], *operands: Any) -> Any:
    return lax.switch(index, branches, *operands)


def scan(f: Callable, init: Any, xs: Any = None, length: int | None = None,
         reverse: bool = False, unroll: int | bool = 1) -> tuple[Any, Any]:
    if not isinstance(unroll, bool) and (not isinstance(unroll, int) or unroll < 1):
        raise ValueError("unroll must be a positive integer or a bool. "
                         f"Received: unroll={unroll!r}")
    return lax.scan(f, init, xs, length=length, reverse=reverse, unroll=unroll)


def associative_scan(f: Callable, elems: Any, reverse: bool = False, axis: int = 0) -> Any:
    return lax.associative_scan(f, elems, reverse=reverse, axis=axis)


def map(f: Callable, xs: Any) -> Any:
    """`f` applied to each slice of `xs` along its first axis (a loop, not vectorized)."""
    return lax.map(f, xs)


def vectorized_map(function: Callable, elements: Any) -> Any:
    return jax.vmap(function)(elements)


def fori_loop(lower: int, upper: int, body_fun: Callable, init_val: Any) -> Any:
    return lax.fori_loop(lower, upper, body_fun, init_val)


def while_loop(cond: Callable, body: Callable, loop_vars: Any,
               maximum_iterations: int | None = None) -> Any:
    """Keras' while loop: `cond(*loop_vars)` and `body(*loop_vars)` take the loop variables
    unpacked when they are a tuple or list (the result is then a tuple)."""
    packed = isinstance(loop_vars, (tuple, list))
    state = tuple(loop_vars) if packed else (loop_vars,)

    def call(fn, values):
        return fn(*values)

    def step(values):
        out = call(body, values)
        return tuple(out) if packed else (out,)

    if maximum_iterations is None:
        out = lax.while_loop(lambda s: call(cond, s), step, state)
    else:
        def bounded_cond(s):
            return jnp.logical_and(call(cond, s[0]), s[1] < maximum_iterations)

        out, _ = lax.while_loop(bounded_cond, lambda s: (step(s[0]), s[1] + 1), (state, 0))
    return out if packed else out[0]


def unstack(x: Any, num: int | None = None, axis: int = 0) -> list[jax.Array]:
    x = convert_to_tensor(x)
    return [lax.index_in_dim(x, i, axis, keepdims=False) for i in range(x.shape[axis])]


def slice(inputs: Any, start_indices: Any, shape: Sequence[int]) -> jax.Array:
    """The block of `shape` at `start_indices`; a size of -1 takes the rest of that axis.
    Starts may be traced; they are clamped so the block fits (lax.dynamic_slice)."""
    inputs = convert_to_tensor(inputs)
    sizes = tuple(inputs.shape[i] - start_indices[i] if s == -1 else s
                  for i, s in enumerate(shape))
    return lax.dynamic_slice(inputs, start_indices, sizes)


def slice_update(inputs: Any, start_indices: Any, updates: Any) -> jax.Array:
    inputs = convert_to_tensor(inputs)
    updates = convert_to_tensor(updates, dtype=inputs.dtype)
    return lax.dynamic_update_slice(inputs, updates, tuple(start_indices))


def scatter(indices: Any, values: Any, shape: Sequence[int]) -> jax.Array:
    """Zeros of `shape` with `values` added at `indices` (shape (..., len(shape)) or less)."""
    indices, values = convert_to_tensor(indices), convert_to_tensor(values)
    return jnp.zeros(shape, values.dtype).at[tuple(jnp.moveaxis(indices, -1, 0))].add(values)


_REDUCTIONS = {None: "set", "add": "add", "max": "max", "min": "min", "mul": "multiply"}


def scatter_update(inputs: Any, indices: Any, updates: Any, reduction: str | None = None):
    """`inputs` with `updates` written at `indices` (shape (n, k)); `reduction` ("add",
    "max", "min", "mul") combines them with the old values instead."""
    if reduction not in _REDUCTIONS:
        raise ValueError("reduction must be None, 'add', 'max', 'min' or 'mul'. "
                         f"Received: reduction={reduction!r}")
    inputs = convert_to_tensor(inputs)
    at = inputs.at[tuple(jnp.moveaxis(convert_to_tensor(indices), -1, 0))]
    return getattr(at, _REDUCTIONS[reduction])(convert_to_tensor(updates))


def custom_gradient(f: Callable) -> Callable:
    """`f` returns (output, grad_fn); grad_fn(*upstream) gives the gradients of the inputs."""
    return jax.custom_gradient(f)


__all__ = [
    "associative_scan",
    "cast",
    "cond",
    "convert_to_numpy",
    "convert_to_tensor",
    "custom_gradient",
    "dtype",
    "fori_loop",
    "is_tensor",
    "map",
    "scan",
    "scatter",
    "scatter_update",
    "shape",
    "slice",
    "slice_update",
    "stop_gradient",
    "switch",
    "unstack",
    "vectorized_map",
    "while_loop",
]
