"""Image files and arrays with Pillow: `load_img`, `img_to_array`, `array_to_img` and
`save_img`, as `keras.utils`' (keras/src/utils/image_utils.py).

Images are `(height, width, channels)` arrays ("channels_last", cornu's only global
layout) unless `data_format="channels_first"` is passed. Pillow is needed only when these
functions are called.

`load_img` refuses, before decoding, pictures with more than `MAX_IMAGE_PIXELS` pixels
(100 megapixels; set this module's `MAX_IMAGE_PIXELS` to raise the bound, or to None to
leave the check to Pillow's own `PIL.Image.MAX_IMAGE_PIXELS`). It raises ValueError, where
Pillow alone would warn (DecompressionBombWarning) and decode.
"""

from __future__ import annotations

import io
import os
import stat
import warnings
from typing import Any

import numpy as np
from numpy.typing import DTypeLike

__all__ = ["MAX_IMAGE_PIXELS", "array_to_img", "img_to_array", "load_img", "save_img"]

MAX_IMAGE_PIXELS: int | None = 100_000_000

_COLOR_MODES = ("grayscale", "rgb", "rgba")
_INTERPOLATIONS = ("nearest", "bilinear", "bicubic", "hamming", "box", "lanczos")
_DATA_FORMATS = ("channels_first", "channels_last")
_GRAY_MODES = ("L", "I;16", "I")  # kept as they are by color_mode="grayscale", as Keras


def _pil():
    try:
        from PIL import Image
    except ImportError as err:  # pragma: no cover - Pillow is installed for the tests
        raise ImportError(
            "Could not import PIL.Image. load_img, img_to_array, array_to_img and "
            "save_img need Pillow: pip install pillow"
        ) from err
    return Image


def load_img(
    path: Any,
    color_mode: str = "rgb",
    target_size: tuple[int, int] | None = None,
    interpolation: str = "nearest",
    keep_aspect_ratio: bool = False,
):
    """Load an image file into a PIL Image, as `keras.utils.load_img`.

    Args:
        path: a file path (str, bytes or os.PathLike) or a binary file object such as
            `io.BytesIO`. Directories, devices and pipes are refused.
        color_mode: `"rgb"` (default), `"rgba"` or `"grayscale"` (8-bit "L"; 16- and
            32-bit grayscale pictures keep their mode, as in Keras).
        target_size: None (the file's own size) or `(height, width)`.
        interpolation: how to resample when resizing: `"nearest"` (default),
            `"bilinear"`, `"bicubic"`, `"hamming"`, `"box"` or `"lanczos"`.
        keep_aspect_ratio: resize a centred crop with the target's aspect ratio, so the
            picture is not distorted.

    Returns:
        A PIL Image, already decoded (the file is closed).

    Raises:
        FileNotFoundError, IsADirectoryError: `path` does not name an existing file.
        ValueError: `path` is not a regular file, the picture (or `target_size`) is
            larger than `MAX_IMAGE_PIXELS`, or an argument is not one of the values above.
        PIL.UnidentifiedImageError: the file is not a picture Pillow reads.
    """
    if not isinstance(color_mode, str) or color_mode not in _COLOR_MODES:
        raise ValueError(
            "color_mode must be 'grayscale', 'rgb' or 'rgba'. "
            f"Received: color_mode={color_mode!r}"
        )
    if not isinstance(interpolation, str) or interpolation not in _INTERPOLATIONS:
        raise ValueError(
            f"Invalid interpolation method: interpolation must be one of "
            f"{', '.join(repr(name) for name in _INTERPOLATIONS)}. "
            f"Received: interpolation={interpolation!r}"
        )
    size = _target_size(target_size)
    Image = _pil()
    stream = _open_binary(path)

    with warnings.catch_warnings():
        # The bound below replaces Pillow's warning; its hard error is turned into ours.
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            img = Image.open(stream)
            _check_pixels(img.size, path)
            if img.mode == "P" and "transparency" in img.info:
                # Through RGBA, as Pillow recommends: the same colours, without its warning
                # about palette transparency given in bytes.
                img = img.convert("RGBA")
            if color_mode == "grayscale":
                if img.mode not in _GRAY_MODES:
                    img = img.convert("L")
            elif color_mode == "rgba":
                if img.mode != "RGBA":
                    img = img.convert("RGBA")
            elif img.mode != "RGB":
                img = img.convert("RGB")
            img.load()
            if size is not None:
                img = _resize(img, size, interpolation, keep_aspect_ratio)
        except Image.DecompressionBombError as err:
            raise ValueError(
                f"The picture at path={_short(path)} is too large to decode safely ({err}). "
                "Raise PIL.Image.MAX_IMAGE_PIXELS if the file is trusted."
            ) from err
        except Image.UnidentifiedImageError as err:
            raise Image.UnidentifiedImageError(
                f"Cannot identify an image file at path={_short(path)}: Pillow reads no "
                "picture format in it."
            ) from err
    return img


