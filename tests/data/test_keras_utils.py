"""pad_sequences, normalize, load_img, img_to_array, array_to_img and save_img against
keras.utils on the same inputs, and their errors."""

import io
import os
import struct
import warnings
import zlib

import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "jax")
keras = pytest.importorskip("keras")
Image = pytest.importorskip("PIL.Image")

import cornu  # noqa: E402
from cornu.data import image_utils  # noqa: E402
from cornu.utils import (  # noqa: E402
    array_to_img,
    img_to_array,
    load_img,
    normalize,
    pad_sequences,
    save_img,
)

SEQUENCES = [[1], [2, 3], [4, 5, 6, 7, 8], [], [9, 10, 11]]


def assert_same(ours, theirs):
    ours, theirs = np.asarray(ours), np.asarray(theirs)
    assert ours.dtype == theirs.dtype
    assert ours.shape == theirs.shape
    np.testing.assert_array_equal(ours, theirs)


# ---------------------------------------------------------------- pad_sequences


def test_exported_under_cornu_utils():
    for name in ("pad_sequences", "normalize", "load_img", "img_to_array", "array_to_img",
                 "save_img", "to_categorical"):
        assert name in cornu.utils.__all__
        assert callable(getattr(cornu.utils, name))


@pytest.mark.parametrize("padding", ["pre", "post"])
@pytest.mark.parametrize("truncating", ["pre", "post"])
@pytest.mark.parametrize("maxlen", [None, 1, 3, 5, 8])
def test_pad_sequences_matches_keras(padding, truncating, maxlen):
    kwargs = dict(maxlen=maxlen, padding=padding, truncating=truncating)
    assert_same(pad_sequences(SEQUENCES, **kwargs), keras.utils.pad_sequences(SEQUENCES, **kwargs))


def test_pad_sequences_keras_docstring_examples():
    seqs = [[1], [2, 3], [4, 5, 6]]
    assert pad_sequences(seqs).tolist() == [[0, 0, 1], [0, 2, 3], [4, 5, 6]]
    assert pad_sequences(seqs, value=-1).tolist() == [[-1, -1, 1], [-1, 2, 3], [4, 5, 6]]
    assert pad_sequences(seqs, padding="post").tolist() == [[1, 0, 0], [2, 3, 0], [4, 5, 6]]
    assert pad_sequences(seqs, maxlen=2).tolist() == [[0, 1], [2, 3], [5, 6]]
    assert pad_sequences(seqs).dtype == np.int32


@pytest.mark.parametrize("padding", ["pre", "post"])
@pytest.mark.parametrize("truncating", ["pre", "post"])
def test_pad_sequences_float_dtype_and_value(padding, truncating):
    seqs = [[1.5, 2.25], [3.0], [0.5, 1.5, 2.5, 3.5]]
    kwargs = dict(maxlen=3, dtype="float32", padding=padding, truncating=truncating, value=-1.5)
    out = pad_sequences(seqs, **kwargs)
    assert out.dtype == np.float32
    assert_same(out, keras.utils.pad_sequences(seqs, **kwargs))


def test_pad_sequences_int_dtype_cuts_floats_and_value_as_keras():
    seqs = [[1.7, 2.2], [3.9]]
    assert_same(pad_sequences(seqs, value=0.5), keras.utils.pad_sequences(seqs, value=0.5))
    assert_same(pad_sequences(seqs, dtype="int64"), keras.utils.pad_sequences(seqs, dtype="int64"))


def test_pad_sequences_empty_sequences():
    assert_same(pad_sequences([[], []]), keras.utils.pad_sequences([[], []]))
    assert pad_sequences([[], []]).shape == (2, 0)
    assert_same(pad_sequences([[], [1]], maxlen=3), keras.utils.pad_sequences([[], [1]], maxlen=3))
    assert_same(pad_sequences([], maxlen=4), keras.utils.pad_sequences([], maxlen=4))
    # Keras fails on max() of nothing here; an empty batch of rows is the natural answer
    out = pad_sequences([])
    assert out.shape == (0, 0) and out.dtype == np.int32


def test_pad_sequences_maxlen_zero_gives_empty_rows():
    out = pad_sequences([[1, 2], [3]], maxlen=0)
    assert out.shape == (2, 0)


