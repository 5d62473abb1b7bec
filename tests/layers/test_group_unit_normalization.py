"""GroupNormalization, UnitNormalization and RMSNormalization: against Keras 3 from the
same weights and inputs, the layer helper's checks, and the errors that name the layer."""

import numpy as np
import pytest
from keras_compare import keras, same_as_keras
from layer_checks import check_layer, sample

import cornu
from cornu import layers


@pytest.mark.parametrize(("kwargs", "shape"), [
    (dict(groups=2), (None, 5, 6)),
    (dict(groups=3, epsilon=1e-5), (None, 4, 4, 6)),
    (dict(groups=1, center=False), (None, 3, 4)),
    (dict(groups=-1, scale=False), (None, 3, 3, 4)),
    (dict(groups=2, axis=1), (None, 4, 5)),
    (dict(groups=2, axis=-2), (None, 3, 4, 5)),
])
def test_group_normalization_matches_keras(kwargs, shape):
    make = dict(beta_initializer="random_normal", gamma_initializer="random_normal", **kwargs)
    layer = layers.GroupNormalization(**make)
    channels = shape[kwargs.get("axis", -1)]
    params = channels * (kwargs.get("center", True) + kwargs.get("scale", True))
    x = 3.0 * sample(shape, batch=3) + 1.0
    check_layer(layer, shape, x=x, params=params, output_shape=shape)
    same_as_keras(layers.GroupNormalization(**make), keras.layers.GroupNormalization(**make),
                  x)


def test_group_normalization_normalises_each_group():
    x = sample((None, 4, 6), batch=2) * 5 + 2
    y = np.asarray(layers.GroupNormalization(groups=3, epsilon=1e-6)(x))
    grouped = y.reshape(2, 4, 3, 2)
    np.testing.assert_allclose(grouped.mean(axis=(1, 3)), 0, atol=1e-5)
    np.testing.assert_allclose(grouped.var(axis=(1, 3)), 1, atol=1e-3)


@pytest.mark.parametrize(("axis", "shape"), [
    (-1, (None, 5)), (1, (None, 3, 4)), ([1, 2], (None, 3, 4, 2)), ((-1, -3), (None, 2, 3, 4)),
])
def test_unit_normalization_matches_keras(axis, shape):
    x = sample(shape, batch=3)
    _, _, y = check_layer(layers.UnitNormalization(axis=axis), shape, x=x, params=0,
                          output_shape=shape)
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    np.testing.assert_allclose(np.sqrt(np.sum(np.square(y), axis=axes)), 1, rtol=1e-5)
    same_as_keras(layers.UnitNormalization(axis=axis), keras.layers.UnitNormalization(axis=axis),
                  x)
    zeros = np.zeros((2, *shape[1:]), np.float32)  # an all-zero slice stays zero
    np.testing.assert_array_equal(np.asarray(layers.UnitNormalization(axis=axis)(zeros)), zeros)


@pytest.mark.parametrize(("make", "message"), [
    (lambda: layers.GroupNormalization(groups=0), r"groups must be a positive integer.*"
                                                  r"Received: groups=0"),
    (lambda: layers.GroupNormalization(epsilon=0), r"Received: epsilon=0"),
    (lambda: layers.GroupNormalization(groups=4)(cornu.Input((3, 6))),
     r"'group_normalization' \(GroupNormalization\): the 6 channels on axis=-1 do not split "
     r"into groups=4"),
    (lambda: layers.GroupNormalization(groups=2, axis=0)(cornu.Input((3, 6))),
     r"axis=0 must name a channels axis"),
    (lambda: layers.UnitNormalization(axis="x"), r"Received: axis='x'"),
    (lambda: layers.UnitNormalization(axis=3)(cornu.Input((3, 6))),
     r"'unit_normalization' \(UnitNormalization\): axis=3 is out of range"),
])
def test_errors_name_the_layer_and_the_value(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_in_a_model_fit_compiles_once_and_round_trips(tmp_path):
    cornu.utils.set_random_seed(0)
    x = sample((None, 6, 8), batch=20)
    y = x.sum(axis=(1, 2))[:, None]
    inputs = cornu.Input((6, 8))
    h = layers.GroupNormalization(groups=4, gamma_regularizer="l2",
                                  beta_constraint="non_neg")(inputs)
    h = layers.UnitNormalization(axis=[1, 2])(layers.Dense(4)(h))
    model = cornu.Model(inputs, layers.Dense(1)(layers.Flatten()(h)))
    assert model.output_shape == (None, 1)
    model.compile(optimizer="adam", loss="mse")
    model.fit(x, y, batch_size=8, epochs=2, verbose=0)
    assert model._engine.traces["train"] == 1
    assert float(np.min(model.layers[1].beta.numpy())) >= 0
    model.save(tmp_path / "m.cornu")
    loaded = cornu.models.load_model(tmp_path / "m.cornu")
    assert loaded.get_config() == model.get_config()
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


@pytest.mark.parametrize(("axis", "shape", "epsilon"), [
    (-1, (None, 6), 1e-6), (-1, (None, 3, 5), 1e-3), ([1, 2], (None, 3, 4), 1e-6),
    ([2, 3], (None, 2, 3, 4), 1e-5),
])
def test_rms_normalization_matches_keras(axis, shape, epsilon):
    x = 2.0 * sample(shape, batch=3) + 0.5
    layer = layers.RMSNormalization(axis=axis, epsilon=epsilon)
    channels = np.prod([shape[a] for a in ((axis,) if isinstance(axis, int) else axis)])
    check_layer(layer, shape, x=x, params=int(channels), output_shape=shape)
    layer.scale.assign(np.random.default_rng(2).normal(size=layer.scale.shape)
                       .astype(np.float32))
    ours = layers.RMSNormalization(axis=axis, epsilon=epsilon)
    ours.build(shape)
    ours.set_weights(layer.get_weights())
    same_as_keras(ours, keras.layers.RMSNormalization(axis=axis, epsilon=epsilon), x)
    with pytest.raises(ValueError, match=r"axis=\[0\] must name feature axes"):
        layers.RMSNormalization(axis=0)(cornu.Input(shape[1:]))
