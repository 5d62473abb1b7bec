"""`image_dataset_from_directory`: a folder of pictures as a PyDataset, as `keras.utils`'.

Keras' rules (keras/src/utils/image_dataset_utils.py and dataset_utils.py) are kept: one
subfolder per class, sorted alphanumerically (hidden ones skipped); the files of each
class walked in sorted order, those ending in .bmp, .gif, .jpeg, .jpg or .png (any
case); with `shuffle` the whole list is shuffled with `numpy.random.RandomState(seed)`
and then split, the last `int(validation_split * n)` files going to validation.

Keras returns a tf.data pipeline (or grain); cornu returns a `PyDataset` that decodes the
pictures of one batch when that batch is asked for, with Pillow, so memory holds a batch
and not the folder. Pillow is an optional dependency (`pip install "cornu[report]"`).

Pictures are resized in float32 with Pillow's filters, channel by channel, so values are
neither rounded nor clipped. Enlarging (bilinear, bicubic), with or without
`crop_to_aspect_ratio`, gives Keras' values; differences from Keras: shrinking is
antialiased (Pillow's filters always are); "nearest" may take the other neighbour where a
sample falls exactly between two pixels; "area" is Pillow's box filter and "lanczos3" /
"lanczos5" its Lanczos filter (a = 3); "gaussian" and "mitchellcubic" are refused;
`pad_to_aspect_ratio` resizes then pads, as tf.image.resize_with_pad in Keras' default
path. A file that does not decode raises ValueError naming it, when its batch is read
(as in Keras, where the pipeline fails when it reaches the file). A `validation_split`
so small that no file goes to validation gives all files to `subset="training"` and
refuses `"validation"` / `"both"` (Keras would give the whole folder to validation and
none to training).
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from cornu.data.pydataset import SampleBatches

__all__ = ["ALLOWLIST_FORMATS", "ImageFolderDataset", "image_dataset_from_directory"]

ALLOWLIST_FORMATS = (".bmp", ".gif", ".jpeg", ".jpg", ".png")

# Keras' (TensorFlow's) names -> Pillow's resampling filters.
_INTERPOLATIONS = {
    "bilinear": "BILINEAR",
    "nearest": "NEAREST",
    "bicubic": "BICUBIC",
    "area": "BOX",
    "lanczos3": "LANCZOS",
    "lanczos5": "LANCZOS",
}
_CHANNELS = {"grayscale": 1, "rgb": 3, "rgba": 4}


def _pil():
    try:
        from PIL import Image
    except ImportError as err:  # pragma: no cover - Pillow is installed for the tests
        raise ImportError(
            "image_dataset_from_directory decodes pictures with Pillow, which is not "
            'installed: pip install "cornu[report]" (or pip install pillow)'
        ) from err
    return Image


class ImageFolderDataset(SampleBatches):
    """The PyDataset `image_dataset_from_directory` returns.

    Items are `(images, labels)`, or `images` alone when there are no labels: images
    are float32 `(batch, height, width, channels)` with values 0..255; labels are int32
    `(batch,)` ("int"), float32 `(batch, 1)` ("binary") or float32 one-hot
    `(batch, num_classes)` ("categorical").

    Attributes:
        class_names: the class names in label order (None without labels).
        file_paths: the files of this dataset, in the order of the first epoch.
    """

    def __init__(self, file_paths: list[str], labels: np.ndarray | None, *,
                 class_names: list[str] | None, label_mode: str | None, color_mode: str,
                 image_size: tuple[int, int], interpolation: str,
                 crop_to_aspect_ratio: bool, pad_to_aspect_ratio: bool,
                 batch_size: int | None, shuffle: bool, seed: int | None, **kwargs):
        super().__init__(len(file_paths), batch_size, shuffle=shuffle, seed=seed, **kwargs)
        self.file_paths = list(file_paths)
        self.labels = None if labels is None else np.asarray(labels, dtype=np.int32)
        self.class_names = None if class_names is None else list(class_names)
        self.label_mode = label_mode
        self.color_mode = color_mode
        self.image_size = tuple(image_size)
        self.interpolation = interpolation
        self.crop_to_aspect_ratio = crop_to_aspect_ratio
        self.pad_to_aspect_ratio = pad_to_aspect_ratio

    def _load(self, positions: np.ndarray):
        height, width = self.image_size
        images = np.empty((len(positions), height, width, _CHANNELS[self.color_mode]),
                          dtype=np.float32)
        for row, position in enumerate(positions):
            images[row] = self._decode(self.file_paths[position])
        if self.label_mode is None:
            return images
        labels = self.labels[positions]
        if self.label_mode == "binary":
            labels = labels.astype(np.float32)[:, None]
        elif self.label_mode == "categorical":
            labels = np.eye(len(self.class_names), dtype=np.float32)[labels]
        return images, labels

    def _decode(self, path: str) -> np.ndarray:
        from cornu.data.image_utils import load_img

        try:
            img = load_img(path, color_mode=self.color_mode)
            return _resize(_as_array(img), self.image_size, _INTERPOLATIONS[self.interpolation],
                           crop=self.crop_to_aspect_ratio, pad=self.pad_to_aspect_ratio)
        except Exception as err:
            raise ValueError(
                f"Could not read the image file {path!r}: {type(err).__name__}: {err}. "
                "Remove or replace the file."
            ) from err


def _as_array(img) -> np.ndarray:
    array = np.asarray(img, dtype=np.float32)
    return array[..., None] if array.ndim == 2 else array


def _resize(array: np.ndarray, size: tuple[int, int], resample: str, *, crop: bool,
            pad: bool) -> np.ndarray:
    """`array` (height, width, channels) resized to `size` in float32, channel by channel
    (Pillow's "F" mode), so values are neither rounded nor clipped, as TensorFlow's."""
    height, width = size
    img_height, img_width = array.shape[:2]
    if pad:
        # tf.image.resize_with_pad: fit inside the target keeping the aspect, then pad
        ratio = max(img_width / width, img_height / height)
        inner = (max(1, int(img_height / ratio)), max(1, int(img_width / ratio)))
        out = np.zeros((height, width, array.shape[-1]), dtype=np.float32)
        top = max(0, int((height - img_height / ratio) / 2))
        left = max(0, int((width - img_width / ratio) / 2))
        out[top:top + inner[0], left:left + inner[1]] = _resize(
            array, inner, resample, crop=False, pad=False)
        return out
    if crop:
        # the largest centred window with the target's aspect ratio, as Keras' smart_resize
        # (cut first: Pillow's box would let the filter read pixels outside the window)
        crop_height = max(1, min(img_height, (img_width * height) // width))
        crop_width = max(1, min(img_width, (img_height * width) // height))
        top, left = (img_height - crop_height) // 2, (img_width - crop_width) // 2
        array = array[top:top + crop_height, left:left + crop_width]
    if array.shape[:2] == (height, width):
        return array
    Image = _pil()
    filt = getattr(Image.Resampling, resample)
    channels = [np.asarray(Image.fromarray(np.ascontiguousarray(array[..., c]))
                           .resize((width, height), filt))
                for c in range(array.shape[-1])]
    return np.stack(channels, axis=-1)


def _check_split(validation_split: Any, subset: Any, shuffle: bool, seed: Any) -> None:
    if validation_split is not None and not 0 <= validation_split < 1:
        raise ValueError(
            f"validation_split must be between 0 and 1. Received: "
            f"validation_split={validation_split!r}"
        )
    if validation_split == 0:
        validation_split = None
    if (validation_split or subset) and not (validation_split and subset):
        raise ValueError(
            "If subset is set, validation_split must be set, and inversely. Received: "
            f"validation_split={validation_split!r}, subset={subset!r}"
        )
    if subset not in ("training", "validation", "both", None):
        raise ValueError(
            'subset must be "training", "validation" or "both". '
            f"Received: subset={subset!r}"
        )
    if validation_split and shuffle and seed is None:
        raise ValueError(
            "If using validation_split and shuffling the data, you must provide a seed "
            "argument, to make sure that there is no overlap between the training and "
            "validation subset."
        )


def _walk_files(directory: str, follow_links: bool) -> list[str]:
    """Files under `directory` with an allowed extension, relative, in Keras' order."""
    found = []
    for root, _, files in sorted(os.walk(directory, followlinks=follow_links),
                                 key=lambda entry: entry[0]):
        for name in sorted(files):
            if name.lower().endswith(ALLOWLIST_FORMATS):
                found.append(os.path.join(root, name))
    return found


def index_directory(directory: str, labels: Any, class_names: Any, *, shuffle: bool,
                    seed: int, follow_links: bool, verbose: bool):
    """(file_paths, labels or None, class_names or None), as Keras' index_directory."""
    if labels == "inferred":
        subdirs = [name for name in sorted(os.listdir(directory))
                   if os.path.isdir(os.path.join(directory, name))
                   and not name.startswith(".")]
        if class_names is not None:
            if not set(class_names).issubset(subdirs):
                raise ValueError(
                    "The class_names passed did not match the names of the subdirectories "
                    f"of the target directory. Expected: {subdirs} (or a subset of it), "
                    f"but received: class_names={list(class_names)}"
                )
            subdirs = list(class_names)
    else:
        subdirs = [""]
    file_paths: list[str] = []
    label_list: list[int] = []
    for label, subdir in enumerate(subdirs):
        folder = os.path.join(directory, subdir)
        for path in _walk_files(folder, follow_links):
            # Keras' spelling: directory/subdir/relative path (no doubled separator).
            relative = os.path.relpath(path, folder)
            file_paths.append(os.path.join(directory, subdir, relative))
            label_list.append(label)
    if labels == "inferred":
        names = subdirs
        label_array = np.asarray(label_list, dtype=np.int32)
    elif labels is None:
        names = None
        label_array = None
    else:
        if len(labels) != len(file_paths):
            raise ValueError(
                "Expected the lengths of labels to match the number of files in the "
                f"target directory. len(labels) is {len(labels)} while we found "
                f"{len(file_paths)} files in directory {directory}."
            )
        names = [str(label) for label in sorted(set(labels))]
        label_array = np.asarray(labels, dtype=np.int32)
    if verbose:
        if label_array is None:
            print(f"Found {len(file_paths)} files.")
        else:
            print(f"Found {len(file_paths)} files belonging to {len(names)} classes.")
    if shuffle:
        np.random.RandomState(seed).shuffle(file_paths)
        if label_array is not None:
            np.random.RandomState(seed).shuffle(label_array)
    return file_paths, label_array, names


def _split(paths: list[str], labels: np.ndarray | None, validation_split: float | None,
           subset: str, verbose: bool):
    if not validation_split:
        return paths, labels
    num_val = int(validation_split * len(paths))
    cut = len(paths) - num_val
    if subset == "training":
        if verbose:
            print(f"Using {cut} files for training.")
        return paths[:cut], None if labels is None else labels[:cut]
    if verbose:
        print(f"Using {num_val} files for validation.")
    return paths[cut:], None if labels is None else labels[cut:]


def image_dataset_from_directory(
    directory,
    labels="inferred",
    label_mode="int",
    class_names=None,
    color_mode="rgb",
    batch_size=32,
    image_size=(256, 256),
    shuffle=True,
    seed=None,
    validation_split=None,
    subset=None,
    interpolation="bilinear",
    follow_links=False,
    crop_to_aspect_ratio=False,
    pad_to_aspect_ratio=False,
    data_format=None,
    verbose=True,
    **kwargs,
):
    """A folder of pictures as a dataset of `(images, labels)` batches.

    With `labels="inferred"` the directory holds one subfolder per class:

    ```
    main_directory/
        class_a/  a_image_1.jpg  a_image_2.jpg
        class_b/  b_image_1.jpg  b_image_2.jpg
    ```

    and the labels are 0 for class_a and 1 for class_b (alphanumeric order).

    Args:
        directory: the folder of pictures (.bmp, .gif, .jpeg, .jpg, .png; animated GIFs
            give their first frame).
        labels: `"inferred"` (from the subfolders), None (no labels), or a list or
            tuple of integer labels, one per file, in the alphanumeric order of the file
            paths.
        label_mode: `"int"` (int32 `(batch,)`), `"categorical"` (float32 one-hot),
            `"binary"` (float32 `(batch, 1)`; exactly 2 classes) or None (no labels).
        class_names: with `labels="inferred"`, the subfolders to use, in label order.
        color_mode: `"grayscale"`, `"rgb"` or `"rgba"` (1, 3 or 4 channels).
        batch_size: pictures per batch (32); None for single pictures.
        image_size: `(height, width)` (or one int) every picture is resized to.
        shuffle: shuffle the files (with `seed`) and, for training, again at each epoch;
            False: alphanumeric order.
        seed: the seed of the shuffles; needed with `validation_split` and `shuffle`.
        validation_split: the fraction of the files to hold out, in (0, 1).
        subset: `"training"`, `"validation"` or `"both"` (a pair of datasets, training
            first); only with `validation_split`.
        interpolation: `"bilinear"` (default), `"nearest"`, `"bicubic"`, `"area"`,
            `"lanczos3"` or `"lanczos5"`.
        follow_links: walk into subfolders that are symbolic links.
        crop_to_aspect_ratio: resize the largest centred crop with the target's aspect
            ratio, so pictures are not distorted.
        pad_to_aspect_ratio: resize to fit inside the target keeping the aspect ratio
            and pad with zeros (centred).
        data_format: None or `"channels_last"` (cornu's only image layout).
        verbose: print how many files and classes were found.
        **kwargs: `workers`, `use_multiprocessing`, `max_queue_size` for the PyDataset.

    Returns:
        An `ImageFolderDataset` (a PyDataset with `class_names` and `file_paths`), or a
        pair `(training, validation)` with `subset="both"`. Each item is `(images,
        labels)` or, without labels, `images`: float32 `(batch, height, width,
        channels)`, values 0..255. The training part reshuffles at each `on_epoch_end`
        when `shuffle`; the validation part keeps its order.

    Raises:
        ValueError: for a bad argument, a `directory` that is not a folder or holds no
            pictures, `label_mode="binary"` without exactly 2 classes; and, when its batch
            is read, for a file that does not decode (the message names it).
        ImportError: Pillow is not installed.
    """
    _pil()
    if labels not in ("inferred", None):
        if not isinstance(labels, list | tuple):
            raise ValueError(
                "labels should be a list/tuple of integer labels, of the same size as the "
                "number of image files in the target directory. If you wish to infer the "
                'labels from the subdirectory names, pass labels="inferred". If you wish '
                "to get a dataset that only contains images (no labels), pass "
                f"labels=None. Received: labels={labels!r}"
            )
        if class_names:
            raise ValueError(
                'You can only pass class_names if labels="inferred". Received: '
                f"labels={labels!r}, and class_names={class_names!r}"
            )
    elif labels is None and class_names is not None:
        raise ValueError(
            "When labels=None (no labels), argument class_names cannot be specified."
        )
    if label_mode not in ("int", "categorical", "binary", None):
        raise ValueError(
            'label_mode must be "int", "categorical", "binary" or None. '
            f"Received: label_mode={label_mode!r}"
        )
    if labels is None or label_mode is None:
        labels = None
        label_mode = None
    if color_mode not in _CHANNELS:
        raise ValueError(
            'color_mode must be "rgb", "rgba" or "grayscale". '
            f"Received: color_mode={color_mode!r}"
        )
    if isinstance(image_size, int) and not isinstance(image_size, bool):
        image_size = (image_size, image_size)
    if (not isinstance(image_size, list | tuple) or len(image_size) != 2
            or not all(isinstance(s, int | np.integer) and not isinstance(s, bool) and s > 0
                       for s in image_size)):
        raise ValueError(
            "Invalid image_size value. Expected a tuple of 2 positive integers "
            f"(height, width). Received: image_size={image_size!r}"
        )
    image_size = (int(image_size[0]), int(image_size[1]))
    interpolation = str(interpolation).lower()
    if interpolation not in _INTERPOLATIONS:
        raise ValueError(
            f"interpolation should be one of {tuple(_INTERPOLATIONS)} (cornu resizes with "
            f"Pillow, which has no 'gaussian' or 'mitchellcubic'). Received: "
            f"interpolation={interpolation!r}"
        )
    if crop_to_aspect_ratio and pad_to_aspect_ratio:
        raise ValueError(
            "Only one of pad_to_aspect_ratio, crop_to_aspect_ratio can be set to True."
        )
    if data_format not in (None, "channels_last"):
        raise ValueError(
            "cornu's images are channels_last: data_format must be None or "
            f"'channels_last'. Received: data_format={data_format!r}"
        )
    _check_split(validation_split, subset, shuffle, seed)
    try:
        directory = os.fspath(directory)
    except TypeError as err:
        raise ValueError(f"directory must be a path. Received: directory={directory!r}") \
            from err
    if not os.path.isdir(directory):
        raise ValueError(
            f"directory must be an existing folder. Received: directory={directory!r} "
            f"({'a file' if os.path.exists(directory) else 'nothing is there'})"
        )
    if seed is None:
        seed = int(np.random.randint(1e6))
    paths, label_array, names = index_directory(
        directory, labels, class_names, shuffle=shuffle, seed=seed,
        follow_links=follow_links, verbose=verbose)
    if not paths:
        hint = ""
        if labels == "inferred" and not names and _walk_files(directory, follow_links):
            hint = (' It holds pictures but no class subfolders: labels="inferred" needs '
                    "one subfolder per class (or pass labels=None).")
        raise ValueError(
            f"No images found in directory {directory!r}. Allowed formats: "
            f"{ALLOWLIST_FORMATS}.{hint}"
        )
    if label_mode == "binary" and len(names) != 2:
        raise ValueError(
            'When passing label_mode="binary", there must be exactly 2 class_names. '
            f"Received: class_names={names}"
        )
    common = dict(class_names=names, label_mode=label_mode, color_mode=color_mode,
                  image_size=image_size, interpolation=interpolation,
                  crop_to_aspect_ratio=crop_to_aspect_ratio,
                  pad_to_aspect_ratio=pad_to_aspect_ratio, batch_size=batch_size, **kwargs)
    wanted = ("training", "validation") if subset == "both" else (subset,)
    datasets = []
    for part in wanted:
        part_paths, part_labels = _split(paths, label_array, validation_split, part, verbose)
        if not part_paths:
            what = f"{part} " if part else ""
            raise ValueError(
                f"No {what}images found in directory {directory!r} (validation_split="
                f"{validation_split!r} of {len(paths)} files). Allowed formats: "
                f"{ALLOWLIST_FORMATS}"
            )
        datasets.append(ImageFolderDataset(
            part_paths, part_labels, shuffle=shuffle and part != "validation", seed=seed,
            **common))
    return tuple(datasets) if subset == "both" else datasets[0]
