"""Subclassed models (`class M(cornu.Model)` with layers made in `__init__` and a `call`)
saved as .keras and .cornu, as Keras 3 saves them: the config from get_config() (Keras'
automatic config when __init__ takes plain values), the class found on load only among
registered classes, custom_objects and custom_object_scope, the model built on its
recorded input shapes, and the weights at the paths of Keras' attribute walk. Compared
with Keras 3 (JAX backend) both ways."""

from __future__ import annotations

import io
import json
import os
import sys
import zipfile

import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "jax")
keras = pytest.importorskip("keras")
h5py = pytest.importorskip("h5py")

import jax  # noqa: E402

import cornu  # noqa: E402
from cornu.saving import CornuFileError  # noqa: E402

TOL = dict(rtol=1e-5, atol=1e-5)


@pytest.fixture(autouse=True)
def _user_broadcasting():
    with jax.numpy_rank_promotion("allow"):
        yield


def _classes(lib):
    """The same user code for Keras and for cornu: a layer holding layers and a weight of
    its own, and a model holding layers in a list, a dict, public and private
    attributes, a Sequential model inside; no get_config (Keras' automatic config)."""
    package = "subclassed"  # the same registered names in both libraries

    @lib.saving.register_keras_serializable(package=package)
    class Block(lib.layers.Layer):
        def __init__(self, units=4, **kwargs):
            super().__init__(**kwargs)
            self.units = units
            self.inner = lib.layers.Dense(units)
            self.norm = lib.layers.BatchNormalization()

        def build(self, input_shape):
            self.scale = self.add_weight(shape=(self.units,), initializer="ones",
                                         name="scale")

        def call(self, x, training=None):
            return self.norm(self.inner(x), training=training) * self.scale

    @lib.saving.register_keras_serializable(package=package)
    class Net(lib.Model):
        def __init__(self, sizes=(3, 2), **kwargs):
            super().__init__(**kwargs)
            self.sizes = sizes
            self.blocks = [Block(s) for s in sizes]
            self.heads = {"b": lib.layers.Dense(2), "a": lib.layers.Dense(2)}
            self.out = lib.layers.Dense(1)
            self.Zed = lib.layers.Dense(1)
            self._private = lib.layers.Dense(1)
            self.encoder = lib.Sequential([lib.layers.Dense(4), lib.layers.Dense(5)])

        def call(self, x, training=None):
            x = self.encoder(x)
            for block in self.blocks:
                x = block(x, training=training)
            x = self.heads["a"](x) + self.heads["b"](x)
            return self.out(x) + self.Zed(x) + self._private(x)

    @lib.saving.register_keras_serializable(package=package)
    class Mlp(lib.Model):  # no normalization: training continues to the same numbers
        def __init__(self, units=5, **kwargs):
            super().__init__(**kwargs)
            self.units = units
            self.hidden = lib.layers.Dense(units, activation="tanh")
            self.head = lib.layers.Dense(1)

        def call(self, x):
            return self.head(self.hidden(x))

    return Block, Net, Mlp


KBlock, KNet, KMlp = _classes(keras)
CBlock, CNet, CMlp = _classes(cornu)
X = np.random.default_rng(0).normal(size=(8, 5)).astype(np.float32)
Y = np.random.default_rng(1).normal(size=(8, 1)).astype(np.float32)


def _h5_tree(path):
    """{dataset path: shape} and {group path: name attribute} of a .keras file."""
    with zipfile.ZipFile(path) as z, h5py.File(io.BytesIO(z.read("model.weights.h5"))) as f:
        datasets, groups = {}, {}

        def visit(name, obj):
            if isinstance(obj, h5py.Dataset):
                datasets[name] = obj.shape
            elif "name" in obj.attrs:
                groups[name] = obj.attrs["name"]

        f.visititems(visit)
    return datasets, groups


def _config(path):
    with zipfile.ZipFile(path) as z:
        return json.loads(z.read("config.json"))