def img_to_array(img: Any, data_format: str | None = None, dtype: DTypeLike = None):
    """A PIL Image (or array) as a 3-D NumPy array, as `keras.utils.img_to_array`.

    Args:
        img: a PIL Image, or anything `numpy.asarray` takes, of rank 2 (grayscale) or 3.
        data_format: `"channels_last"` (default: `(height, width, channels)`) or
            `"channels_first"`.
        dtype: dtype of the result; `"float32"` by default.

    Returns:
        A new, writable array of rank 3; a 2-D picture gets a channel axis of size 1.
    """
    data_format = _data_format(data_format)
    out_dtype = _dtype(dtype)
    x = np.array(img, dtype=out_dtype)
    if x.ndim == 3:
        if data_format == "channels_first":
            x = x.transpose(2, 0, 1)
    elif x.ndim == 2:
        x = x[None] if data_format == "channels_first" else x[..., None]
    else:
        raise ValueError(
            f"Unsupported image shape: {x.shape}. img must be a picture of rank 2 "
            "(height, width) or 3 (with channels)."
        )
    return x


def array_to_img(x: Any, data_format: str | None = None, scale: bool = True,
                 dtype: DTypeLike = None):
    """A 3-D array as a PIL Image, as `keras.utils.array_to_img`.

    Args:
        x: the picture, `(height, width, channels)` with 1 (grayscale), 3 (RGB) or 4
            (RGBA) channels, in any form `numpy.asarray` takes.
        data_format: `"channels_last"` (default) or `"channels_first"`.
        scale: stretch the values so the smallest becomes 0 and the largest 255.
        dtype: the dtype `x` is read in before scaling; `"float32"` by default.

    Returns:
        A PIL Image: mode "L", "RGB" or "RGBA" (8 bits, values cut towards zero as in
        Keras), or "I" (32-bit) for one channel whose values exceed 255 with
        `scale=False`.

    Differences from Keras: with `scale=False`, values outside 0..255 are clipped to it
    (Keras wraps them around); NaN or infinity is refused; integer and boolean `dtype`s
    are scaled in float64 (Keras fails on them).
    """
    data_format = _data_format(data_format)
    out_dtype = _dtype(dtype)
    Image = _pil()
    x = np.asarray(x, dtype=out_dtype)
    if x.ndim != 3:
        raise ValueError(
            "Expected image array to have rank 3 (single image). "
            f"Got array with shape: {x.shape}"
        )
    if data_format == "channels_first":
        x = x.transpose(1, 2, 0)
    channels = x.shape[2]
    if channels not in (1, 3, 4):
        raise ValueError(
            f"Unsupported channel number: {channels}. x needs 1 (grayscale), 3 (RGB) or "
            f"4 (RGBA) channels ({data_format}); it has shape {x.shape}."
        )
    if x.dtype.kind not in "biuf":
        raise TypeError(f"x must hold real numbers, but its dtype is {x.dtype}.")
    if x.dtype.kind == "f" and x.size and not np.all(np.isfinite(x)):
        raise ValueError("x holds NaN or infinity; an image needs finite values.")
    if scale and x.size:
        if x.dtype.kind != "f":
            x = x.astype(np.float64)
        x = x - np.min(x)
        top = np.max(x)
        if top != 0:
            x /= top
        x *= 255
    if channels == 1:
        x = x[:, :, 0]
        if x.size and np.max(x) > 255:
            info = np.iinfo(np.int32)
            pixels = np.clip(x.astype(np.float64), info.min, info.max).astype(np.int32)
            return Image.fromarray(pixels)  # mode "I"
    pixels = np.clip(x, 0, 255).astype(np.uint8)
    return Image.fromarray(pixels)  # "L", "RGB" or "RGBA" from the shape


def save_img(path: Any, x: Any, data_format: str | None = None, file_format: str | None = None,
             scale: bool = True, **kwargs: Any) -> None:
    """Save a 3-D array as an image file, as `keras.utils.save_img`.

    Args:
        path: a file path or a binary file object.
        x: the picture, as `array_to_img` takes it.
        data_format: `"channels_last"` (default) or `"channels_first"`.
        file_format: e.g. `"png"` or `"jpeg"`; by default the path's extension. Needed
            when `path` is a file object.
        scale: stretch the values to 0..255 (see `array_to_img`).
        **kwargs: passed to `PIL.Image.Image.save` (e.g. `quality=90`).

    An RGBA picture saved as JPEG loses its alpha channel, with a warning (as Keras).
    """
    data_format = _data_format(data_format)
    if file_format is None:
        if isinstance(path, str | bytes | os.PathLike):
            file_format = os.path.splitext(os.fsdecode(path))[1][1:]
            if not file_format:
                raise ValueError(
                    f"save_img cannot tell the file format: path={_short(path)} has no "
                    "extension. Pass file_format, e.g. file_format='png'."
                )
        else:
            raise ValueError(
                "file_format is needed when path is a file object, e.g. file_format='png'."
            )
    elif not isinstance(file_format, str) or not file_format:
        raise ValueError(
            f"file_format must be a format name such as 'png'. Received: "
            f"file_format={file_format!r}"
        )
    file_format = file_format.lower()
    if file_format == "jpg":
        file_format = "jpeg"
    img = array_to_img(x, data_format=data_format, scale=scale)
    if img.mode == "RGBA" and file_format == "jpeg":
        warnings.warn(
            "The JPEG format does not support RGBA images, converting to RGB.", stacklevel=2
        )
        img = img.convert("RGB")
    img.save(path, format=file_format, **kwargs)


