"""Utilities with Keras' names."""

from __future__ import annotations

from cornu._registration import (
    CustomObjectScope,
    custom_object_scope,
    get_custom_objects,
    get_registered_name,
    get_registered_object,
)
from cornu.data.image_dataset import image_dataset_from_directory
from cornu.data.image_utils import array_to_img, img_to_array, load_img, save_img
from cornu.data.labels import normalize, to_categorical
from cornu.data.pydataset import PyDataset, Sequence
from cornu.data.sequences import pad_sequences
from cornu.data.sources import unpack as _unpack
from cornu.data.timeseries_dataset import timeseries_dataset_from_array
from cornu.layers.base import reset_names
from cornu.random.keys import set_seed


def set_random_seed(seed: int) -> None:
    """Same seed, same weights and same shuffles (bit for bit on CPU)."""
    set_seed(seed)


def clear_session() -> None:
    """Reset automatic layer names (dense, dense_1, ...), as Keras' clear_session."""
    reset_names()


def unpack_x_y_sample_weight(data):
    """(x, y, sample_weight) from a batch given as x, (x,), (x, y) or (x, y, sample_weight),
    with None for what is missing: what a `train_step` or `test_step` receives, unpacked."""
    return _unpack(data)


def pack_x_y_sample_weight(x, y=None, sample_weight=None):
    """The batch form of Keras' steps: x (a tuple or list x as `(x,)`), `(x, y)` or
    `(x, y, sample_weight)`."""
    if y is None:
        return (x,) if isinstance(x, tuple | list) else x
    return (x, y) if sample_weight is None else (x, y, sample_weight)


__all__ = [
    "CustomObjectScope",
    "custom_object_scope",
    "get_custom_objects",
    "get_registered_name",
    "get_registered_object",
    "PyDataset",
    "Sequence",
    "array_to_img",
    "clear_session",
    "image_dataset_from_directory",
    "img_to_array",
    "load_img",
    "normalize",
    "pack_x_y_sample_weight",
    "pad_sequences",
    "save_img",
    "set_random_seed",
    "timeseries_dataset_from_array",
    "to_categorical",
    "unpack_x_y_sample_weight",
]