def test_keras_automatic_config_without_get_config():
    theirs, ours = KNet(sizes=(3, 2), name="n"), CNet(sizes=(3, 2), name="n")
    config = ours.get_config()
    expected = theirs.get_config()
    assert config == {k: v for k, v in expected.items() if k != "dtype"}
    assert list(config) == [k for k in expected if k != "dtype"]  # Keras' order
    again = CNet.from_config(config)
    assert again.sizes == (3, 2) and again.name == "n"


def test_no_automatic_config_for_objects_asks_for_get_config():
    class Holder(cornu.Model):
        def __init__(self, dense, **kwargs):
            super().__init__(**kwargs)
            self.dense = dense

        def call(self, x):
            return self.dense(x)

    class Star(cornu.layers.Layer):
        def __init__(self, *sizes, **kwargs):
            super().__init__(**kwargs)
            self.sizes = sizes

    with pytest.raises(NotImplementedError, match="Holder.*not plain values.*get_config"):
        Holder(cornu.layers.Dense(1)).get_config()
    with pytest.raises(NotImplementedError, match=r"Star.*\*args.*get_config"):
        Star(1, 2).get_config()
    assert Star().get_config()["name"].startswith("star")


def test_keras_file_of_a_subclassed_model_loads_in_cornu(tmp_path):
    theirs = KNet()
    theirs.compile(optimizer="adam", loss="mse")
    theirs.fit(X, Y, epochs=2, verbose=0)
    theirs.save(tmp_path / "k.keras")
    ours = cornu.models.load_model(tmp_path / "k.keras")
    assert type(ours) is CNet and ours.sizes == [3, 2]
    np.testing.assert_allclose(ours.predict(X, verbose=0), theirs.predict(X, verbose=0), **TOL)
    # cornu writes the same file layout back: Keras' attribute walk
    ours.save(tmp_path / "c.keras")
    (mine, my_groups), (keras_, keras_groups) = (_h5_tree(tmp_path / f"{n}.keras")
                                                 for n in "ck")
    assert mine == keras_ and set(my_groups) == set(keras_groups)  # names: counters differ
    mine, keras_ = _config(tmp_path / "c.keras"), _config(tmp_path / "k.keras")
    for key in ("class_name", "registered_name", "config"):
        assert mine[key] == keras_[key], key
    assert mine["build_config"]["input_shape"][1:] == keras_["build_config"]["input_shape"][1:]


def test_cornu_file_of_a_subclassed_model_loads_in_keras(tmp_path):
    ours = CNet()
    ours.compile(optimizer="adam", loss="mse")
    ours.fit(X, Y, epochs=2, verbose=0)
    ours.save(tmp_path / "c.keras")
    theirs = keras.models.load_model(tmp_path / "c.keras")
    assert type(theirs) is KNet
    np.testing.assert_allclose(theirs.predict(X, verbose=0), ours.predict(X, verbose=0), **TOL)
    # and the weights alone, in Keras' .weights.h5 layout
    ours.save_weights(tmp_path / "c.weights.h5")
    fresh = KNet()
    fresh(X[:1])
    fresh.load_weights(tmp_path / "c.weights.h5")
    np.testing.assert_allclose(fresh.predict(X, verbose=0), ours.predict(X, verbose=0), **TOL)


def test_training_continues_across_the_two_libraries(tmp_path):
    """The optimizer's variables travel in Keras' order (model.trainable_variables): one
    more step in Keras and in cornu after loading gives the same weights."""
    theirs = KMlp()
    theirs.compile(optimizer="adam", loss="mse")
    theirs.fit(X, Y, epochs=3, batch_size=8, verbose=0)
    theirs.save(tmp_path / "k.keras")
    ours = cornu.models.load_model(tmp_path / "k.keras")
    theirs.fit(X, Y, epochs=1, batch_size=8, verbose=0, shuffle=False)
    ours.fit(X, Y, epochs=1, batch_size=8, verbose=0, shuffle=False)
    for a, b in zip(ours.get_weights(), theirs.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, **TOL)
    ours.save(tmp_path / "c.keras")
    back = keras.models.load_model(tmp_path / "c.keras")
    back.fit(X, Y, epochs=1, batch_size=8, verbose=0, shuffle=False)
    ours.fit(X, Y, epochs=1, batch_size=8, verbose=0, shuffle=False)
    for a, b in zip(ours.get_weights(), back.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, **TOL)


