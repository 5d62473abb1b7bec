"""The image affine transform of the augmentation layers (RandomRotation, RandomTranslation,
RandomZoom), with Keras' numbers: `keras.ops.image.affine_transform`'s transform vectors,
interpolations and fill modes; the argument checks and random draws these layers share.

A transform is 8 numbers [a0, a1, a2, b0, b1, b2, c0, c1] (one per image, or one for all):
the output pixel (x, y) takes the input at ((a0 x + a1 y + a2) / k, (b0 x + b1 y + b2) / k),
k = c0 x + c1 y + 1, x the column and y the row. Images are (batch, height, width, channels)
or one (height, width, channels).
"""

from __future__ import annotations

import math
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from cornu import random

INTERPOLATIONS = {"nearest": 0, "bilinear": 1}  # the spline order
FILL_MODES = ("reflect", "wrap", "constant", "nearest")


def affine_transform(images, transform, interpolation: str = "bilinear",
                     fill_mode: str = "constant", fill_value: float = 0.0) -> jax.Array:
    """`images` resampled at the transformed coordinates (see the module docstring)."""
    interpolation = check_interpolation(interpolation)
    fill_mode = check_fill_mode(fill_mode, allowed=(*FILL_MODES, "mirror"))
    images, transform = jnp.asarray(images), jnp.asarray(transform)
    if images.ndim not in (3, 4):
        raise ValueError(f"images must have rank 3 (one image) or 4 (a batch). Received: "
                         f"images.shape={images.shape}")
    if transform.ndim not in (1, 2) or transform.shape[-1] != 8:
        raise ValueError(f"transform must be 8 numbers or a batch of them, shape (8,) or "
                         f"(batch, 8). Received: transform.shape={transform.shape}")
    single = images.ndim == 3
    batch = images[None] if single else images
    if not jnp.issubdtype(batch.dtype, jnp.floating):
        batch = batch.astype(jnp.float32)
    t = jnp.broadcast_to(transform.astype(jnp.float32), (batch.shape[0], 8))
    rows, cols = jnp.meshgrid(jnp.arange(batch.shape[1], dtype=jnp.float32),
                              jnp.arange(batch.shape[2], dtype=jnp.float32), indexing="ij")
    rows, cols = rows[None], cols[None]
    a0, a1, a2, b0, b1, b2, c0, c1 = (t[:, i, None, None] for i in range(8))
    k = c0 * cols + c1 * rows + 1.0
    x_in = (a0 * cols + a1 * rows + a2) / k
    y_in = (b0 * cols + b1 * rows + b2) / k

    order = INTERPOLATIONS[interpolation]

    def one_channel(channel, y, x):
        return jax.scipy.ndimage.map_coordinates(channel, [y, x], order=order, mode=fill_mode,
                                                 cval=fill_value)

    per_channel = jax.vmap(one_channel, in_axes=(-1, None, None), out_axes=-1)
    out = jax.vmap(per_channel)(batch, y_in, x_in).astype(batch.dtype)
    return out[0] if single else out


def rotation_matrix(angles, height: int, width: int) -> jax.Array:
    """(batch, 8): rotations by `angles` (degrees, counter-clockwise on screen for positive
    angles as Keras) about the image centre."""
    theta = jnp.asarray(angles, jnp.float32) * (math.pi / 180.0)
    cx, cy = (width - 1) / 2.0, (height - 1) / 2.0
    cos, sin = jnp.cos(theta), jnp.sin(theta)
    a0, a1, b0, b1 = cos, -sin, sin, cos
    a2 = cx - cx * a0 - cy * a1
    b2 = cy - cx * b0 - cy * b1
    zeros = jnp.zeros_like(theta)
    return jnp.stack([a0, a1, a2, b0, b1, b2, zeros, zeros], axis=1)


def translation_matrix(dx, dy) -> jax.Array:
    """(batch, 8): shifts of the content by (dx, dy) pixels (right and down positive)."""
    dx, dy = jnp.asarray(dx, jnp.float32), jnp.asarray(dy, jnp.float32)
    ones, zeros = jnp.ones_like(dx), jnp.zeros_like(dx)
    return jnp.stack([ones, zeros, -dx, zeros, ones, -dy, zeros, zeros], axis=1)


def zoom_matrix(zx, zy, height: int, width: int) -> jax.Array:
    """(batch, 8): sampling steps zx, zy about the centre (above 1 zooms out, as Keras)."""
    zx, zy = jnp.asarray(zx, jnp.float32), jnp.asarray(zy, jnp.float32)
    zeros = jnp.zeros_like(zx)
    return jnp.stack([zx, zeros, (width - 1) / 2.0 * (1.0 - zx), zeros, zy,
                      (height - 1) / 2.0 * (1.0 - zy), zeros, zeros], axis=1)


def uniform(shape: tuple[int, ...], bounds: tuple[float, float], seed) -> jax.Array:
    return random.uniform(shape, minval=bounds[0], maxval=bounds[1], seed=seed)


# argument checks


def check_interpolation(value: Any) -> str:
    if value not in INTERPOLATIONS:
        raise ValueError(f"interpolation must be one of {', '.join(map(repr, INTERPOLATIONS))}. "
                         f"Received: interpolation={value!r}")
    return value


def check_fill_mode(value: Any, allowed: tuple[str, ...] = FILL_MODES) -> str:
    if value not in allowed:
        raise ValueError(f"fill_mode must be one of {', '.join(map(repr, allowed))}. "
                         f"Received: fill_mode={value!r}")
    return value


def check_seed(seed: Any) -> int | None:
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or seed < 0):
        raise ValueError(f"seed must be a non-negative integer or None. Received: seed={seed!r}")
    return seed


def _number(value: Any) -> bool:
    return (isinstance(value, int | float | np.integer | np.floating)
            and not isinstance(value, bool) and math.isfinite(value))


def factor(value: Any, argument: str, low: float, high: float, *,
           above_low: bool = False, what: str = "") -> tuple[float, float]:
    """A number f -> (-f, f) clipped at `low`; a pair -> sorted; every number within
    [low, high] (above `low` strictly when `above_low`)."""
    def inside(v: Any) -> bool:
        return _number(v) and (low < v if above_low else low <= v) and v <= high

    opening = "(" if above_low else "["
    message = (f"{argument} must be a number or a pair of numbers in {opening}{low}, {high}]"
               f"{what}. Received: {argument}={value!r}")
    if isinstance(value, tuple | list):
        if len(value) != 2 or not all(inside(v) for v in value):
            raise ValueError(message)
        lower, upper = sorted(float(v) for v in value)
        return lower, upper
    if not inside(value):
        raise ValueError(message)
    return max(-abs(float(value)), low), abs(float(value))


def as_config(value: Any) -> Any:
    """A factor as the config keeps it: a number, None, or a pair as a tuple (the same
    before and after a JSON round trip)."""
    if value is None:
        return None
    return tuple(float(v) for v in value) if isinstance(value, tuple | list) else float(value)


def value_range(value: Any) -> tuple[float, float]:
    if not isinstance(value, tuple | list) or len(value) != 2 \
            or not all(_number(v) for v in value) or value[0] == value[1]:
        raise ValueError(f"value_range must be a pair of two different numbers (low, high), "
                         f"e.g. (0, 255) or (0, 1). Received: value_range={value!r}")
    low, high = sorted(value)
    return low, high


def as_float(layer: Any, images: jax.Array) -> jax.Array:
    """Images as floats (Keras' image layers output the compute dtype)."""
    images = jnp.asarray(images)
    if not jnp.issubdtype(images.dtype, jnp.floating):
        return images.astype(layer.compute_dtype)
    return images
