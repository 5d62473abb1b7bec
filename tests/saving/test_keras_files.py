"""Keras 3 files in and out: cornu's .keras and .weights.h5 files load in Keras 3 (JAX
backend) and predict the same; Keras' load in cornu and predict the same; hostile files
are refused with a CornuFileError naming the problem."""

from __future__ import annotations

import io
import json
import os
import zipfile

import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "jax")
keras = pytest.importorskip("keras")
h5py = pytest.importorskip("h5py")

import jax  # noqa: E402

import cornu  # noqa: E402
from cornu.callbacks import ModelCheckpoint  # noqa: E402
from cornu.saving import CornuFileError, limits, load_model  # noqa: E402

TOL = dict(rtol=1e-5, atol=1e-5)


@pytest.fixture(autouse=True)
def _user_broadcasting():
    """Keras' own code broadcasts as NumPy does (the suite is strict for cornu's code)."""
    with jax.numpy_rank_promotion("allow"):
        yield


def _rng():
    return np.random.default_rng(0)


# the four models, each as lib -> (model, x); lib is cornu or keras


def lecture(lib):
    model = lib.Sequential([lib.Input((20,)), lib.layers.Dense(32, activation="sigmoid"),
                            lib.layers.Dense(32, activation="sigmoid"),
                            lib.layers.Dense(10, activation="softmax")])
    return model, _rng().normal(size=(8, 20)).astype(np.float32)


def convnet(lib):
    L = lib.layers
    model = lib.Sequential([lib.Input((8, 8, 1)), L.Conv2D(4, 3, activation="relu"),
                            L.BatchNormalization(), L.MaxPooling2D(), L.Flatten(),
                            L.Dropout(0.5), L.Dense(3, activation="softmax")])
    return model, _rng().normal(size=(6, 8, 8, 1)).astype(np.float32)


def branches(lib):
    L = lib.layers
    inputs = lib.Input((6,), name="x")
    a = L.Dense(4, activation="relu", name="a")(inputs)
    b = L.Dense(3, activation="tanh", name="b")(inputs)
    merged = L.Concatenate(name="cat")([a, b])
    model = lib.Model(inputs, L.Dense(2, name="out")(merged), name="branches")
    return model, _rng().normal(size=(5, 6)).astype(np.float32)


def text(lib):
    L = lib.layers
    model = lib.Sequential([lib.Input((5,), dtype="int32"), L.Embedding(20, 4),
                            L.GlobalAveragePooling1D(), L.Dense(1, activation="sigmoid")])
    return model, _rng().integers(0, 20, size=(6, 5)).astype(np.int32)


def nested(lib):
    inner = lib.Sequential([lib.Input((4,)), lib.layers.Dense(3),
                            lib.layers.BatchNormalization()], name="inner")
    inputs = lib.Input((4,))
    model = lib.Model(inputs, lib.layers.Dense(2)(inner(inputs)))
    return model, _rng().normal(size=(5, 4)).astype(np.float32)


def two_outputs(lib):
    """Keras records Dropout's symbolic call with training=False: fit and predict still
    decide."""
    L = lib.layers
    inputs = lib.Input((6, 6, 2))
    pooled = L.Concatenate()([L.GlobalAveragePooling2D()(inputs),
                              L.GlobalMaxPooling2D()(inputs)])
    dropped = L.Dropout(0.2)(pooled)
    model = lib.Model(inputs, [dropped, L.Dense(1)(dropped)])
    return model, _rng().normal(size=(4, 6, 6, 2)).astype(np.float32)


MODELS = [lecture, convnet, branches, text, nested]


def trained(make, lib):
    model, x = make(lib)
    model.compile(optimizer="adam", loss="mse", metrics=["mae"])
    y = np.asarray(model.predict(x, verbose=0)) * 0.5
    model.fit(x, y, epochs=2, batch_size=4, verbose=0)
    return model, x


def predict(model, x):
    return np.asarray(model.predict(x, verbose=0))


