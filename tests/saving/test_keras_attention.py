"""MultiHeadAttention in Keras' .keras files, both ways: its projections under Keras'
names (query_dense, key_dense, value_dense, output_dense, and the empty groups of its
dropout and softmax), its calls with several arguments and keyword arguments
(use_causal_mask, return_attention_scores, key=) and its shapes_dict build_config. A
cornu file loads in Keras 3 and a Keras file in cornu with the same predictions, and the
optimizer's state travels with them."""

from __future__ import annotations

import os

import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "jax")
keras = pytest.importorskip("keras")

import jax  # noqa: E402

import cornu  # noqa: E402
from cornu.saving import load_model  # noqa: E402

TOL = dict(rtol=1e-5, atol=1e-5)


@pytest.fixture(autouse=True)
def _user_broadcasting():
    with jax.numpy_rank_promotion("allow"):  # Keras' own code broadcasts as NumPy
        yield


def attention_model(lib):
    L = lib.layers
    q, v = lib.Input((5, 4)), lib.Input((3, 6))
    x = L.MultiHeadAttention(2, 3, name="cross")(q, v, key=v, use_causal_mask=True)
    x, scores = L.MultiHeadAttention(2, 2, value_dim=3, output_shape=(2, 2), dropout=0.1,
                                     name="scores")(x, x, return_attention_scores=True)
    x = L.Reshape((5, 4))(x)
    x = L.MultiHeadAttention(3, 2, use_bias=False, use_gate=True, name="gated")(x, x, x)
    x = L.LayerNormalization()(L.Add()([x, q]))
    return lib.Model([q, v], [x, scores])


def transformer_block(lib):
    L = lib.layers
    inputs = lib.Input((6, 8))
    attention = L.MultiHeadAttention(num_heads=2, key_dim=4)(inputs, inputs)
    x = L.LayerNormalization(epsilon=1e-6)(L.Add()([inputs, attention]))
    ffn = L.Dense(8)(L.Dense(16, activation="relu")(x))
    x = L.LayerNormalization(epsilon=1e-6)(L.Add()([x, ffn]))
    return lib.Model(inputs, L.Dense(3)(L.GlobalAveragePooling1D()(x)))


def _inputs():
    rng = np.random.default_rng(0)
    return [rng.normal(size=(2, 5, 4)).astype(np.float32),
            rng.normal(size=(2, 3, 6)).astype(np.float32)]


@pytest.mark.parametrize("source", ["cornu", "keras"])
def test_attention_models_load_across_formats(source, tmp_path):
    lib = cornu if source == "cornu" else keras
    lib.utils.set_random_seed(1)
    model, x = attention_model(lib), _inputs()
    model.save(tmp_path / "m.keras")
    other = (keras.models.load_model if source == "cornu" else load_model)(tmp_path / "m.keras")
    for mine, theirs in zip(model.predict(x, verbose=0), other.predict(x, verbose=0),
                            strict=True):
        np.testing.assert_allclose(np.asarray(theirs), np.asarray(mine), **TOL)
    if source == "keras":  # the layer and its projections under Keras' names
        ours = other.get_layer("gated")
        assert ours.use_gate and ours.gate_dense is not None
        assert ours.query_dense.kernel.shape == (4, 3, 2)


def test_cornu_writes_keras_layout_and_call_arguments(tmp_path):
    import io
    import json
    import zipfile

    import h5py

    attention_model(cornu).save(tmp_path / "m.keras")
    with zipfile.ZipFile(tmp_path / "m.keras") as archive:
        config = json.loads(archive.read("config.json"))
        weights = archive.read("model.weights.h5")
    names: list[str] = []
    with h5py.File(io.BytesIO(weights)) as f:
        f.visit(names.append)
    group = "layers/multi_head_attention_2"
    for held in ("query_dense", "key_dense", "value_dense", "output_dense", "_gate_dense"):
        assert f"{group}/{held}/vars/0" in names
    assert f"{group}/_softmax/vars" in names and f"{group}/_dropout_layer/vars" in names
    cross = next(e for e in config["config"]["layers"] if e["name"] == "cross")
    node = cross["inbound_nodes"][0]
    assert node["kwargs"]["use_causal_mask"] is True
    assert [a["config"]["keras_history"][0] for a in node["args"]] == [
        "input_layer", "input_layer_1", "input_layer_1"]  # query, value, key
    assert set(cross["build_config"]["shapes_dict"]) == {"query_shape", "value_shape",
                                                         "key_shape"}


@pytest.mark.slow  # 10 s: Keras compiles fit twice
def test_training_continues_across_formats(tmp_path):
    """A transformer block trained with Adam in Keras goes on training in cornu as in
    Keras, and back: the optimizer's slots follow the projections' weights."""
    rng = np.random.default_rng(2)
    x = rng.normal(size=(8, 6, 8)).astype(np.float32)
    y = rng.normal(size=(8, 3)).astype(np.float32)
    keras.utils.set_random_seed(0)
    theirs = transformer_block(keras)
    theirs.compile(optimizer="adam", loss="mse")
    theirs.fit(x, y, epochs=2, batch_size=4, verbose=0)
    theirs.save(tmp_path / "k.keras")
    ours = load_model(tmp_path / "k.keras")
    for model in (theirs, ours):
        model.fit(x, y, epochs=1, batch_size=4, shuffle=False, verbose=0)
    np.testing.assert_allclose(ours.predict(x, verbose=0), theirs.predict(x, verbose=0),
                               **TOL)
    ours.save(tmp_path / "c.keras")
    theirs = keras.models.load_model(tmp_path / "c.keras")
    for model in (theirs, ours):
        model.fit(x, y, epochs=1, batch_size=4, shuffle=False, verbose=0)
    np.testing.assert_allclose(np.asarray(theirs.predict(x, verbose=0)),
                               ours.predict(x, verbose=0), **TOL)


def test_cornu_file_round_trip(tmp_path):
    model, x = attention_model(cornu), _inputs()
    model.save(tmp_path / "m.cornu")
    again = load_model(tmp_path / "m.cornu")
    for a, b in zip(model.predict(x, verbose=0), again.predict(x, verbose=0), strict=True):
        np.testing.assert_array_equal(a, b)


def recurrent_with_initial_state(lib):
    L = lib.layers
    a = lib.Input((5, 3))
    out, h, c = L.LSTM(4, return_sequences=True, return_state=True)(a)
    return lib.Model(a, L.LSTM(4)(out, initial_state=[h, c]))


@pytest.mark.parametrize("source", ["cornu", "keras"])
def test_keyword_tensor_arguments_load_across_formats(source, tmp_path):
    """LSTM(...)(x, initial_state=[h, c]) is written as Keras writes it (before, cornu
    wrote Keras 2's [x, h, c], which Keras 3 refuses, and refused Keras' form)."""
    lib = cornu if source == "cornu" else keras
    model = recurrent_with_initial_state(lib)
    x = _inputs()[0][:, :, :3]
    model.save(tmp_path / "m.keras")
    other = (keras.models.load_model if source == "cornu" else load_model)(tmp_path / "m.keras")
    np.testing.assert_allclose(np.asarray(other.predict(x, verbose=0)),
                               np.asarray(model.predict(x, verbose=0)), **TOL)
