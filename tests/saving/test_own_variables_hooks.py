"""A layer's own saving hooks, as Keras' "customizing saving" guide writes them:
save_own_variables / load_own_variables (state that is not a weight) and
get_build_config / build_from_config (a build that takes more than the input shape), in
.keras files both ways with Keras 3, and through serialize / deserialize."""

from __future__ import annotations

import os

import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "jax")
keras = pytest.importorskip("keras")
pytest.importorskip("h5py")

import jax  # noqa: E402

import cornu  # noqa: E402


@pytest.fixture(autouse=True)
def _user_broadcasting():
    with jax.numpy_rank_promotion("allow"):
        yield


def _classes(lib):
    """The two layers of the guide, written against `lib` (cornu or keras)."""

    class ShiftedDense(lib.layers.Layer):
        def __init__(self, units, **kwargs):
            super().__init__(**kwargs)
            self.units = units
            self.shift = np.zeros((units,), "float32")

        def build(self, input_shape):
            self.kernel = self.add_weight(shape=(input_shape[-1], self.units), name="kernel")
            self.bias = self.add_weight(shape=(self.units,), initializer="ones", name="bias")

        def call(self, x):
            return lib.ops.matmul(x, self.kernel) + self.bias + self.shift

        def get_config(self):
            return {**super().get_config(), "units": self.units}

        def save_own_variables(self, store):
            super().save_own_variables(store)
            store["shift"] = self.shift

        def load_own_variables(self, store):
            self.shift = np.asarray(store["shift"])
            for i, v in enumerate(self.weights):
                v.assign(store[str(i)])

    class InitBuild(lib.layers.Layer):
        def __init__(self, units=4, **kwargs):
            super().__init__(**kwargs)
            self.units = units

        def build(self, input_shape, init):
            self.w = self.add_weight(shape=(input_shape[-1], self.units), initializer=init,
                                     name="w")
            self.init = init

        def call(self, x):
            return lib.ops.matmul(x, self.w)

        def get_config(self):
            return {**super().get_config(), "units": self.units}

        def get_build_config(self):
            return {"input_shape": [None, 3], "init": "ones"}

        def build_from_config(self, config):
            self.build(config["input_shape"], config["init"])

    reg = lib.saving.register_keras_serializable(package="hooks_test")
    return reg(ShiftedDense), reg(InitBuild)


def _model(lib):
    shifted, init_build = _classes(lib)
    layer = init_build(units=2)
    layer.build([None, 3], "ones")
    model = lib.Sequential([lib.Input(shape=(3,)), layer, shifted(2)])
    model.layers[-1].shift = np.array([0.5, -2.0], "float32")
    return model


X = np.arange(6, dtype="float32").reshape(2, 3) / 6


@pytest.mark.parametrize("source,target", [("cornu", "cornu"), ("cornu", "keras"),
                                           ("keras", "cornu")])
def test_hooks_round_trip_keras_files(source, target, tmp_path):
    src = cornu if source == "cornu" else keras
    dst = cornu if target == "cornu" else keras
    _classes(dst)  # registered where the file is loaded
    model = _model(src)
    expected = np.asarray(model(X))
    path = tmp_path / "m.keras"
    model.save(path)
    loaded = dst.models.load_model(path)
    np.testing.assert_allclose(np.asarray(loaded.layers[-1].shift), [0.5, -2.0])
    assert loaded.layers[0].init == "ones"  # built by build_from_config
    np.testing.assert_allclose(np.asarray(loaded(X)), expected, rtol=1e-6, atol=1e-6)


def test_weights_file_and_default_hooks(tmp_path):
    model = _model(cornu)
    model.save_weights(tmp_path / "m.weights.h5")
    other = _model(cornu)
    other.layers[-1].shift = np.zeros(2, "float32")
    other.set_weights([np.zeros_like(w) for w in other.get_weights()])
    other.load_weights(tmp_path / "m.weights.h5")
    np.testing.assert_allclose(np.asarray(other(X)), np.asarray(model(X)), rtol=1e-6)
    # the base Layer's hooks write and read the layer's variables by position
    dense = cornu.layers.Dense(2)
    dense.build((None, 3))
    store = {}
    dense.save_own_variables(store)
    assert sorted(store) == ["0", "1"]
    fresh = cornu.layers.Dense(2)
    fresh.build((None, 3))
    fresh.load_own_variables(store)
    np.testing.assert_array_equal(np.asarray(fresh.kernel), store["0"])
    with pytest.raises(ValueError, match="expected 2 variables"):
        fresh.load_own_variables({"0": store["0"]})
    assert dense.get_build_config() == {"input_shape": [None, 3]}


def test_serialize_rebuilds_with_build_from_config():
    _, init_build = _classes(cornu)
    layer = init_build(units=5)
    layer.build([None, 3], "ones")
    config = cornu.saving.serialize_keras_object(layer)
    assert config["build_config"] == {"input_shape": [None, 3], "init": "ones"}
    fresh = cornu.saving.deserialize_keras_object(config)
    assert fresh.built and tuple(fresh.w.shape) == (3, 5)
    np.testing.assert_array_equal(np.asarray(fresh.w), np.ones((3, 5)))


def test_hooks_round_trip_cornu_files(tmp_path):
    _classes(cornu)
    model = _model(cornu)
    expected = np.asarray(model(X))
    model.save(tmp_path / "m.cornu")
    loaded = cornu.models.load_model(tmp_path / "m.cornu")
    np.testing.assert_allclose(np.asarray(loaded.layers[-1].shift), [0.5, -2.0])
    assert loaded.layers[0].init == "ones"
    np.testing.assert_allclose(np.asarray(loaded(X)), expected, rtol=1e-6, atol=1e-6)
    # a model without such layers writes no extra member
    plain = cornu.Sequential([cornu.Input(shape=(3,)), cornu.layers.Dense(2)])
    plain.save(tmp_path / "p.cornu")
    import zipfile

    assert "own_variables.safetensors" not in zipfile.ZipFile(tmp_path / "p.cornu").namelist()
    assert "own_variables.safetensors" in zipfile.ZipFile(tmp_path / "m.cornu").namelist()
