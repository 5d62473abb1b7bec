"""BatchNormalization (training and inference, moving statistics inside fit) and
LayerNormalization against NumPy."""

import numpy as np
import pytest
from layer_checks import check_layer, run_stateless, sample

import cornu
from cornu.layers import BatchNormalization, Conv2D, Dense, Flatten, LayerNormalization


def batch_norm_reference(x, gamma, beta, mean, var, eps=1e-3):
    return gamma * (x - mean) / np.sqrt(var + eps) + beta


def test_batch_norm_training_uses_batch_statistics_and_updates_moving_ones():
    layer = BatchNormalization(gamma_initializer="random_normal", beta_initializer="ones")
    x = sample((None, 4, 4, 3), batch=8) * 3 + 1
    p, state, y = check_layer(layer, (None, 4, 4, 3), x=x, params=4 * 3,
                              output_shape=(None, 4, 4, 3), training=True)
    mean, var = x.mean(axis=(0, 1, 2)), x.var(axis=(0, 1, 2))
    gamma, beta = np.asarray(p["gamma"]), np.asarray(p["beta"])
    np.testing.assert_allclose(np.asarray(y), batch_norm_reference(x, gamma, beta, mean, var),
                               rtol=1e-4, atol=1e-4)
    _, after = run_stateless(layer, [v.value for v in layer.weights], x, training=True)
    new = {v.name: a for v, a in zip(layer.weights, after, strict=True)}
    np.testing.assert_allclose(new["moving_mean"], 0.99 * 0 + 0.01 * mean, rtol=1e-5)
    np.testing.assert_allclose(new["moving_variance"], 0.99 * 1 + 0.01 * var, rtol=1e-5)


def test_batch_norm_inference_uses_moving_statistics_and_keeps_them():
    layer = BatchNormalization(axis=1, momentum=0.9, epsilon=1e-2)
    layer.build((None, 3, 5))
    state = {"moving_mean": np.array([1.0, -2.0, 0.5], np.float32),
             "moving_variance": np.array([4.0, 0.25, 1.0], np.float32)}
    layer.moving_mean.assign(state["moving_mean"])
    layer.moving_variance.assign(state["moving_variance"])
    x = sample((None, 3, 5), batch=4)
    values = [v.value for v in layer.weights]
    y, after = run_stateless(layer, values, x, training=False)
    expected = batch_norm_reference(x, 1.0, 0.0, state["moving_mean"][:, None],
                                    state["moving_variance"][:, None], eps=1e-2)
    np.testing.assert_allclose(np.asarray(y), expected, rtol=1e-5, atol=1e-6)
    assert all(a is b for a, b in zip(after, values, strict=True))  # nothing assigned


def test_batch_norm_counts_and_weight_order_as_keras():
    model = cornu.Sequential([cornu.Input((6, 6, 1)), Conv2D(8, 3), BatchNormalization(),
                              Flatten(), Dense(2)])
    assert model.layers[1].count_params() == 4 * 8  # Keras shows 32 in the summary
    assert [w.shape for w in model.get_weights()] == [(3, 3, 1, 8), (8,), (8,), (8,), (8,),
                                                      (8,), (128, 2), (2,)]
    gamma, beta, mean, var = model.get_weights()[2:6]
    assert (gamma == 1).all() and (beta == 0).all() and (mean == 0).all() and (var == 1).all()
    lines = []
    model.summary(print_fn=lines.append)
    assert f"Trainable params: {80 + 16 + 258}" in lines[0]
    assert "Non-trainable params: 16" in lines[0]
    assert f"Total params: {80 + 32 + 258:,}" in lines[0]


