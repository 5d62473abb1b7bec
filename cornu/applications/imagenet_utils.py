"""What the application builders share, as `keras.applications.imagenet_utils`:
argument checks (input shape, weights, classes, classifier activation), the padding of a
strided depthwise convolution, ImageNet preprocessing and `decode_predictions`.

cornu downloads no pretrained weights: `weights` is None or the path of a weights file
(`.weights.h5` as Keras' `model.save_weights` writes it, `.weights.safetensors`,
`.keras`, `.cornu`). `decode_predictions` reads ImageNet's class index from a file on
disk, never from the network.
"""

from __future__ import annotations

import hashlib
import json
import os
import warnings
from pathlib import Path
from typing import Any

import jax.numpy as jnp
import numpy as np

from cornu import activations
from cornu.layers import InputLayer, KerasTensor

__all__ = ["decode_predictions", "preprocess_input"]

CLASS_INDEX_FILE = "imagenet_class_index.json"
CLASS_INDEX_URL = ("https://storage.googleapis.com/download.tensorflow.org/data/"
                   "imagenet_class_index.json")
#: the md5 Keras publishes for the class index file (keras/src/applications/imagenet_utils.py)
CLASS_INDEX_MD5 = "c2c37ea517e94d9795004a39431a14cb"
_MAX_CLASS_INDEX_BYTES = 1 << 20

_CAFFE_MEAN = (103.939, 116.779, 123.68)  # BGR order
_TORCH_MEAN = (0.485, 0.456, 0.406)
_TORCH_STD = (0.229, 0.224, 0.225)


# ------------------------------------------------------------------ argument checks


def check_weights(weights: Any, include_top: bool, classes: Any, builder: str) -> None:
    """`weights` is None or an existing file; "imagenet" is refused with what to do."""
    if weights == "imagenet":
        raise ValueError(
            f"{builder}(weights='imagenet'): cornu does not download pretrained weights. "
            f"Make the file once with Keras: keras.applications."
            f"{builder}(weights='imagenet', include_top={include_top!r}, ...)"
            f".save_weights('{builder.lower()}.weights.h5'), then pass its path: "
            f"{builder}(weights='{builder.lower()}.weights.h5', ...) with the same "
            "arguments. Or pass weights=None for random weights.")
    if weights is not None and not (isinstance(weights, str | os.PathLike)
                                    and Path(weights).is_file()):
        raise ValueError(
            "weights must be None (random initialization) or the path of an existing "
            "weights file (.weights.h5, .weights.safetensors, .keras or .cornu). "
            f"Received: weights={weights!r}")
    if include_top and (isinstance(classes, bool) or not isinstance(classes, int)
                        or classes < 1):
        raise ValueError("classes must be a positive integer when include_top=True. "
                         f"Received: classes={classes!r}")


def check_pooling(pooling: Any, include_top: bool) -> None:
    if not include_top and pooling not in (None, "avg", "max"):
        raise ValueError("pooling must be None, 'avg' or 'max' when include_top=False. "
                         f"Received: pooling={pooling!r}")


def check_activation(classifier_activation: Any) -> None:
    """The classifier's activation must be one cornu knows (a name or a callable)."""
    try:
        activations.get(classifier_activation)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"classifier_activation: {exc} "
                         f"Received: classifier_activation={classifier_activation!r}") from exc


def obtain_input_shape(input_shape: Any, default_size: int, min_size: int,
                       require_flatten: bool) -> tuple[int | None, ...]:
    """The model's input shape (height, width, channels), as Keras checks it: three
    integers (or None for a free size), height and width at least `min_size`; with the
    classifier on top the size must be static (default `default_size` square, RGB)."""
    if input_shape is None or (isinstance(input_shape, tuple | list) and not input_shape):
        shape: tuple = (default_size, default_size, 3) if require_flatten else (None, None, 3)
        return shape
    if not isinstance(input_shape, tuple | list) or len(input_shape) != 3 or not all(
            d is None or (isinstance(d, int) and not isinstance(d, bool) and d > 0)
            for d in input_shape):
        raise ValueError("input_shape must be a tuple of three integers (height, width, "
                         f"channels). Received: input_shape={input_shape!r}")
    shape = tuple(input_shape)
    if shape[-1] not in (1, 3):
        warnings.warn("This model usually expects 1 or 3 input channels. However, it was "
                      f"passed an input_shape with {shape[-1]} input channels.", stacklevel=3)
    if any(d is not None and d < min_size for d in shape[:2]):
        raise ValueError(f"Input size must be at least {min_size}x{min_size}. "
                         f"Received: input_shape={input_shape!r}")
    if require_flatten and None in shape:
        raise ValueError("If include_top is True, you should specify a static input_shape. "
                         f"Received: input_shape={input_shape!r}")
    return shape


def image_input(input_tensor: Any, input_shape: tuple) -> KerasTensor:
    """The model's image tensor: `input_tensor` when given, else a new Input."""
    from cornu.layers import Input

    if input_tensor is None:
        return Input(shape=input_shape)
    if not isinstance(input_tensor, KerasTensor):
        raise ValueError("input_tensor must be a symbolic tensor (the output of cornu.Input "
                         "or of a layer called on one). "
                         f"Received: input_tensor of type {type(input_tensor).__name__}")
    if len(input_tensor.shape) != 4:
        raise ValueError("input_tensor must be a batch of images (batch, height, width, "
                         f"channels). Received: input_tensor.shape={input_tensor.shape}")
    return input_tensor


