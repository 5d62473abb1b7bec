"""The NumPy-like ops of `keras.ops` (keras/src/ops/numpy.py), thin over `jax.numpy`.

Names, arguments, defaults and result dtypes are those of Keras' JAX backend: creation ops
default to float32 (`ones((2,))`, `full((2,), 3)`), `mean`/`var`/`std` of integers are
float32, `count_nonzero` is int32. Every array argument goes through `convert_to_tensor`,
so NumPy arrays, Python lists and objects with `__jax_array__` are all accepted.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp

from cornu.ops.core import FLOATX, convert_to_tensor, shape, standardize_dtype

Array = jax.Array
_SCALARS = (bool, int, float, complex)


def _operand(x: Any) -> Any:
    """An array, or a Python scalar left as is so JAX keeps it weakly typed (`x + 1.0`
    stays float16 for a float16 `x`)."""
    return x if isinstance(x, _SCALARS) else convert_to_tensor(x)


def _axis(axis: Any) -> Any:
    return tuple(axis) if isinstance(axis, list) else axis


def _float(x: Array) -> Array:
    """`x` as a float array: integers and bools become float32, floats stay as they are."""
    return x if jnp.issubdtype(x.dtype, jnp.inexact) else x.astype(FLOATX)


def _unary(name: str, fn: Callable, to_float: bool = False) -> Callable[[Any], Array]:
    def op(x: Any) -> Array:
        x = convert_to_tensor(x)
        return fn(_float(x) if to_float else x)

    op.__name__ = op.__qualname__ = name
    op.__doc__ = f"`jnp.{fn.__name__}(x)`, element-wise."
    return op


def _binary(name: str, fn: Callable) -> Callable[[Any, Any], Array]:
    def op(x1: Any, x2: Any) -> Array:
        return fn(_operand(x1), _operand(x2))

    op.__name__ = op.__qualname__ = name
    op.__doc__ = f"`jnp.{fn.__name__}(x1, x2)`, element-wise with broadcasting."
    return op


# element-wise, one argument
abs = absolute = _unary("absolute", jnp.absolute)
negative = _unary("negative", jnp.negative)
sign = _unary("sign", jnp.sign)
square = _unary("square", jnp.square)
reciprocal = _unary("reciprocal", jnp.reciprocal)
conj = conjugate = _unary("conjugate", jnp.conjugate)
real = _unary("real", jnp.real)
imag = _unary("imag", jnp.imag)
sqrt = _unary("sqrt", jnp.sqrt, to_float=True)
cbrt = _unary("cbrt", jnp.cbrt, to_float=True)
exp = _unary("exp", jnp.exp, to_float=True)
exp2 = _unary("exp2", jnp.exp2, to_float=True)
expm1 = _unary("expm1", jnp.expm1, to_float=True)
log = _unary("log", jnp.log, to_float=True)
log1p = _unary("log1p", jnp.log1p, to_float=True)
log2 = _unary("log2", jnp.log2, to_float=True)
log10 = _unary("log10", jnp.log10, to_float=True)
sin = _unary("sin", jnp.sin, to_float=True)
cos = _unary("cos", jnp.cos, to_float=True)
tan = _unary("tan", jnp.tan, to_float=True)
arcsin = _unary("arcsin", jnp.arcsin, to_float=True)
arccos = _unary("arccos", jnp.arccos, to_float=True)
arctan = _unary("arctan", jnp.arctan, to_float=True)
sinh = _unary("sinh", jnp.sinh, to_float=True)
cosh = _unary("cosh", jnp.cosh, to_float=True)
tanh = _unary("tanh", jnp.tanh, to_float=True)
arcsinh = _unary("arcsinh", jnp.arcsinh, to_float=True)
arccosh = _unary("arccosh", jnp.arccosh, to_float=True)
arctanh = _unary("arctanh", jnp.arctanh, to_float=True)
deg2rad = _unary("deg2rad", jnp.deg2rad, to_float=True)
rad2deg = _unary("rad2deg", jnp.rad2deg, to_float=True)
floor = _unary("floor", jnp.floor, to_float=True)
ceil = _unary("ceil", jnp.ceil, to_float=True)
isnan = _unary("isnan", jnp.isnan)
isinf = _unary("isinf", jnp.isinf)
isfinite = _unary("isfinite", jnp.isfinite)
signbit = _unary("signbit", jnp.signbit)
logical_not = _unary("logical_not", jnp.logical_not)
bitwise_not = bitwise_invert = _unary("bitwise_not", jnp.bitwise_not)

# element-wise, two arguments
add = _binary("add", jnp.add)
subtract = _binary("subtract", jnp.subtract)
multiply = _binary("multiply", jnp.multiply)
divide = true_divide = _binary("divide", jnp.divide)
floor_divide = _binary("floor_divide", jnp.floor_divide)
mod = _binary("mod", jnp.mod)
fmod = _binary("fmod", jnp.fmod)
power = _binary("power", jnp.power)
maximum = _binary("maximum", jnp.maximum)
minimum = _binary("minimum", jnp.minimum)
arctan2 = _binary("arctan2", jnp.arctan2)
hypot = _binary("hypot", jnp.hypot)
equal = _binary("equal", jnp.equal)
not_equal = _binary("not_equal", jnp.not_equal)
greater = _binary("greater", jnp.greater)
greater_equal = _binary("greater_equal", jnp.greater_equal)
less = _binary("less", jnp.less)
less_equal = _binary("less_equal", jnp.less_equal)
logical_and = _binary("logical_and", jnp.logical_and)
logical_or = _binary("logical_or", jnp.logical_or)
logical_xor = _binary("logical_xor", jnp.logical_xor)
bitwise_and = _binary("bitwise_and", jnp.bitwise_and)
bitwise_or = _binary("bitwise_or", jnp.bitwise_or)
bitwise_xor = _binary("bitwise_xor", jnp.bitwise_xor)


def logaddexp(x1: Any, x2: Any) -> Array:
    """log(exp(x1) + exp(x2)), computed stably; integers give float32."""
    x1, x2 = convert_to_tensor(x1), convert_to_tensor(x2)
    return jnp.logaddexp(_float(x1), _float(x2))


def divide_no_nan(x1: Any, x2: Any) -> Array:
    """x1 / x2, with 0 where x2 is 0."""
    x1, x2 = _operand(x1), _operand(x2)
    safe = jnp.where(x2 == 0, 1, x2)
    return jnp.where(x2 == 0, 0, jnp.divide(x1, safe))


def round(x: Any, decimals: int = 0) -> Array:
    """Round half to even; integers stay integers (also for negative `decimals`)."""
    x = convert_to_tensor(x)
    if decimals < 0 and jnp.issubdtype(x.dtype, jnp.integer):
        factor = 10.0 ** -decimals
        return (jnp.round(x.astype(FLOATX) / factor) * factor).astype(x.dtype)
    return jnp.round(x, decimals=decimals)


def trunc(x: Any) -> Array:
    x = convert_to_tensor(x)
    return jnp.trunc(x) if jnp.issubdtype(x.dtype, jnp.inexact) else x


def clip(x: Any, x_min: Any, x_max: Any) -> Array:
    """`x` limited to [x_min, x_max]; bools become int32 first, as in Keras."""
    x = convert_to_tensor(x)
    if x.dtype == jnp.bool_:
        x = x.astype("int32")
    return jnp.clip(x, x_min, x_max)


def nan_to_num(x: Any, nan: float = 0.0, posinf: float | None = None,
               neginf: float | None = None) -> Array:
    return jnp.nan_to_num(convert_to_tensor(x), nan=nan, posinf=posinf, neginf=neginf)


def where(condition: Any, x1: Any = None, x2: Any = None) -> Any:
    """`x1` where `condition` holds, else `x2`; with neither, the indices where it holds
    (a tuple of arrays, as `nonzero`)."""
    condition = convert_to_tensor(condition)
    if x1 is None and x2 is None:
        return jnp.nonzero(condition)
    if x1 is None or x2 is None:
        raise ValueError("where needs both x1 and x2, or neither. "
                         f"Received: x1={x1!r}, x2={x2!r}")
    return jnp.where(condition, _operand(x1), _operand(x2))


def isclose(x1: Any, x2: Any, rtol: float = 1e-5, atol: float = 1e-8,
            equal_nan: bool = False) -> Array:
    return jnp.isclose(_operand(x1), _operand(x2), rtol=rtol, atol=atol, equal_nan=equal_nan)


def allclose(x1: Any, x2: Any, rtol: float = 1e-5, atol: float = 1e-8,
             equal_nan: bool = False) -> Array:
    return jnp.allclose(_operand(x1), _operand(x2), rtol=rtol, atol=atol, equal_nan=equal_nan)


# reductions
def sum(x: Any, axis: Any = None, keepdims: bool = False) -> Array:
    return jnp.sum(convert_to_tensor(x), axis=_axis(axis), keepdims=keepdims)


def prod(x: Any, axis: Any = None, keepdims: bool = False, dtype: Any = None) -> Array:
    return jnp.prod(convert_to_tensor(x), axis=_axis(axis), keepdims=keepdims,
                    dtype=standardize_dtype(dtype))


def _wide(x: Array) -> tuple[Array, Any]:
    """`x` as float32 when it is an integer or a 16-bit float (for mean and variance, so
    they neither truncate nor overflow), and the dtype to give the result."""
    if x.dtype in (jnp.float16, jnp.bfloat16):
        return x.astype("float32"), x.dtype
    x = _float(x)
    return x, x.dtype


def mean(x: Any, axis: Any = None, keepdims: bool = False) -> Array:
    """The mean; integers and bools give float32 (computed in float32 for 16-bit floats)."""
    x, result = _wide(convert_to_tensor(x))
    return jnp.mean(x, axis=_axis(axis), keepdims=keepdims).astype(result)


def var(x: Any, axis: Any = None, keepdims: bool = False) -> Array:
    """The population variance (ddof 0); integers give float32."""
    x, result = _wide(convert_to_tensor(x))
    return jnp.var(x, axis=_axis(axis), keepdims=keepdims).astype(result)


def std(x: Any, axis: Any = None, keepdims: bool = False) -> Array:
    """The population standard deviation (ddof 0); integers give float32."""
    x, result = _wide(convert_to_tensor(x))
    return jnp.std(x, axis=_axis(axis), keepdims=keepdims).astype(result)


def max(x: Any, axis: Any = None, keepdims: bool = False, initial: Any = None) -> Array:
    return jnp.max(convert_to_tensor(x), axis=_axis(axis), keepdims=keepdims, initial=initial)


def min(x: Any, axis: Any = None, keepdims: bool = False, initial: Any = None) -> Array:
    return jnp.min(convert_to_tensor(x), axis=_axis(axis), keepdims=keepdims, initial=initial)


def amax(x: Any, axis: Any = None, keepdims: bool = False) -> Array:
    return max(x, axis=axis, keepdims=keepdims)


def amin(x: Any, axis: Any = None, keepdims: bool = False) -> Array:
    return min(x, axis=axis, keepdims=keepdims)


def ptp(x: Any, axis: Any = None, keepdims: bool = False) -> Array:
    return jnp.ptp(convert_to_tensor(x), axis=_axis(axis), keepdims=keepdims)


def all(x: Any, axis: Any = None, keepdims: bool = False) -> Array:
    return jnp.all(convert_to_tensor(x), axis=_axis(axis), keepdims=keepdims)


def any(x: Any, axis: Any = None, keepdims: bool = False) -> Array:
    return jnp.any(convert_to_tensor(x), axis=_axis(axis), keepdims=keepdims)


def argmax(x: Any, axis: int | None = None, keepdims: bool = False) -> Array:
    return jnp.argmax(convert_to_tensor(x), axis=axis, keepdims=keepdims)


def argmin(x: Any, axis: int | None = None, keepdims: bool = False) -> Array:
    return jnp.argmin(convert_to_tensor(x), axis=axis, keepdims=keepdims)


def count_nonzero(x: Any, axis: Any = None) -> Array:
    """The number of non-zero entries, as int32."""
    return jnp.count_nonzero(convert_to_tensor(x), axis=_axis(axis)).astype("int32")


def median(x: Any, axis: Any = None, keepdims: bool = False) -> Array:
    return jnp.median(_float(convert_to_tensor(x)), axis=_axis(axis), keepdims=keepdims)


def quantile(x: Any, q: Any, axis: Any = None, method: str = "linear",
             keepdims: bool = False) -> Array:
    return jnp.quantile(_float(convert_to_tensor(x)), convert_to_tensor(q), axis=_axis(axis),
                        method=method, keepdims=keepdims)


def percentile(x: Any, q: Any, axis: Any = None, method: str = "linear",
               keepdims: bool = False) -> Array:
    return jnp.percentile(_float(convert_to_tensor(x)), convert_to_tensor(q),
                          axis=_axis(axis), method=method, keepdims=keepdims)


def average(x: Any, axis: Any = None, weights: Any = None) -> Array:
    x = _float(convert_to_tensor(x))
    if weights is not None:
        weights = convert_to_tensor(weights, dtype=x.dtype)
    return jnp.average(x, axis=_axis(axis), weights=weights)


def cumsum(x: Any, axis: int | None = None, dtype: Any = None) -> Array:
    return jnp.cumsum(convert_to_tensor(x), axis=axis, dtype=standardize_dtype(dtype))


def cumprod(x: Any, axis: int | None = None, dtype: Any = None) -> Array:
    return jnp.cumprod(convert_to_tensor(x), axis=axis, dtype=standardize_dtype(dtype))


def diff(a: Any, n: int = 1, axis: int = -1) -> Array:
    return jnp.diff(convert_to_tensor(a), n=n, axis=axis)


# products
def matmul(x1: Any, x2: Any) -> Array:
    return jnp.matmul(convert_to_tensor(x1), convert_to_tensor(x2))


def dot(x1: Any, x2: Any) -> Array:
    return jnp.dot(_operand(x1), _operand(x2))


def vdot(x1: Any, x2: Any) -> Array:
    return jnp.vdot(convert_to_tensor(x1), convert_to_tensor(x2))


def inner(x1: Any, x2: Any) -> Array:
    return jnp.inner(convert_to_tensor(x1), convert_to_tensor(x2))


def outer(x1: Any, x2: Any) -> Array:
    return jnp.outer(convert_to_tensor(x1), convert_to_tensor(x2))


def tensordot(x1: Any, x2: Any, axes: Any = 2) -> Array:
    return jnp.tensordot(convert_to_tensor(x1), convert_to_tensor(x2), axes=axes)


def einsum(subscripts: str, *operands: Any, **kwargs: Any) -> Array:
    return jnp.einsum(subscripts, *(convert_to_tensor(x) for x in operands), **kwargs)


def trace(x: Any, offset: int = 0, axis1: int = 0, axis2: int = 1) -> Array:
    return jnp.trace(convert_to_tensor(x), offset=offset, axis1=axis1, axis2=axis2)


# creation
def array(x: Any, dtype: Any = None) -> Array:
    return convert_to_tensor(x, dtype=dtype)


def zeros(shape: Any, dtype: Any = None) -> Array:
    return jnp.zeros(shape, dtype=standardize_dtype(dtype) or FLOATX)


def ones(shape: Any, dtype: Any = None) -> Array:
    return jnp.ones(shape, dtype=standardize_dtype(dtype) or FLOATX)


def empty(shape: Any, dtype: Any = None) -> Array:
    """Zeros (XLA has no uninitialized memory), float32 by default."""
    return zeros(shape, dtype)


def full(shape: Any, fill_value: Any, dtype: Any = None) -> Array:
    """`shape` filled with `fill_value`, float32 unless `dtype` says otherwise (as Keras:
    `full((2,), 3)` is float32)."""
    return jnp.full(shape, _operand(fill_value), dtype=standardize_dtype(dtype) or FLOATX)


def zeros_like(x: Any, dtype: Any = None) -> Array:
    return jnp.zeros_like(convert_to_tensor(x), dtype=standardize_dtype(dtype))


def ones_like(x: Any, dtype: Any = None) -> Array:
    return jnp.ones_like(convert_to_tensor(x), dtype=standardize_dtype(dtype))


def empty_like(x: Any, dtype: Any = None) -> Array:
    return zeros_like(x, dtype)


def full_like(x: Any, fill_value: Any, dtype: Any = None) -> Array:
    return jnp.full_like(convert_to_tensor(x), _operand(fill_value),
                         dtype=standardize_dtype(dtype))


def eye(N: int, M: int | None = None, k: int = 0, dtype: Any = None) -> Array:
    return jnp.eye(N, M=M, k=k, dtype=standardize_dtype(dtype) or FLOATX)


def identity(n: int, dtype: Any = None) -> Array:
    return jnp.identity(n, dtype=standardize_dtype(dtype) or FLOATX)


def tri(N: int, M: int | None = None, k: int = 0, dtype: Any = None) -> Array:
    return jnp.tri(N, M=M, k=k, dtype=standardize_dtype(dtype) or FLOATX)


def _dtype_of(value: Any) -> str:
    return standardize_dtype(getattr(value, "dtype", type(value)))


def arange(start: Any, stop: Any = None, step: Any = None, dtype: Any = None) -> Array:
    """As `np.arange`; without `dtype`, int32 for integer bounds and float32 for floats."""
    if dtype is None:
        given = [v for v in (start, stop, step) if v is not None]
        dtype = jnp.result_type(*(_dtype_of(v) for v in given))
    return jnp.arange(start, stop, step, dtype=standardize_dtype(dtype))


def linspace(start: Any, stop: Any, num: int = 50, endpoint: bool = True,
             retstep: bool = False, dtype: Any = None, axis: int = 0) -> Any:
    return jnp.linspace(start, stop, num=num, endpoint=endpoint, retstep=retstep,
                        dtype=standardize_dtype(dtype), axis=axis)


def logspace(start: Any, stop: Any, num: int = 50, endpoint: bool = True, base: float = 10,
             dtype: Any = None, axis: int = 0) -> Array:
    return jnp.logspace(start, stop, num=num, endpoint=endpoint, base=base,
                        dtype=standardize_dtype(dtype), axis=axis)


def meshgrid(*x: Any, indexing: str = "xy") -> list[Array]:
    if indexing not in ("xy", "ij"):
        raise ValueError(f"indexing must be 'xy' or 'ij'. Received: indexing={indexing!r}")
    return jnp.meshgrid(*(convert_to_tensor(v) for v in x), indexing=indexing)


# shape and layout
def ndim(x: Any) -> int:
    return len(shape(x))


def size(x: Any) -> int:
    return jnp.size(convert_to_tensor(x))


def reshape(x: Any, newshape: Any) -> Array:
    return jnp.reshape(convert_to_tensor(x), newshape)


def ravel(x: Any) -> Array:
    return jnp.ravel(convert_to_tensor(x))


def transpose(x: Any, axes: Sequence[int] | None = None) -> Array:
    return jnp.transpose(convert_to_tensor(x), axes=axes)


def swapaxes(x: Any, axis1: int, axis2: int) -> Array:
    return jnp.swapaxes(convert_to_tensor(x), axis1, axis2)


def moveaxis(x: Any, source: Any, destination: Any) -> Array:
    return jnp.moveaxis(convert_to_tensor(x), source, destination)


def expand_dims(x: Any, axis: Any) -> Array:
    return jnp.expand_dims(convert_to_tensor(x), _axis(axis))


def squeeze(x: Any, axis: Any = None) -> Array:
    return jnp.squeeze(convert_to_tensor(x), axis=_axis(axis))


def broadcast_to(x: Any, shape: Sequence[int]) -> Array:
    return jnp.broadcast_to(convert_to_tensor(x), shape)


def concatenate(xs: Sequence[Any], axis: int | None = 0) -> Array:
    return jnp.concatenate([convert_to_tensor(x) for x in xs], axis=axis)


def append(x1: Any, x2: Any, axis: int | None = None) -> Array:
    return jnp.append(convert_to_tensor(x1), convert_to_tensor(x2), axis=axis)


def stack(x: Sequence[Any], axis: int = 0) -> Array:
    return jnp.stack([convert_to_tensor(v) for v in x], axis=axis)


def vstack(xs: Sequence[Any]) -> Array:
    return jnp.vstack([convert_to_tensor(x) for x in xs])


def hstack(xs: Sequence[Any]) -> Array:
    return jnp.hstack([convert_to_tensor(x) for x in xs])


def split(x: Any, indices_or_sections: Any, axis: int = 0) -> list[Array]:
    return jnp.split(convert_to_tensor(x), indices_or_sections, axis=axis)


def array_split(x: Any, indices_or_sections: Any, axis: int = 0) -> list[Array]:
    return jnp.array_split(convert_to_tensor(x), indices_or_sections, axis=axis)


def tile(x: Any, repeats: Any) -> Array:
    return jnp.tile(convert_to_tensor(x), repeats)


def repeat(x: Any, repeats: Any, axis: int | None = None) -> Array:
    return jnp.repeat(convert_to_tensor(x), repeats, axis=axis)


def flip(x: Any, axis: Any = None) -> Array:
    return jnp.flip(convert_to_tensor(x), axis=_axis(axis))


def roll(x: Any, shift: Any, axis: Any = None) -> Array:
    return jnp.roll(convert_to_tensor(x), shift, axis=_axis(axis))


_PAD_MODES = ("constant", "edge", "linear_ramp", "maximum", "mean", "median", "minimum",
              "reflect", "symmetric", "wrap", "empty")


def pad(x: Any, pad_width: Any, mode: str = "constant", constant_values: Any = None) -> Array:
    """As `np.pad`; `constant_values` only with mode="constant" (0 when None)."""
    if mode not in _PAD_MODES:
        raise ValueError(f"mode must be one of {_PAD_MODES}. Received: mode={mode!r}")
    x = convert_to_tensor(x)
    if constant_values is None:
        return jnp.pad(x, pad_width, mode=mode)
    if mode != "constant":
        raise ValueError("constant_values can only be given with mode='constant'. "
                         f"Received: mode={mode!r}, constant_values={constant_values!r}")
    return jnp.pad(x, pad_width, mode=mode, constant_values=constant_values)


def tril(x: Any, k: int = 0) -> Array:
    return jnp.tril(convert_to_tensor(x), k=k)


def triu(x: Any, k: int = 0) -> Array:
    return jnp.triu(convert_to_tensor(x), k=k)


def diag(x: Any, k: int = 0) -> Array:
    return jnp.diag(convert_to_tensor(x), k=k)


def diagonal(x: Any, offset: int = 0, axis1: int = 0, axis2: int = 1) -> Array:
    return jnp.diagonal(convert_to_tensor(x), offset=offset, axis1=axis1, axis2=axis2)


# indexing, sorting, searching
def get_item(x: Any, key: Any) -> Array:
    return convert_to_tensor(x)[key]


def take(x: Any, indices: Any, axis: int | None = None) -> Array:
    """Entries of `x` at `indices` along `axis` (of the flattened `x` when None)."""
    return jnp.take(convert_to_tensor(x), convert_to_tensor(indices), axis=axis)


def take_along_axis(x: Any, indices: Any, axis: int | None = None) -> Array:
    return jnp.take_along_axis(convert_to_tensor(x), convert_to_tensor(indices), axis=axis)


def sort(x: Any, axis: int = -1) -> Array:
    return jnp.sort(convert_to_tensor(x), axis=axis)


def argsort(x: Any, axis: int = -1) -> Array:
    x = convert_to_tensor(x)
    return jnp.argsort(x, axis=None if x.ndim == 0 else axis)


def argpartition(x: Any, kth: int, axis: int = -1) -> Array:
    x = convert_to_tensor(x)
    if axis is None:
        return jnp.argpartition(jnp.ravel(x), kth, axis=0)
    return jnp.argpartition(x, kth, axis=axis)


def nonzero(x: Any) -> tuple[Array, ...]:
    return jnp.nonzero(convert_to_tensor(x))


def searchsorted(sorted_sequence: Any, values: Any, side: str = "left") -> Array:
    if side not in ("left", "right"):
        raise ValueError(f"side must be 'left' or 'right'. Received: side={side!r}")
    sorted_sequence = convert_to_tensor(sorted_sequence)
    if sorted_sequence.ndim != 1:
        raise ValueError("searchsorted needs a 1-D sorted_sequence (use vectorized_map for "
                         f"more). Received: sorted_sequence.shape={sorted_sequence.shape}")
    return jnp.searchsorted(sorted_sequence, convert_to_tensor(values), side=side)


def digitize(x: Any, bins: Any) -> Array:
    return jnp.digitize(convert_to_tensor(x), convert_to_tensor(bins))


def isin(x1: Any, x2: Any, assume_unique: bool = False, invert: bool = False) -> Array:
    return jnp.isin(convert_to_tensor(x1), convert_to_tensor(x2),
                    assume_unique=assume_unique, invert=invert)


def select(condlist: Sequence[Any], choicelist: Sequence[Any], default: Any = 0) -> Array:
    return jnp.select([convert_to_tensor(c) for c in condlist],
                      [convert_to_tensor(c) for c in choicelist], default)


def unique(x: Any, sorted: bool = True, return_index: bool = False,
           return_inverse: bool = False, return_counts: bool = False, axis: int | None = None,
           size: int | None = None, fill_value: Any = None) -> Any:
    """The unique values (and optionally indices, inverse, counts). Its shape depends on
    the values, so under `jit` pass `size` (the result is padded with `fill_value`)."""
    return jnp.unique(convert_to_tensor(x), return_index=return_index,
                      return_inverse=return_inverse, return_counts=return_counts, axis=axis,
                      size=size, fill_value=fill_value, sorted=sorted)


def bincount(x: Any, weights: Any = None, minlength: int = 0) -> Array:
    """Counts of each non-negative int in 1-D `x` (eager only: the length depends on the
    values). Keras also takes 2-D `x` and `sparse`; cornu does not."""
    x = convert_to_tensor(x)
    w = None if weights is None else convert_to_tensor(weights)
    return jnp.bincount(x, weights=w, minlength=minlength)


__all__ = [
    "abs",
    "absolute",
    "add",
    "all",
    "allclose",
    "amax",
    "amin",
    "any",
    "append",
    "arange",
    "arccos",
    "arccosh",
    "arcsin",
    "arcsinh",
    "arctan",
    "arctan2",
    "arctanh",
    "argmax",
    "argmin",
    "argpartition",
    "argsort",
    "array",
    "array_split",
    "average",
    "bincount",
    "bitwise_and",
    "bitwise_invert",
    "bitwise_not",
    "bitwise_or",
    "bitwise_xor",
    "broadcast_to",
    "cbrt",
    "ceil",
    "clip",
    "concatenate",
    "conj",
    "conjugate",
    "cos",
    "cosh",
    "count_nonzero",
    "cumprod",
    "cumsum",
    "deg2rad",
    "diag",
    "diagonal",
    "diff",
    "digitize",
    "divide",
    "divide_no_nan",
    "dot",
    "einsum",
    "empty",
    "empty_like",
    "equal",
    "exp",
    "exp2",
    "expand_dims",
    "expm1",
    "eye",
    "flip",
    "floor",
    "floor_divide",
    "fmod",
    "full",
    "full_like",
    "get_item",
    "greater",
    "greater_equal",
    "hstack",
    "hypot",
    "identity",
    "imag",
    "inner",
    "isclose",
    "isfinite",
    "isin",
    "isinf",
    "isnan",
    "less",
    "less_equal",
    "linspace",
    "log",
    "log10",
    "log1p",
    "log2",
    "logaddexp",
    "logical_and",
    "logical_not",
    "logical_or",
    "logical_xor",
    "logspace",
    "matmul",
    "max",
    "maximum",
    "mean",
    "median",
    "meshgrid",
    "min",
    "minimum",
    "mod",
    "moveaxis",
    "multiply",
    "nan_to_num",
    "ndim",
    "negative",
    "nonzero",
    "not_equal",
    "ones",
    "ones_like",
    "outer",
    "pad",
    "percentile",
    "power",
    "prod",
    "ptp",
    "quantile",
    "rad2deg",
    "ravel",
    "real",
    "reciprocal",
    "repeat",
    "reshape",
    "roll",
    "round",
    "searchsorted",
    "select",
    "sign",
    "signbit",
    "sin",
    "sinh",
    "size",
    "sort",
    "split",
    "sqrt",
    "square",
    "squeeze",
    "stack",
    "std",
    "subtract",
    "sum",
    "swapaxes",
    "take",
    "take_along_axis",
    "tan",
    "tanh",
    "tensordot",
    "tile",
    "trace",
    "transpose",
    "tri",
    "tril",
    "triu",
    "true_divide",
    "trunc",
    "unique",
    "var",
    "vdot",
    "vstack",
    "where",
    "zeros",
    "zeros_like",
]
