"""Validate user arrays before they reach the device: every error names the argument,
repeats what was received and says the fix."""

from __future__ import annotations

from typing import Any

import numpy as np
from jax import dtypes as jax_dtypes

from cornu.losses import Loss


def is_floating(dtype) -> bool:
    """numpy's floats and the ml_dtypes ones JAX computes in (bfloat16, float8...), which
    numpy itself does not count as floating."""
    return jax_dtypes.issubdtype(dtype, np.floating)


def is_integer(dtype) -> bool:
    """numpy's integers and ml_dtypes' (int4, uint4...)."""
    return jax_dtypes.issubdtype(dtype, np.integer)


def as_numeric(data: Any, argument: str, check_finite: bool = True) -> np.ndarray:
    """A numpy array of numbers, or a TypeError naming `argument`; without
    `check_finite` (a file mapping, whose batches are checked as they are read) its values
    are not read."""
    if data is None:
        raise ValueError(f"{argument} is required. Received: {argument}=None")
    try:
        array = np.asarray(data)
    except (ValueError, TypeError) as err:  # ragged lists
        raise TypeError(
            f"{argument} must be a numeric array (numpy array or nested lists of numbers "
            f"of equal length). Received: {argument} of type {type(data).__name__} ({err})"
        ) from None
    if array.dtype == bool:
        array = array.astype(np.float32)
    if not (is_integer(array.dtype) or is_floating(array.dtype)):
        raise TypeError(
            f"{argument} must hold numbers, not {array.dtype}. Received: {argument} with "
            f"dtype={array.dtype}, e.g. {array.flat[0]!r}. Convert it with "
            f"np.asarray({argument}, dtype='float32')."
        )
    if array.ndim == 0:
        raise ValueError(
            f"{argument} must have a batch axis. Received: {argument} with shape (). "
            f"Wrap a single sample as {argument}[None]."
        )
    if array.shape[0] == 0:
        raise ValueError(
            f"{argument} is empty. Received: {argument} with shape {array.shape}. "
            "Pass at least one sample."
        )
    bad = _first_non_finite(array) if check_finite and is_floating(array.dtype) else None
    if bad is not None:
        raise ValueError(
            f"{argument} contains NaN or infinity (first at index {bad}: "
            f"{array[bad]!r}). Remove or replace those values, e.g. "
            f"np.nan_to_num({argument})."
        )
    return array


_FINITE_CHUNK = 1 << 16  # elements checked at a time
_DOT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def cast(array: np.ndarray, dtype: Any, argument: str) -> np.ndarray:
    """`array` as `dtype` (no copy when it already is). Values of a wider float type that
    become infinite once cast (1e300 as float32), past as_numeric's check of the original,
    are refused naming their rows."""
    dtype = np.dtype(dtype)
    with np.errstate(over="ignore"):  # found below, with the rows named
        out = array.astype(dtype, copy=False)
    if (out is array or not (is_floating(array.dtype) and is_floating(dtype))
            or dtype.itemsize >= array.dtype.itemsize
            or _first_non_finite(out) is None):
        return out
    finite = np.isfinite(out.reshape(out.shape[0], -1)).all(axis=1)
    rows = np.flatnonzero(~finite)
    shown = ", ".join(str(int(r)) for r in rows[:10]) + (", ..." if len(rows) > 10 else "")
    largest = float(np.finfo(dtype).max)
    raise ValueError(
        f"{argument} holds values too large for {dtype.name} (largest {largest:.4g}): they "
        f"would become infinity once cast, in {len(rows)} row(s): {shown}. Scale them, or "
        f"clip them, e.g. np.clip({argument}, {-largest:.4g}, {largest:.4g}).")


def _first_non_finite(array: np.ndarray) -> tuple[int, ...] | None:
    """The index of the first NaN or infinity in row-major order, or None; without a
    boolean array of the whole size (47 MB for MNIST's training images, which came from
    fresh memory in some fit calls and then cost ~0.1 s instead of ~10 ms) and without a
    copy of an array in another memory order (numpy's buffered iterator copies one chunk
    at a time). A C-contiguous float32 or float64 array is first summed as its dot
    product with itself (BLAS, 2.5x faster than the flags): a NaN or an infinity makes the
    sum non-finite, and only then (or where squares overflow) are its values searched."""
    if array.dtype in _DOT_DTYPES and array.flags.c_contiguous and array.size:
        flat = array.reshape(-1)
        with np.errstate(over="ignore", invalid="ignore"):
            if np.isfinite(np.dot(flat, flat)):
                return None
    flags = np.empty(_FINITE_CHUNK, bool)
    seen = 0
    for part in np.nditer(array, flags=["external_loop", "buffered", "zerosize_ok"],
                          buffersize=_FINITE_CHUNK, order="C"):
        out = flags[:part.size]
        np.isfinite(part, out=out)
        if not out.all():
            flat = seen + int(np.argmin(out))
            return tuple(int(i) for i in np.unravel_index(flat, array.shape))
        seen += part.size
    return None


def check_features(x: np.ndarray, input_shape: tuple, layer_name: str, argument: str) -> None:
    """x's per-sample shape must match what the first layer was built for."""
    expected = tuple(input_shape[1:])
    got = tuple(x.shape[1:])
    if len(expected) != len(got) or any(e is not None and e != g
                                           for e, g in zip(expected, got, strict=True)):
        raise ValueError(
            f"Input of layer '{layer_name}' is incompatible: expected shape "
            f"{(None, *expected)}, received {argument} with shape {x.shape}. "
            f"Reshape {argument} to (n, {', '.join(map(str, expected))}) or change "
            "the model's input_shape."
        )


