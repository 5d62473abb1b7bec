"""The opt-in mixed_bfloat16 policy: bfloat16 compute, float32 weights, loss and outputs."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import cornu
from cornu import mixed_precision
from cornu.layers import BatchNormalization, Dense


@pytest.fixture
def mixed():
    mixed_precision.set_global_policy("mixed_bfloat16")
    yield
    mixed_precision.set_global_policy("float32")


def data(n=64, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 8)).astype(np.float32)
    y = np.eye(3, dtype=np.float32)[(x[:, 0] > 0).astype(int) + (x[:, 1] > 1)]
    return x, y


def build():
    cornu.utils.set_random_seed(0)
    model = cornu.Sequential([Dense(16, input_shape=(8,), activation="relu"),
                              BatchNormalization(), Dense(3, activation="softmax")])
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    return model


def test_layers_compute_in_bfloat16_and_keep_float32_weights(mixed):
    model = build()
    dense, norm = model.layers[0], model.layers[1]
    assert dense.compute_dtype == "bfloat16" and norm.compute_dtype == "float32"
    assert all(w.dtype == np.float32 for w in model.get_weights())
    x, _ = data(4)
    jaxpr = str(jax.make_jaxpr(lambda p: model._forward(
        p, model._state, jnp.asarray(x), training=False, rng=None, logits=False)[0])(
        model._params))
    assert "bf16" in jaxpr and "dot_general" in jaxpr
    out = model.predict(x)
    assert out.dtype == np.float32 and np.allclose(out.sum(axis=1), 1.0, atol=1e-2)


def test_mixed_training_tracks_float32_training(mixed):
    x, y = data()
    mixed_model = build()
    mixed_loss = mixed_model.fit(x, y, batch_size=16, epochs=5, verbose=0).history["loss"]
    assert all(w.dtype == np.float32 for w in mixed_model.get_weights())
    mixed_precision.set_global_policy("float32")
    plain_loss = build().fit(x, y, batch_size=16, epochs=5, verbose=0).history["loss"]
    assert mixed_loss[-1] < mixed_loss[0]
    np.testing.assert_allclose(mixed_loss, plain_loss, rtol=0.05)


def test_policy_names_and_errors():
    assert mixed_precision.global_policy().name == "float32"
    with pytest.raises(ValueError, match="mixed_float16 needs loss scaling"):
        mixed_precision.set_global_policy("mixed_float16")
    layer = Dense(2, dtype="mixed_bfloat16")
    assert layer.compute_dtype == "bfloat16"
    assert Dense.from_config(layer.get_config()).compute_dtype == "bfloat16"
    with pytest.raises(ValueError, match="Unknown dtype policy: dtype='float64'"):
        Dense(2, dtype="float64")
