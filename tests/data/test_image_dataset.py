"""image_dataset_from_directory on generated folders of small pictures, against Keras'
rules (keras.src.utils.dataset_utils, which runs without TensorFlow)."""

import os

import numpy as np
import pytest

Image = pytest.importorskip("PIL.Image")

import cornu  # noqa: E402
from cornu.data import image_dataset  # noqa: E402
from cornu.utils import image_dataset_from_directory  # noqa: E402

FORMATS = (".bmp", ".gif", ".jpeg", ".jpg", ".png")


def keras_dataset_utils():
    os.environ.setdefault("KERAS_BACKEND", "jax")
    pytest.importorskip("keras")
    from keras.src.utils import dataset_utils

    return dataset_utils


def picture(seed, size=(6, 8), mode="RGB"):
    """A small picture; `size` is (height, width)."""
    rng = np.random.default_rng(seed)
    channels = {"RGB": 3, "RGBA": 4, "L": 1}[mode]
    array = rng.integers(0, 256, (*size, channels), dtype=np.uint8)
    return Image.fromarray(array[..., 0] if mode == "L" else array, mode)


@pytest.fixture
def folder(tmp_path):
    """3 classes (b_cats has a nested subfolder and mixed modes), hidden and non-picture
    files that must be skipped."""
    root = tmp_path / "pictures"
    layout = {"a_dogs": 4, "b_cats": 5, "c_birds": 3}
    seed = 0
    for cls, count in layout.items():
        (root / cls).mkdir(parents=True)
        for i in range(count):
            seed += 1
            mode = ("RGB", "L", "RGBA")[seed % 3]
            picture(seed, mode=mode).save(root / cls / f"img_{i}.png")
    (root / "b_cats" / "nested").mkdir()
    picture(99).save(root / "b_cats" / "nested" / "deep.PNG")
    picture(98).save(root / "a_dogs" / "z.JPG", format="JPEG")
    (root / "a_dogs" / "notes.txt").write_text("not a picture")
    (root / ".hidden").mkdir()
    picture(97).save(root / ".hidden" / "x.png")
    return root


@pytest.mark.parametrize("shuffle,seed", [(False, None), (True, 7), (True, 123)])
def test_files_labels_and_classes_as_keras(folder, shuffle, seed, capsys):
    ds = image_dataset_from_directory(folder, image_size=(6, 8), batch_size=4,
                                      shuffle=shuffle, seed=seed)
    assert "Found 14 files belonging to 3 classes." in capsys.readouterr().out
    assert ds.class_names == ["a_dogs", "b_cats", "c_birds"]
    du = keras_dataset_utils()
    paths, labels, names = du.index_directory(
        str(folder), "inferred", formats=FORMATS, shuffle=shuffle, seed=seed, verbose=False)
    assert ds.file_paths == paths
    assert names == ds.class_names
    got = np.concatenate([y for _, y in ds])
    np.testing.assert_array_equal(got, labels)
    assert got.dtype == np.int32
    assert len(ds) == 4  # 14 files, batches of 4
    x, y = ds[3]
    assert x.shape == (2, 6, 8, 3) and x.dtype == np.float32 and y.shape == (2,)


def test_pixels_and_color_modes(folder):
    for color_mode, channels in (("rgb", 3), ("grayscale", 1), ("rgba", 4)):
        ds = image_dataset_from_directory(folder, image_size=(6, 8), color_mode=color_mode,
                                          shuffle=False, batch_size=None, verbose=False)
        for i in (0, 5, 13):
            x, y = ds[i]
            mode = {"rgb": "RGB", "grayscale": "L", "rgba": "RGBA"}[color_mode]
            want = np.asarray(Image.open(ds.file_paths[i]).convert(mode), np.float32)
            if want.ndim == 2:
                want = want[..., None]
            assert x.shape == (6, 8, channels)
            np.testing.assert_array_equal(x, want)
            assert y.shape == ()


def test_resize_crop_and_pad(tmp_path):
    root = tmp_path / "wide"
    (root / "k").mkdir(parents=True)
    picture(1, size=(4, 8)).save(root / "k" / "a.png")
    common = dict(image_size=(8, 8), labels=None, shuffle=False, verbose=False)
    plain = image_dataset_from_directory(root, **common)[0]
    assert plain.shape == (1, 8, 8, 3)
    cropped = image_dataset_from_directory(root, crop_to_aspect_ratio=True, **common)[0]
    padded = image_dataset_from_directory(root, pad_to_aspect_ratio=True,
                                          interpolation="nearest", **common)[0]
    # the 4x8 picture fits the 8x8 box as 4 rows, centred, padded with zeros
    assert np.all(padded[0, :2] == 0) and np.all(padded[0, 6:] == 0)
    src = np.asarray(Image.open(root / "k" / "a.png"), np.float32)
    np.testing.assert_array_equal(padded[0, 2:6], src)
    assert cropped.shape == (1, 8, 8, 3)
    assert not np.array_equal(cropped, plain)
    with pytest.raises(ValueError, match="Only one of"):
        image_dataset_from_directory(root, crop_to_aspect_ratio=True,
                                     pad_to_aspect_ratio=True, **common)


