"""Flatten, Reshape, Embedding and InputLayer."""

import jax
import numpy as np
import pytest
from layer_checks import check_layer, run_stateless

import cornu
from cornu.layers import Dense, Embedding, Flatten, Input, InputLayer, Reshape


def test_flatten():
    x = np.arange(2 * 3 * 4 * 5, dtype=np.float32).reshape(2, 3, 4, 5)
    _, _, y = check_layer(Flatten(), (None, 3, 4, 5), x=x, params=0, output_shape=(None, 60))
    np.testing.assert_array_equal(np.asarray(y), x.reshape(2, 60))
    assert Flatten().compute_output_shape((None, 5, 5, 64)) == (None, 1600)
    assert Flatten().compute_output_shape((None, None, 3)) == (None, None)


def test_reshape():
    x = np.arange(24, dtype=np.float32).reshape(2, 12)
    _, _, y = check_layer(Reshape((3, 4)), (None, 12), x=x, params=0, output_shape=(None, 3, 4))
    np.testing.assert_array_equal(np.asarray(y), x.reshape(2, 3, 4))
    _, _, y = check_layer(Reshape((-1, 2)), (None, 12), x=x, params=0, output_shape=(None, 6, 2))
    np.testing.assert_array_equal(np.asarray(y), x.reshape(2, 6, 2))
    assert Reshape((28, 28, 1)).compute_output_shape((None, 784)) == (None, 28, 28, 1)


def test_reshape_errors():
    with pytest.raises(ValueError, match=r"Layer 'reshape' \(Reshape\) cannot reshape an input "
                                         r"of shape \(None, 10\) \(10 values per sample\) to "
                                         r"target_shape=\(3, 4\), which needs 12"):
        Reshape((3, 4))(Input((10,)))
    with pytest.raises(ValueError, match="needs a multiple of 3"):
        Reshape((-1, 3)).compute_output_shape((None, 10))
    with pytest.raises(ValueError, match="needs a multiple of 3"):  # eager: built on x
        Reshape((-1, 3))(np.ones((2, 10), np.float32))
    for bad in [(0, 2), (-1, -1), "ab", (2.5,)]:
        with pytest.raises(ValueError, match="target_shape must be a tuple of positive"):
            Reshape(bad)


def test_embedding_looks_up_rows():
    layer = Embedding(10, 3)
    x = np.array([[1, 2, 0], [9, 9, 4]], np.float32)  # models feed float32
    p, _, y = check_layer(layer, (None, 3), x=x, params=30, output_shape=(None, 3, 3))
    table = np.asarray(p["embeddings"])
    np.testing.assert_array_equal(np.asarray(y), table[x.astype(int)])
    assert np.abs(table).max() <= 0.05  # Keras' 'uniform': U(-0.05, 0.05)
    grad = jax.grad(lambda table: run_stateless(layer, [table], x)[0].sum())(p["embeddings"])
    np.testing.assert_array_equal(np.asarray(grad)[:, 0], [1, 1, 1, 0, 1, 0, 0, 0, 0, 2])


def test_embedding_in_a_model_and_its_arguments():
    cornu.utils.set_random_seed(0)
    inputs = Input((4,), dtype="int32")
    out = Dense(1)(Flatten()(Embedding(5, 2)(inputs)))
    model = cornu.Model(inputs, out)
    assert model.count_params() == 10 + 9
    x = np.array([[0, 1, 2, 3], [4, 4, 4, 4]])
    assert model.predict(x, verbose=0).shape == (2, 1)
    with pytest.raises(ValueError, match="input_dim must be a positive integer. Received: "
                                         "input_dim=0"):
        Embedding(0, 3)
    assert Embedding(3, 2, mask_zero=True).get_config()["mask_zero"] is True
    with pytest.warns(DeprecationWarning, match="input_length"):
        layer = Embedding(3, 2, input_length=7)
    assert cornu.Sequential([layer]).input_shape == (None, 7)


def test_input_layer_and_input():
    t = Input(shape=(3, 4), name="pixels")
    assert t.shape == (None, 3, 4) and isinstance(t.layer, InputLayer)
    assert t.layer.name == "pixels" and t.layer.count_params() == 0
    assert Input(batch_shape=(None, 5)).shape == (None, 5)
    again = InputLayer.from_config(t.layer.get_config())
    assert again.get_config() == t.layer.get_config()
    with pytest.raises(ValueError, match="InputLayer needs shape="):
        Input()
    with pytest.raises(ValueError, match=r"shape must be a tuple of positive integers"):
        Input((0, 3))
    assert Input((3,), batch_size=32).shape == (32, 3)  # a fixed batch size, as Keras
    model = cornu.Sequential([InputLayer((3,)), Dense(2)])
    assert model.input_shape == (None, 3) and model.output_shape == (None, 2)
