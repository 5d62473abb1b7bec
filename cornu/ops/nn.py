"""The neural-network ops of `keras.ops` (keras/src/ops/nn.py): activations, losses,
normalization, convolution, pooling and attention.

Convolutions and pooling take `data_format` "channels_last" (the default, as cornu's
layers) or "channels_first", kernels laid out as Keras' (`(*window, in, out)`), and
`padding` "valid" or "same" in any case.
"""

from __future__ import annotations

import math as _math
import warnings
from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
from jax import lax

from cornu import variables
from cornu.ops.core import EPSILON, FLOATX, convert_to_tensor, standardize_dtype
from cornu.ops.numpy import _float

Array = jax.Array
IntOrTuple = int | Sequence[int]


def _unary(name: str, fn: Any, doc: str) -> Any:
    def op(x: Any) -> Array:
        return fn(convert_to_tensor(x))

    op.__name__ = op.__qualname__ = name
    op.__doc__ = doc
    return op


# activations
relu = _unary("relu", jax.nn.relu, "max(x, 0).")
relu6 = _unary("relu6", jax.nn.relu6, "min(max(x, 0), 6).")
def sigmoid(x: Any) -> Array:
    """1 / (1 + exp(-x))."""
    x = _float(convert_to_tensor(x))
    return variables.record_logits(jax.nn.sigmoid(x), x, "sigmoid")

log_sigmoid = _unary("log_sigmoid", jax.nn.log_sigmoid, "log(sigmoid(x)), computed stably.")
softplus = _unary("softplus", jax.nn.softplus, "log(1 + exp(x)), computed stably.")
softsign = _unary("softsign", jax.nn.soft_sign, "x / (1 + |x|).")
silu = swish = _unary("silu", jax.nn.silu, "x * sigmoid(x) (also called swish).")
hard_sigmoid = _unary("hard_sigmoid", jax.nn.hard_sigmoid, "relu6(x + 3) / 6.")
hard_silu = hard_swish = _unary("hard_silu", jax.nn.hard_silu, "x * hard_sigmoid(x).")
hard_tanh = _unary("hard_tanh", jax.nn.hard_tanh, "clip(x, -1, 1).")
selu = _unary("selu", jax.nn.selu, "Scaled ELU with the self-normalizing constants.")
tanh = _unary("tanh", jnp.tanh, "tanh(x).")
tanh_shrink = _unary("tanh_shrink", lambda x: x - jnp.tanh(x), "x - tanh(x).")
sparse_plus = _unary("sparse_plus", jax.nn.sparse_plus,
                     "0 for x <= -1, x for x >= 1, (x + 1)**2 / 4 between.")


def leaky_relu(x: Any, negative_slope: float = 0.2) -> Array:
    return jax.nn.leaky_relu(convert_to_tensor(x), negative_slope=negative_slope)


def elu(x: Any, alpha: float = 1.0) -> Array:
    return jax.nn.elu(convert_to_tensor(x), alpha=alpha)


def celu(x: Any, alpha: float = 1.0) -> Array:
    return jax.nn.celu(convert_to_tensor(x), alpha=alpha)


def gelu(x: Any, approximate: bool = True) -> Array:
    """Gaussian error linear unit; the tanh approximation by default, as in Keras."""
    return jax.nn.gelu(convert_to_tensor(x), approximate=approximate)


def glu(x: Any, axis: int = -1) -> Array:
    """a * sigmoid(b) for the two halves a, b of `x` along `axis`."""
    return jax.nn.glu(convert_to_tensor(x), axis=axis)


def squareplus(x: Any, b: float = 4) -> Array:
    """(x + sqrt(x**2 + b)) / 2."""
    return jax.nn.squareplus(convert_to_tensor(x), b=b)


def soft_shrink(x: Any, threshold: float = 0.5) -> Array:
    x = _float(convert_to_tensor(x))
    return jnp.where(x > threshold, x - threshold,
                     jnp.where(x < -threshold, x + threshold, 0.0)).astype(x.dtype)


