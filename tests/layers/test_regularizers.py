"""L1, L2, L1L2: values, names, configs, and their penalty in the training loss."""

import jax.numpy as jnp
import numpy as np
import pytest

import cornu
from cornu import regularizers
from cornu.layers import (
    BatchNormalization,
    Conv1D,
    Conv2D,
    Dense,
    Embedding,
    Flatten,
    LayerNormalization,
)

W = np.array([[1.0, -2.0], [0.5, 0.0]], np.float32)


def test_values_and_keras_defaults():
    assert float(regularizers.L1()(W)) == pytest.approx(0.01 * 3.5)
    assert float(regularizers.L2()(W)) == pytest.approx(0.01 * 5.25)
    assert float(regularizers.L1L2(l1=0.1, l2=0.2)(W)) == pytest.approx(0.35 + 1.05)
    assert float(regularizers.L1L2()(W)) == 0.0
    assert regularizers.get("l1") == regularizers.L1(0.01)
    assert regularizers.get("L2") == regularizers.L2(0.01)
    assert regularizers.get("l1_l2") == regularizers.L1L2(0.0, 0.0)
    assert regularizers.get(None) is None
    r = regularizers.L2(1e-4)
    assert regularizers.get(r) is r
    assert r.get_config() == {"l2": 1e-4}
    assert regularizers.L1L2.from_config({"l1": 0.5, "l2": 0.25}) == regularizers.L1L2(0.5, 0.25)
    assert regularizers.get(regularizers.serialize(r)) == r


def test_bad_regularizers():
    with pytest.raises(ValueError, match=r"kernel_regularizer='l3'.*Known regularizer names: "
                                         "l1, l1_l2, l2"):
        Dense(2, kernel_regularizer="l3")
    with pytest.raises(ValueError, match="l2 must be a non-negative number. Received: l2=-1"):
        regularizers.L2(-1)
    with pytest.raises(TypeError, match="bias_regularizer must be None, a name"):
        Dense(2, bias_regularizer=3)


def test_layers_carry_regularizers_in_their_config():
    layers = [
        Dense(3, kernel_regularizer="l2", bias_regularizer=regularizers.L1(0.5)),
        Conv2D(2, 3, kernel_regularizer=regularizers.L1L2(l1=0.1, l2=0.2)),
        Conv1D(2, 3, bias_regularizer="l1"),
        Embedding(4, 2, embeddings_regularizer="l2"),
        BatchNormalization(gamma_regularizer="l2"),
        LayerNormalization(beta_regularizer="l1"),
    ]
    def regularized(layer):
        return bool(layer.losses)  # the weights' penalties, once built

    shapes = [(None, 4), (None, 6, 6, 1), (None, 6, 1), (None, 3), (None, 4), (None, 4)]
    for layer, shape in zip(layers, shapes, strict=True):
        layer.build(shape)
        assert regularized(layer)
        again = type(layer).from_config(layer.get_config())
        again.build(shape)
        assert again.get_config() == layer.get_config() and regularized(again)
    assert layers[0].get_config()["kernel_regularizer"] == {"class_name": "L2",
                                                            "config": {"l2": 0.01}}
    plain = Dense(3)
    plain.build((None, 4))
    assert not regularized(plain)


def test_penalty_is_the_sum_over_layers():
    model = cornu.Sequential([
        cornu.Input((5, 5, 1)),
        Conv2D(2, 3, kernel_regularizer=regularizers.L2(0.1), bias_initializer="ones",
               bias_regularizer=regularizers.L1(0.2)),
        Flatten(),
        Dense(1, kernel_regularizer=regularizers.L1(0.3)),
    ])
    conv_k, conv_b, dense_k, _ = model.get_weights()
    expected = 0.1 * (conv_k ** 2).sum() + 0.2 * np.abs(conv_b).sum() \
        + 0.3 * np.abs(dense_k).sum()
    assert float(model._regularization()) == pytest.approx(float(expected), rel=1e-5)
    assert float(sum(model.losses)) == pytest.approx(float(expected), rel=1e-5)


def test_l2_shrinks_the_weights_in_fit():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 8)).astype(np.float32)
    y = (x @ rng.normal(size=(8, 1))).astype(np.float32)
    norms = []
    for reg in (None, regularizers.L2(1.0)):
        cornu.utils.set_random_seed(0)
        model = cornu.Sequential([cornu.Input((8,)), Dense(1, kernel_regularizer=reg)])
        model.compile(optimizer=cornu.optimizers.SGD(learning_rate=0.05), loss="mse")
        model.fit(x, y, epochs=20, batch_size=64, verbose=0)
        norms.append(float(jnp.sum(jnp.square(model.get_weights()[0]))))
    assert norms[1] < 0.5 * norms[0]
