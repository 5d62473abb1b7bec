"""to_categorical against a NumPy reference (np.eye rows), and its errors."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from cornu.data import to_categorical


def reference(y, num_classes=None):
    y = np.asarray(y)
    if y.ndim > 1 and y.shape[-1] == 1:
        y = y[..., 0]
    y = y.astype(np.int64)
    k = int(y.max()) + 1 if num_classes is None else num_classes
    return np.eye(k, dtype=np.float32)[y]


def test_basic_keras_example():
    out = to_categorical([0, 2, 1, 2], num_classes=3)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, [[1, 0, 0], [0, 0, 1], [0, 1, 0], [0, 0, 1]])


def test_num_classes_defaults_to_max_plus_one():
    assert to_categorical(np.array([3, 1])).shape == (2, 4)


@given(
    y=hnp.arrays(
        np.int64,
        hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4),
        elements=st.integers(0, 6),
    ),
    extra=st.one_of(st.none(), st.integers(0, 3)),
)
def test_matches_numpy_reference(y, extra):
    num_classes = None if extra is None else int(y.max()) + 1 + extra
    out = to_categorical(y, num_classes)
    expected = reference(y, num_classes)
    assert out.shape == expected.shape
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, expected)


def test_trailing_one_is_squeezed_but_not_for_1d():
    assert to_categorical(np.zeros((5, 1), int), 3).shape == (5, 3)
    assert to_categorical(np.zeros((1,), int), 3).shape == (1, 3)
    assert to_categorical(np.zeros((2, 1, 1), int), 3).shape == (2, 1, 3)


def test_scalar_label():
    np.testing.assert_array_equal(to_categorical(2, 4), [0, 0, 1, 0])


def test_dtype_and_input_kinds():
    out = to_categorical([1, 0], 2, dtype="int32")
    assert out.dtype == np.int32
    np.testing.assert_array_equal(out, [[0, 1], [1, 0]])
    np.testing.assert_array_equal(to_categorical(np.array([1.0, 0.0]), 2), [[0, 1], [1, 0]])
    np.testing.assert_array_equal(to_categorical(np.array([True, False])), [[0, 1], [1, 0]])
    np.testing.assert_array_equal(to_categorical(np.array([2], np.uint8)), [[0, 0, 1]])


def test_jax_input():
    import jax.numpy as jnp

    out = to_categorical(jnp.array([1, 0, 2]))
    assert isinstance(out, np.ndarray)
    np.testing.assert_array_equal(out, np.eye(3)[[1, 0, 2]])


def test_empty_with_num_classes():
    out = to_categorical(np.array([], dtype=int), num_classes=4)
    assert out.shape == (0, 4)
    assert to_categorical([], num_classes=2).shape == (0, 2)


def test_result_is_writable_and_independent():
    y = np.array([0, 1])
    out = to_categorical(y, 2)
    out[0, 0] = 5
    assert y.tolist() == [0, 1]


@pytest.mark.parametrize(
    "kwargs, exc, words",
    [
        (dict(y=[0, 1.5]), ValueError, ["whole numbers", "1.5"]),
        (dict(y=[0.0, np.nan]), ValueError, ["NaN"]),
        (dict(y=[0, -1, 2]), ValueError, ["non-negative", "-1"]),
        (dict(y=[0, 3], num_classes=3), ValueError, ["num_classes=3", "holds 3", "num_classes=4"]),
        (dict(y=[0], num_classes=0), ValueError, ["num_classes", "Received: num_classes=0"]),
        (dict(y=[0], num_classes=-2), ValueError, ["Received: num_classes=-2"]),
        (dict(y=[0], num_classes=2.0), TypeError, ["Received: num_classes=2.0"]),
        (dict(y=[0], num_classes=True), TypeError, ["num_classes=True"]),
        (dict(y=[], num_classes=None), ValueError, ["empty", "num_classes"]),
        (dict(y=["a", "b"]), TypeError, ["integer class labels", "'a'"]),
        (dict(y=[1 + 2j]), TypeError, ["complex"]),
        (dict(y=[0], dtype="not-a-dtype"), TypeError, ["dtype", "not-a-dtype"]),
    ],
)
def test_errors_name_argument_and_value(kwargs, exc, words):
    with pytest.raises(exc) as info:
        to_categorical(**kwargs)
    for word in words:
        assert word in str(info.value)


def test_numpy_integer_num_classes_ok():
    assert to_categorical([1], np.int64(3)).shape == (1, 3)


def test_ml_dtypes_labels_encode_like_numpy_ones():
    """bfloat16 and int4 labels (ml_dtypes: NumPy counts neither as a number kind), as
    Keras' to_categorical takes them; bad ones get the same errors."""
    import ml_dtypes

    labels = [0, 2, 1, 2]
    expected = to_categorical(np.array(labels), 4)
    for dtype in (ml_dtypes.bfloat16, ml_dtypes.int4):
        np.testing.assert_array_equal(to_categorical(np.array(labels, dtype=dtype), 4),
                                      expected)
    with pytest.raises(ValueError, match="whole numbers"):
        to_categorical(np.array([0.5], dtype=ml_dtypes.bfloat16))
    with pytest.raises(ValueError, match="non-negative"):
        to_categorical(np.array([-1], dtype=ml_dtypes.int4))