def test_pad_sequences_numpy_and_tuple_inputs():
    seqs = (np.array([1, 2, 3]), (4,), np.array([5, 6]))
    assert_same(pad_sequences(seqs), keras.utils.pad_sequences(seqs))
    rows = np.arange(12).reshape(3, 4)
    assert_same(pad_sequences(rows, maxlen=6), keras.utils.pad_sequences(rows, maxlen=6))


def test_pad_sequences_vector_elements():
    seqs = [np.ones((2, 3)), np.zeros((4, 3)) + 2, np.ones((1, 3)) * 3]
    for padding in ("pre", "post"):
        ours = pad_sequences(seqs, maxlen=3, dtype="float32", padding=padding)
        assert ours.shape == (3, 3, 3)
        assert_same(ours, keras.utils.pad_sequences(seqs, maxlen=3, dtype="float32",
                                                    padding=padding))


def test_pad_sequences_strings_with_object_dtype():
    seqs = [["a", "b"], ["c"]]
    kwargs = dict(dtype=object, value="z")
    assert_same(pad_sequences(seqs, **kwargs), keras.utils.pad_sequences(seqs, **kwargs))


def test_pad_sequences_errors():
    with pytest.raises(ValueError, match=r"padding must be 'pre' or 'post'\. "
                                         r"Received: padding='mid'"):
        pad_sequences([[1]], padding="mid")
    with pytest.raises(ValueError, match=r"truncating must be 'pre' or 'post'\. "
                                         r"Received: truncating='middle'"):
        pad_sequences([[1]], truncating="middle")
    # checked up front, also where Keras never looks (no non-empty sequence)
    with pytest.raises(ValueError, match="padding"):
        pad_sequences([[]], padding="left")
    with pytest.raises(ValueError, match=r"must be iterable"):
        pad_sequences(iter([[1], [2]]))
    with pytest.raises(ValueError, match=r"sequences\[1\] is 5 of type int"):
        pad_sequences([[1], 5])
    with pytest.raises(ValueError, match="dtype=object"):
        pad_sequences([[1]], value="x")
    with pytest.raises(ValueError, match="Shape of sample"):
        pad_sequences([np.ones((2, 3)), np.ones((2, 4))])
    with pytest.raises(ValueError, match="maxlen"):
        pad_sequences([[1]], maxlen=-1)
    with pytest.raises(TypeError, match="maxlen"):
        pad_sequences([[1]], maxlen=2.0)
    with pytest.raises(TypeError, match="dtype"):
        pad_sequences([[1]], dtype="no_such_dtype")
    with pytest.raises(ValueError, match="integer dtype"):
        pad_sequences([[1]], maxlen=3, value=float("nan"))
    with pytest.raises(OverflowError, match=r"sequences\[0\]"):
        pad_sequences([[300]], dtype="int8")


# -------------------------------------------------------------------- normalize


@pytest.mark.parametrize("order", [1, 2, np.inf])
@pytest.mark.parametrize("axis", [-1, 1])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_normalize_matches_keras(order, axis, dtype):
    x = np.random.default_rng(0).normal(size=(4, 5)).astype(dtype)
    x[2] = 0  # a zero row stays zeros
    ours = normalize(x, axis=axis, order=order)
    assert isinstance(ours, np.ndarray)
    assert_same(ours, keras.utils.normalize(x, axis=axis, order=order))
    np.testing.assert_array_equal(ours[2], 0)


@pytest.mark.parametrize("order", [1, 2, np.inf])
@pytest.mark.parametrize("axis", [0, 1, 2, -2])
def test_normalize_every_axis_against_numpy(order, axis):
    # Keras' NumPy path divides along the last axis whatever axis=0 says; cornu does not
    x = np.random.default_rng(1).normal(size=(3, 4, 5))
    expected = x / np.linalg.norm(x, ord=order, axis=axis, keepdims=True)
    np.testing.assert_allclose(normalize(x, axis=axis, order=order), expected, rtol=1e-12)
    norms = np.linalg.norm(normalize(x, axis=axis, order=order), ord=order, axis=axis)
    np.testing.assert_allclose(norms, 1.0, rtol=1e-12)


def test_normalize_square_matrix_axis_0():
    x = np.arange(16, dtype="float64").reshape(4, 4) + 1
    np.testing.assert_allclose(normalize(x, axis=0), x / np.linalg.norm(x, axis=0), rtol=1e-12)


def test_normalize_dtypes_as_numpy_division():
    ints = np.array([[3, 4], [0, 0]])
    assert_same(normalize(ints), keras.utils.normalize(ints))
    assert normalize(ints).dtype == np.float64
    half = np.ones((2, 3), "float16")
    assert_same(normalize(half), keras.utils.normalize(half))


