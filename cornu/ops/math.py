"""The math ops of `keras.ops` (keras/src/ops/math.py): special functions, top-k and
segment reductions."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
from jax import lax
from jax.scipy import special

from cornu.ops.core import convert_to_tensor
from cornu.ops.numpy import _float

Array = jax.Array


def erf(x: Any) -> Array:
    """The error function; integers give float32 (Keras' JAX backend rejects them)."""
    return special.erf(_float(convert_to_tensor(x)))


def erfc(x: Any) -> Array:
    return special.erfc(_float(convert_to_tensor(x)))


def erfinv(x: Any) -> Array:
    return special.erfinv(_float(convert_to_tensor(x)))


def rsqrt(x: Any) -> Array:
    """1 / sqrt(x); integers give float32 (Keras' JAX backend rejects them)."""
    return lax.rsqrt(_float(convert_to_tensor(x)))


def logsumexp(x: Any, axis: Any = None, keepdims: bool = False) -> Array:
    """log(sum(exp(x))) over `axis`, computed stably."""
    axis = tuple(axis) if isinstance(axis, list) else axis
    return special.logsumexp(convert_to_tensor(x), axis=axis, keepdims=keepdims)


def top_k(x: Any, k: int, sorted: bool = True) -> tuple[Array, Array]:
    """(values, indices) of the `k` largest entries along the last axis, largest first
    (also with sorted=False, which only allows another order)."""
    return lax.top_k(convert_to_tensor(x), k)


def in_top_k(targets: Any, predictions: Any, k: int) -> Array:
    """Whether each target's prediction is among the `k` largest of its row (ties count
    for the target; a NaN prediction never does)."""
    targets, predictions = convert_to_tensor(targets), convert_to_tensor(predictions)
    mine = jnp.take_along_axis(predictions, targets[..., None].astype("int32"), axis=-1)
    mine = jnp.where(jnp.isnan(mine), -jnp.inf, mine)
    return jnp.sum(predictions > mine, axis=-1) < k


def _segment(reduce, data, segment_ids, num_segments, sorted):
    return reduce(convert_to_tensor(data), convert_to_tensor(segment_ids),
                  num_segments=num_segments, indices_are_sorted=sorted)


def segment_sum(data: Any, segment_ids: Any, num_segments: int | None = None,
                sorted: bool = False) -> Array:
    """Sums of `data`'s rows per segment id. Keras' JAX backend requires `num_segments`;
    cornu infers it (max id + 1) outside `jit` when it is None."""
    return _segment(jax.ops.segment_sum, data, segment_ids, num_segments, sorted)


def segment_max(data: Any, segment_ids: Any, num_segments: int | None = None,
                sorted: bool = False) -> Array:
    """Maxima per segment id (-inf for empty ones); `num_segments` as in segment_sum."""
    return _segment(jax.ops.segment_max, data, segment_ids, num_segments, sorted)


def segment_min(data: Any, segment_ids: Any, num_segments: int | None = None,
                sorted: bool = False) -> Array:
    """Minima per segment id (inf for empty ones); `num_segments` as in segment_sum."""
    return _segment(jax.ops.segment_min, data, segment_ids, num_segments, sorted)


def segment_prod(data: Any, segment_ids: Any, num_segments: int | None = None,
                 sorted: bool = False) -> Array:
    """Products per segment id (1 for empty ones); `num_segments` as in segment_sum."""
    return _segment(jax.ops.segment_prod, data, segment_ids, num_segments, sorted)


def extract_sequences(x: Any, sequence_length: int, sequence_stride: int) -> Array:
    """Frames of the last axis: (..., n) -> (..., frames, sequence_length), where
    frames = 1 + (n - sequence_length) // sequence_stride."""
    x = convert_to_tensor(x)
    frames = 1 + (x.shape[-1] - sequence_length) // sequence_stride
    starts = jnp.arange(frames) * sequence_stride
    index = starts[:, None] + jnp.arange(sequence_length)[None, :]
    return x[..., index]


def logdet(x: Any) -> Array:
    """log(det(x)) of (batches of) positive-definite matrices."""
    return jnp.linalg.slogdet(convert_to_tensor(x))[1]


__all__ = [
    "erf",
    "erfc",
    "erfinv",
    "extract_sequences",
    "in_top_k",
    "logdet",
    "logsumexp",
    "rsqrt",
    "segment_max",
    "segment_min",
    "segment_prod",
    "segment_sum",
    "top_k",
]