def hard_shrink(x: Any, threshold: float = 0.5) -> Array:
    x = _float(convert_to_tensor(x))
    return jnp.where(jnp.abs(x) > threshold, x, 0.0).astype(x.dtype)


def threshold(x: Any, threshold: float, default_value: float) -> Array:
    """x where x > threshold, else default_value."""
    x = convert_to_tensor(x)
    return jnp.where(x > threshold, x, default_value).astype(x.dtype)


def _warn_single_class(x: Array, axis: Any) -> None:
    if isinstance(axis, int) and -x.ndim <= axis < x.ndim and x.shape[axis] == 1:
        warnings.warn(f"softmax over axis {axis} of a tensor of shape {x.shape}: that axis "
                      "has size 1, so the result is always 1. Did you mean sigmoid?",
                      stacklevel=3)


def softmax(x: Any, axis: Any = -1) -> Array:
    """exp(x) / sum(exp(x)) over `axis` (an int or a tuple). Warns, as Keras, when the axis
    has size 1."""
    x = _float(convert_to_tensor(x))
    _warn_single_class(x, axis)
    y = jax.nn.softmax(x, axis=tuple(axis) if isinstance(axis, list) else axis)
    return variables.record_logits(y, x, "softmax") if axis in (-1, x.ndim - 1) else y


def log_softmax(x: Any, axis: Any = -1) -> Array:
    x = _float(convert_to_tensor(x))
    return jax.nn.log_softmax(x, axis=tuple(axis) if isinstance(axis, list) else axis)


# encodings
def one_hot(x: Any, num_classes: int, axis: int = -1, dtype: Any = None,
            sparse: bool = False) -> Array:
    """A new axis of `num_classes` at `axis`, 1 at each entry of `x` (all 0 for an entry out
    of range); float32 unless `dtype` says otherwise."""
    if sparse:
        raise ValueError(f"cornu has no sparse tensors. Received: sparse={sparse}")
    x = convert_to_tensor(x)
    return jax.nn.one_hot(x, num_classes, axis=axis, dtype=standardize_dtype(dtype) or FLOATX)


def multi_hot(inputs: Any, num_classes: int | None = None, axis: int = -1,
              dtype: Any = None, sparse: bool = False, **kwargs: Any) -> Array:
    """One vector per row (or one for 1-D `inputs`) with 1 at each class that occurs.
    `num_tokens` is the old spelling of `num_classes`."""
    if num_classes is None:
        num_classes = kwargs.pop("num_tokens", None)
    if kwargs:
        raise TypeError(f"multi_hot got unexpected keyword arguments {sorted(kwargs)}")
    if num_classes is None:
        raise ValueError("multi_hot needs num_classes. Received: num_classes=None")
    x = convert_to_tensor(inputs).astype("int32")
    hot = one_hot(x, num_classes, axis=axis, dtype=dtype, sparse=sparse)
    return jnp.max(hot, axis=1 if x.ndim > 1 else 0)


# losses
def _same_shape(target: Array, output: Array) -> None:
    if target.shape != output.shape:
        raise ValueError("target and output must have the same shape. Received: "
                         f"target.shape={target.shape}, output.shape={output.shape}")


def _log_probs(output: Array, from_logits: bool, axis: int) -> Array:
    if from_logits:
        return jax.nn.log_softmax(output, axis=axis)
    output = output / jnp.sum(output, axis=axis, keepdims=True)
    return jnp.log(jnp.clip(output, EPSILON, 1.0 - EPSILON))


