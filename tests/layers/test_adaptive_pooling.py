"""AdaptiveAverage/MaxPooling1D/2D/3D: against Keras 3 (windows that divide the input and
windows that do not, outputs larger than the input), the layer helper's checks, and a
model whose image size does not decide its output size."""

import numpy as np
import pytest
from keras_compare import keras, same_as_keras
from layer_checks import check_layer, sample

import cornu
from cornu import layers


@pytest.mark.parametrize("mode", ["Average", "Max"])
@pytest.mark.parametrize(("rank", "shape", "output_size"), [
    (1, (None, 12, 3), 4), (1, (None, 7, 2), 3), (1, (None, 3, 2), 5),
    (2, (None, 8, 6, 3), (4, 3)), (2, (None, 7, 5, 2), (3, 2)), (2, (None, 5, 9, 1), 4),
    (3, (None, 4, 6, 5, 2), (2, 3, 2)), (3, (None, 5, 3, 4, 1), 2),
])
def test_adaptive_pooling_matches_keras(mode, rank, shape, output_size):
    name = f"Adaptive{mode}Pooling{rank}D"
    x = sample(shape, batch=2)
    want = (None, *np.broadcast_to(output_size, rank).tolist(), shape[-1])
    check_layer(getattr(layers, name)(output_size), shape, x=x, params=0, output_shape=want)
    same_as_keras(getattr(layers, name)(output_size), getattr(keras.layers, name)(output_size),
                  x)


def test_output_size_is_independent_of_the_input_size():
    inputs = cornu.Input((None, None, 3))
    pooled = layers.AdaptiveMaxPooling2D((2, 2))(layers.Conv2D(4, 3, padding="same")(inputs))
    model = cornu.Model(inputs, layers.Dense(1)(layers.Flatten()(pooled)))
    assert model.output_shape == (None, 1)
    for size in [(5, 7), (8, 8)]:
        assert model.predict(sample((None, *size, 3), batch=2), verbose=0).shape == (2, 1)
    # windows of exactly one input each: the identity
    x = sample((None, 4, 5, 3))
    np.testing.assert_allclose(np.asarray(layers.AdaptiveAveragePooling2D((4, 5))(x)), x,
                               rtol=1e-6)


def test_in_a_model_fit_compiles_once_and_round_trips(tmp_path):
    cornu.utils.set_random_seed(0)
    x = sample((None, 9, 7, 2), batch=12)
    y = x.mean(axis=(1, 2, 3))[:, None]
    model = cornu.Sequential([
        cornu.Input((9, 7, 2)), layers.AdaptiveAveragePooling2D((4, 3)),
        layers.Reshape((4, 3, 1, 2)), layers.AdaptiveMaxPooling3D((2, 2, 1)),
        layers.Reshape((4, 2)), layers.AdaptiveMaxPooling1D(3),
        layers.AdaptiveAveragePooling1D(2), layers.Flatten(), layers.Dense(1)])
    assert model.output_shape == (None, 1)
    model.compile(optimizer="adam", loss="mse")
    model.fit(x, y, batch_size=5, epochs=2, verbose=0)
    assert model._engine.traces["train"] == 1
    model.save(tmp_path / "m.cornu")
    loaded = cornu.models.load_model(tmp_path / "m.cornu")
    assert loaded.get_config() == model.get_config()
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


@pytest.mark.parametrize(("make", "message"), [
    (lambda: layers.AdaptiveAveragePooling2D((2, 2, 2)),
     r"output_size must be a positive integer or a tuple of 2.*Received: output_size="),
    (lambda: layers.AdaptiveMaxPooling1D(0), r"Received: output_size=0"),
    (lambda: layers.AdaptiveMaxPooling3D(2)(cornu.Input((4, 4, 1))),
     r"'adaptive_max_pooling3d' \(AdaptiveMaxPooling3D\) expects inputs of rank 5"),
])
def test_errors_name_the_layer_and_the_value(make, message):
    with pytest.raises(ValueError, match=message):
        make()
