"""What Keras' "Serialization & saving" guide does with custom code, on cornu: subclassed
models and unregistered layers saved whole, user activation functions saved by name,
custom_object_scope, serialize/deserialize_keras_object and the registry's names. Every
load of a user's class or function goes through registration or custom_objects; every
refusal names the class or function and both fixes."""

from __future__ import annotations

import json
import zipfile

import jax
import numpy as np
import pytest

import cornu
from cornu import layers, ops
from cornu.saving import CornuFileError, load_model

X = np.random.default_rng(0).normal(size=(16, 6)).astype(np.float32)
Y = np.random.default_rng(1).normal(size=(16, 1)).astype(np.float32)
FIXES = "custom_objects.*register_keras_serializable"


@pytest.fixture(autouse=True)
def _user_broadcasting():
    """User code broadcasts as NumPy does (the suite is strict for cornu's own code)."""
    with jax.numpy_rank_promotion("allow"):
        yield


def config_of(path):
    with zipfile.ZipFile(path) as archive:
        return json.loads(archive.read("config.json"))


def edited(path, out, edit):
    """A copy of the file at `path`, its config.json changed by `edit`."""
    from saving_helpers import members, rewrite

    config = edit(json.loads(members(path)["config.json"]))
    rewrite(path, out, {"config.json": json.dumps(config).encode()})
    return out


def same_predictions(a, b, x=X):
    np.testing.assert_allclose(a.predict(x, verbose=0), b.predict(x, verbose=0),
                               rtol=1e-6, atol=1e-6)


@cornu.saving.register_keras_serializable(package="ser_tests", name="square")
def square(x):
    return x ** 2


def halve(x):  # not registered
    return x * 0.5


class MyDense(layers.Layer):
    def __init__(self, units=4, **kwargs):
        super().__init__(**kwargs)
        self.units = units

    def build(self, input_shape):
        self.w = self.add_weight(shape=(input_shape[-1], self.units),
                                 initializer="random_normal", name="w")
        self.b = self.add_weight(shape=(self.units,), initializer="zeros", name="b")

    def call(self, inputs):
        return ops.matmul(inputs, self.w) + self.b

    def get_config(self):
        return {**super().get_config(), "units": self.units}


class Stack(cornu.Model):
    """A subclassed model: get_config/from_config as in the Keras guide."""

    def __init__(self, hidden_units, **kwargs):
        super().__init__(**kwargs)
        self.hidden_units = list(hidden_units)
        self.dense_layers = [MyDense(u) for u in hidden_units]

    def call(self, inputs):
        x = inputs
        for layer in self.dense_layers:
            x = layer(x)
        return x

    def get_config(self):
        return {"hidden_units": self.hidden_units}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


RegisteredStack = cornu.saving.register_keras_serializable(package="ser_tests")(
    type("RegisteredStack", (Stack,), {}))
cornu.saving.register_keras_serializable(package="ser_tests")(MyDense)


# ------------------------------------------------------------------ subclassed models