def binary_crossentropy(target: Any, output: Any, from_logits: bool = False) -> Array:
    """Element-wise binary cross-entropy (no mean taken); probabilities are clipped to
    [1e-7, 1 - 1e-7] as in Keras."""
    target, output = convert_to_tensor(target), _float(convert_to_tensor(output))
    _same_shape(target, output)
    if from_logits:
        return -target * jax.nn.log_sigmoid(output) - (1 - target) * jax.nn.log_sigmoid(-output)
    output = jnp.clip(output, EPSILON, 1.0 - EPSILON)
    return -(target * jnp.log(output) + (1 - target) * jnp.log(1 - output))


def categorical_crossentropy(target: Any, output: Any, from_logits: bool = False,
                             axis: int = -1) -> Array:
    """Cross-entropy of one-hot (or soft) targets over `axis`; probabilities are first
    normalized to sum to 1, then clipped to [1e-7, 1 - 1e-7], as in Keras."""
    target, output = convert_to_tensor(target), _float(convert_to_tensor(output))
    _same_shape(target, output)
    if target.ndim < 1:
        raise ValueError(f"target and output must have rank >= 1. Received: "
                         f"target.shape={target.shape}")
    return -jnp.sum(target * _log_probs(output, from_logits, axis), axis=axis)


def sparse_categorical_crossentropy(target: Any, output: Any, from_logits: bool = False,
                                    axis: int = -1) -> Array:
    """Cross-entropy of integer class targets; `target` has `output`'s shape without the
    class axis (a trailing axis of size 1 is dropped)."""
    target, output = convert_to_tensor(target, dtype="int32"), _float(convert_to_tensor(output))
    if output.ndim < 1:
        raise ValueError(f"output must have rank >= 1. Received: output.shape={output.shape}")
    if target.ndim == output.ndim and target.shape[-1] == 1:
        target = jnp.squeeze(target, axis=-1)
    expected = tuple(d for i, d in enumerate(output.shape) if i != axis % output.ndim)
    if target.shape != expected:
        raise ValueError("target must have output's shape without the class axis. Received: "
                         f"target.shape={target.shape}, output.shape={output.shape}")
    hot = jax.nn.one_hot(target, output.shape[axis], axis=axis, dtype=output.dtype)
    return -jnp.sum(hot * _log_probs(output, from_logits, axis), axis=axis)


# normalization
def _axes(axes: Any) -> tuple[int, ...]:
    return (axes,) if isinstance(axes, int) else tuple(axes)


def moments(x: Any, axes: Any, keepdims: bool = False, synchronized: bool = False):
    """(mean, variance) over `axes`; 16-bit floats are reduced in float32.
    synchronized=True (Keras: NotImplementedError on JAX) is a ValueError."""
    if synchronized:
        raise ValueError("synchronized=True is not supported (cornu reduces over the local "
                         f"batch). Received: synchronized={synchronized}")
    x = convert_to_tensor(x)
    low = x.dtype in (jnp.float16, jnp.bfloat16)
    wide = _float(x.astype("float32") if low else x)
    mean = jnp.mean(wide, axis=_axes(axes), keepdims=keepdims)
    variance = jnp.var(wide, axis=_axes(axes), keepdims=keepdims)
    if low:
        top = jnp.finfo(x.dtype).max
        mean, variance = (jnp.clip(v, -top, top).astype(x.dtype) for v in (mean, variance))
    return mean, variance


def batch_normalization(x: Any, mean: Any, variance: Any, axis: int, offset: Any = None,
                        scale: Any = None, epsilon: float = 1e-3) -> Array:
    """(x - mean) / sqrt(variance + epsilon) * scale + offset, the vectors laid along
    `axis` of `x`."""
    x = convert_to_tensor(x)
    shape = [1] * x.ndim
    shape[axis] = x.shape[axis]

    def along(v):
        return jnp.reshape(convert_to_tensor(v), shape)

    inv = lax.rsqrt(along(variance) + epsilon)
    if scale is not None:
        inv = inv * along(scale)
    shift = -along(mean) * inv
    if offset is not None:
        shift = shift + along(offset)
    return x * inv + shift


