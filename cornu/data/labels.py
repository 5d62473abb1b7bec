"""Label encoding and normalization: `to_categorical` and `normalize`, as `keras.utils`'
(Keras keeps both in numerical_utils)."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, DTypeLike

from cornu.data.arrays import is_floating, is_integer

__all__ = ["normalize", "to_categorical"]


def to_categorical(y: ArrayLike, num_classes: int | None = None, dtype: DTypeLike = "float32"):
    """One-hot encode integer class labels.

    Args:
        y: integer labels in `[0, num_classes)`, any shape (a list, NumPy or JAX array).
            Floats are accepted when they hold whole numbers (e.g. `3.0`). As in Keras,
            a trailing dimension of size 1 is dropped: shape (n, 1) encodes like (n,).
        num_classes: the number of classes; defaults to `max(y) + 1`.
        dtype: dtype of the result.

    Returns:
        A NumPy array of shape `y.shape + (num_classes,)` (after dropping a trailing
        1), holding 1 at each label's index and 0 elsewhere.

    Example:
        >>> to_categorical([0, 2, 1], num_classes=3).tolist()
        [[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, 1.0, 0.0]]
    """
    try:
        out_dtype = np.dtype(dtype)
    except TypeError as err:
        raise TypeError(
            f"dtype must be a NumPy dtype or its name, such as 'float32'. Received: dtype={dtype!r}"
        ) from err
    labels = _integer_labels(y)
    shape = labels.shape
    if len(shape) > 1 and shape[-1] == 1:
        shape = shape[:-1]
    flat = labels.reshape(-1)

    if num_classes is None:
        if flat.size == 0:
            raise ValueError(
                "to_categorical cannot infer num_classes from empty labels y. "
                "Pass num_classes explicitly."
            )
        num_classes = int(flat.max()) + 1
    elif isinstance(num_classes, bool) or not isinstance(num_classes, int | np.integer):
        raise TypeError(
            f"num_classes must be a positive integer or None. Received: num_classes={num_classes!r}"
        )
    elif num_classes < 1:
        raise ValueError(
            f"num_classes must be a positive integer (at least 1). "
            f"Received: num_classes={num_classes!r}"
        )
    num_classes = int(num_classes)
    if flat.size and int(flat.max()) >= num_classes:
        raise ValueError(
            f"labels y must be smaller than num_classes={num_classes}, but y holds "
            f"{int(flat.max())}. Pass num_classes={int(flat.max()) + 1} or more, or leave "
            "num_classes=None to use max(y) + 1."
        )

    one_hot = np.zeros((flat.size, num_classes), dtype=out_dtype)
    one_hot[np.arange(flat.size), flat] = 1
    return one_hot.reshape(shape + (num_classes,))


def normalize(x: Any, axis: int | None = -1, order: float = 2):
    """`x` divided by its `order`-norm along `axis`, as `keras.utils.normalize`.

    Args:
        x: the array. A NumPy array gives a NumPy array (computed by NumPy, in the dtype
            NumPy's `x / norm` has: float64 for integers, x's own for floats). Anything
            else (a JAX array, a list) goes to `cornu.ops.nn.normalize` and gives a JAX
            array, as Keras gives a backend tensor.
        axis: the axis along which to normalize; `None` normalizes the whole array as
            one flattened vector.
        order: the norm order, as `numpy.linalg.norm` takes it for vectors: `2` (default),
            `1`, `numpy.inf`, ... For non-NumPy input it must be an int >= 1, as in Keras.

    Returns:
        A normalized copy of `x`. Vectors whose norm is 0 are returned unchanged (zeros),
        not divided by zero.

    Differences from Keras for NumPy input: `axis=0` (and any axis Keras' `axis or -1`
    turns into -1) normalizes along that axis, where Keras divides along the last axis
    (wrong values for square arrays, a broadcasting error otherwise); `axis=None` is the
    flattened vector's norm, where Keras takes NumPy's matrix norm; a 0-d array is
    normalized as a 1-element vector (shape (1,), as Keras' ops do).

    Example:
        >>> normalize(np.array([[3.0, 4.0], [0.0, 0.0]])).tolist()
        [[0.6, 0.8], [0.0, 0.0]]
    """
    if not isinstance(x, np.ndarray):
        from cornu.ops.nn import normalize as normalize_op

        if axis is None:
            raise ValueError(
                "axis=None is only supported for NumPy arrays; pass an int axis, or "
                "np.asarray(x). Received: axis=None"
            )
        return normalize_op(x, axis=axis, order=order)
    if isinstance(order, bool) or not isinstance(order, int | float | np.integer | np.floating):
        raise ValueError(
            f"order must be a number, such as 1, 2 or numpy.inf. Received: order={order!r}"
        )
    if np.isnan(order):
        raise ValueError(f"order must be a number, not NaN. Received: order={order!r}")
    if x.ndim == 0:
        x = x.reshape(1)
    if axis is None:
        norm = np.linalg.norm(x.reshape(-1), ord=order).reshape((1,) * x.ndim)
    else:
        if isinstance(axis, bool) or not isinstance(axis, int | np.integer):
            raise TypeError(f"axis must be an int or None. Received: axis={axis!r}")
        if not -x.ndim <= axis < x.ndim:
            raise ValueError(
                f"axis={axis} is out of range for x of shape {x.shape} "
                f"(rank {x.ndim}). Received: axis={axis!r}"
            )
        norm = np.linalg.norm(x, ord=order, axis=int(axis), keepdims=True)
    norm = np.atleast_1d(norm)  # a writable array, also for 1-element results
    norm[norm == 0] = 1
    return x / norm


def _integer_labels(y: Any) -> np.ndarray:
    """`y` as a non-negative intp array, or a TypeError/ValueError that says why not."""
    try:
        array = np.asarray(y)
    except (TypeError, ValueError) as err:
        raise TypeError(
            f"y must be an array of integer class labels. Received: y={_short(y)} ({err})"
        ) from err
    if array.dtype.kind == "b":
        array = array.astype(np.intp)
    elif is_floating(array.dtype):  # ml_dtypes' bfloat16 too
        array = array.astype(np.float64)  # exact for them all; numpy's own math from here
        if array.size and not np.all(np.isfinite(array)):
            raise ValueError(
                f"labels y must be whole numbers, but y holds NaN or infinity. "
                f"Received: y={_short(array)}"
            )
        fractional = array != np.floor(array)
        if np.any(fractional):
            raise ValueError(
                f"labels y must be whole numbers (class indices), but y holds "
                f"{array[fractional].flat[0].item()!r}. Received: y={_short(array)}. Round or "
                "cast the labels to integers; for probabilities or one-hot targets, "
                "to_categorical is not needed."
            )
    elif is_integer(array.dtype):
        array = array.astype(np.int64)  # ml_dtypes' int4 and the like: numpy's min/max
    else:
        raise TypeError(
            f"y must be an array of integer class labels, but it has dtype {array.dtype}. "
            f"Received: y={_short(y)}"
        )
    if array.size and array.min() < 0:
        raise ValueError(
            f"labels y must be non-negative class indices, but y holds {array.min().item()!r}. "
            f"Received: y={_short(array)}. Map the labels to 0..num_classes-1 first."
        )
    if array.size and array.max() > np.iinfo(np.intp).max:
        raise ValueError(f"labels y are too large for an index. Received: y={_short(array)}")
    return array.astype(np.intp)


def _short(value: Any) -> str:
    """repr of `value`, cut to a readable length for error messages."""
    text = np.array2string(value, threshold=10) if isinstance(value, np.ndarray) else repr(value)
    return text if len(text) <= 120 else text[:117] + "..."
