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
    unregistered = type("LocalScale", (Scale,), {})
    model = model_with(unregistered)
    with pytest.raises(CornuFileError, match="LocalScale.*register_keras_serializable"):
        model.save(tmp_path / "m.cornu")
    model.save_weights(tmp_path / "m.weights.safetensors")  # weights need no class
    again = model_with(unregistered)
    again.load_weights(tmp_path / "m.weights.safetensors")
    for a, b in zip(again.get_weights(), model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(CornuFileError, match="LocalScale"):
        model.to_json()