def test_label_modes(folder):
    common = dict(image_size=(6, 8), batch_size=14, shuffle=False, verbose=False)
    _, y_int = image_dataset_from_directory(folder, **common)[0]
    _, y_cat = image_dataset_from_directory(folder, label_mode="categorical", **common)[0]
    assert y_cat.dtype == np.float32 and y_cat.shape == (14, 3)
    np.testing.assert_array_equal(y_cat.argmax(1), y_int)
    np.testing.assert_array_equal(y_cat.sum(1), 1)
    two = image_dataset_from_directory(folder, label_mode="binary",
                                       class_names=["c_birds", "a_dogs"], **common)
    assert two.class_names == ["c_birds", "a_dogs"]
    _, y_bin = two[0]
    assert y_bin.dtype == np.float32 and y_bin.shape == (8, 1)
    np.testing.assert_array_equal(y_bin[:, 0], [0] * 3 + [1] * 5)
    only_x = image_dataset_from_directory(folder, label_mode=None, **common)
    assert only_x.class_names is None
    assert isinstance(only_x[0], np.ndarray) and only_x[0].shape == (14, 6, 8, 3)


def test_explicit_labels_as_keras(folder):
    du = keras_dataset_utils()
    labels = [i % 2 for i in range(15)]  # .hidden/x.png counts here, as in Keras
    ds = image_dataset_from_directory(folder, labels=labels, image_size=(6, 8),
                                      shuffle=True, seed=3, verbose=False)
    paths, want, names = du.index_directory(str(folder), labels, formats=FORMATS,
                                            shuffle=True, seed=3, verbose=False)
    assert ds.file_paths == paths and ds.class_names == names == ["0", "1"]
    np.testing.assert_array_equal(np.concatenate([y for _, y in ds]), want)
    with pytest.raises(ValueError, match="lengths of labels"):
        image_dataset_from_directory(folder, labels=[0, 1], verbose=False)
    with pytest.raises(ValueError, match="class_names"):
        image_dataset_from_directory(folder, labels=labels, class_names=["a"],
                                     verbose=False)


@pytest.mark.parametrize("split", [0.2, 0.5])
def test_validation_split_as_keras(folder, split, capsys):
    du = keras_dataset_utils()
    train, val = image_dataset_from_directory(folder, image_size=(6, 8), seed=11,
                                              validation_split=split, subset="both")
    out = capsys.readouterr().out
    paths, labels, _ = du.index_directory(str(folder), "inferred", formats=FORMATS,
                                          shuffle=True, seed=11, verbose=False)
    for ds, part in ((train, "training"), (val, "validation")):
        want_paths, want_labels = du.get_training_or_validation_split(
            paths, labels, split, part)
        assert ds.file_paths == want_paths
        np.testing.assert_array_equal(ds.labels, want_labels)
        assert f"Using {len(want_paths)} files for {part}." in out
    assert not set(train.file_paths) & set(val.file_paths)
    only = image_dataset_from_directory(folder, image_size=(6, 8), seed=11,
                                        validation_split=split, subset="validation",
                                        verbose=False)
    assert only.file_paths == val.file_paths
    # training reshuffles at each epoch (the same files); validation keeps its order
    first = [p for p in np.concatenate([x.reshape(len(x), -1)[:, 0] for x, _ in train])]
    train.on_epoch_end()
    val.on_epoch_end()
    second = [p for p in np.concatenate([x.reshape(len(x), -1)[:, 0] for x, _ in train])]
    assert sorted(first) == sorted(second)
    assert val.epoch == 1 and list(val._order) == list(range(len(val.file_paths)))
    assert train.epoch == 1


def test_split_arguments_checked(folder):
    with pytest.raises(ValueError, match="seed"):
        image_dataset_from_directory(folder, validation_split=0.2, subset="training")
    with pytest.raises(ValueError, match="validation_split must be set"):
        image_dataset_from_directory(folder, subset="training", seed=1)
    with pytest.raises(ValueError, match="subset must be"):
        image_dataset_from_directory(folder, validation_split=0.2, subset="test", seed=1)
    with pytest.raises(ValueError, match="between 0 and 1"):
        image_dataset_from_directory(folder, validation_split=1.5, subset="both", seed=1)
    with pytest.raises(ValueError, match="No validation images"):
        image_dataset_from_directory(folder, validation_split=0.01, subset="both", seed=1,
                                     verbose=False)


