"""Sequence padding: `pad_sequences`, as `keras.utils.pad_sequences`."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import DTypeLike

__all__ = ["pad_sequences"]

_SIDES = ("pre", "post")


def pad_sequences(
    sequences: Any,
    maxlen: int | None = None,
    dtype: DTypeLike = "int32",
    padding: str = "pre",
    truncating: str = "pre",
    value: Any = 0.0,
) -> np.ndarray:
    """Pad (and truncate) sequences to one length, into a NumPy array.

    Args:
        sequences: a list (or anything with a length) of sequences: lists, tuples or
            arrays. Their elements may themselves be arrays of one common shape, which
            becomes the trailing shape of the result.
        maxlen: the length of every row; defaults to the longest sequence's length.
        dtype: dtype of the result (`"int32"` by default, so float values are cut
            towards zero as in Keras). Use `object` for variable-length strings.
        padding: `"pre"` (default) or `"post"`: where the `value`s go in short sequences.
        truncating: `"pre"` (default) or `"post"`: which end of a long sequence is cut.
        value: the padding value.

    Returns:
        An array of shape `(len(sequences), maxlen) + sample_shape`.

    Differences from Keras: `padding` and `truncating` are checked before anything else
    (Keras checks them only when some sequence is non-empty); an empty `sequences`
    gives shape `(0, 0)` where Keras fails on `max` of nothing; `maxlen=0` gives empty
    rows where Keras fails.

    Example:
        >>> pad_sequences([[1], [2, 3], [4, 5, 6]]).tolist()
        [[0, 0, 1], [0, 2, 3], [4, 5, 6]]
        >>> pad_sequences([[1], [2, 3], [4, 5, 6]], maxlen=2, padding="post").tolist()
        [[1, 0], [2, 3], [5, 6]]
    """
    _check_side("padding", padding)
    _check_side("truncating", truncating)
    try:
        out_dtype = np.dtype(dtype)
    except TypeError as err:
        raise TypeError(
            f"dtype must be a NumPy dtype or its name, such as 'int32' or 'float32'. "
            f"Received: dtype={dtype!r}"
        ) from err
    if maxlen is not None:
        if isinstance(maxlen, bool) or not isinstance(maxlen, int | np.integer):
            raise TypeError(
                f"maxlen must be a non-negative integer or None. Received: maxlen={maxlen!r}"
            )
        if maxlen < 0:
            raise ValueError(
                f"maxlen must be a non-negative integer or None. Received: maxlen={maxlen!r}"
            )
        maxlen = int(maxlen)
    if not hasattr(sequences, "__len__"):
        raise ValueError(
            "sequences must be iterable: a list of sequences, with a length. "
            f"Received: sequences={_short(sequences)} of type {type(sequences).__name__}"
        )
    if isinstance(value, str) and out_dtype.kind not in "OUS":
        raise ValueError(
            f"value={value!r} is a string, which dtype {out_dtype} cannot hold. Pass "
            "dtype=object for variable-length strings."
        )
    if (
        out_dtype.kind in "iub"
        and isinstance(value, float | np.floating)
        and not np.isfinite(value)
    ):
        raise ValueError(f"value={value!r} cannot be stored in the integer dtype {out_dtype}.")

    lengths = []
    sample_shape: tuple[int, ...] = ()
    found_sample = False
    for index, seq in enumerate(sequences):
        try:
            length = len(seq)
        except TypeError as err:
            raise ValueError(
                "sequences must be a list of iterables (lists, tuples or arrays), but "
                f"sequences[{index}] is {_short(seq)} of type {type(seq).__name__}, which "
                "has no length."
            ) from err
        lengths.append(length)
        if not found_sample and length:
            try:
                sample_shape = np.asarray(seq).shape[1:]
            except ValueError as err:  # ragged elements
                raise ValueError(f"sequences[{index}] is not a regular array: {err}") from err
            found_sample = True

    if maxlen is None:
        maxlen = max(lengths, default=0)

    try:
        out = np.full((len(lengths), maxlen) + sample_shape, value, dtype=out_dtype)
    except (TypeError, ValueError, OverflowError) as err:
        raise type(err)(f"value={value!r} cannot be stored in dtype {out_dtype}: {err}") from err
    if maxlen == 0:
        return out

    for index, seq in enumerate(sequences):
        if not lengths[index]:
            continue
        try:
            kept = seq[-maxlen:] if truncating == "pre" else seq[:maxlen]
        except (TypeError, KeyError):  # a sequence without slicing (a deque, say)
            items = list(seq)
            kept = items[-maxlen:] if truncating == "pre" else items[:maxlen]
        try:
            kept = np.asarray(kept, dtype=out_dtype)
        except (TypeError, ValueError, OverflowError) as err:
            raise type(err)(
                f"sequences[{index}] cannot be converted to dtype {out_dtype}: {err}"
            ) from err
        if kept.shape[1:] != sample_shape:
            raise ValueError(
                f"Shape of sample {kept.shape[1:]} of sequence at position {index} is "
                f"different from expected shape {sample_shape} (the shape of the elements "
                "of the first non-empty sequence)."
            )
        if padding == "post":
            out[index, : len(kept)] = kept
        else:
            out[index, maxlen - len(kept):] = kept
    return out


def _check_side(name: str, side: Any) -> None:
    if not isinstance(side, str) or side not in _SIDES:
        raise ValueError(f"{name} must be 'pre' or 'post'. Received: {name}={side!r}")


def _short(value: Any) -> str:
    """repr of `value`, cut to a readable length for error messages."""
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