def members(path):
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def rewrite(path, out, changes):
    """A copy of the archive at `path` with some members replaced (or added)."""
    content = {**members(path), **changes}
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in content.items():
            archive.writestr(name, data)
    return out


def edit_h5(data, edit):
    """The bytes of an HDF5 file after `edit(h5py.File)`."""
    buffer = io.BytesIO(data)
    with h5py.File(buffer, "r+") as f:
        edit(f)
    return buffer.getvalue()


# ------------------------------------------------------------------ both directions


@pytest.mark.parametrize("make", MODELS, ids=lambda f: f.__name__)
def test_cornu_file_loads_in_keras(make, tmp_path):
    model, x = trained(make, cornu)
    path = tmp_path / "m.keras"
    model.save(path)
    theirs = keras.models.load_model(path)
    np.testing.assert_allclose(predict(theirs, x), predict(model, x), **TOL)
    assert theirs.optimizer.__class__.__name__ == "Adam"
    assert int(theirs.optimizer.iterations) == int(model.optimizer.iterations)
    again = load_model(path)  # and back into cornu
    np.testing.assert_allclose(predict(again, x), predict(model, x), **TOL)


@pytest.mark.parametrize("make", MODELS, ids=lambda f: f.__name__)
def test_keras_file_loads_in_cornu(make, tmp_path):
    model, x = trained(make, keras)
    path = tmp_path / "m.keras"
    model.save(path)
    ours = load_model(path)
    np.testing.assert_allclose(predict(ours, x), predict(model, x), **TOL)
    assert type(ours.optimizer).__name__ == "Adam"
    assert [layer.name for layer in ours.layers] == [layer.name for layer in model.layers]
    y = predict(model, x)
    ours.fit(x, y, epochs=1, verbose=0)  # compiled from the file's compile_config


@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
def test_training_continues_across_formats(optimizer, tmp_path):
    """The optimizer's state travels both ways: a step after loading is the step the
    saving library would have made."""
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(8, 6)).astype(np.float32), rng.normal(size=(8, 2)).astype(
        np.float32)

    def make(lib):
        model = lib.Sequential([lib.Input((6,)), lib.layers.Dense(4, activation="tanh"),
                                lib.layers.Dense(2)])
        model.compile(optimizer=optimizer, loss="mse")
        return model

    theirs = make(keras)
    theirs.fit(x, y, epochs=3, batch_size=8, verbose=0)
    theirs.save(tmp_path / "k.keras")
    ours = load_model(tmp_path / "k.keras")
    assert int(ours.optimizer.iterations.value) == 3
    for model in (theirs, ours):
        model.fit(x, y, epochs=1, batch_size=8, verbose=0)
    np.testing.assert_allclose(predict(ours, x), predict(theirs, x), **TOL)

    ours.save(tmp_path / "c.keras")
    theirs = keras.models.load_model(tmp_path / "c.keras")
    assert int(theirs.optimizer.iterations) == 4
    for model in (theirs, ours):
        model.fit(x, y, epochs=1, batch_size=8, verbose=0)
    np.testing.assert_allclose(predict(theirs, x), predict(ours, x), **TOL)


@pytest.mark.parametrize("source", ["keras", "cornu"])
def test_two_outputs_and_dropout_both_ways(source, tmp_path):
    lib, other = (keras, cornu) if source == "keras" else (cornu, keras)
    model, x = two_outputs(lib)
    model.save(tmp_path / "m.keras")
    loaded = (load_model if other is cornu else keras.models.load_model)(tmp_path / "m.keras")
    for mine, theirs in zip(model.predict(x, verbose=0), loaded.predict(x, verbose=0),
                            strict=True):
        np.testing.assert_allclose(np.asarray(theirs), np.asarray(mine), **TOL)


