"""RepeatVector, Permute and Identity: against NumPy and Keras 3, errors, save/load."""

import numpy as np
import pytest
from keras_compare import keras, same_as_keras
from layer_checks import check_layer, sample

import cornu
from cornu import layers


def test_repeat_vector():
    x = sample((None, 5))
    _, _, y = check_layer(layers.RepeatVector(3), (None, 5), x=x, params=0,
                          output_shape=(None, 3, 5))
    np.testing.assert_array_equal(np.asarray(y), np.repeat(x[:, None], 3, axis=1))
    same_as_keras(layers.RepeatVector(3), keras.layers.RepeatVector(3), x)


@pytest.mark.parametrize("dims", [(2, 1), (1, 2), (3, 1, 2)])
def test_permute(dims):
    shape = (None, 3, 4) if len(dims) == 2 else (None, 3, 4, 5)
    x = sample(shape)
    _, _, y = check_layer(layers.Permute(dims), shape, x=x, params=0,
                          output_shape=(None, *(shape[d] for d in dims)))
    np.testing.assert_array_equal(np.asarray(y), np.transpose(x, (0, *dims)))
    same_as_keras(layers.Permute(dims), keras.layers.Permute(dims), x)


def test_identity():
    x = sample((None, 3, 4))
    _, _, y = check_layer(layers.Identity(), (None, 3, 4), x=x, params=0,
                          output_shape=(None, 3, 4))
    np.testing.assert_array_equal(np.asarray(y), x)
    same_as_keras(layers.Identity(), keras.layers.Identity(), x)


@pytest.mark.parametrize(("make", "message"), [
    (lambda: layers.RepeatVector(0), "n must be a positive integer. Received: n=0"),
    (lambda: layers.RepeatVector(2)(cornu.Input((3, 4))),
     r"'repeat_vector' \(RepeatVector\) expects inputs of rank 2"),
    (lambda: layers.Permute((0, 1)), r"dims must be a permutation .* Received: dims=\(0, 1\)"),
    (lambda: layers.Permute((1, 3)), "Received: dims"),
    (lambda: layers.Permute((2, 1))(cornu.Input((3, 4, 5))),
     r"'permute' \(Permute\) with dims=\(2, 1\) expects inputs of rank 3"),
])
def test_bad_arguments(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_save_and_load(tmp_path):
    model = cornu.Sequential([cornu.Input((4,)), layers.Dense(3), layers.RepeatVector(2),
                              layers.Permute((2, 1)), layers.Identity(), layers.Flatten()])
    x = sample((None, 4), batch=3)
    model.save(tmp_path / "m.cornu")
    loaded = cornu.models.load_model(tmp_path / "m.cornu")
    assert loaded.get_config() == model.get_config()
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
