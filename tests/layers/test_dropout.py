"""Dropout: identity at inference; in training zeros with probability `rate` and scales the
rest by 1 / (1 - rate); repeatable from a key and from the global seed."""

import jax
import numpy as np
import pytest
from layer_checks import check_layer

import cornu
from cornu.layers import Dense, Dropout
from cornu.variables import StatelessScope


def drop(layer, x, key):
    """The layer in training as a compiled step runs it: its draws from the step's key."""
    with StatelessScope([], rng=key):
        return layer(x, training=True)


def test_identity_at_inference():
    x = np.random.default_rng(0).normal(size=(4, 5)).astype(np.float32)
    _, _, y = check_layer(Dropout(0.5), (None, 5), x=x, params=0, output_shape=(None, 5))
    np.testing.assert_array_equal(np.asarray(y), x)


@pytest.mark.parametrize("rate", [0.1, 0.5, 0.8])
def test_training_drops_rate_and_scales_the_rest(rate):
    layer = Dropout(rate)
    x = np.full((200, 500), 2.0, np.float32)
    y = np.asarray(drop(layer, x, jax.random.PRNGKey(0)))
    kept = y != 0
    np.testing.assert_allclose(y[kept], 2.0 / (1 - rate), rtol=1e-6)
    assert abs((~kept).mean() - rate) < 0.01  # 100,000 draws: 4 standard deviations
    assert abs(y.mean() - 2.0) < 0.05  # the expectation is unchanged


def test_same_key_same_mask_and_seed_changes_it():
    x = np.ones((8, 64), np.float32)
    key = jax.random.PRNGKey(3)
    a = drop(Dropout(0.5), x, key)
    b = drop(Dropout(0.5), x, key)
    np.testing.assert_array_equal(a, b)
    c = drop(Dropout(0.5), x, jax.random.PRNGKey(4))
    assert not np.array_equal(a, c)
    d1 = drop(Dropout(0.5, seed=1), x, key)
    d2 = drop(Dropout(0.5, seed=2), x, key)
    assert not np.array_equal(d1, d2) and not np.array_equal(d1, a)
    np.testing.assert_array_equal(d1, drop(Dropout(0.5, seed=1), x, key))


def test_noise_shape_shares_the_mask():
    x = np.ones((4, 6, 3), np.float32)
    y = np.asarray(drop(Dropout(0.5, noise_shape=(None, 1, 3)), x, jax.random.PRNGKey(0)))
    assert (y == y[:, :1, :]).all()  # one decision per (sample, channel), shared over axis 1


def _fit_weights(seed):
    cornu.utils.set_random_seed(seed)
    model = cornu.Sequential([cornu.Input((10,)), Dense(16, activation="relu"), Dropout(0.5),
                              Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(64, 10)).astype(np.float32), rng.normal(size=(64, 1))
    model.fit(x, y.astype(np.float32), batch_size=16, epochs=2, verbose=0)
    return model.get_weights()


def test_fit_with_dropout_is_repeatable_with_the_seed():
    a, b, c = _fit_weights(7), _fit_weights(7), _fit_weights(8)
    for u, v in zip(a, b, strict=True):
        np.testing.assert_array_equal(u, v)
    assert any(not np.array_equal(u, v) for u, v in zip(a, c, strict=True))


def test_dropout_masks_differ_between_steps_inside_fit():
    """The dropout key changes every step: a model whose loss depends only on the mask
    does not see the same mask twice."""
    cornu.utils.set_random_seed(0)
    model = cornu.Sequential([cornu.Input((50,)), Dropout(0.5), Dense(1, use_bias=False,
                                                                      kernel_initializer="ones")])
    model.compile(optimizer="sgd", loss="mse")
    x = np.ones((1, 50), np.float32)
    losses = model.fit(x, np.zeros((1, 1), np.float32), epochs=5, verbose=0,
                       batch_size=1).history["loss"]
    assert len(set(losses)) > 1


def test_dropout_keys_change_every_epoch_and_fit_call():
    """With weights that stay put (a learning rate of 1e-30) the loss depends only on the
    masks: epochs of identical samples give different means only if each epoch (and each
    fit call) draws new keys."""
    cornu.utils.set_random_seed(0)
    model = cornu.Sequential([cornu.Input((50,)), Dropout(0.5), Dense(1, use_bias=False,
                                                                      kernel_initializer="ones")])
    model.compile(optimizer=cornu.optimizers.SGD(learning_rate=1e-30), loss="mse")
    x, y = np.ones((3, 50), np.float32), np.zeros((3, 1), np.float32)
    first = model.fit(x, y, epochs=4, verbose=0, batch_size=1).history["loss"]
    second = model.fit(x, y, epochs=4, verbose=0, batch_size=1).history["loss"]
    assert len(set(first + second)) == 8


def test_dropout_draws_do_not_depend_on_steps_per_execution():
    def weights(steps_per_execution):
        cornu.utils.set_random_seed(3)
        model = cornu.Sequential([cornu.Input((10,)), Dense(16), Dropout(0.3), Dense(1)])
        model.compile(optimizer="adam", loss="mse", steps_per_execution=steps_per_execution)
        rng = np.random.default_rng(0)
        x, y = rng.normal(size=(40, 10)), rng.normal(size=(40, 1))
        model.fit(x.astype(np.float32), y.astype(np.float32), batch_size=4, epochs=2,
                  verbose=0)
        return model.get_weights()

    for a, b in zip(weights("auto"), weights(3), strict=True):
        np.testing.assert_array_equal(a, b)


def test_bad_arguments_and_missing_key():
    for rate in (-0.1, 1.0, 1.5, "0.5"):
        with pytest.raises(ValueError, match=f"rate must be a number in .0, 1.*rate={rate!r}"):
            Dropout(rate)
    eager = Dropout(0.5, name="d")  # called eagerly, it draws from its own generator
    x = np.ones((64, 64), np.float32)
    assert not np.array_equal(eager(x, training=True), eager(x, training=True))
    with pytest.raises(ValueError, match=r"'d2' \(Dropout\): noise_shape=\(None, 1\) must have"):
        Dropout(0.5, noise_shape=(None, 1), name="d2")(cornu.Input((3, 4)))


def test_model_called_with_training_true_applies_dropout_and_seeds_repeat():
    import cornu
    from cornu.layers import Dense, Dropout

    def run():
        cornu.utils.set_random_seed(5)
        model = cornu.Sequential([Dense(64, input_shape=(8,), kernel_initializer="ones"),
                                  Dropout(0.5)])
        x = np.ones((4, 8), np.float32)
        return np.asarray(model(x)), np.asarray(model(x, training=True))

    inference, training = run()
    np.testing.assert_allclose(inference, 8.0)
    dropped = training == 0
    assert 0.2 < dropped.mean() < 0.8
    np.testing.assert_allclose(training[~dropped], 16.0)  # kept units scaled by 1/(1-0.5)
    np.testing.assert_array_equal(run()[1], training)