def test_normalize_axis_none_is_the_flattened_vector():
    x = np.arange(12, dtype="float64").reshape(3, 4)
    np.testing.assert_allclose(normalize(x, axis=None), x / np.sqrt((x**2).sum()), rtol=1e-12)


def test_normalize_non_numpy_input_goes_to_ops():
    import jax.numpy as jnp

    x = jnp.array([[3.0, 4.0], [1.0, 0.0]])
    ours = normalize(x)
    assert not isinstance(ours, np.ndarray)
    np.testing.assert_allclose(np.asarray(ours), [[0.6, 0.8], [1.0, 0.0]], rtol=1e-6)
    np.testing.assert_allclose(np.asarray(normalize([3.0, 4.0])),
                               np.asarray(keras.utils.normalize([3.0, 4.0])), rtol=1e-6)


def test_normalize_errors():
    x = np.ones((2, 3))
    with pytest.raises(ValueError, match=r"axis=2 is out of range .* shape \(2, 3\)"):
        normalize(x, axis=2)
    with pytest.raises(TypeError, match="axis must be an int or None"):
        normalize(x, axis="last")
    with pytest.raises(ValueError, match="order must be a number"):
        normalize(x, order="fro")
    with pytest.raises(ValueError, match="order"):
        normalize([1.0, 2.0], order=np.inf)  # as Keras' ops: an int >= 1


# --------------------------------------------------------------------- images


@pytest.fixture
def png_path(tmp_path):
    pixels = (np.random.default_rng(0).random((6, 9, 4)) * 255).astype(np.uint8)
    path = tmp_path / "picture.png"
    Image.fromarray(pixels).save(path)  # RGBA
    return path


def keras_load(path, **kwargs):
    return keras.utils.img_to_array(keras.utils.load_img(path, **kwargs))


@pytest.mark.parametrize("color_mode,channels", [("grayscale", 1), ("rgb", 3), ("rgba", 4)])
@pytest.mark.parametrize("target_size", [None, (6, 9), (3, 4), (10, 5)])
def test_load_img_matches_keras(png_path, color_mode, channels, target_size):
    img = load_img(png_path, color_mode=color_mode, target_size=target_size)
    x = img_to_array(img)
    height, width = target_size or (6, 9)
    assert x.shape == (height, width, channels) and x.dtype == np.float32
    assert_same(x, keras_load(png_path, color_mode=color_mode, target_size=target_size))


@pytest.mark.parametrize("interpolation", ["nearest", "bilinear", "bicubic", "lanczos", "box",
                                           "hamming"])
@pytest.mark.parametrize("keep_aspect_ratio", [False, True])
def test_load_img_resampling_matches_keras(png_path, interpolation, keep_aspect_ratio):
    kwargs = dict(target_size=(4, 4), interpolation=interpolation,
                  keep_aspect_ratio=keep_aspect_ratio)
    assert_same(img_to_array(load_img(png_path, **kwargs)), keras_load(png_path, **kwargs))


def test_load_img_path_kinds(png_path):
    expected = img_to_array(load_img(png_path))
    assert_same(img_to_array(load_img(str(png_path))), expected)
    assert_same(img_to_array(load_img(os.fsencode(png_path))), expected)
    buffer = io.BytesIO(png_path.read_bytes())
    assert_same(img_to_array(load_img(buffer)), expected)
    with open(png_path, "rb") as f:
        assert_same(img_to_array(load_img(f)), expected)


def test_load_img_palette_with_transparency_has_no_warning(tmp_path):
    path = tmp_path / "palette.png"
    img = Image.new("P", (3, 2))
    img.putpalette([255, 0, 0, 0, 255, 0, 0, 0, 255] + [0] * 759)
    img.putdata([0, 1, 2, 2, 1, 0])
    img.save(path, transparency=bytes([0, 128, 255]))
    for color_mode in ("grayscale", "rgb", "rgba"):
        ours = img_to_array(load_img(path, color_mode=color_mode))  # warnings are errors here
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Pillow's palette warning, in Keras' path
            assert_same(ours, keras_load(path, color_mode=color_mode))


