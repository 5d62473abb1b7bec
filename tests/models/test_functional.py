"""The functional API: graphs with branches and merges, several inputs and outputs,
Keras' layer order and summary, config round trip, and the errors that name the layer."""

import jax
import numpy as np
import pytest

import cornu
from cornu.layers import (
    Activation,
    Add,
    BatchNormalization,
    Concatenate,
    Dense,
    Dropout,
    Input,
    InputLayer,
)
from cornu.models.functional import Functional


def two_input_two_output():
    """Keras 3 lists this model's layers as
    input_layer, aux, dense, dense_2, concatenate, dense_1, dense_3 (checked with Keras)."""
    a = Input((8,))
    b = Input((4,), name="aux")
    x = Dense(16, activation="relu")(a)
    y1 = Dense(3)(x)
    z = Dense(16)(b)
    c = Concatenate()([x, z])
    y2 = Dense(1, activation="sigmoid")(c)
    return cornu.Model([a, b], [y1, y2])


def test_model_dispatches_to_functional_with_keras_layer_order():
    model = two_input_two_output()
    assert isinstance(model, Functional) and isinstance(model, cornu.Model)
    assert [layer.name for layer in model.layers] == [
        "input_layer", "aux", "dense", "dense_2", "concatenate", "dense_1", "dense_3"]
    assert isinstance(model.layers[0], InputLayer)
    assert model.name == "functional"
    assert model.input_shape == [(None, 8), (None, 4)]
    assert model.output_shape == [(None, 3), (None, 1)]
    assert model.output_names == ["dense_1", "dense_3"]
    assert model.input_names == ["input_layer", "aux"]
    assert model.get_layer("concatenate").output_shape == (None, 32)


def test_summary_counts_by_hand(capsys):
    model = two_input_two_output()
    model.summary()
    text = capsys.readouterr().out
    rows = {"input_layer (InputLayer)": ("(None, 8)", "0"), "aux (InputLayer)": ("(None, 4)", "0"),
            "dense (Dense)": ("(None, 16)", "144"), "dense_2 (Dense)": ("(None, 16)", "80"),
            "concatenate (Concatenate)": ("(None, 32)", "0"),
            "dense_1 (Dense)": ("(None, 3)", "51"), "dense_3 (Dense)": ("(None, 1)", "33")}
    for name, (shape, count) in rows.items():
        line = next(line for line in text.splitlines() if line.startswith(name))
        assert shape in line and line.endswith(" " + count), line
    # 8*16+16 + 4*16+16 + 16*3+3 + 32*1+1
    assert "Total params: 308" in text and model.count_params() == 308


def test_forward_matches_numpy_and_gives_logits_per_output():
    model = two_input_two_output()
    xa = np.random.default_rng(0).normal(size=(5, 8)).astype(np.float32)
    xb = np.random.default_rng(1).normal(size=(5, 4)).astype(np.float32)
    k0, b0, k2, b2, k1, b1, k3, b3 = model.get_weights()  # in model.layers order
    h = np.maximum(xa @ k0 + b0, 0)
    want1 = h @ k1 + b1
    z3 = np.concatenate([h, xb @ k2 + b2], axis=1) @ k3 + b3
    out, logits, _, _ = model._forward(model._params, model._state, [xa, xb], training=False,
                                    rng=None, logits=True)
    np.testing.assert_allclose(out[0], want1, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(out[1], 1 / (1 + np.exp(-z3)), rtol=1e-5, atol=1e-6)
    assert logits[0] is None
    np.testing.assert_allclose(logits[1][0], z3, rtol=1e-5, atol=1e-5)
    assert logits[1][1] == "sigmoid"
    out, logits, _, _ = model._forward(model._params, model._state, [xa, xb], training=False,
                                    rng=None, logits=False)
    assert logits is None and len(out) == 2


def residual_classifier():
    inputs = Input((10,))
    h = Dense(32, activation="relu")(inputs)
    branch = Dense(32, activation="relu")(Dropout(0.2)(h))
    merged = BatchNormalization()(Add()([h, branch]))
    outputs = Dense(3, activation="softmax")(merged)
    return cornu.Model(inputs=inputs, outputs=outputs, name="residual")


def blobs(n=300, seed=0):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 3, n)
    centers = rng.normal(0, 3, size=(3, 10))
    x = centers[labels] + rng.normal(size=(n, 10))
    return x.astype(np.float32), labels


def test_single_output_branch_model_trains_end_to_end():
    cornu.utils.set_random_seed(0)
    model = residual_classifier()
    assert [type(layer).__name__ for layer in model.layers] == [
        "InputLayer", "Dense", "Dropout", "Dense", "Add", "BatchNormalization", "Dense"]
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    x, y = blobs()
    history = model.fit(x, y, batch_size=32, epochs=10, verbose=0, validation_split=0.2)
    assert history.history["loss"][-1] < history.history["loss"][0]
    loss, accuracy = model.evaluate(x, y, verbose=0)
    assert accuracy > 0.9
    np.testing.assert_allclose(model.predict(x, verbose=0), np.asarray(model(x)), rtol=1e-5,
                               atol=1e-6)
    moving_mean = model.get_weights()[-4]
    assert np.abs(moving_mean).max() > 0  # BatchNormalization's statistics were updated


def test_functional_equals_sequential_with_the_same_weights():
    cornu.utils.set_random_seed(0)
    seq = cornu.Sequential([Input((6,)), Dense(4, activation="tanh"), Dense(2),
                            Activation("softmax")])
    inputs = Input((6,))
    out = Activation("softmax")(Dense(2)(Dense(4, activation="tanh")(inputs)))
    fun = cornu.Model(inputs, out)
    fun.set_weights(seq.get_weights())
    x = np.random.default_rng(0).normal(size=(7, 6)).astype(np.float32)
    np.testing.assert_allclose(fun.predict(x, verbose=0), seq.predict(x, verbose=0), rtol=1e-6)


