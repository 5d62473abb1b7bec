"""AlphaDropout and ActivityRegularization: against Keras 3 (the identity at inference,
Keras' affine map of the kept values in training, the penalty Keras adds), the penalty and
the drops inside the compiled training step, and save/load."""

import jax
import numpy as np
import pytest
from keras_compare import keras, same_as_keras
from layer_checks import check_layer, sample

import cornu
from cornu import layers
from cornu.variables import StatelessScope

ALPHA_P = -1.6732632423543772848170429916717 * 1.0507009873554804934193349852946


def in_training(layer, x, key=0):
    """The layer as a compiled training step runs it: its draws from the step's key."""
    with StatelessScope([], rng=jax.random.PRNGKey(key)):
        return np.asarray(layer(x, training=True))


@pytest.mark.parametrize(("rate", "noise_shape"), [(0.2, None), (0.5, (None, 1, 6))])
def test_alpha_dropout(rate, noise_shape):
    x = sample((None, 50, 6), batch=40)
    _, _, y = check_layer(layers.AlphaDropout(rate, noise_shape=noise_shape), (None, 50, 6),
                          x=x, params=0, output_shape=(None, 50, 6))
    np.testing.assert_array_equal(np.asarray(y), x)  # the identity at inference
    same_as_keras(layers.AlphaDropout(rate, noise_shape=noise_shape, seed=3),
                  keras.layers.AlphaDropout(rate, noise_shape=noise_shape, seed=3), x)
    y = in_training(layers.AlphaDropout(rate, noise_shape=noise_shape, seed=1), x)
    a = ((1 - rate) * (1 + rate * ALPHA_P ** 2)) ** -0.5
    b = -a * ALPHA_P * rate
    dropped = np.isclose(y, a * ALPHA_P + b, rtol=0, atol=1e-6)
    np.testing.assert_allclose(np.where(dropped, 0.0, y), np.where(dropped, 0.0, a * x + b),
                               rtol=1e-5, atol=1e-5)  # Keras' map of the kept values
    assert abs(dropped.mean() - rate) < 0.06
    if noise_shape is not None:  # one draw per (sample, channel), shared over the steps
        assert (dropped == dropped[:, :1, :]).all()
    # zero mean and unit variance stay so (the point of alpha dropout)
    assert abs(y.mean() - x.mean()) < 0.1 and abs(y.std() - x.std()) < 0.1
    assert not np.array_equal(y, in_training(layers.AlphaDropout(rate, seed=1), x, key=1))


def test_activity_regularization_adds_keras_penalty():
    x = sample((None, 3, 4), batch=5)
    layer = layers.ActivityRegularization(l1=0.01, l2=0.1)
    _, _, y = check_layer(layer, (None, 3, 4), x=x, params=0, output_shape=(None, 3, 4))
    np.testing.assert_array_equal(np.asarray(y), x)
    keras_layer = keras.layers.ActivityRegularization(l1=0.01, l2=0.1)
    same_as_keras(layers.ActivityRegularization(l1=0.01, l2=0.1), keras_layer, x)
    layer(x)
    expected = (0.01 * np.abs(x).sum() + 0.1 * np.square(x).sum()) / 5  # per sample
    np.testing.assert_allclose(float(layer.losses[0]), expected, rtol=1e-5)
    np.testing.assert_allclose(float(layer.losses[0]), float(keras_layer.losses[0]), rtol=1e-5)
    assert layer.get_config()["l1"] == 0.01 and "activity_regularizer" not in layer.get_config()
    with pytest.raises(ValueError, match=r"l1 must be a non-negative number.*l1=-1"):
        layers.ActivityRegularization(l1=-1)
    with pytest.raises(TypeError, match="not activity_regularizer"):
        layers.ActivityRegularization(activity_regularizer="l2")


def test_penalty_and_drops_act_inside_the_compiled_step(tmp_path):
    """fit's loss is the MSE plus the per-sample penalty (a learning rate of 1e-12 keeps the
    weights); AlphaDropout draws only in training; nothing recompiles; save/load."""
    cornu.utils.set_random_seed(0)
    x = sample((None, 4), batch=16)
    y = np.zeros((16, 2), np.float32)
    model = cornu.Sequential([cornu.Input((4,)), layers.Dense(2, activation="selu"),
                              layers.AlphaDropout(0.3, seed=2),
                              layers.ActivityRegularization(l2=0.5)])
    model.compile(optimizer=cornu.optimizers.SGD(learning_rate=1e-12), loss="mse")
    out = np.asarray(model(x))
    expected = np.mean(np.square(out)) + 0.5 * np.square(out).sum() / 16
    assert abs(model.evaluate(x, y, batch_size=16, verbose=0) - expected) < 1e-4
    fitted = model.fit(x, y, batch_size=16, epochs=2, verbose=0).history["loss"]
    assert all(abs(loss - expected) > 1e-3 for loss in fitted)  # drops in training
    assert model._engine.traces["train"] == 1
    np.testing.assert_allclose(model.predict(x, verbose=0), out, rtol=1e-6)
    model.save(tmp_path / "m.cornu")
    loaded = cornu.models.load_model(tmp_path / "m.cornu")
    assert loaded.get_config() == model.get_config()
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), out)


def test_any_layers_activity_regularizer_adds_keras_penalty():
    """The penalty of `activity_regularizer=` is per sample (divided by the batch size), as
    Keras 3 adds it."""
    x = sample((None, 3), batch=6)
    layer = layers.Dense(4, activity_regularizer=cornu.regularizers.L1L2(l1=0.1, l2=0.2))
    keras_layer = keras.layers.Dense(4, activity_regularizer=keras.regularizers.L1L2(0.1, 0.2))
    y = same_as_keras(layer, keras_layer, x)
    expected = (0.1 * np.abs(y).sum() + 0.2 * np.square(y).sum()) / 6
    np.testing.assert_allclose(float(layer.losses[0]), expected, rtol=1e-5)
    np.testing.assert_allclose(float(layer.losses[0]), float(keras_layer.losses[0]), rtol=1e-5)