def test_load_img_errors(png_path, tmp_path):
    with pytest.raises(ValueError, match=r"color_mode must be 'grayscale', 'rgb' or 'rgba'\. "
                                         r"Received: color_mode='cmyk'"):
        load_img(png_path, color_mode="cmyk")
    with pytest.raises(ValueError, match=r"Received: interpolation='cubic'"):
        load_img(png_path, target_size=(2, 2), interpolation="cubic")
    for bad in [(0, 3), (2,), 5, (2.0, 3), (True, 2)]:
        with pytest.raises(ValueError, match="target_size must be None or a pair"):
            load_img(png_path, target_size=bad)
    with pytest.raises(FileNotFoundError, match="path="):
        load_img(tmp_path / "missing.png")
    with pytest.raises(IsADirectoryError, match=r"path=.* is a directory"):
        load_img(tmp_path)
    if os.path.exists("/dev/null"):
        with pytest.raises(ValueError, match=r"path='/dev/null' is not a regular file"):
            load_img("/dev/null")
    if hasattr(os, "mkfifo"):
        fifo = tmp_path / "pipe"
        os.mkfifo(fifo)
        with pytest.raises(ValueError, match="not a regular file"):
            load_img(fifo)  # refused, not a hang waiting for a writer
    with pytest.raises(TypeError, match=r"path must be a file path .* Received: path=3"):
        load_img(3)
    junk = tmp_path / "junk.png"
    junk.write_bytes(b"not a picture")
    with pytest.raises(Image.UnidentifiedImageError, match=r"path=.*junk\.png"):
        load_img(junk)


def _png_header_only(width, height):
    """A PNG whose header claims width x height (gray, 8 bits), with almost no data."""

    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
            + chunk(b"IDAT", zlib.compress(b"\x00" * 16)) + chunk(b"IEND", b""))


def test_load_img_refuses_huge_pictures_before_decoding(tmp_path):
    path = tmp_path / "bomb.png"
    # 120 megapixels: past cornu's bound; Pillow alone would only warn and decode
    path.write_bytes(_png_header_only(12_000, 10_000))
    with pytest.raises(ValueError, match=r"12000x10000 = 120000000 pixels, more than "
                                         r"cornu.data.image_utils.MAX_IMAGE_PIXELS"):
        load_img(path)
    # 200 megapixels: past Pillow's own hard limit too; still a ValueError
    path.write_bytes(_png_header_only(20_000, 10_000))
    with pytest.raises(ValueError, match=r"too large to decode safely"):
        load_img(path)


def test_load_img_refuses_a_huge_target_size(png_path):
    with pytest.raises(ValueError, match=r"target_size=\(20000, 20000\) is 400000000 pixels"):
        load_img(png_path, target_size=(20_000, 20_000))


def test_load_img_bound_is_adjustable_and_pillow_bomb_error_becomes_value_error(
        png_path, monkeypatch):
    monkeypatch.setattr(image_utils, "MAX_IMAGE_PIXELS", 20)
    with pytest.raises(ValueError, match="more than cornu.data.image_utils.MAX_IMAGE_PIXELS=20"):
        load_img(png_path)
    monkeypatch.setattr(image_utils, "MAX_IMAGE_PIXELS", None)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 20)  # the picture is 54 > 2 * 20 pixels
    with pytest.raises(ValueError, match=r"too large to decode safely .*MAX_IMAGE_PIXELS"):
        load_img(png_path)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 30)  # between Pillow's warning and error
    assert img_to_array(load_img(png_path)).shape == (6, 9, 3)  # and no warning


@pytest.mark.parametrize("mode,shape", [("L", (5, 7, 1)), ("RGB", (5, 7, 3)),
                                        ("RGBA", (5, 7, 4)), ("I", (5, 7, 1))])
@pytest.mark.parametrize("data_format", [None, "channels_last", "channels_first"])
@pytest.mark.parametrize("dtype", [None, "float64", "uint8"])
def test_img_to_array_shapes_and_dtypes(mode, shape, data_format, dtype):
    img = Image.fromarray((np.arange(35 * shape[2]) % 256).astype(np.uint8).reshape(shape)
                          .squeeze()).convert(mode)
    ours = img_to_array(img, data_format=data_format, dtype=dtype)
    expected_shape = shape if data_format != "channels_first" else (shape[2], 5, 7)
    assert ours.shape == expected_shape
    assert ours.dtype == np.dtype(dtype or "float32")
    assert ours.flags.writeable
    assert_same(ours, keras.utils.img_to_array(img, data_format=data_format, dtype=dtype))