def _open_binary(path: Any):
    """`path`'s bytes as a stream (the file read whole and closed), or `path` itself when
    it is already a binary file object."""
    if isinstance(path, io.BufferedIOBase | io.RawIOBase):
        return path
    if not isinstance(path, str | bytes | os.PathLike):
        raise TypeError(
            "path must be a file path (str, bytes or os.PathLike) or a binary file object "
            f"such as io.BytesIO. Received: path={_short(path)} of type {type(path).__name__}"
        )
    try:
        info = os.stat(path)
    except FileNotFoundError as err:
        raise FileNotFoundError(
            err.errno, f"No image file at path={_short(path)}", os.fsdecode(path)
        ) from err
    if stat.S_ISDIR(info.st_mode):
        raise IsADirectoryError(
            f"path={_short(path)} is a directory; load_img reads one image file."
        )
    # O_NONBLOCK: a pipe named in a race after the check above must not hang the open.
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    with os.fdopen(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
            raise ValueError(
                f"path={_short(path)} is not a regular file (a device, pipe or socket); "
                "load_img reads image files."
            )
        return io.BytesIO(f.read())


def _check_pixels(size: tuple[int, int], path: Any) -> None:
    limit = MAX_IMAGE_PIXELS
    width, height = size
    if limit is not None and width * height > limit:
        raise ValueError(
            f"The picture at path={_short(path)} is {width}x{height} = {width * height} "
            f"pixels, more than cornu.data.image_utils.MAX_IMAGE_PIXELS={limit}: refused "
            "before decoding (a decompression bomb guard). Raise that bound if the file "
            "is trusted."
        )


def _target_size(target_size: Any) -> tuple[int, int] | None:
    if target_size is None:
        return None
    message = (
        "target_size must be None or a pair of positive integers (height, width). "
        f"Received: target_size={target_size!r}"
    )
    try:
        height, width = target_size
    except (TypeError, ValueError) as err:
        raise ValueError(message) from err
    for side in (height, width):
        if isinstance(side, bool) or not isinstance(side, int | np.integer) or side < 1:
            raise ValueError(message)
    height, width = int(height), int(width)
    if MAX_IMAGE_PIXELS is not None and height * width > MAX_IMAGE_PIXELS:
        raise ValueError(
            f"target_size={target_size!r} is {height * width} pixels, more than "
            f"cornu.data.image_utils.MAX_IMAGE_PIXELS={MAX_IMAGE_PIXELS}."
        )
    return height, width


def _resize(img, size: tuple[int, int], interpolation: str, keep_aspect_ratio: bool):
    """`img` resized to `size` = (height, width), as Keras' load_img does it."""
    Image = _pil()
    target = (size[1], size[0])  # Pillow's (width, height)
    if img.size == target:
        return img
    resample = getattr(Image.Resampling, interpolation.upper())
    if not keep_aspect_ratio:
        return img.resize(target, resample)
    width, height = img.size
    target_width, target_height = target
    crop_height = min(height, (width * target_height) // target_width)
    crop_width = min(width, (height * target_width) // target_height)
    top = (height - crop_height) // 2
    left = (width - crop_width) // 2
    return img.resize(target, resample, box=(left, top, left + crop_width, top + crop_height))


def _data_format(data_format: Any) -> str:
    if data_format is None:
        return "channels_last"
    value = str(data_format).lower()
    if value not in _DATA_FORMATS:
        raise ValueError(
            "data_format must be 'channels_first' or 'channels_last'. "
            f"Received: data_format={data_format!r}"
        )
    return value


def _dtype(dtype: Any) -> np.dtype:
    if dtype is None:
        return np.dtype("float32")
    try:
        return np.dtype(dtype)
    except TypeError as err:
        raise TypeError(
            f"dtype must be a NumPy dtype or its name, such as 'float32'. "
            f"Received: dtype={dtype!r}"
        ) from err


def _short(value: Any) -> str:
    """repr of `value`, cut to a readable length for error messages."""
    text = repr(os.fspath(value)) if isinstance(value, os.PathLike) else repr(value)
    return text if len(text) <= 120 else text[:117] + "..."