def test_decodes_one_batch_at_a_time(folder, monkeypatch):
    calls = []
    original = image_dataset.ImageFolderDataset._decode

    def counting(self, path):
        calls.append(path)
        return original(self, path)

    monkeypatch.setattr(image_dataset.ImageFolderDataset, "_decode", counting)
    ds = image_dataset_from_directory(folder, image_size=(6, 8), batch_size=5,
                                      shuffle=False, verbose=False)
    assert calls == []
    ds[1]
    assert calls == ds.file_paths[5:10]


def test_bad_folders(tmp_path, folder):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ValueError, match="No images found in directory"):
        image_dataset_from_directory(empty, verbose=False)
    with pytest.raises(ValueError, match="directory must be an existing folder"):
        image_dataset_from_directory(tmp_path / "missing", verbose=False)
    with pytest.raises(ValueError, match="directory must be an existing folder"):
        image_dataset_from_directory(folder / "a_dogs" / "notes.txt", verbose=False)
    with pytest.raises(ValueError, match='label_mode="binary"'):
        image_dataset_from_directory(folder, label_mode="binary", verbose=False)
    flat = tmp_path / "flat"
    flat.mkdir()
    picture(1).save(flat / "a.png")
    with pytest.raises(ValueError, match="no class subfolders"):
        image_dataset_from_directory(flat, verbose=False)
    assert len(image_dataset_from_directory(flat, labels=None, verbose=False)) == 1
    # an empty class subfolder is still a class, as in Keras
    (folder / "d_empty").mkdir()
    ds = image_dataset_from_directory(folder, label_mode="categorical", verbose=False,
                                      image_size=(6, 8))
    assert ds.class_names[-1] == "d_empty" and ds[0][1].shape[1] == 4
    with pytest.raises(ValueError, match="class_names passed did not match"):
        image_dataset_from_directory(folder, class_names=["a_dogs", "zebra"], verbose=False)
    for bad in (dict(label_mode="sparse"), dict(color_mode="cmyk"), dict(image_size=(0, 3)),
                dict(interpolation="gaussian"), dict(labels="folders"),
                dict(data_format="channels_first")):
        with pytest.raises(ValueError, match=next(iter(bad))):
            image_dataset_from_directory(folder, verbose=False, **bad)


def test_corrupt_file_is_named(folder):
    bad = folder / "b_cats" / "broken.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + b"garbage" * 10)
    ds = image_dataset_from_directory(folder, image_size=(6, 8), batch_size=4,
                                      shuffle=False, verbose=False)
    index = ds.file_paths.index(str(bad)) // 4
    ds[0]  # other batches still read
    with pytest.raises(ValueError, match="broken.png"):
        ds[index]
    from cornu.data.pydataset import iter_batches

    with pytest.raises(ValueError, match="broken.png") as info:
        list(iter_batches(ds, workers=3))
    assert f"batch index {index}" in "".join(info.value.__notes__)


def test_exported():
    assert cornu.utils.image_dataset_from_directory is image_dataset_from_directory


@pytest.mark.parametrize("interpolation", ["bilinear", "bicubic", "nearest"])
def test_enlarging_and_cropping_as_keras(tmp_path, interpolation):
    """Keras' own loader without TensorFlow (its grain path, on the JAX backend): the
    same values when enlarging, with or without crop_to_aspect_ratio. (Shrinking
    differs: Pillow filters with antialiasing, Keras' JAX resize does not; and "nearest"
    may take the other neighbour where a sample falls exactly between two pixels.)"""
    os.environ.setdefault("KERAS_BACKEND", "jax")
    pytest.importorskip("keras")
    from keras.src.utils.image_dataset_utils import _load_image_grain

    root = tmp_path / "one"
    (root / "k").mkdir(parents=True)
    picture(5, size=(4, 6)).save(root / "k" / "a.png")
    sizes = ((8, 12),) if interpolation == "nearest" else ((8, 12), (5, 7), (9, 9))
    for size in sizes:
        for crop in (False, True):
            ours = image_dataset_from_directory(
                root, labels=None, image_size=size, interpolation=interpolation,
                crop_to_aspect_ratio=crop, shuffle=False, verbose=False)[0][0]
            theirs = np.asarray(_load_image_grain(
                str(root / "k" / "a.png"), size, 3, interpolation, "channels_last", crop))
            np.testing.assert_allclose(ours, theirs, atol=1e-3)


def test_without_pillow_the_error_names_the_extra(folder, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "PIL", None)
    monkeypatch.setitem(sys.modules, "PIL.Image", None)
    with pytest.raises(ImportError, match=r"cornu\[report\]"):
        image_dataset_from_directory(folder, verbose=False)