def test_img_to_array_errors():
    with pytest.raises(ValueError, match="Unsupported image shape"):
        img_to_array(np.zeros((2, 2, 2, 2)))
    with pytest.raises(ValueError, match=r"data_format must be 'channels_first' or "
                                         r"'channels_last'\. Received: data_format='nhwc'"):
        img_to_array(np.zeros((2, 2)), data_format="nhwc")
    with pytest.raises(TypeError, match="dtype"):
        img_to_array(np.zeros((2, 2)), dtype="no_such_dtype")


@pytest.mark.parametrize("channels,mode", [(1, "L"), (3, "RGB"), (4, "RGBA")])
@pytest.mark.parametrize("scale", [True, False])
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_array_to_img_matches_keras(channels, mode, scale, data_format):
    rng = np.random.default_rng(channels)
    x = rng.random((6, 5, channels)).astype("float32")
    x = x * 3 - 1 if scale else x * 255
    if data_format == "channels_first":
        x = x.transpose(2, 0, 1)
    ours = array_to_img(x, data_format=data_format, scale=scale)
    theirs = keras.utils.array_to_img(x, data_format=data_format, scale=scale)
    assert ours.mode == theirs.mode == mode
    assert_same(np.asarray(ours), np.asarray(theirs))


def test_array_to_img_round_trip():
    x = np.random.default_rng(0).integers(0, 256, size=(4, 6, 3)).astype("float32")
    x[0, 0] = 0
    x[0, 1] = 255  # the extremes, so scale=True changes nothing
    for scale in (True, False):
        assert_same(img_to_array(array_to_img(x, scale=scale)), x)
    gray = x[..., :1]
    assert_same(img_to_array(array_to_img(gray, scale=False)), gray)


def test_array_to_img_wide_grayscale_is_mode_i():
    x = np.arange(12, dtype="float32").reshape(3, 4, 1) * 1000
    ours = array_to_img(x, scale=False)
    theirs = keras.utils.array_to_img(x, scale=False)
    assert ours.mode == theirs.mode == "I"
    assert_same(np.asarray(ours), np.asarray(theirs))


def test_array_to_img_clips_out_of_range_and_scales_integers():
    x = np.array([[[-20.0, 100.0, 300.0]]])
    assert np.asarray(array_to_img(x, scale=False)).tolist() == [[[0, 100, 255]]]
    ints = np.array([[[0, 5, 10]]])
    assert np.asarray(array_to_img(ints, dtype="int32")).tolist() == [[[0, 127, 255]]]


def test_array_to_img_errors():
    with pytest.raises(ValueError, match="rank 3"):
        array_to_img(np.zeros((4, 4)))
    with pytest.raises(ValueError, match="Unsupported channel number: 2"):
        array_to_img(np.zeros((4, 4, 2)))
    with pytest.raises(ValueError, match="NaN or infinity"):
        array_to_img(np.full((2, 2, 3), np.nan))
    with pytest.raises(ValueError, match="data_format"):
        array_to_img(np.zeros((2, 2, 3)), data_format="channels_middle")


def test_save_img_round_trip(tmp_path):
    x = np.random.default_rng(3).integers(0, 256, size=(5, 4, 3)).astype("float32")
    path = tmp_path / "out.png"
    save_img(path, x, scale=False)
    assert_same(img_to_array(load_img(path)), x)
    buffer = io.BytesIO()
    save_img(buffer, x, file_format="png", scale=False)
    buffer.seek(0)
    assert_same(img_to_array(load_img(buffer)), x)
    keras_path = tmp_path / "keras.png"
    keras.utils.save_img(keras_path, x, scale=False)
    assert_same(img_to_array(load_img(keras_path)), x)


def test_save_img_jpg_and_rgba(tmp_path):
    rgb = np.random.default_rng(4).random((8, 8, 3))
    save_img(tmp_path / "a.jpg", rgb)
    with Image.open(tmp_path / "a.jpg") as img:
        assert img.format == "JPEG"
    rgba = np.random.default_rng(4).random((8, 8, 4))
    with pytest.warns(UserWarning, match="JPEG format does not support RGBA"):
        save_img(tmp_path / "b.jpeg", rgba)
    assert load_img(tmp_path / "b.jpeg").size == (8, 8)


def test_save_img_errors(tmp_path):
    with pytest.raises(ValueError, match="has no extension"):
        save_img(tmp_path / "noext", np.zeros((2, 2, 3)))
    with pytest.raises(ValueError, match="file_format is needed"):
        save_img(io.BytesIO(), np.zeros((2, 2, 3)))