def test_cornu_file_round_trip_and_the_class_found_only_by_name(tmp_path):
    class Local(cornu.Model):  # not registered: custom_objects or a scope names it
        def __init__(self, units=3, **kwargs):
            super().__init__(**kwargs)
            self.units = units
            self.dense = cornu.layers.Dense(units)

        def call(self, x):
            return self.dense(x)

    model = Local(units=2)
    model(X[:2])
    for name in ("m.cornu", "m.keras"):
        model.save(tmp_path / name)
        with pytest.raises(CornuFileError, match="'Local'.*custom_objects"):
            cornu.models.load_model(tmp_path / name)
        loaded = cornu.models.load_model(tmp_path / name, custom_objects={"Local": Local})
        assert type(loaded) is Local and loaded.units == 2
        np.testing.assert_allclose(loaded.predict(X, verbose=0), model.predict(X, verbose=0))
        with cornu.saving.custom_object_scope({"Local": Local}):
            assert type(cornu.models.load_model(tmp_path / name)) is Local


def test_a_file_never_chooses_code_to_import(tmp_path):
    model = CMlp()
    model(X[:2])
    model.save(tmp_path / "m.keras")
    module = "cornu_test_never_imported_pkg"
    with zipfile.ZipFile(tmp_path / "m.keras") as z:
        members = {n: z.read(n) for n in z.namelist()}
    config = json.loads(members["config.json"])
    config.update(module=module, class_name="Evil", registered_name="evil>Evil")
    members["config.json"] = json.dumps(config).encode()
    with zipfile.ZipFile(tmp_path / "evil.keras", "w") as z:
        for n, data in members.items():
            z.writestr(n, data)
    with pytest.raises(CornuFileError, match="'Evil'.*register_keras_serializable"):
        cornu.models.load_model(tmp_path / "evil.keras")
    assert module not in sys.modules


def test_a_layer_of_layers_in_a_functional_model_both_ways(tmp_path):
    def functional(lib, block):
        inputs = lib.Input((5,))
        return lib.Model(inputs, lib.layers.Dense(1)(block(3)(inputs)))

    ours = functional(cornu, CBlock)
    ours.save(tmp_path / "c.keras")
    theirs = keras.models.load_model(tmp_path / "c.keras")
    np.testing.assert_allclose(theirs.predict(X, verbose=0), ours.predict(X, verbose=0), **TOL)
    theirs = functional(keras, KBlock)
    theirs.save(tmp_path / "k.keras")
    ours = cornu.models.load_model(tmp_path / "k.keras")
    np.testing.assert_allclose(ours.predict(X, verbose=0), theirs.predict(X, verbose=0), **TOL)
    assert _h5_tree(tmp_path / "k.keras")[0] == _h5_tree(tmp_path / "c.keras")[0]


def test_a_model_whose_constructor_takes_nothing(tmp_path):
    """Keras' automatic config of `__init__(self)` still records trainable (and dtype),
    which such a constructor cannot take: from_config leaves them out, so the model
    saves and loads (Keras itself refuses to load that file)."""

    class Bare(cornu.Model):
        def __init__(self):
            super().__init__()
            self.dense = cornu.layers.Dense(2)

        def call(self, x):
            return self.dense(x)

    model = Bare()
    model(X[:1])
    assert model.get_config() == {"trainable": True}
    for name in ("b.cornu", "b.keras"):
        model.save(tmp_path / name)
        again = cornu.models.load_model(tmp_path / name, custom_objects={"Bare": Bare})
        np.testing.assert_allclose(again.predict(X, verbose=0), model.predict(X, verbose=0))
