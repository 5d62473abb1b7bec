"""Saving what users wrote: register_keras_serializable(package, name), custom_objects, and
refusals that name the class. The file never chooses code to import."""

import numpy as np
import pytest

import cornu
from cornu import layers, ops
from cornu.saving import CornuFileError


class Scale(layers.Layer):
    def __init__(self, factor=2.0, **kwargs):
        super().__init__(**kwargs)
        self.factor = factor

    def build(self, input_shape):
        self.w = self.add_weight(shape=(input_shape[-1],), initializer="ones", name="w")

    def call(self, inputs):
        return ops.multiply(inputs, ops.reshape(self.w, (1, -1))) * self.factor

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}


def model_with(layer_cls):
    model = cornu.Sequential([cornu.Input((3,)), layers.Dense(3), layer_cls(factor=0.5)])
    model.compile(optimizer="adam", loss="mse")
    model.fit(np.ones((8, 3), np.float32), np.ones((8, 3), np.float32), epochs=1, verbose=0)
    return model


def test_registered_with_a_package_round_trips(tmp_path):
    registered = cornu.saving.register_keras_serializable(package="my_pkg")(
        type("PkgScale", (Scale,), {}))
    model = model_with(registered)
    model.save(tmp_path / "m.cornu")
    import zipfile

    with zipfile.ZipFile(tmp_path / "m.cornu") as archive:
        assert '"my_pkg>PkgScale"' in archive.read("config.json").decode()
    loaded = cornu.saving.load_model(tmp_path / "m.cornu")
    assert type(loaded.layers[1]) is registered and loaded.layers[1].factor == 0.5
    other = type("Other", (Scale,), {})  # custom_objects by the class name wins
    assert type(cornu.saving.load_model(tmp_path / "m.cornu",
                                        custom_objects={"PkgScale": other}).layers[1]) is other
    x = np.random.default_rng(0).normal(size=(4, 3)).astype(np.float32)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


def test_custom_objects_by_class_name_and_refusal_naming_the_class(tmp_path):
    """As Keras: an unregistered layer is saved by name; loading it needs custom_objects."""
    unregistered = type("LocalScale", (Scale,), {})
    model = model_with(unregistered)
    model.save(tmp_path / "m.cornu")
    with pytest.raises(CornuFileError, match="LocalScale.*custom_objects.*"
                                             "register_keras_serializable"):
        cornu.saving.load_model(tmp_path / "m.cornu")
    loaded = cornu.saving.load_model(tmp_path / "m.cornu",
                                     custom_objects={"LocalScale": unregistered})
    x = np.random.default_rng(0).normal(size=(4, 3)).astype(np.float32)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    model.save_weights(tmp_path / "m.weights.safetensors")  # weights need no class
    again = model_with(unregistered)
    again.load_weights(tmp_path / "m.weights.safetensors")
    for a, b in zip(again.get_weights(), model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(CornuFileError, match="LocalScale"):
        cornu.models.model_from_json(model.to_json())
    assert type(cornu.models.model_from_json(
        model.to_json(), custom_objects={"LocalScale": unregistered}).layers[1]) is unregistered


@cornu.saving.register_keras_serializable(package="tests")
class ScaledSquares(cornu.losses.Loss):
    def __init__(self, k=2.0, **kwargs):
        super().__init__(**kwargs)
        self.k = k

    def call(self, y_true, y_pred):
        return self.k * ops.mean(ops.square(y_true - y_pred), axis=-1)

    def get_config(self):
        return {**super().get_config(), "k": self.k}


def own_mae(y_true, y_pred):
    return ops.mean(ops.abs(y_true - y_pred), axis=-1)


@pytest.mark.parametrize("loss, custom", [
    (ScaledSquares(3.0), None),
    (own_mae, {"own_mae": own_mae}),
    (cornu.losses.Huber(delta=0.5, name="hub"), None),
    ("mse", None),
])
def test_compiled_losses_of_any_kind_save_and_load(tmp_path, loss, custom):
    rng = np.random.default_rng(0)
    x, y = rng.random((16, 4), np.float32), rng.random((16, 1), np.float32)
    model = cornu.Sequential([cornu.Input((4,)), layers.Dense(1)])
    model.compile("adam", loss)
    path = tmp_path / "m.cornu"
    model.save(path)
    loaded = cornu.models.load_model(path, custom_objects=custom)
    assert type(loaded.loss) is type(cornu.losses.get(loss))
    assert loaded.loss.name == cornu.losses.get(loss).name
    assert getattr(loaded.loss, "k", None) == getattr(loss, "k", None)
    np.testing.assert_allclose(loaded.evaluate(x, y, verbose=0), model.evaluate(x, y, verbose=0),
                               rtol=1e-6)


def test_a_saved_function_loss_not_passed_is_refused_by_name(tmp_path):
    model = cornu.Sequential([cornu.Input((4,)), layers.Dense(1)])
    model.compile("adam", own_mae)
    model.save(tmp_path / "m.cornu")
    with pytest.raises(CornuFileError, match="own_mae.*custom_objects"):
        cornu.models.load_model(tmp_path / "m.cornu")
    assert cornu.models.load_model(tmp_path / "m.cornu", compile=False).optimizer is None