def test_config_and_layout_in_keras_form(tmp_path):
    model, _ = trained(branches, cornu)
    path = tmp_path / "m.keras"
    model.save(path)
    content = members(path)
    assert set(content) == {"metadata.json", "config.json", "model.weights.h5"}
    assert set(json.loads(content["metadata.json"])) >= {"keras_version", "date_saved"}
    config = json.loads(content["config.json"])
    assert (config["module"], config["class_name"]) == ("keras.src.models.functional",
                                                        "Functional")
    assert config["compile_config"]["optimizer"]["class_name"] == "Adam"
    cat = next(e for e in config["config"]["layers"] if e["name"] == "cat")
    assert set(cat) >= {"module", "class_name", "config", "registered_name", "inbound_nodes"}
    args = cat["inbound_nodes"][0]["args"][0]
    assert [t["config"]["keras_history"] for t in args] == [["a", 0, 0], ["b", 0, 0]]
    assert config["config"]["input_layers"] == ["x", 0, 0]
    with h5py.File(io.BytesIO(content["model.weights.h5"]), "r") as f:
        assert f["layers/dense/vars"].attrs["name"] == "a"
        assert f["layers/dense_1/vars/0"].shape == (6, 3)
        assert f["layers/dense_2/vars/0"].shape == (7, 2)
        assert f["optimizer/vars/0"][()] == int(model.optimizer.iterations)


def test_format_is_chosen_by_contents(tmp_path):
    model, x = trained(lecture, cornu)
    model.save(tmp_path / "m.keras")
    model.save(tmp_path / "m.cornu")
    (tmp_path / "m.keras").rename(tmp_path / "renamed.cornu")
    (tmp_path / "m.cornu").rename(tmp_path / "renamed.keras")
    for name in ("renamed.cornu", "renamed.keras"):
        np.testing.assert_allclose(predict(load_model(tmp_path / name), x), predict(model, x),
                                   **TOL)
    model.save_weights(tmp_path / "w.weights.h5")
    with pytest.raises(CornuFileError, match="weights file, not a model file"):
        load_model(tmp_path / "w.weights.h5")


# ------------------------------------------------------------------ weights only


@pytest.mark.parametrize("make", [convnet, branches], ids=lambda f: f.__name__)
def test_weights_h5_round_trips_with_keras(make, tmp_path):
    theirs, x = trained(make, keras)
    theirs.save_weights(tmp_path / "k.weights.h5")
    ours, _ = make(cornu)
    ours.load_weights(tmp_path / "k.weights.h5")
    np.testing.assert_allclose(predict(ours, x), predict(theirs, x), **TOL)

    ours, _ = trained(make, cornu)
    ours.save_weights(tmp_path / "c.weights.h5")
    fresh, _ = make(keras)
    fresh.load_weights(tmp_path / "c.weights.h5")
    np.testing.assert_allclose(predict(fresh, x), predict(ours, x), **TOL)
    again, _ = make(cornu)
    again.load_weights(tmp_path / "c.weights.h5")
    np.testing.assert_allclose(predict(again, x), predict(ours, x), **TOL)


def test_load_weights_from_a_keras_archive(tmp_path):
    theirs, x = trained(text, keras)
    theirs.save(tmp_path / "k.keras")
    ours, _ = text(cornu)
    ours.load_weights(tmp_path / "k.keras")
    np.testing.assert_allclose(predict(ours, x), predict(theirs, x), **TOL)


def test_model_checkpoint_writes_keras_files(tmp_path):
    model, x = lecture(cornu)
    model.compile(optimizer="adam", loss="mse")
    y = predict(model, x)
    model.fit(x, y, epochs=2, verbose=0, callbacks=[
        ModelCheckpoint(str(tmp_path / "ckpt-{epoch}.keras")),
        ModelCheckpoint(str(tmp_path / "w-{epoch}.weights.h5"), save_weights_only=True)])
    assert (tmp_path / "ckpt-1.keras").exists()
    theirs = keras.models.load_model(tmp_path / "ckpt-2.keras")
    np.testing.assert_allclose(predict(theirs, x), predict(model, x), **TOL)
    ours, _ = lecture(cornu)
    ours.load_weights(tmp_path / "w-2.weights.h5")
    np.testing.assert_allclose(predict(ours, x), predict(model, x), **TOL)


