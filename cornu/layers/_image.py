"""Image helpers of the preprocessing layers (Resizing, CenterCrop): the aspect-ratio crop
and pad that Keras applies before resizing, on (..., height, width, channels) arrays."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from cornu.layers.base import Shape

INTERPOLATIONS = ("bilinear", "nearest", "bicubic", "lanczos3", "lanczos5")


def interpolation(value: Any) -> str:
    name = value.lower() if isinstance(value, str) else value
    if name not in INTERPOLATIONS:
        raise ValueError(f"interpolation must be one of {', '.join(INTERPOLATIONS)}. "
                         f"Received: interpolation={value!r}")
    return name


def check_images(layer: Any, input_shape: Shape) -> None:
    """Images are (batch, height, width, channels) or one (height, width, channels)."""
    if len(input_shape) not in (3, 4):
        raise ValueError(
            f"Layer '{layer.name}' ({type(layer).__name__}) takes images of rank 4, (batch, "
            f"height, width, channels), or one image of rank 3. Received input shape "
            f"{tuple(input_shape)}.")


def with_size(input_shape: Shape, height: int, width: int) -> Shape:
    shape = list(input_shape)
    shape[-3], shape[-2] = height, width
    return tuple(shape)


def aspect_crop(images: jax.Array, height: int, width: int) -> jax.Array:
    """The largest centred window with the target's aspect ratio."""
    h, w = images.shape[-3], images.shape[-2]
    crop_h = max(min(h, int(float(w * height) / width)), 1)
    crop_w = max(min(w, int(float(h * width) / height)), 1)
    top, left = int(float(h - crop_h) / 2), int(float(w - crop_w) / 2)
    return images[..., top:top + crop_h, left:left + crop_w, :]


def aspect_pad(images: jax.Array, height: int, width: int, fill_value: float) -> jax.Array:
    """Padding to the target's aspect ratio, centred (the same amount on both sides)."""
    h, w = images.shape[-3], images.shape[-2]
    pad_h = max(h, int(float(w * height) / width))
    pad_w = max(w, int(float(h * width) / height))
    top, left = int(float(pad_h - h) / 2), int(float(pad_w - w) / 2)
    pads = [(0, 0)] * (images.ndim - 3) + [(top, top), (left, left), (0, 0)]
    return jnp.pad(images, pads, constant_values=fill_value)


def resize(images: jax.Array, height: int, width: int, method: str,
           antialias: bool = False) -> jax.Array:
    """jax.image.resize of the spatial axes, as Keras' JAX backend calls it."""
    shape = with_size(images.shape, height, width)
    out = jax.image.resize(images.astype(jnp.promote_types(images.dtype, jnp.float32))
                           if not jnp.issubdtype(images.dtype, jnp.floating) else images,
                           shape, method=method, antialias=antialias)
    if jnp.issubdtype(images.dtype, jnp.integer):
        info = jnp.iinfo(images.dtype)
        out = jnp.clip(jnp.round(out), info.min, info.max).astype(images.dtype)
    return out