def check_lengths(x: np.ndarray, y: np.ndarray, x_name: str = "x", y_name: str = "y") -> None:
    if x.shape[0] != y.shape[0]:
        raise ValueError(
            f"{x_name} and {y_name} must have the same number of samples. Received: "
            f"{x_name}.shape[0]={x.shape[0]}, {y_name}.shape[0]={y.shape[0]}. "
            "Pass one label per sample."
        )


def check_labels(y: np.ndarray, loss: Loss, output_shape: tuple, argument: str) -> np.ndarray:
    """Labels that fit the loss and the output; returns them in the dtype the loop uses.
    As Keras: labels of shape (n,) against an output of shape (None, 1) gain that axis,
    and (n, 1) against (None,) lose it."""
    classes = output_shape[-1]
    kind = getattr(loss, "label_kind", None)
    if kind != "sparse" and y.ndim == len(output_shape) - 1 and output_shape[-1] == 1:
        y = y[..., None]
    elif y.ndim == len(output_shape) + 1 and y.shape[-1] == 1:
        y = y[..., 0]
    if kind == "sparse":
        if y.ndim == len(output_shape):
            if y.shape[-1] != 1:
                raise ValueError(
                    f"{loss.name} expects integer class labels of shape (n,), but {argument} "
                    f"has shape {y.shape} (one-hot?). Use loss='categorical_crossentropy' for "
                    f"one-hot labels, or pass {argument}.argmax(-1)."
                )
            y = y.reshape(y.shape[:-1])
        if is_floating(y.dtype) and not np.array_equal(y, np.round(y)):
            raise ValueError(
                f"{loss.name} expects integer class labels. Received: {argument} with "
                f"non-integer values such as {y[y != np.round(y)].flat[0]!r}."
            )
        low, high = y.min(), y.max()
        if low < 0 or high >= classes:
            raise ValueError(
                f"{argument} has labels out of range: the model outputs {classes} classes "
                f"(0..{classes - 1}), but {argument} holds values from {low} to {high}. "
                f"Check the labels or give the last layer {int(high) + 1} units."
            )
        return y.astype(np.int32)
    if kind == "categorical" and (
        is_integer(y.dtype) and (y.ndim == 1 or y.shape[-1] == 1) and classes > 1
    ):
        raise ValueError(
            f"categorical_crossentropy expects one-hot labels of shape (n, {classes}), but "
            f"{argument} holds integer class labels with shape {y.shape}. Use "
            f"loss='sparse_categorical_crossentropy', or convert the labels with "
            f"cornu.utils.to_categorical({argument}, {classes})."
        )
    if kind is None and not getattr(loss, "builtin", True):
        return cast(y, np.float32, argument) if is_floating(y.dtype) or y.dtype == bool \
            else y
    if len(y.shape) != len(output_shape) or any(
            want is not None and got != want for got, want in zip(
                y.shape[1:], output_shape[1:], strict=True)):
        raise ValueError(
            f"{argument} has shape {y.shape}, but the model's output has shape "
            f"{tuple(output_shape)}. Labels need one row per sample matching the output."
        )
    if kind == "categorical" and (y.min() < 0 or y.max() > 1):
        raise ValueError(
            f"{argument} has labels out of range for categorical_crossentropy: values from "
            f"{y.min()} to {y.max()}; one-hot labels lie in [0, 1]. Use "
            f"cornu.utils.to_categorical on class indices."
        )
    if kind == "binary" and (y.min() < 0 or y.max() > 1):
        raise ValueError(
            f"{argument} has labels out of range for binary_crossentropy: values from "
            f"{y.min()} to {y.max()}; binary labels lie in [0, 1]."
        )
    return cast(y, np.float32, argument)


def pad_batches(array: np.ndarray, batch_size: int, out: np.ndarray | None = None
                ) -> np.ndarray:
    """(n, ...) -> (steps, batch_size, ...), zero-padded at the end (64-byte aligned), in
    `out` (an aligned (steps * batch_size, ...) array) when given."""
    n = array.shape[0]
    steps = -(-n // batch_size)
    padded = (empty_aligned((steps * batch_size, *array.shape[1:]), array.dtype)
              if out is None else out)
    padded[:n] = array
    padded[n:] = 0
    return padded.reshape(steps, batch_size, *array.shape[1:])


# XLA:CPU uses a host array in place, without copying it, when its data starts on a 64-byte
# boundary. numpy aligns large arrays to 16 bytes only, so jax.device_put copies those
# (70 ms for MNIST's 188 MB of float32 pixels). Copying into a freshly allocated aligned
# buffer was measured too: 16 ms when the memory comes back from a recent free, but
# 150-440 ms whenever the system has to provide fresh pages, so arrays that pad_batches
# makes skip the copy, and fit keeps buffers between its calls (cornu.data.staging).
_ALIGN = 64


def empty_aligned(shape: tuple, dtype) -> np.ndarray:
    """An uninitialised C-contiguous array whose data starts on a 64-byte boundary."""
    dtype = np.dtype(dtype)
    nbytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    raw = np.empty(nbytes + _ALIGN, np.uint8)
    start = -raw.ctypes.data % _ALIGN
    return raw[start:start + nbytes].view(dtype).reshape(shape)


def is_aligned(array: np.ndarray) -> bool:
    """Whether XLA:CPU can use `array` in place (C-contiguous from a 64-byte boundary)."""
    return bool(array.flags.c_contiguous) and array.ctypes.data % _ALIGN == 0


def batch_mask(n: int, batch_size: int) -> np.ndarray:
    steps = -(-n // batch_size)
    return (np.arange(steps * batch_size) < n).astype(np.float32).reshape(steps, batch_size)