# ------------------------------------------------------------------ hostile files


@pytest.fixture
def keras_file(tmp_path):
    model, _ = convnet(keras)
    path = tmp_path / "k.keras"
    model.save(path)
    return path


def edited_config(path, out, edit):
    config = json.loads(members(path)["config.json"])
    edit(config)
    return rewrite(path, out, {"config.json": json.dumps(config).encode()})


def test_lambda_layer_is_refused(keras_file, tmp_path):
    def add_lambda(config):
        config["config"]["layers"].insert(2, {
            "module": "keras.layers", "class_name": "Lambda", "registered_name": None,
            "config": {"name": "evil", "function": {"class_name": "__lambda__", "config": {
                "code": "4wEAAAAAAAAAAAAAAAEAAAADAAAAQwAAAHMEAAAAfABTACkBTqkAKQHaAXhyAQAAAHIB",
                "defaults": None, "closure": None}}}})

    bad = edited_config(keras_file, tmp_path / "lambda.keras", add_lambda)
    with pytest.raises(CornuFileError, match="Lambda layer.*'evil'.*never runs code"):
        load_model(bad)


def test_unknown_class_is_refused(keras_file, tmp_path):
    def rename(config):
        entry = config["config"]["layers"][1]
        entry.update(module="evil.module", class_name="Exploit", registered_name="evil>Exploit")

    bad = edited_config(keras_file, tmp_path / "unknown.keras", rename)
    with pytest.raises(CornuFileError, match="unknown layer class 'Exploit'"):
        load_model(bad)


def test_unsupported_setting_is_refused(keras_file, tmp_path):
    def renorm(config):
        config["config"]["layers"][2]["config"]["renorm"] = True

    bad = edited_config(keras_file, tmp_path / "renorm.keras", renorm)
    with pytest.raises(CornuFileError, match="renorm=True.*does not support"):
        load_model(bad)


def test_weights_of_the_wrong_shape_are_refused(keras_file, tmp_path):
    def reshape(f):
        del f["layers/dense/vars/0"]
        f.create_dataset("layers/dense/vars/0", data=np.zeros((36, 4), np.float32))

    data = edit_h5(members(keras_file)["model.weights.h5"], reshape)
    bad = rewrite(keras_file, tmp_path / "shape.keras", {"model.weights.h5": data})
    with pytest.raises(CornuFileError, match=r"'layers/dense/vars/0' has shape \(36, 4\), but "
                                             r"the weight 'kernel'.*\(36, 3\)"):
        load_model(bad)


def test_odd_dtypes_and_extra_datasets_are_refused(keras_file, tmp_path):
    def compound(f):
        del f["layers/dense/vars/1"]
        f.create_dataset("layers/dense/vars/1",
                         data=np.zeros(3, dtype=[("a", np.float32), ("b", np.int8)]))

    def extra(f):
        f.create_dataset("layers/dense/vars/2", data=np.zeros(3, np.float32))

    weights = members(keras_file)["model.weights.h5"]
    for name, edit, match in [("compound", compound, "only plain numbers"),
                              ("extra", extra, "'layers/dense/vars/2', which model")]:
        bad = rewrite(keras_file, tmp_path / f"{name}.keras",
                      {"model.weights.h5": edit_h5(weights, edit)})
        with pytest.raises(CornuFileError, match=match):
            load_model(bad)


