"""Add and Concatenate: values, shapes, and mismatched shapes named in the error."""

import numpy as np
import pytest
from layer_checks import check_layer, sample

from cornu.layers import Add, Concatenate, Dense, Input


def test_add():
    shapes = [(None, 3, 4)] * 3
    xs = [sample(s, seed=i) for i, s in enumerate(shapes)]
    _, _, y = check_layer(Add(), shapes, x=xs, params=0, output_shape=(None, 3, 4))
    np.testing.assert_allclose(np.asarray(y), xs[0] + xs[1] + xs[2], rtol=1e-6)


def test_add_broadcasts_size_one():
    assert Add().compute_output_shape([(None, 3, 1), (None, 3, 4)]) == (None, 3, 4)
    assert Add().compute_output_shape([(None, 3), (None, None)]) == (None, 3)


def test_concatenate():
    shapes = [(None, 2, 3), (None, 2, 5)]
    xs = [sample(s, seed=i) for i, s in enumerate(shapes)]
    _, _, y = check_layer(Concatenate(), shapes, x=xs, params=0, output_shape=(None, 2, 8))
    np.testing.assert_array_equal(np.asarray(y), np.concatenate(xs, axis=-1))
    shapes = [(None, 2, 3), (None, 4, 3)]
    xs = [sample(s, seed=i) for i, s in enumerate(shapes)]
    _, _, y = check_layer(Concatenate(axis=1), shapes, x=xs, params=0,
                          output_shape=(None, 6, 3))
    np.testing.assert_array_equal(np.asarray(y), np.concatenate(xs, axis=1))


def test_mismatched_shapes_name_the_layer():
    a, b = Input((3,)), Input((4,))
    with pytest.raises(ValueError, match=r"Layer 'add' \(Add\) needs inputs of the same shape.*"
                                         r"Received shapes: \(None, 3\), \(None, 4\)"):
        Add()([a, b])
    with pytest.raises(ValueError, match=r"Layer 'cat' \(Concatenate\) needs inputs of one rank "
                                         r"that match on every axis except axis=-1.*"
                                         r"\(None, 2, 3\), \(None, 4, 3\)"):
        Concatenate(name="cat")([Input((2, 3)), Input((4, 3))])
    with pytest.raises(ValueError, match="needs inputs of one rank"):
        Concatenate().compute_output_shape([(None, 2), (None, 2, 1)])
    with pytest.raises(ValueError, match="needs inputs of one rank"):  # eager: built on xs
        Concatenate()([np.ones((2, 2), np.float32), np.ones((2, 2, 1), np.float32)])
    with pytest.raises(ValueError, match=r"Layer 'add_1' \(Add\) merges a list of at least 2 "
                                         r"inputs, e.g. Add\(\)\(\[a, b\]\)"):
        Add()(Dense(2)(a))
