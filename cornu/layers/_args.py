"""Argument checks and shape arithmetic shared by the convolution and pooling layers."""

from __future__ import annotations

import math
from typing import Any

from cornu.layers.base import Shape


def positive_int(value: Any, argument: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{argument} must be a positive integer. Received: {argument}={value!r}")
    return value


def int_tuple(value: Any, n: int, argument: str) -> tuple[int, ...]:
    """An int or a tuple of `n` positive ints -> a tuple of `n` ints (Keras' normalize_tuple)."""
    items = (value,) * n if isinstance(value, int) and not isinstance(value, bool) else value
    try:
        items = tuple(items)
    except TypeError:
        items = ()
    if len(items) != n or any(isinstance(v, bool) or not isinstance(v, int) or v < 1
                              for v in items):
        raise ValueError(
            f"{argument} must be a positive integer or a tuple of {n} positive integers. "
            f"Received: {argument}={value!r}"
        )
    return items


def padding(value: Any, allowed: tuple[str, ...] = ("valid", "same")) -> str:
    name = value.lower() if isinstance(value, str) else value
    if name not in allowed:
        raise ValueError(
            f"padding must be one of {', '.join(repr(a) for a in allowed)}. "
            f"Received: padding={value!r}"
        )
    return name


def data_format(value: Any) -> str:
    if value in (None, "channels_last"):
        return "channels_last"
    if value == "channels_first":
        raise ValueError(
            "cornu supports data_format='channels_last' only (Keras' default). Received: "
            "data_format='channels_first'. Transpose the data to (batch, ..., channels), "
            "e.g. np.moveaxis(x, 1, -1)."
        )
    raise ValueError(
        f"data_format must be 'channels_last' or None. Received: data_format={value!r}"
    )


#: the names of the axes after the batch axis of channels_last inputs, by spatial rank
SPATIAL_AXES = {1: "steps, channels", 2: "height, width, channels",
                3: "depth, height, width, channels"}


def check_spatial_rank(layer: Any, input_shape: Shape, spatial: int) -> None:
    """Inputs of (batch, *`spatial` axes, channels), naming the layer if not."""
    check_rank(layer, input_shape, spatial + 2, SPATIAL_AXES[spatial])


def check_rank(layer: Any, input_shape: Shape, rank: int, axes: str) -> None:
    """Spatial layers: inputs of rank `rank` ((batch, *axes)), naming the layer if not."""
    if not isinstance(input_shape, tuple) or len(input_shape) != rank:
        raise ValueError(
            f"Layer '{layer.name}' ({type(layer).__name__}) expects inputs of rank {rank}, "
            f"(batch, {axes}). Received input shape {input_shape}"
            + (f" of rank {len(input_shape)}" if isinstance(input_shape, tuple) else "")
            + ". For images without a channels axis, add one: x[..., None], or a "
              "Reshape((height, width, 1)) layer."
        )


def spatial_output_shape(
    layer: Any, input_shape: Shape, window: tuple[int, ...], strides: tuple[int, ...],
    dilation: tuple[int, ...], pad: str, what: str,
) -> tuple[int | None, ...]:
    """The spatial axes of a convolution or pooling output (unknown sizes stay None)."""
    sizes = input_shape[1:-1]
    effective = tuple((w - 1) * d + 1 for w, d in zip(window, dilation, strict=True))
    if pad == "valid" and any(s is not None and s < e
                              for s, e in zip(sizes, effective, strict=True)):
        dilated = f" ({effective} after dilation)" if effective != window else ""
        raise ValueError(
            f"Layer '{layer.name}' ({type(layer).__name__}): {what}={window}{dilated} is "
            f"larger than the input's spatial size {tuple(sizes)} (input shape "
            f"{input_shape}) with padding='valid'. Use a smaller {what}, padding='same', or "
            "a larger input."
        )
    out = []
    for size, e, s in zip(sizes, effective, strides, strict=True):
        if size is None:
            out.append(None)
        elif pad == "valid":
            out.append((size - e) // s + 1)
        else:  # same, causal
            out.append(math.ceil(size / s))
    return tuple(out)


def non_negative(value: Any, argument: str, layer: str, optional: bool = False) -> Any:
    """A finite number >= 0 (or None where `optional`) as a float, or an error naming it."""
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) \
            or not (math.isfinite(value) and value >= 0):
        raise ValueError(
            f"{argument} of a {layer} layer must be a number >= 0"
            + (" or None" if optional else "") + f". Received: {argument}={value!r}"
        )
    return float(value)


def _count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def pairs(value: Any, n: int, argument: str) -> tuple[tuple[int, int], ...]:
    """Padding or cropping amounts -> one (before, after) pair per spatial axis. For one axis:
    an int or (before, after); for two: an int, one int per axis, or a pair per axis."""
    def pair(item: Any) -> tuple[int, int] | None:
        if _count(item):
            return (item, item)
        if isinstance(item, list | tuple) and len(item) == 2 and all(map(_count, item)):
            return (item[0], item[1])
        return None

    if n == 1:
        found = pair(value)
        result = None if found is None else (found,)
    elif _count(value):
        result = ((value, value),) * n
    elif isinstance(value, list | tuple) and len(value) == n:
        items = tuple(pair(v) for v in value)
        result = None if None in items else items  # type: ignore[assignment]
    else:
        result = None
    if result is None:
        forms = ("an int >= 0 or a tuple of 2 (before, after)" if n == 1 else
                 f"an int >= 0, a tuple of {n} ints (one per axis), or a tuple of {n} "
                 "(before, after) pairs")
        raise ValueError(f"{argument} must be {forms}. Received: {argument}={value!r}")
    return result


def positive_float(value: Any, argument: str) -> float:
    """A finite positive number (epsilon), or Keras-style ValueError naming `argument`."""
    if isinstance(value, bool) or not isinstance(value, int | float) \
            or not (math.isfinite(value) and value > 0):
        raise ValueError(f"{argument} must be a positive number. Received: "
                         f"{argument}={value!r}")
    return float(value)


def axes(value: Any, argument: str = "axis") -> tuple[int, ...]:
    """An integer or a non-empty list of integers, as a tuple."""
    found = (value,) if isinstance(value, int) else value
    try:
        found = tuple(found)
    except TypeError:
        found = ("?",)
    if not found or any(isinstance(a, bool) or not isinstance(a, int) for a in found):
        raise ValueError(f"{argument} must be an integer or a list of integers. "
                         f"Received: {argument}={value!r}")
    return found