def normalize(x: Any, axis: int = -1, order: int = 2, epsilon: float | None = None) -> Array:
    """x divided by its `order`-norm along `axis` (at least `epsilon`, 1e-7 by default)."""
    if not isinstance(order, int) or isinstance(order, bool) or order < 1:
        raise ValueError(f"order must be an int >= 1. Received: order={order!r}")
    x = _float(convert_to_tensor(x))
    if x.ndim == 0:
        x = x[None]
    epsilon = EPSILON if epsilon is None else epsilon
    if order == 2:
        inv = lax.rsqrt(jnp.sum(x * x, axis=axis, keepdims=True))
        return x * jnp.minimum(inv, 1.0 / epsilon)
    norm = jnp.linalg.norm(x, ord=order, axis=axis, keepdims=True)
    return x / jnp.maximum(norm, epsilon)


def _norm_setup(x: Any, axis: Any) -> tuple[Array, Any, Any]:
    """`x` in at least float32, its dtype, and a function laying a vector along `axis`."""
    x = convert_to_tensor(x)
    dtype = x.dtype
    x = x.astype(jnp.promote_types(dtype, jnp.float32))
    axes = {a % x.ndim for a in _axes(axis)}
    shape = [d if i in axes else 1 for i, d in enumerate(x.shape)]

    def along(v):
        v = convert_to_tensor(v, dtype=x.dtype)
        return v if v.ndim == x.ndim else jnp.reshape(v, shape)

    return x, dtype, along


def rms_normalization(x: Any, scale: Any = None, axis: Any = -1,
                      epsilon: float | None = None) -> Array:
    """x / sqrt(mean(x**2 over axis) + epsilon) * scale, computed in at least float32 and
    returned in x's dtype; epsilon defaults to 1e-7."""
    x, dtype, along = _norm_setup(x, axis)
    epsilon = EPSILON if epsilon is None else epsilon
    out = x * lax.rsqrt(jnp.mean(x * x, axis=_axes(axis), keepdims=True) + epsilon)
    return (out if scale is None else out * along(scale)).astype(dtype)


def layer_normalization(x: Any, gamma: Any = None, beta: Any = None, axis: Any = -1,
                        epsilon: float | None = None) -> Array:
    """(x - mean) / sqrt(var + epsilon) * gamma + beta over `axis`, computed in at least
    float32 and returned in x's dtype; epsilon defaults to 1e-7. (Keras' deprecated
    `rms_scaling=True` is not accepted: use rms_normalization.)"""
    x, dtype, along = _norm_setup(x, axis)
    epsilon = EPSILON if epsilon is None else epsilon
    mean, variance = moments(x, axis, keepdims=True)
    out = (x - mean) * lax.rsqrt(variance + epsilon)
    if gamma is not None:
        out = out * along(gamma)
    if beta is not None:
        out = out + along(beta)
    return out.astype(dtype)


# convolution and pooling
def _check_padding(padding: Any) -> str:
    if not isinstance(padding, str) or padding.lower() not in ("valid", "same"):
        raise ValueError(f"padding must be 'valid' or 'same'. Received: padding={padding!r}")
    return padding.upper()


def _spatial(x: Array, data_format: str | None) -> tuple[int, str]:
    """The number of spatial axes and the lax layout of `x` ('NHWC' or 'NCHW', ...)."""
    data_format = data_format or "channels_last"
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError("data_format must be 'channels_last' or 'channels_first'. "
                         f"Received: data_format={data_format!r}")
    rank = x.ndim - 2
    if rank not in (1, 2, 3):
        raise ValueError("inputs must have rank 3, 4 or 5 (batch, spatial axes, channels). "
                         f"Received: inputs.shape={x.shape}")
    letters = "DHW"[3 - rank:]
    return rank, ("N" + letters + "C") if data_format == "channels_last" else ("NC" + letters)


