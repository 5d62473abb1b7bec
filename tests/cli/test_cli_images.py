"""prepare_digit / load_digit on synthetic pictures: MNIST's layout from any drawing."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cornu.data.images import DigitImageError, load_digit, prepare_digit


def seven(height: int, width: int, top: int, left: int, size: int,
          ink: float = 0.0, paper: float = 255.0) -> np.ndarray:
    """A '7' (a bar and a slanted stroke) of `size` pixels at (top, left) on paper."""
    picture = np.full((height, width), paper, dtype=np.float64)
    stroke = max(1, size // 8)
    picture[top:top + stroke, left:left + size] = ink
    for k in range(size):
        col = left + size - stroke - k * (size - stroke) // (2 * size)
        picture[top + k, col:col + stroke] = ink
    return picture


def ink_box(digit: np.ndarray) -> tuple[int, int, int, int]:
    rows = np.flatnonzero(digit.max(axis=1) > 0)
    cols = np.flatnonzero(digit.max(axis=0) > 0)
    return rows[0], rows[-1], cols[0], cols[-1]


def center_of_mass(digit: np.ndarray) -> tuple[float, float]:
    mass = digit.sum()
    return (float(digit.sum(axis=1) @ np.arange(28)) / mass,
            float(digit.sum(axis=0) @ np.arange(28)) / mass)


def test_dark_ink_on_white_becomes_mnist_layout():
    digit = prepare_digit(seven(300, 400, 40, 250, 160).astype(np.uint8))
    assert digit.shape == (28, 28) and digit.dtype == np.float32
    assert digit.min() == 0.0 and digit.max() == pytest.approx(1.0, abs=0.02)
    top, bottom, left, right = ink_box(digit)
    assert max(bottom - top + 1, right - left + 1) == 20  # the longer side is 20 pixels
    cy, cx = center_of_mass(digit)
    assert abs(cy - 14) <= 0.5 and abs(cx - 14) <= 0.5
    assert digit[0].max() == 0 and digit[:, 0].max() == 0  # paper is black


def test_polarity_size_position_and_color_do_not_matter():
    reference = prepare_digit(seven(120, 120, 10, 10, 100).astype(np.uint8))
    variants = {
        "white on black": seven(200, 90, 70, 5, 80, ink=255, paper=0).astype(np.uint8),
        "small, off centre": seven(60, 300, 2, 240, 56).astype(np.uint8),
        "float in [0, 1]": seven(150, 150, 30, 20, 100) / 255.0,
        "RGB": np.repeat(seven(140, 140, 20, 30, 100)[..., None], 3, axis=2).astype(np.uint8),
        "grey paper, grey ink": seven(130, 130, 10, 10, 100, ink=90, paper=200).astype(np.uint8),
    }
    for name, picture in variants.items():
        digit = prepare_digit(picture)
        assert np.abs(digit - reference).mean() < 0.03, name


def test_transparent_background_is_paper():
    alpha = 255 - seven(100, 100, 5, 5, 90).astype(np.uint8)  # ink opaque, paper transparent
    rgba = np.zeros((100, 100, 4), np.uint8)
    rgba[..., 3] = alpha  # black ink where opaque
    expected = prepare_digit(seven(100, 100, 5, 5, 90).astype(np.uint8))
    assert np.abs(prepare_digit(rgba) - expected).mean() < 0.01


@settings(max_examples=40, deadline=None)
@given(height=st.integers(30, 200), width=st.integers(30, 200), size=st.integers(12, 120),
       fy=st.floats(0, 1), fx=st.floats(0, 1), dark=st.booleans())
def test_any_placement_is_centred_by_mass(height, width, size, fy, fx, dark):
    size = min(size, height - 2, width - 2)
    top, left = int(fy * (height - size)), int(fx * (width - size))
    ink, paper = (0.0, 255.0) if dark else (255.0, 0.0)
    digit = prepare_digit(seven(height, width, top, left, size, ink, paper).astype(np.uint8))
    assert digit.shape == (28, 28) and 0.0 <= digit.min() and digit.max() <= 1.0
    cy, cx = center_of_mass(digit)
    assert abs(cy - 14) <= 1.0 and abs(cx - 14) <= 1.0


def test_thin_line_keeps_its_aspect():
    picture = np.zeros((50, 50), np.uint8)
    picture[5:45, 24:26] = 255  # a '1': 40 tall, 2 wide
    top, bottom, left, right = ink_box(prepare_digit(picture))
    assert bottom - top + 1 == 20 and right - left + 1 <= 3


@pytest.mark.parametrize("picture, message", [
    (np.full((40, 40), 255, np.uint8), "blank"),
    (np.zeros((40, 40), np.float32), "blank"),
    (np.zeros((4, 40, 40), np.uint8), "shape"),
    (np.zeros((40, 40, 2), np.uint8), "shape"),
    (np.full((10, 10), np.nan), "NaN"),
    (np.array([["a"]]), "numbers"),
])
def test_bad_pictures_are_refused(picture, message):
    with pytest.raises(DigitImageError, match=message):
        prepare_digit(picture)


def test_load_digit_reads_png_and_jpeg(tmp_path):
    from PIL import Image

    picture = seven(90, 140, 10, 40, 70).astype(np.uint8)
    expected = prepare_digit(picture)
    Image.fromarray(picture).save(tmp_path / "seven.png")
    Image.fromarray(picture).convert("RGB").save(tmp_path / "seven.jpg", quality=90)
    rgba = np.zeros((90, 140, 4), np.uint8)
    rgba[..., 3] = 255 - picture
    Image.fromarray(rgba, "RGBA").save(tmp_path / "transparent.png")
    for name in ("seven.png", "seven.jpg", "transparent.png"):
        assert np.abs(load_digit(tmp_path / name) - expected).mean() < 0.03, name


def test_load_digit_refuses_what_is_not_a_picture(tmp_path):
    from PIL import UnidentifiedImageError

    (tmp_path / "notes.png").write_text("not a picture")
    with pytest.raises(UnidentifiedImageError):
        load_digit(tmp_path / "notes.png")
    with pytest.raises(FileNotFoundError):
        load_digit(tmp_path / "missing.png")


def test_bfloat16_pictures_read_like_float32_ones():
    import ml_dtypes

    picture = seven(150, 150, 30, 20, 100) / 255.0
    np.testing.assert_array_equal(prepare_digit(picture.astype(ml_dtypes.bfloat16)),
                                  prepare_digit(picture.astype(ml_dtypes.bfloat16)
                                                .astype(np.float32)))