def test_links_are_refused(keras_file, tmp_path):
    (tmp_path / "other.h5").write_bytes(b"")

    def external(f):
        del f["layers/dense/vars/0"]
        f["layers/dense/vars/0"] = h5py.ExternalLink(str(tmp_path / "other.h5"), "/secret")

    def soft(f):
        del f["layers/dense/vars/0"]
        f["layers/dense/vars/0"] = h5py.SoftLink("/layers/conv2d/vars/0")

    weights = members(keras_file)["model.weights.h5"]
    for name, edit in [("ExternalLink", external), ("SoftLink", soft)]:
        data = edit_h5(weights, edit)
        bad = rewrite(keras_file, tmp_path / f"{name}.keras", {"model.weights.h5": data})
        with pytest.raises(CornuFileError, match=f"'layers/dense/vars/0' is an HDF5 {name}"):
            load_model(bad)
        (tmp_path / "w.weights.h5").write_bytes(data)
        model, _ = convnet(cornu)
        with pytest.raises(CornuFileError, match=name):
            model.load_weights(tmp_path / "w.weights.h5")


def test_hard_link_loops_are_refused(keras_file, tmp_path):
    def loop(f):
        f["layers/dense/again"] = f["layers"]

    data = edit_h5(members(keras_file)["model.weights.h5"], loop)
    bad = rewrite(keras_file, tmp_path / "loop.keras", {"model.weights.h5": data})
    with pytest.raises(CornuFileError, match="reached twice"):
        load_model(bad)


def test_datasets_that_do_not_hold_their_bytes_are_refused(keras_file, tmp_path,
                                                           monkeypatch):
    """A dataset declaring its shape but storing nothing (chunks never written) is not
    read: reading it would allocate what the file does not hold."""
    def unwritten(f):
        del f["layers/dense/vars/0"]
        f.create_dataset("layers/dense/vars/0", shape=(36, 3), dtype="f4", chunks=(6, 3))

    monkeypatch.setattr(limits, "RATIO_FREE_BYTES", 0)
    data = edit_h5(members(keras_file)["model.weights.h5"], unwritten)
    bad = rewrite(keras_file, tmp_path / "unwritten.keras", {"model.weights.h5": data})
    with pytest.raises(CornuFileError, match="declares 432 bytes but stores 0"):
        load_model(bad)


def test_zip_bomb_member_is_refused(keras_file, tmp_path, monkeypatch):
    monkeypatch.setattr(limits, "RATIO_FREE_BYTES", 2**20)
    bomb = rewrite(keras_file, tmp_path / "bomb.keras",
                   {"model.weights.h5": b"\x89HDF\r\n\x1a\n" + bytes(40 * 2**20)})
    with pytest.raises(CornuFileError, match="zip bomb"):
        load_model(bomb)


def test_not_hdf5_and_truncated_files_are_refused(keras_file, tmp_path):
    weights = members(keras_file)["model.weights.h5"]
    fake = rewrite(keras_file, tmp_path / "fake.keras", {"model.weights.h5": b"not hdf5"})
    with pytest.raises(CornuFileError, match="not an HDF5 file"):
        load_model(fake)
    cut = rewrite(keras_file, tmp_path / "cut.keras",
                  {"model.weights.h5": weights[:len(weights) // 2]})
    with pytest.raises(CornuFileError, match="HDF5"):
        load_model(cut)


def test_a_subclassed_model_class_must_be_known_to_load(tmp_path):
    class Net(cornu.Model):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.dense = cornu.layers.Dense(2)

        def call(self, inputs):
            return self.dense(inputs)

    model = Net()
    model(np.zeros((1, 3), np.float32))
    model.save(tmp_path / "net.keras")  # as Keras: the class's code is not in the file
    with pytest.raises(CornuFileError, match="'Net'.*custom_objects"):
        load_model(tmp_path / "net.keras")
    again = load_model(tmp_path / "net.keras", custom_objects={"Net": Net})
    assert type(again) is Net

    theirs, _ = lecture(keras)
    theirs.save(tmp_path / "k.keras")
    bad = edited_config(tmp_path / "k.keras", tmp_path / "sub.keras", lambda c: c.update(
        module="my_pkg.models", class_name="MyNet", registered_name="my_pkg>MyNet"))
    with pytest.raises(CornuFileError, match="'MyNet'.*register_keras_serializable"):
        load_model(bad)