def test_registered_subclassed_model_round_trips_with_its_training_state(tmp_path):
    model = RegisteredStack([8, 1])
    model.compile(optimizer="adam", loss="mse")
    model.fit(X, Y, epochs=2, batch_size=8, verbose=0)
    path = tmp_path / "sub.cornu"
    model.save(path)
    entry = config_of(path)["model"]
    assert entry["class_name"] == "RegisteredStack"
    assert entry["registered_name"] == "ser_tests>RegisteredStack"
    assert entry["module"] == __name__
    assert entry["config"] == {"hidden_units": [8, 1]}
    assert entry["build_config"] == {"input_shape": [None, 6]}
    loaded = load_model(path)
    assert type(loaded) is RegisteredStack and loaded.hidden_units == [8, 1]
    same_predictions(model, loaded)
    for a, b in zip(model.get_weights(), loaded.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    assert int(loaded.optimizer.iterations) == int(model.optimizer.iterations) == 4
    for m in (model, loaded):  # training continues the same way
        cornu.utils.set_random_seed(3)
        m.fit(X, Y, epochs=1, batch_size=8, shuffle=False, verbose=0)
    same_predictions(model, loaded)


def test_subclassed_model_built_by_a_call_on_arrays(tmp_path):
    model = RegisteredStack([3])
    model(X[:2])  # built by calling it: the batch size is not part of the saved shape
    model.save(tmp_path / "m.cornu")
    assert config_of(tmp_path / "m.cornu")["model"]["build_config"]["input_shape"] == [None, 6]
    same_predictions(model, load_model(tmp_path / "m.cornu", compile=False))


def test_unregistered_subclassed_model_needs_custom_objects(tmp_path):
    model = Stack([5, 2])
    model(X[:1])
    path = tmp_path / "m.cornu"
    model.save(path)
    entry = config_of(path)["model"]
    assert (entry["class_name"], entry["registered_name"]) == ("Stack", "Stack")
    with pytest.raises(CornuFileError, match=f"unknown model class 'Stack'.*{FIXES}"):
        load_model(path)
    same_predictions(model, load_model(path, custom_objects={"Stack": Stack}))
    with cornu.saving.custom_object_scope({"Stack": Stack}):
        same_predictions(model, load_model(path))
    with pytest.raises(CornuFileError, match="Stack"):  # the scope has ended
        load_model(path)


def test_a_file_cannot_make_a_model_of_a_layer_class(tmp_path):
    model = Stack([2])
    model(X[:1])
    path = tmp_path / "m.cornu"
    model.save(path)
    with pytest.raises(CornuFileError, match="unknown model class 'Stack'"):
        load_model(path, custom_objects={"Stack": MyDense})


@pytest.mark.parametrize("shape", [[None, -1], "6", [[None, 6]] * 2000, {"a": True}])
def test_bad_build_config_is_refused(tmp_path, shape):
    model = RegisteredStack([2])
    model(X[:1])
    path = tmp_path / "m.cornu"
    model.save(path)

    def edit(config):
        config["model"]["build_config"]["input_shape"] = shape
        return config

    with pytest.raises(CornuFileError, match="input_shape"):
        load_model(edited(path, tmp_path / "bad.cornu", edit))


def test_subclassed_model_whose_config_does_not_rebuild_it_is_refused_at_save(tmp_path):
    class Forgetful(Stack):
        def get_config(self):
            return {"hidden_units": [1]}

    model = Forgetful([4, 3])
    model(X[:1])
    with pytest.raises(CornuFileError, match="does not rebuild"):
        model.save(tmp_path / "m.cornu")
    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------------------ unregistered custom layers


class Plus1(layers.Layer):
    def call(self, x):
        return x + 1.0


def test_unregistered_layer_in_a_functional_model(tmp_path):
    inputs = cornu.Input((6,))
    model = cornu.Model(inputs, Plus1()(layers.Dense(2)(inputs)))
    path = tmp_path / "f.cornu"
    model.save(path)
    with pytest.raises(CornuFileError, match=f"'Plus1'.*{FIXES}"):
        load_model(path)
    same_predictions(model, load_model(path, custom_objects={"Plus1": Plus1}))
    with cornu.utils.custom_object_scope({"Plus1": Plus1}):
        same_predictions(model, load_model(path))


def test_a_custom_class_named_like_a_builtin_is_not_taken_for_it(tmp_path):
    class Dense(layers.Dense):  # noqa: N801 - a user's class with a built-in's name
        def call(self, x):
            return super().call(x) * 2.0

    model = cornu.Sequential([cornu.Input((6,)), Dense(2)])
    path = tmp_path / "m.cornu"
    model.save(path)
    with pytest.raises(CornuFileError, match=f"'Dense' \\(module '{__name__}'\\).*{FIXES}"):
        load_model(path)
    loaded = load_model(path, custom_objects={"Dense": Dense})
    assert type(loaded.layers[0]) is Dense
    same_predictions(model, loaded)


def test_get_custom_objects_is_the_live_registry(tmp_path):
    class Plus2(layers.Layer):
        def call(self, x):
            return x + 2.0

    model = cornu.Sequential([cornu.Input((6,)), Plus2()])
    model.save(tmp_path / "m.cornu")
    objects = cornu.saving.get_custom_objects()
    assert objects is cornu.utils.get_custom_objects()
    assert objects["ser_tests>square"] is square
    objects["Plus2"] = Plus2
    try:
        same_predictions(model, load_model(tmp_path / "m.cornu"))
    finally:
        del objects["Plus2"]
    with pytest.raises(CornuFileError, match="Plus2"):
        load_model(tmp_path / "m.cornu")


# ------------------------------------------------------------- activation functions


def test_registered_activation_functions_round_trip(tmp_path):
    inputs = cornu.Input((6,))
    h = layers.Dense(4, activation=square)(inputs)
    outputs = layers.Activation(square)(layers.Dense(1)(h))
    model = cornu.Model(inputs, outputs)
    path = tmp_path / "m.cornu"
    model.save(path)
    saved = config_of(path)["model"]["config"]["layers"]
    keras_form = {"module": "builtins", "class_name": "function",
                  "config": "ser_tests>square", "registered_name": "function"}
    assert [e["config"]["activation"] for e in saved if "activation" in e["config"]] == [
        keras_form, "linear", keras_form]
    loaded = load_model(path)
    assert [layer.activation for layer in loaded.layers if hasattr(layer, "activation")] == [
        square, cornu.activations.linear, square]
    same_predictions(model, loaded)


def test_unregistered_activation_function_needs_custom_objects(tmp_path):
    model = cornu.Sequential([cornu.Input((6,)), layers.Dense(3, activation=halve),
                              layers.Activation(halve)])
    path = tmp_path / "m.cornu"
    model.save(path)
    with pytest.raises(CornuFileError, match=f"'halve'.*{FIXES}"):
        load_model(path)
    loaded = load_model(path, custom_objects={"halve": halve})
    assert loaded.layers[1].activation is halve
    same_predictions(model, loaded)
    with cornu.saving.custom_object_scope({"halve": halve}):
        same_predictions(model, load_model(path))


def test_a_lambda_activation_is_refused_at_save_naming_the_fix(tmp_path):
    model = cornu.Sequential([cornu.Input((6,)), layers.Activation(lambda x: x * 3.0)])
    with pytest.raises(ValueError, match="named functions.*register_keras_serializable"):
        model.save(tmp_path / "m.cornu")
    assert list(tmp_path.iterdir()) == []


def test_a_file_activation_name_never_reaches_other_code(tmp_path):
    model = cornu.Sequential([cornu.Input((6,)), layers.Activation(halve)])
    path = tmp_path / "m.cornu"
    model.save(path)
    for name in ("os.system", "builtins>eval", "print"):
        def edit(config, name=name):
            config["model"]["config"]["layers"][0]["config"]["activation"]["config"] = name
            return config

        with pytest.raises(CornuFileError, match=f"Unknown activation function '{name}'"):
            load_model(edited(path, tmp_path / "bad.cornu", edit))


# ------------------------------------------------------------------ the Keras names


def test_registered_names_as_keras():
    assert cornu.saving.get_registered_name(MyDense) == "ser_tests>MyDense"
    assert cornu.saving.get_registered_name(square) == "ser_tests>square"
    assert cornu.saving.get_registered_name(halve) == "halve"  # Keras: the __name__
    assert cornu.saving.get_registered_object("ser_tests>MyDense") is MyDense
    assert cornu.saving.get_registered_object("halve") is None
    assert cornu.saving.get_registered_object("halve", {"halve": halve}) is halve
    with cornu.saving.custom_object_scope({"halve": halve}):
        assert cornu.saving.get_registered_object("halve") is halve
        with cornu.utils.custom_object_scope({"Plus1": Plus1}):  # nested scopes add up
            assert cornu.saving.get_registered_object("halve") is halve
            assert cornu.utils.get_registered_object("Plus1") is Plus1
    assert cornu.saving.get_registered_object("halve") is None
    assert cornu.saving.CustomObjectScope is cornu.saving.custom_object_scope


def test_serialize_and_deserialize_layers_and_functions():
    config = cornu.saving.serialize_keras_object(MyDense(3))
    assert (config["module"], config["class_name"], config["registered_name"]) == (
        __name__, "MyDense", "ser_tests>MyDense")
    made = cornu.saving.deserialize_keras_object(config)
    assert type(made) is MyDense and made.units == 3
    dense = cornu.saving.serialize_keras_object(layers.Dense(2, activation="relu"))
    assert (dense["module"], dense["class_name"], dense["registered_name"]) == (
        "keras.layers", "Dense", None)
    assert cornu.saving.deserialize_keras_object(dense).units == 2
    fn = cornu.saving.serialize_keras_object(square)
    assert fn["config"] == "ser_tests>square"
    assert cornu.saving.deserialize_keras_object(fn) is square
    relu = cornu.saving.serialize_keras_object(cornu.activations.relu)
    assert cornu.saving.deserialize_keras_object(relu) is cornu.activations.relu
    plus = cornu.saving.serialize_keras_object(Plus1())
    with pytest.raises(ValueError, match=f"'Plus1'.*{FIXES}"):
        cornu.saving.deserialize_keras_object(plus)
    assert type(cornu.saving.deserialize_keras_object(
        plus, custom_objects={"Plus1": Plus1})) is Plus1
    with cornu.saving.custom_object_scope({"Plus1": Plus1}):
        assert type(cornu.saving.deserialize_keras_object(plus)) is Plus1
    with pytest.raises(ValueError, match="'halve'.*custom_objects"):
        cornu.saving.deserialize_keras_object(cornu.saving.serialize_keras_object(halve))


def test_serialize_and_deserialize_losses_metrics_optimizers_models():
    loss = cornu.saving.deserialize_keras_object(
        cornu.saving.serialize_keras_object(cornu.losses.Huber(delta=2.0)))
    assert isinstance(loss, cornu.losses.Huber) and loss.get_config()["delta"] == 2.0
    opt = cornu.saving.deserialize_keras_object(
        cornu.saving.serialize_keras_object(cornu.optimizers.Adam(learning_rate=0.01)))
    assert isinstance(opt, cornu.optimizers.Adam)
    assert opt.get_config()["learning_rate"] == pytest.approx(0.01)
    metric = cornu.saving.deserialize_keras_object(
        cornu.saving.serialize_keras_object(cornu.metrics.MeanAbsoluteError()))
    assert isinstance(metric, cornu.metrics.MeanAbsoluteError)
    model = cornu.Sequential([cornu.Input((6,)), layers.Dense(2)])
    again = cornu.saving.deserialize_keras_object(cornu.saving.serialize_keras_object(model))
    assert again.count_params() == model.count_params()
    sub = RegisteredStack([2])
    sub(X[:1])
    rebuilt = cornu.saving.deserialize_keras_object(cornu.saving.serialize_keras_object(sub))
    assert type(rebuilt) is RegisteredStack and rebuilt.count_params() == sub.count_params()


def test_deserialize_refuses_what_it_cannot_make_safely():
    with pytest.raises(ValueError, match="safe_mode"):
        cornu.saving.deserialize_keras_object({"class_name": "Dense", "config": {}},
                                              safe_mode=False)
    lam = {"class_name": "__lambda__", "config": {"value": "x"}}
    with pytest.raises(ValueError, match="__lambda__"):
        cornu.saving.deserialize_keras_object(lam)
    with pytest.raises(ValueError, match="'system' \\(module 'os'\\)"):
        cornu.saving.deserialize_keras_object(
            {"module": "os", "class_name": "system", "config": {}, "registered_name": None})
    evil = {"module": "evil", "class_name": "Dense", "config": {"units": 1},
            "registered_name": "Dense"}
    with pytest.raises(ValueError, match="'Dense' \\(module 'evil'\\)"):
        cornu.saving.deserialize_keras_object(evil)


def test_subclassed_model_to_json_and_back():
    model = Stack([3, 2])
    model(X[:1])
    text = model.to_json()
    assert json.loads(text)["build_config"] == {"input_shape": [None, 6]}
    with pytest.raises(CornuFileError, match=f"unknown model class 'Stack'.*{FIXES}"):
        cornu.models.model_from_json(text)
    again = cornu.models.model_from_json(text, custom_objects={"Stack": Stack})
    assert type(again) is Stack and again.count_params() == model.count_params()


def test_subclassed_model_without_get_config_is_refused_at_save(tmp_path):
    class NoConfig(cornu.Model):
        def __init__(self, dense, **kwargs):
            super().__init__(**kwargs)
            self.dense = dense

        def call(self, x):
            return self.dense(x)

    model = NoConfig(layers.Dense(2))  # not a plain value: Keras makes no config either
    model(X[:1])
    with pytest.raises(CornuFileError, match="NoConfig.*get_config"):
        model.save(tmp_path / "m.cornu")
    assert list(tmp_path.iterdir()) == []
