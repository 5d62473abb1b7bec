"""Pictures of handwritten digits, prepared the way MNIST's were.

    from cornu.data.images import load_digit
    x = load_digit("seven.png")           # (28, 28) float32 in [0, 1], white ink on black

`prepare_digit(array)` is the whole preprocessing, in NumPy:

1. grayscale in [0, 1] (RGB by luminance; transparency is laid over white paper);
2. ink becomes bright: the picture is inverted when its border (the paper) is light;
3. the paper level is subtracted and the contrast stretched, faint noise dropped;
4. cropped to the ink, scaled (aspect kept, antialiased) so its longer side is 20 pixels;
5. placed in a 28x28 field with its centre of mass at MNIST's (14, 14).

`load_digit(path)` reads a PNG, JPEG or any file Pillow reads, then calls prepare_digit.
"""

from __future__ import annotations

import os

import numpy as np

from cornu.data.arrays import is_floating, is_integer

__all__ = ["DigitImageError", "load_digit", "prepare_digit"]

SIZE = 28  # the field
BOX = 20  # the longer side of the digit inside it
CENTER = 14.0  # MNIST's mean centre of mass, in pixel-index coordinates
_NOISE = 0.12  # ink fainter than this (after stretching) is treated as paper
_MIN_CONTRAST = 0.05  # ink and paper must differ by more than this


class DigitImageError(ValueError):
    """The picture holds no digit to read (blank, or not a 2-D picture)."""


def prepare_digit(array: np.ndarray) -> np.ndarray:
    """A picture of one digit, as people draw it, -> (28, 28) float32 in [0, 1], MNIST style.

    `array`: (H, W) gray, (H, W, 1), (H, W, 3) RGB or (H, W, 4) RGBA; integers are read
    as 0..255 (0..65535 for 16-bit), floats as 0..1 (0..255 when larger than 1).
    Dark ink on light paper and light ink on dark paper both work; size and position
    do not matter. Raises DigitImageError for a blank picture or a wrong shape.
    """
    gray = _grayscale(np.asarray(array))
    border = np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])
    paper = float(np.median(border))
    if paper > 0.5:  # light paper: dark ink
        gray, paper = 1.0 - gray, 1.0 - paper
    top = float(gray.max())
    if top - paper <= _MIN_CONTRAST:
        raise DigitImageError("the picture is blank: no ink stands out from the background")
    ink = np.clip((gray - paper) / (top - paper), 0.0, 1.0)
    ink[ink < _NOISE] = 0.0
    rows = np.flatnonzero(ink.any(axis=1))
    cols = np.flatnonzero(ink.any(axis=0))
    ink = ink[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
    h, w = ink.shape
    scale = BOX / max(h, w)
    nh, nw = max(1, round(h * scale)), max(1, round(w * scale))
    small = _resample_matrix(h, nh) @ ink @ _resample_matrix(w, nw).T
    return _place_by_mass(np.clip(small, 0.0, 1.0))


def load_digit(path: str | os.PathLike) -> np.ndarray:
    """Read a picture file with Pillow and prepare it (see `prepare_digit`).

    Raises OSError when the file cannot be read, PIL.UnidentifiedImageError when it is
    not a picture, DigitImageError when no digit can be found in it.
    """
    from PIL import Image, ImageOps

    with Image.open(path) as image:
        image = ImageOps.exif_transpose(image)
        if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P"
                                                  and "transparency" in image.info):
            array = np.asarray(image.convert("RGBA"))
        elif image.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
            array = np.asarray(image.convert("F")) / 255.0
            array = array / 257.0 if array.max() > 1.0 else array
        else:
            array = np.asarray(image.convert("L"))
    return prepare_digit(array)


# -- steps --------------------------------------------------------------------------------


def _grayscale(array: np.ndarray) -> np.ndarray:
    if array.ndim == 3 and array.shape[-1] == 1:
        array = array[..., 0]
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[-1] not in (3, 4)) \
            or min(array.shape[:2]) < 1:
        raise DigitImageError(f"a digit picture must be (height, width) gray or (height, width, "
                              f"3 or 4) color. Received an array of shape {array.shape}")
    if array.dtype == bool:
        values = array.astype(np.float32)
    elif is_integer(array.dtype):
        top = 65535.0 if array.dtype.itemsize > 1 and array.max(initial=0) > 255 else 255.0
        values = array.astype(np.float32) / top
    elif is_floating(array.dtype):  # ml_dtypes' bfloat16 too
        values = array.astype(np.float32)
        if not np.isfinite(values).all():
            raise DigitImageError("the picture holds NaN or infinite values")
        if values.max(initial=0.0) > 1.0:
            values = values / 255.0
    else:
        raise DigitImageError(f"a digit picture must hold numbers. Received dtype {array.dtype}")
    values = np.clip(values, 0.0, 1.0)
    if values.ndim == 2:
        return values
    rgb = values[..., :3] @ np.array([0.299, 0.587, 0.114], np.float32)  # ITU-R 601, as PIL
    if values.shape[-1] == 4:  # lay the picture over white paper
        alpha = values[..., 3]
        rgb = rgb * alpha + (1.0 - alpha)
    return rgb.astype(np.float32)


def _resample_matrix(n_in: int, n_out: int) -> np.ndarray:
    """(n_out, n_in) weights of an antialiased linear (triangle) filter, as Pillow's
    BILINEAR: the filter widens with the reduction, so shrinking averages every pixel."""
    scale = n_in / n_out
    support = max(scale, 1.0)
    centers = (np.arange(n_out) + 0.5) * scale
    sources = np.arange(n_in) + 0.5
    weights = np.maximum(0.0, 1.0 - np.abs(sources[None, :] - centers[:, None]) / support)
    return (weights / weights.sum(axis=1, keepdims=True)).astype(np.float32)


def _place_by_mass(digit: np.ndarray) -> np.ndarray:
    """The digit in a 28x28 field, shifted so its centre of mass is at (14, 14) while the
    whole digit stays inside."""
    h, w = digit.shape
    mass = float(digit.sum())
    rows, cols = np.arange(h), np.arange(w)
    cy = float(digit.sum(axis=1) @ rows) / mass
    cx = float(digit.sum(axis=0) @ cols) / mass
    top = int(np.clip(round(CENTER - cy), 0, SIZE - h))
    left = int(np.clip(round(CENTER - cx), 0, SIZE - w))
    field = np.zeros((SIZE, SIZE), np.float32)
    field[top:top + h, left:left + w] = digit
    return field