def source_inputs(tensor: KerasTensor) -> list[KerasTensor]:
    """The Input tensors that `tensor` is computed from (Keras' get_source_inputs)."""
    found: list[KerasTensor] = []
    seen: set[int] = set()
    stack = [tensor]
    while stack:
        t = stack.pop()
        if t._keras_history is None or id(t) in seen:
            continue
        seen.add(id(t))
        layer, node_index, _ = t._keras_history
        if isinstance(layer, InputLayer):
            found.append(t)
            continue
        stack.extend(reversed(layer._inbound_nodes[node_index].inputs))
    return found[::-1] if len(found) > 1 else found


def correct_pad(shape: tuple, kernel_size: int) -> tuple[tuple[int, int], tuple[int, int]]:
    """Zero padding before a strided 'valid' convolution so that it covers the image as
    'same' padding would (one less row/column before an even size)."""
    rows, cols = shape[1], shape[2]
    adjust = (1, 1) if rows is None else (1 - rows % 2, 1 - cols % 2)
    half = kernel_size // 2
    return ((half - adjust[0], half), (half - adjust[1], half))


def finish(model: Any, weights: Any) -> Any:
    if weights is not None:
        model.load_weights(os.fspath(weights))
    return model


# ------------------------------------------------------------------ preprocessing


def preprocess_input(x: Any, data_format: str | None = None, mode: str = "caffe") -> Any:
    """Scale a batch of RGB images (0-255) as the ImageNet weights expect.

    mode "caffe": RGB to BGR, then subtract ImageNet's mean of each channel (ResNet);
    "tf": to [-1, 1] (MobileNetV2); "torch": to [0, 1], then the mean and standard
    deviation of each channel. A NumPy array gives a new NumPy array (Keras changes a
    float array in place; cornu leaves the input alone); anything else a jax array.
    """
    if mode not in ("caffe", "tf", "torch"):
        raise ValueError("mode must be one of 'caffe', 'tf' or 'torch'. "
                         f"Received: mode={mode!r}")
    if data_format not in (None, "channels_last"):
        raise ValueError("cornu's images are channels-last: data_format must be None or "
                         f"'channels_last'. Received: data_format={data_format!r}")
    xp = np if isinstance(x, np.ndarray) else jnp
    x = xp.asarray(x)
    if not xp.issubdtype(x.dtype, xp.floating):
        x = x.astype("float32")
    if x.ndim < 1 or x.shape[-1] != 3:
        raise ValueError("preprocess_input takes RGB images: the last axis must have 3 "
                         f"channels. Received: an input of shape {x.shape}")
    if mode == "tf":
        return x / 127.5 - 1.0

    def per_channel(values: tuple[float, ...]) -> Any:
        return xp.asarray(values, x.dtype).reshape((1,) * (x.ndim - 1) + (3,))

    if mode == "torch":
        return (x / 255.0 - per_channel(_TORCH_MEAN)) / per_channel(_TORCH_STD)
    return x[..., ::-1] - per_channel(_CAFFE_MEAN)


# ------------------------------------------------------------------ decoding


def _class_index_candidates() -> list[Path]:
    from cornu.data.datasets import _cache

    folders = [_cache.data_dir("imagenet"), _cache.clone_data_dir("imagenet"),
               _cache.cache_dir("imagenet")]
    keras_home = os.environ.get("KERAS_HOME")
    folders.append(Path(keras_home).expanduser() / "models" if keras_home
                   else Path.home() / ".keras" / "models")
    return [folder / CLASS_INDEX_FILE for folder in folders if folder is not None]


def _load_class_index() -> dict[str, list[str]]:
    candidates = _class_index_candidates()
    path = next((p for p in candidates if p.is_file()), None)
    if path is None:
        raise FileNotFoundError(
            f"decode_predictions needs ImageNet's class names, {CLASS_INDEX_FILE}, and "
            "cornu does not download it. Get it from "
            f"{CLASS_INDEX_URL} (md5 {CLASS_INDEX_MD5}) and put it in one of: "
            + ", ".join(str(p.parent) for p in candidates) + ".")
    with open(path, "rb") as fp:
        data = fp.read(_MAX_CLASS_INDEX_BYTES + 1)
    if hashlib.md5(data, usedforsecurity=False).hexdigest() != CLASS_INDEX_MD5:
        raise ValueError(f"{path} is not ImageNet's class index (its md5 is not "
                         f"{CLASS_INDEX_MD5}). Replace it with the file from "
                         f"{CLASS_INDEX_URL}.")
    return json.loads(data)


def decode_predictions(preds: Any, top: int = 5) -> list[list[tuple[str, str, float]]]:
    """The `top` classes of each row of ImageNet predictions (batch, 1000), as
    (class id, class name, score), best first. Reads ImageNet's class index file from
    disk (see the error it raises when the file is missing)."""
    preds = np.asarray(preds)
    if preds.ndim != 2 or preds.shape[1] != 1000:
        raise ValueError("decode_predictions expects a batch of ImageNet predictions (a 2D "
                         f"array of shape (samples, 1000)). Received: shape {preds.shape}")
    if isinstance(top, bool) or not isinstance(top, int) or top < 1:
        raise ValueError(f"top must be a positive integer. Received: top={top!r}")
    index = _load_class_index()
    results = []
    for row in preds:
        best = np.argsort(row)[-top:][::-1]
        results.append([(*index[str(i)], row[i]) for i in best])
    return results