def test_moving_statistics_are_updated_by_fit_and_used_by_predict():
    cornu.utils.set_random_seed(0)
    model = cornu.Sequential([cornu.Input((4,)), BatchNormalization(momentum=0.5),
                              Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    x = np.random.default_rng(0).normal(5.0, 2.0, size=(64, 4)).astype(np.float32)
    y = np.zeros((64, 1), np.float32)
    model.fit(x, y, batch_size=64, epochs=20, verbose=0, shuffle=False)
    gamma, beta, mean, var, kernel, bias = model.get_weights()
    # 20 updates with momentum 0.5 on the same full batch: the moving stats converge on it
    np.testing.assert_allclose(mean, x.mean(axis=0), rtol=1e-4)
    np.testing.assert_allclose(var, x.var(axis=0), rtol=1e-4)
    expected = batch_norm_reference(x, gamma, beta, mean, var) @ kernel + bias
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, rtol=1e-4, atol=1e-5)


def test_batch_norm_errors():
    with pytest.raises(ValueError, match=r"Layer 'bn' \(BatchNormalization\): axis=3 is not "
                                         r"a feature axis of the input shape \(None, 4, 5\)"):
        BatchNormalization(axis=3, name="bn").build((None, 4, 5))
    with pytest.raises(ValueError, match="momentum must be a number in"):
        BatchNormalization(momentum=1.5)
    with pytest.raises(ValueError, match="epsilon must be a positive number"):
        BatchNormalization(epsilon=0)


@pytest.mark.parametrize(("axis", "shape"), [(-1, (None, 3, 5)), ([1, 2], (None, 3, 5)),
                                             (1, (None, 4, 2, 3))])
def test_layer_norm_matches_numpy(axis, shape):
    layer = LayerNormalization(axis=axis, gamma_initializer="random_normal",
                               beta_initializer="random_uniform")
    x = sample(shape, batch=3) * 2 + 1
    axes = tuple(a % len(shape) for a in ([axis] if isinstance(axis, int) else axis))
    n_params = 2 * int(np.prod([shape[a] for a in axes]))
    p, _, y = check_layer(layer, shape, x=x, params=n_params, output_shape=shape)
    pshape = [shape[i] if i in axes else 1 for i in range(len(shape))]
    pshape[0] = 1
    gamma = np.asarray(p["gamma"]).reshape(pshape)
    beta = np.asarray(p["beta"]).reshape(pshape)
    mean = x.mean(axis=axes, keepdims=True)
    var = x.var(axis=axes, keepdims=True)
    np.testing.assert_allclose(np.asarray(y), gamma * (x - mean) / np.sqrt(var + 1e-3) + beta,
                               rtol=1e-4, atol=1e-5)


def test_layer_norm_rms_scaling():
    layer = LayerNormalization(rms_scaling=True)
    x = sample((None, 6))
    p, _, y = check_layer(layer, (None, 6), x=x, params=6, output_shape=(None, 6))
    assert set(p) == {"gamma"}
    expected = x / np.sqrt((x ** 2).mean(axis=-1, keepdims=True) + 1e-3)
    np.testing.assert_allclose(np.asarray(y), expected, rtol=1e-5)


def test_padding_of_a_partial_last_batch_does_not_enter_batch_statistics():
    """10 samples at batch 4: the last batch has 2 real rows and 2 of padding. One epoch
    with shuffle=False must equal three fits on the exact batches (no padding at all)."""
    import cornu
    from cornu.layers import BatchNormalization, Dense

    rng = np.random.default_rng(3)
    x = rng.normal(size=(10, 3)).astype(np.float32) * 3 + 1
    y = rng.normal(size=(10, 1)).astype(np.float32)

    def model():
        cornu.utils.set_random_seed(0)
        m = cornu.Sequential([Dense(4, input_shape=(3,)), BatchNormalization(), Dense(1)])
        m.compile(optimizer=cornu.optimizers.SGD(learning_rate=0.1), loss="mse")
        return m

    padded = model()
    padded.fit(x, y, batch_size=4, epochs=1, shuffle=False, verbose=0)
    exact = model()
    for start in (0, 4, 8):
        exact.fit(x[start:start + 4], y[start:start + 4], batch_size=4, epochs=1,
                  shuffle=False, verbose=0)
    for a, b in zip(padded.get_weights(), exact.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