def test_config_round_trip_rebuilds_the_same_graph():
    model = two_input_two_output()
    config = model.get_config()
    assert config["inputs"] == ["input_layer", "aux"]
    assert config["outputs"] == ["dense_1", "dense_3"]
    assert config["layers"][4] == {"class_name": "Concatenate",
                                   "config": {"name": "concatenate", "trainable": True,
                                              "axis": -1},
                                   "inbound": ["dense", "dense_2"]}
    again = Functional.from_config(config)
    assert again.get_config() == config
    again.set_weights(model.get_weights())
    xs = [np.ones((2, 8), np.float32), np.ones((2, 4), np.float32)]
    for a, b in zip(model._forward(model._params, model._state, xs, training=False, rng=None,
                                   logits=False)[0],
                    again._forward(again._params, again._state, xs, training=False, rng=None,
                                   logits=False)[0], strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6)
    config["layers"][4]["class_name"] = "Evil"
    with pytest.raises(ValueError, match="unknown layer class 'Evil'"):
        Functional.from_config(config)


def test_input_not_connected_is_named():
    a, b = Input((4,)), Input((4,), name="extra")
    out = Dense(2, name="head")(a)
    with pytest.raises(ValueError, match=r"Input 'extra' is not connected to the model's "
                                         r"outputs \['head'\]"):
        cornu.Model([a, b], out)
    c = Input((4,), name="forgotten")
    merged = Dense(1, name="joined")(Concatenate()([a, c]))
    with pytest.raises(ValueError, match=r"Graph disconnected: layer 'concatenate' needs input "
                                         r"'forgotten', which is not among the model's inputs "
                                         r"\['input_layer'\]"):
        cornu.Model(a, merged)


def test_other_bad_graphs():
    a = Input((4,))
    dense = Dense(2, name="shared")
    first, second = dense(a), dense(a)  # a second call shares the weights (a second node)
    assert second._keras_history == (dense, 1, 0) and len(dense.weights) == 2
    assert cornu.Model(a, [first, second]).count_params() == 10
    with pytest.raises(TypeError, match="outputs must be symbolic tensors"):
        cornu.Model(a, "dense")
    h = Dense(3)(a)
    with pytest.raises(ValueError, match=r"inputs must be tensors made by cornu.Input.*"
                                         r"layer 'dense'"):
        cornu.Model(h, Dense(1)(h))
    b = Input((4,))
    with pytest.raises(ValueError, match='The name "twin" is used 2 times'):
        cornu.Model([a, b], Add()([Dense(2, name="twin")(a), Dense(2, name="twin")(b)]))


def test_two_outputs_with_per_output_losses_and_metrics_train_end_to_end():
    """The Keras API for several inputs and outputs (compile/fit/evaluate in model.py)."""
    cornu.utils.set_random_seed(0)
    a, b = Input((10,)), Input((4,), name="aux")
    h = Dense(32, activation="relu")(a)
    branch = Dense(32, activation="relu")(h)
    trunk = Add()([h, branch])
    cls = Dense(3, activation="softmax", name="cls")(Concatenate()([trunk, Dense(8)(b)]))
    reg = Dense(1, name="reg")(h)
    model = cornu.Model([a, b], [cls, reg])
    model.compile(optimizer="adam",
                  loss={"cls": "sparse_categorical_crossentropy", "reg": "mse"},
                  metrics={"cls": ["accuracy"], "reg": ["mae"]})
    x, labels = blobs(400)
    aux = np.random.default_rng(1).normal(size=(400, 4)).astype(np.float32)
    target = x[:, :1] * 0.5 + 1.0
    history = model.fit([x, aux], {"cls": labels, "reg": target}, batch_size=32, epochs=8,
                        verbose=0, validation_split=0.25)
    logs = history.history
    assert {"loss", "cls_loss", "reg_loss", "cls_accuracy", "reg_mae", "val_loss",
            "val_cls_accuracy"} <= set(logs)
    assert logs["loss"][-1] < logs["loss"][0] and logs["reg_loss"][-1] < logs["reg_loss"][0]
    result = model.evaluate([x, aux], [labels, target], verbose=0, return_dict=True)
    assert result["cls_accuracy"] > 0.9 and result["reg_loss"] < logs["reg_loss"][0]
    probabilities, values = model.predict([x, aux], verbose=0)
    assert probabilities.shape == (400, 3) and values.shape == (400, 1)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)


def test_forward_rejects_the_wrong_number_of_inputs():
    model = two_input_two_output()
    with pytest.raises(ValueError, match=r"has 2 inputs \['input_layer', 'aux'\]; received 1"):
        model._forward(model._params, model._state, np.ones((1, 8)), training=False,
                       rng=jax.random.PRNGKey(0), logits=False)


def test_summary_expand_nested_lists_the_layers_of_nested_models():
    inner = cornu.Sequential([cornu.Input(shape=(8,)), Dense(4, name="inner_dense")],
                             name="inner")
    inputs = cornu.Input(shape=(8,), name="features")
    outer = cornu.Model(inputs, Dense(1, name="head")(inner(inputs)), name="outer")
    lines = []
    outer.summary(print_fn=lines.append)
    assert "inner (Sequential)" in lines[0] and "inner_dense" not in lines[0]
    outer.summary(print_fn=lines.append, expand_nested=True)
    assert "  inner_dense (Dense)" in lines[1]
    assert lines[1].index("inner (Sequential)") < lines[1].index("inner_dense") < \
        lines[1].index("head (Dense)")
    assert "Total params: 41" in lines[1]