def _tuple(value: IntOrTuple, rank: int, name: str) -> tuple[int, ...]:
    values = (value,) * rank if isinstance(value, int) else tuple(value)
    if len(values) != rank or not all(isinstance(v, int) and v > 0 for v in values):
        raise ValueError(f"{name} must be a positive int or {rank} of them. "
                         f"Received: {name}={value!r}")
    return values


def _letters(layout: str) -> str:
    """The spatial letters of a layout: 'NHWC' -> 'HW'."""
    return layout.strip("NC")


def _channels(x: Array, layout: str) -> int:
    return x.shape[layout.index("C")]


def conv(inputs: Any, kernel: Any, strides: IntOrTuple = 1, padding: str = "valid",
         data_format: str | None = None, dilation_rate: IntOrTuple = 1) -> Array:
    """N-D convolution (1 to 3 spatial axes); the kernel is (*window, in / groups, out), so
    a kernel with fewer input channels than `inputs` makes a grouped convolution."""
    kernel = convert_to_tensor(kernel)
    inputs = convert_to_tensor(inputs, dtype=kernel.dtype)
    rank, layout = _spatial(inputs, data_format)
    channels, per_group = _channels(inputs, layout), kernel.shape[-2]
    if channels % per_group:
        raise ValueError(f"The input channels ({channels}) must be a multiple of the kernel's "
                         f"input channels (kernel.shape[-2]={per_group}).")
    return lax.conv_general_dilated(
        inputs, kernel, _tuple(strides, rank, "strides"), _check_padding(padding),
        rhs_dilation=_tuple(dilation_rate, rank, "dilation_rate"),
        dimension_numbers=(layout, _letters(layout) + "IO", layout),
        feature_group_count=channels // per_group)


def depthwise_conv(inputs: Any, kernel: Any, strides: IntOrTuple = 1, padding: str = "valid",
                   data_format: str | None = None, dilation_rate: IntOrTuple = 1) -> Array:
    """Each input channel convolved with its own filters: kernel (*window, in, multiplier)
    gives in * multiplier output channels."""
    kernel = convert_to_tensor(kernel)
    inputs = convert_to_tensor(inputs)
    _, layout = _spatial(inputs, data_format)
    channels = _channels(inputs, layout)
    if kernel.shape[-2] != channels:
        raise ValueError(f"kernel.shape[-2] ({kernel.shape[-2]}) must equal the input channels "
                         f"({channels}).")
    grouped = jnp.reshape(kernel, (*kernel.shape[:-2], 1, channels * kernel.shape[-1]))
    return conv(inputs, grouped, strides, padding, data_format, dilation_rate)


def separable_conv(inputs: Any, depthwise_kernel: Any, pointwise_kernel: Any,
                   strides: IntOrTuple = 1, padding: str = "valid",
                   data_format: str | None = None, dilation_rate: IntOrTuple = 1) -> Array:
    """depthwise_conv followed by a 1x1 conv with `pointwise_kernel`."""
    deep = depthwise_conv(inputs, depthwise_kernel, strides, padding, data_format,
                          dilation_rate)
    return conv(deep, pointwise_kernel, 1, "valid", data_format)


def _transpose_padding(size: int, window: int, stride: int, dilation: int, padding: str,
                       output_padding: int | None) -> tuple[int, int]:
    """(low, high) padding of lax.conv_transpose that gives Keras' output length."""
    window = (window - 1) * dilation + 1
    if padding == "VALID":
        extra = max(window, stride) - window if output_padding is None else output_padding
        out = (size - 1) * stride + window + extra
    elif output_padding is None:
        out = size * stride
    else:
        out = (size - 1) * stride + window % 2 + output_padding
    total = out - (size - 1) * stride - 2 + window  # lax adds low + high - (window - 1)
    low = window - 1 if padding == "VALID" else min((total + 1) // 2, window - 1)
    return low, total - low


def conv_transpose(inputs: Any, kernel: Any, strides: IntOrTuple = 1, padding: str = "valid",
                   output_padding: IntOrTuple | None = None, data_format: str | None = None,
                   dilation_rate: IntOrTuple = 1) -> Array:
    """The transpose (gradient) of `conv`; the kernel is (*window, out, in) as Keras'
    ConvTranspose layers hold it. The output length per axis is (n - 1) * stride +
    max(window, stride) for "valid", n * stride for "same", unless `output_padding`."""
    kernel = convert_to_tensor(kernel)
    inputs = convert_to_tensor(inputs, dtype=kernel.dtype)
    rank, layout = _spatial(inputs, data_format)
    if kernel.shape[-1] != _channels(inputs, layout):
        raise ValueError(f"kernel.shape[-1] ({kernel.shape[-1]}) must equal the input channels "
                         f"({_channels(inputs, layout)}).")
    strides = _tuple(strides, rank, "strides")
    dilation = _tuple(dilation_rate, rank, "dilation_rate")
    extra = (output_padding,) * rank if output_padding is None or isinstance(
        output_padding, int) else tuple(output_padding)
    mode = _check_padding(padding)
    spatial = [inputs.shape[layout.index(c)] for c in _letters(layout)]
    pads = [_transpose_padding(*args, mode, e) for args, e in zip(
        zip(spatial, kernel.shape[:rank], strides, dilation, strict=True), extra, strict=True)]
    # "IO" as for conv: transpose_kernel swaps the kernel's last two axes back
    return lax.conv_transpose(inputs, kernel, strides, pads, rhs_dilation=dilation,
                              dimension_numbers=(layout, _letters(layout) + "IO", layout),
                              transpose_kernel=True)


def _window(x: Array, pool_size: IntOrTuple, strides: IntOrTuple | None,
            data_format: str | None) -> tuple[tuple[int, ...], tuple[int, ...]]:
    rank, layout = _spatial(x, data_format)
    size = _tuple(pool_size, rank, "pool_size")
    step = size if strides is None else _tuple(strides, rank, "strides")
    full = [1] * x.ndim, [1] * x.ndim
    for i, axis in enumerate(layout.index(c) for c in _letters(layout)):
        full[0][axis], full[1][axis] = size[i], step[i]
    return tuple(full[0]), tuple(full[1])


def max_pool(inputs: Any, pool_size: IntOrTuple, strides: IntOrTuple | None = None,
             padding: str = "valid", data_format: str | None = None) -> Array:
    """The maximum of each window; `strides` defaults to `pool_size` (Keras 3.15's JAX
    backend fails when it is left None)."""
    x = convert_to_tensor(inputs)
    mode = _check_padding(padding)
    size, step = _window(x, pool_size, strides, data_format)
    lowest = -jnp.inf if jnp.issubdtype(x.dtype, jnp.inexact) else jnp.iinfo(x.dtype).min
    return lax.reduce_window(x, jnp.asarray(lowest, x.dtype), lax.max, size, step, mode)


def average_pool(inputs: Any, pool_size: IntOrTuple, strides: IntOrTuple | None = None,
                 padding: str = "valid", data_format: str | None = None) -> Array:
    """The mean of each window; with "same" padding the padded entries are not counted."""
    x = _float(convert_to_tensor(inputs))
    mode = _check_padding(padding)
    size, step = _window(x, pool_size, strides, data_format)
    zero = jnp.zeros((), x.dtype)
    total = lax.reduce_window(x, zero, lax.add, size, step, mode)
    if mode == "VALID":
        return total / _math.prod(size)
    ones = jnp.ones([d if s > 1 else 1 for d, s in zip(x.shape, size, strict=True)], x.dtype)
    return total / lax.reduce_window(ones, zero, lax.add, size, step, mode)


# attention
#: pieces of the batch `attend` computes apart on the CPU (see attend)
ATTENTION_PIECES = 2


def attend(query, key, value, mask, scale: float, is_causal: bool):
    """`jax.nn.dot_product_attention(query, key, value, mask=mask, scale=scale,
    is_causal=is_causal)` on (batch, steps, heads, head_dim) arrays with as many key as
    query heads. On the CPU in float32 its XLA computation is written out here: jax's maps
    its core over the groups of heads, a layout XLA:CPU ran 1.5x slower (the attention of
    rnn_speed's transformer block, forward and backward: 4.9 ms against 3.2 ms;
    docs/performance.md). The same operations in the same order: products into float32
    logits, scaled, masked entries at -0.7 x the largest float32 (a fully masked row
    attends uniformly, as jax's), softmax, product with the values.

    XLA:CPU runs a batched matrix product (one small product per example and head) on one
    thread, so the batch is cut into ATTENTION_PIECES pieces whose attention XLA runs side
    by side on the cores (rows are independent: the results are the same). rnn_speed's
    transformer block: a training epoch 5% faster on two cores (together with the bias
    gradients of ops/_rows.py, 8%); evaluate and predict unchanged."""
    if not _cpu_float32(query, key, value):
        return jax.nn.dot_product_attention(query, key, value, mask=mask, scale=scale,
                                            is_causal=is_causal)
    batch = query.shape[0]
    pieces = max(1, min(batch, ATTENTION_PIECES)) if isinstance(batch, int) else 1
    if pieces == 1:
        return _attend_core(query, key, value, mask, scale, is_causal)
    bounds = [batch * i // pieces for i in range(pieces + 1)]
    return jnp.concatenate([
        _attend_core(query[a:b], key[a:b], value[a:b],
                     mask if mask is None or mask.shape[0] == 1 else mask[a:b],
                     scale, is_causal)
        for a, b in zip(bounds, bounds[1:], strict=False)], axis=0)


def _attend_core(query, key, value, mask, scale: float, is_causal: bool):
    logits = jnp.einsum("BTNH,BSNH->BNTS", query, key, preferred_element_type=jnp.float32)
    logits = logits * jnp.asarray(scale, logits.dtype)
    keep = mask
    if is_causal:
        t, s = logits.shape[-2:]
        causal = jnp.tril(jnp.ones((t, s), bool))[None, None]
        keep = causal if keep is None else keep & causal
    if keep is not None:
        lowest = jnp.asarray(-0.7 * float(jnp.finfo(jnp.float32).max), logits.dtype)
        logits = jnp.where(keep, logits, lowest)
    return jnp.einsum("BNTS,BSNH->BTNH", _softmax_last(logits), value)


def _softmax_last(logits):
    """`jax.nn.softmax(logits, axis=-1)`, its row maximum taken by folding each row in
    halves down to 8 columns before the reduction. XLA:CPU rewrites a reduction over more
    than 32 elements into a reduce-window over pieces of 32 and a reduce of the pieces,
    and the reduce-window of a maximum ran slowly: in rnn_speed's transformer block (64
    keys) two of them took ~11% of a training epoch's operation time; with the folding
    the epoch was 5-6% faster (docs/performance.md, session 16). The halves overlap by a
    column where the width is odd, which leaves a maximum unchanged."""
    peak = logits
    while peak.shape[-1] > 8:
        half = -(-peak.shape[-1] // 2)
        peak = jnp.maximum(peak[..., :half], peak[..., peak.shape[-1] - half:])
    unnormalized = jnp.exp(logits - jax.lax.stop_gradient(jnp.max(peak, -1, keepdims=True)))
    return unnormalized / jnp.sum(unnormalized, -1, keepdims=True)


def _cpu_float32(*arrays) -> bool:
    """Whether `attend` writes the attention out (else it calls jax's function)."""
    return jax.default_backend() == "cpu" and all(a.dtype == jnp.float32 for a in arrays)


def _writes_out(query, key, value, bias, mask, flash_attention) -> bool:
    """Whether `attend` takes these inputs (else jax's function, which also checks them)."""
    if bias is not None or flash_attention or not _cpu_float32(query, key, value):
        return False
    if key.ndim != 4 or key.shape != value.shape or query.shape[0] != key.shape[0] \
            or query.shape[2:] != key.shape[2:]:
        return False
    if mask is not None:
        want = (query.shape[0], query.shape[2], query.shape[1], key.shape[1])
        if mask.ndim != 4 or any(m not in (1, w) for m, w in zip(mask.shape, want, strict=True)):
            return False
    return True


def dot_product_attention(query: Any, key: Any, value: Any, bias: Any = None, mask: Any = None,
                          scale: float | None = None, is_causal: bool = False,
                          flash_attention: bool | None = None,
                          attn_logits_soft_cap: float | None = None) -> Array:
    """softmax(query @ key^T * scale + bias, masked) @ value, with shapes (batch, length,
    heads, head_dim); `key`/`value` may have fewer heads (grouped-query attention).
    `scale` defaults to 1/sqrt(head_dim); `mask` is boolean, True where attending.
    flash_attention=True asks JAX for its cuDNN kernel (GPU only); soft capping, which
    Keras has on TPU only, is not supported."""
    if attn_logits_soft_cap is not None:
        raise ValueError("attn_logits_soft_cap is not supported. "
                         f"Received: attn_logits_soft_cap={attn_logits_soft_cap!r}")
    query, key, value = (convert_to_tensor(t) for t in (query, key, value))
    if query.ndim != 4:
        raise ValueError("query, key and value must have rank 4 (batch, length, heads, "
                         f"head_dim). Received: query.shape={query.shape}")
    bias = None if bias is None else convert_to_tensor(bias)
    mask = None if mask is None else convert_to_tensor(mask, dtype="bool")
    if _writes_out(query, key, value, bias, mask, flash_attention):
        scale = 1.0 / _math.sqrt(query.shape[-1]) if scale is None else scale
        return attend(query, key, value, mask, scale, is_causal)
    return jax.nn.dot_product_attention(
        query, key, value, bias, mask, scale=scale, is_causal=is_causal,
        implementation="cudnn" if flash_attention else None)


def psnr(x1: Any, x2: Any, max_val: float) -> Array:
    """Peak signal-to-noise ratio in dB: 20 log10(max_val) - 10 log10(mse)."""
    x1, x2 = _float(convert_to_tensor(x1)), _float(convert_to_tensor(x2))
    if x1.shape != x2.shape:
        raise ValueError(f"x1 and x2 must have the same shape. Received: x1.shape={x1.shape}, "
                         f"x2.shape={x2.shape}")
    mse = jnp.mean(jnp.square(x1 - x2))
    return 20 * jnp.log10(max_val) - 10 * jnp.log10(mse)


__all__ = [
    "average_pool",
    "batch_normalization",
    "binary_crossentropy",
    "categorical_crossentropy",
    "celu",
    "conv",
    "conv_transpose",
    "depthwise_conv",
    "dot_product_attention",
    "elu",
    "gelu",
    "glu",
    "hard_shrink",
    "hard_sigmoid",
    "hard_silu",
    "hard_swish",
    "hard_tanh",
    "layer_normalization",
    "leaky_relu",
    "log_sigmoid",
    "log_softmax",
    "max_pool",
    "moments",
    "multi_hot",
    "normalize",
    "one_hot",
    "psnr",
    "relu",
    "relu6",
    "rms_normalization",
    "selu",
    "separable_conv",
    "sigmoid",
    "silu",
    "soft_shrink",
    "softmax",
    "softplus",
    "softsign",
    "sparse_categorical_crossentropy",
    "sparse_plus",
    "squareplus",
    "swish",
    "tanh",
    "tanh_shrink",
    "threshold",
]
