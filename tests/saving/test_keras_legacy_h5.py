"""Keras 2 / legacy `.h5` files: whole models written by Keras 3's legacy writer and
hand-written in Keras 2's spelling load in cornu and predict what Keras predicts (1e-5);
legacy weights files load by position, by name and skipping mismatches; hostile files
are refused with a CornuFileError before anything is allocated."""

from __future__ import annotations

import io
import json
import logging
import os

import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "jax")
keras = pytest.importorskip("keras")
h5py = pytest.importorskip("h5py")

import jax  # noqa: E402

import cornu  # noqa: E402
from cornu.saving import CornuFileError, limits, load_model  # noqa: E402

TOL = dict(rtol=1e-5, atol=1e-5)
logging.getLogger("absl").setLevel(logging.ERROR)  # Keras' "HDF5 is legacy" notice


@pytest.fixture(autouse=True)
def _user_broadcasting():
    with jax.numpy_rank_promotion("allow"):
        yield


def _rng():
    return np.random.default_rng(0)


def lecture(lib):
    model = lib.Sequential([lib.Input((20,)), lib.layers.Dense(32, activation="sigmoid"),
                            lib.layers.Dense(10, activation="softmax")])
    return model, _rng().normal(size=(8, 20)).astype(np.float32)


def convnet(lib):
    L = lib.layers
    model = lib.Sequential([lib.Input((8, 8, 1)), L.Conv2D(4, 3, activation="relu"),
                            L.MaxPooling2D(), L.Flatten(), L.Dropout(0.5),
                            L.Dense(3, activation="softmax")])
    return model, _rng().normal(size=(6, 8, 8, 1)).astype(np.float32)


def branches(lib):
    L = lib.layers
    inputs = lib.Input((6,), name="x")
    a = L.Dense(4, activation="relu", name="a")(inputs)
    b = L.Dense(3, activation="tanh", name="b")(inputs)
    model = lib.Model(inputs, L.Dense(2, name="out")(L.Concatenate(name="cat")([a, b])),
                      name="branches")
    return model, _rng().normal(size=(5, 6)).astype(np.float32)


def lstm(lib):
    model = lib.Sequential([lib.Input((7, 3)), lib.layers.LSTM(5),
                            lib.layers.Dense(2)])
    return model, _rng().normal(size=(4, 7, 3)).astype(np.float32)


def batchnorm(lib):
    L = lib.layers
    model = lib.Sequential([lib.Input((5,)), L.Dense(4), L.BatchNormalization(),
                            L.Activation("relu"), L.Dense(1)])
    return model, _rng().normal(size=(6, 5)).astype(np.float32)


MODELS = [lecture, convnet, branches, lstm, batchnorm]


def predict(model, x):
    return np.asarray(model.predict(x, verbose=0))


def keras_h5(make, path, optimizer="adam"):
    """A Keras model, trained a little, saved by Keras 3's legacy .h5 writer."""
    model, x = make(keras)
    model.compile(optimizer=optimizer, loss="mse")
    y = predict(model, x) * 0.5
    model.fit(x, y, epochs=2, batch_size=4, verbose=0)
    model.save(path)
    return model, x


def h5_bytes(write):
    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as f:
        write(f)
    return buffer.getvalue()


# ------------------------------------------------------------ Keras 3's legacy writer


@pytest.mark.parametrize("make", MODELS, ids=lambda f: f.__name__)
def test_keras_legacy_h5_model_loads(make, tmp_path):
    theirs, x = keras_h5(make, tmp_path / "m.h5")
    ours = load_model(tmp_path / "m.h5")
    np.testing.assert_allclose(predict(ours, x), predict(theirs, x), **TOL)
    assert [w.shape for w in ours.get_weights()] == [tuple(w.shape) for w in
                                                      theirs.get_weights()]
    assert type(ours.optimizer).__name__ == "Adam"


@pytest.mark.parametrize("optimizer", ["adam", "rmsprop", "sgd"])
def test_legacy_h5_optimizer_state_resumes(optimizer, tmp_path):
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(8, 6)).astype(np.float32), rng.normal(size=(8, 2)).astype(
        np.float32)
    theirs = keras.Sequential([keras.Input((6,)), keras.layers.Dense(4, activation="tanh"),
                               keras.layers.Dense(2)])
    theirs.compile(optimizer=optimizer, loss="mse")
    theirs.fit(x, y, epochs=3, batch_size=8, verbose=0)
    theirs.save(tmp_path / "k.h5")
    ours = load_model(tmp_path / "k.h5")
    assert int(ours.optimizer.iterations.value) == 3
    for model in (theirs, ours):
        model.fit(x, y, epochs=1, batch_size=8, verbose=0)
    np.testing.assert_allclose(predict(ours, x), predict(theirs, x), **TOL)


def test_load_model_compile_false(tmp_path):
    theirs, x = keras_h5(lecture, tmp_path / "m.h5")
    ours = load_model(tmp_path / "m.h5", compile=False)
    assert ours.optimizer is None
    np.testing.assert_allclose(predict(ours, x), predict(theirs, x), **TOL)


# ------------------------------------------------------------------ legacy weights


def legacy_weights_file(model, path):
    """Keras 2's save_weights("w.h5") layout, written by Keras 3's legacy writer."""
    from keras.src.legacy.saving import legacy_h5_format

    with h5py.File(path, "w") as f:
        legacy_h5_format.save_weights_to_hdf5_group(f, model)


@pytest.mark.parametrize("make", MODELS, ids=lambda f: f.__name__)
def test_legacy_weights_file_loads(make, tmp_path):
    theirs, x = make(keras)
    legacy_weights_file(theirs, tmp_path / "w.h5")
    ours, _ = make(cornu)
    ours.load_weights(tmp_path / "w.h5")
    np.testing.assert_allclose(predict(ours, x), predict(theirs, x), **TOL)


def test_whole_model_h5_loads_as_weights(tmp_path):
    theirs, x = keras_h5(branches, tmp_path / "m.h5")
    ours, _ = branches(cornu)
    ours.load_weights(tmp_path / "m.h5")
    np.testing.assert_allclose(predict(ours, x), predict(theirs, x), **TOL)


def test_legacy_weights_by_name_and_skip_mismatch(tmp_path):
    L = keras.layers
    theirs = keras.Sequential([keras.Input((4,)), L.Dense(3, name="shared"),
                               L.Dense(5, name="head")])
    legacy_weights_file(theirs, tmp_path / "w.h5")
    C = cornu.layers
    ours = cornu.Sequential([cornu.Input((4,)), C.Dense(3, name="shared"),
                             C.Dense(2, name="other"), C.Dense(2, name="head")])
    with pytest.raises(CornuFileError, match="different architecture"):
        ours.load_weights(tmp_path / "w.h5")  # by position: 2 layers in the file, 3 here
    before = [np.asarray(w) for w in ours.get_weights()]
    with pytest.raises(CornuFileError, match="shape"):
        ours.load_weights(tmp_path / "w.h5", by_name=True)  # head: (3, 5) vs (2, 2)
    assert all(np.array_equal(a, np.asarray(b)) for a, b in zip(before, ours.get_weights(),
                                                                  strict=True))
    with pytest.warns(UserWarning, match="skipping"):
        ours.load_weights(tmp_path / "w.h5", by_name=True, skip_mismatch=True)
    after = ours.get_weights()
    np.testing.assert_array_equal(after[0], theirs.get_weights()[0])  # shared: loaded
    np.testing.assert_array_equal(after[4], before[4])  # head: kept
    with pytest.raises(CornuFileError, match="legacy .h5 files only"):
        ours.save_weights(tmp_path / "x.weights.h5")
        ours.load_weights(tmp_path / "x.weights.h5", by_name=True)


# ------------------------------------------------------------ Keras 2's own spelling


def _dense(name, units, activation="linear", **extra):
    return {"class_name": "Dense", "config": {
        "name": name, "trainable": True, "dtype": "float32", "units": units,
        "activation": activation, "use_bias": True,
        "kernel_initializer": {"class_name": "GlorotUniform", "config": {"seed": None}},
        "bias_initializer": {"class_name": "Zeros", "config": {}},
        "kernel_regularizer": None, "bias_regularizer": None, "activity_regularizer": None,
        "kernel_constraint": None, "bias_constraint": None, **extra}}


def keras2_functional(f, weights):
    """A Keras 2.x (tf.keras) whole-model file: class "Functional", nested-list
    inbound_nodes, batch_input_shape, dtype strings, weight names with ':0'."""
    layers = [
        {"class_name": "InputLayer", "name": "input_1", "inbound_nodes": [],
         "config": {"batch_input_shape": [None, 6], "dtype": "float32", "sparse": False,
                    "ragged": False, "name": "input_1"}},
        {**_dense("a", 4, "relu"), "name": "a", "inbound_nodes": [[["input_1", 0, 0, {}]]]},
        {**_dense("b", 3, "tanh"), "name": "b", "inbound_nodes": [[["input_1", 0, 0, {}]]]},
        {"class_name": "Concatenate", "name": "cat",
         "config": {"name": "cat", "trainable": True, "dtype": "float32", "axis": -1},
         "inbound_nodes": [[["a", 0, 0, {}], ["b", 0, 0, {}]]]},
        {**_dense("out", 2), "name": "out", "inbound_nodes": [[["cat", 0, 0, {}]]]},
    ]
    config = {"class_name": "Functional", "config": {
        "name": "model", "layers": layers, "input_layers": [["input_1", 0, 0]],
        "output_layers": [["out", 0, 0]]}}
    f.attrs["model_config"] = json.dumps(config).encode("utf-8")
    f.attrs["keras_version"] = b"2.12.0"
    f.attrs["backend"] = b"tensorflow"
    f.attrs["training_config"] = json.dumps({
        "loss": "mse", "metrics": [[{"class_name": "MeanMetricWrapper", "config": {
            "name": "mae", "dtype": "float32", "fn": "mean_absolute_error"}}]],
        "weighted_metrics": None, "loss_weights": None,
        "optimizer_config": {"class_name": "Adam", "config": {
            "name": "Adam", "learning_rate": 0.001, "decay": 0.0, "beta_1": 0.9,
            "beta_2": 0.999, "epsilon": 1e-07, "amsgrad": False}}}).encode("utf-8")
    group = f.create_group("model_weights")
    group.attrs["layer_names"] = [b"input_1", b"a", b"b", b"cat", b"out"]
    group.attrs["backend"] = b"tensorflow"
    group.attrs["keras_version"] = b"2.12.0"
    for name in ("input_1", "a", "b", "cat", "out"):
        g = group.create_group(name)
        names = [f"{name}/kernel:0", f"{name}/bias:0"] if name in weights else []
        g.attrs["weight_names"] = [n.encode() for n in names]
        for n, value in zip(names, weights.get(name, ()), strict=True):
            g.create_dataset(n, data=value)
    # Keras 2's optimizer weights (no learning_rate variable): checked, then a fresh state
    opt = f.create_group("optimizer_weights")
    opt.attrs["weight_names"] = [b"Adam/iter:0"]
    opt.create_dataset("Adam/iter:0", data=np.int64(7))


def keras2_sequential(f, weights):
    """An older Keras 2 Sequential: no InputLayer, batch_input_shape on the first layer."""
    layers = [_dense("dense_1", 4, "relu", batch_input_shape=[None, 6]),
              {"class_name": "Dropout", "config": {"name": "dropout_1", "trainable": True,
                                                   "rate": 0.5, "noise_shape": None,
                                                   "seed": None}},
              _dense("dense_2", 2, "softmax")]
    f.attrs["model_config"] = json.dumps(
        {"class_name": "Sequential", "config": {"name": "sequential_1", "layers": layers}}
    ).encode("utf-8")
    f.attrs["keras_version"] = b"2.2.4"
    group = f.create_group("model_weights")
    group.attrs["layer_names"] = [b"dense_1", b"dropout_1", b"dense_2"]
    for name in ("dense_1", "dropout_1", "dense_2"):
        g = group.create_group(name)
        names = [f"{name}/kernel:0", f"{name}/bias:0"] if name in weights else []
        g.attrs["weight_names"] = [n.encode() for n in names]
        for n, value in zip(names, weights.get(name, ()), strict=True):
            g.create_dataset(n, data=value)


def test_hand_written_keras2_functional(tmp_path):
    theirs, x = branches(keras)
    w = theirs.get_weights()
    weights = {"a": w[0:2], "b": w[2:4], "out": w[4:6]}
    (tmp_path / "k2.h5").write_bytes(h5_bytes(lambda f: keras2_functional(f, weights)))
    with pytest.warns(UserWarning, match="starts afresh"):
        ours = load_model(tmp_path / "k2.h5")
    np.testing.assert_allclose(predict(ours, x), predict(theirs, x), **TOL)
    assert type(ours.optimizer).__name__ == "Adam"
    ours.fit(x, predict(theirs, x), epochs=1, verbose=0)


def test_hand_written_keras2_sequential(tmp_path):
    theirs = keras.Sequential([keras.Input((6,)), keras.layers.Dense(4, activation="relu"),
                               keras.layers.Dropout(0.5),
                               keras.layers.Dense(2, activation="softmax")])
    x = _rng().normal(size=(5, 6)).astype(np.float32)
    w = theirs.get_weights()
    weights = {"dense_1": w[0:2], "dense_2": w[2:4]}
    (tmp_path / "k2.h5").write_bytes(h5_bytes(lambda f: keras2_sequential(f, weights)))
    ours = load_model(tmp_path / "k2.h5")
    assert ours.optimizer is None  # no training_config
    np.testing.assert_allclose(predict(ours, x), predict(theirs, x), **TOL)
    assert [layer.name for layer in ours.layers] == ["dense_1", "dropout_1", "dense_2"]


# ------------------------------------------------------------------ refusals


def _base(tmp_path):
    theirs, _ = branches(keras)
    w = theirs.get_weights()
    return {"a": w[0:2], "b": w[2:4], "out": w[4:6]}


def _refused(tmp_path, edit, match):
    weights = _base(tmp_path)

    def write(f):
        keras2_functional(f, weights)
        edit(f)

    path = tmp_path / "bad.h5"
    path.write_bytes(h5_bytes(write))
    with pytest.raises(CornuFileError, match=match):
        load_model(path, compile=False)


def test_lambda_layer_refused_by_name(tmp_path):
    def edit(f):
        config = json.loads(f.attrs["model_config"])
        layer = config["config"]["layers"][3]
        layer["class_name"] = "Lambda"
        layer["config"] = {"name": "cat", "function": ["4wEAAAAAAAAA", None, None],
                           "function_type": "lambda"}
        f.attrs["model_config"] = json.dumps(config).encode()

    _refused(tmp_path, edit, "Lambda layer \\('cat'\\).*never runs code")


def test_unknown_class_refused(tmp_path):
    def edit(f):
        config = json.loads(f.attrs["model_config"])
        config["config"]["layers"][1]["class_name"] = "os.system"
        f.attrs["model_config"] = json.dumps(config).encode()

    _refused(tmp_path, edit, "os.system")


def test_subclassed_model_refused(tmp_path):
    def edit(f):
        f.attrs["model_config"] = json.dumps({"class_name": "MyModel", "config": {}}).encode()

    _refused(tmp_path, edit, "subclassed")


def test_non_utf8_json_refused(tmp_path):
    def edit(f):
        f.attrs["model_config"] = np.bytes_(b'{"class_name": "\xff\xfe"}')

    _refused(tmp_path, edit, "UTF-8")


def test_bad_json_refused(tmp_path):
    def edit(f):
        f.attrs["model_config"] = b'{"class_name": '

    _refused(tmp_path, edit, "not valid JSON")


def test_huge_declared_shape_refused(tmp_path):
    """A config declaring an enormous layer is refused while planning, before any array."""
    def edit(f):
        config = json.loads(f.attrs["model_config"])
        config["config"]["layers"][1]["config"]["units"] = 10**12
        f.attrs["model_config"] = json.dumps(config).encode()

    weights = _base(tmp_path)
    path = tmp_path / "huge.h5"
    path.write_bytes(h5_bytes(lambda f: (keras2_functional(f, weights), edit(f))))
    with pytest.raises(CornuFileError, match="has shape \\(6, 1000000000000\\)"):
        load_model(path, compile=False)

    def agreeing(f):  # the dataset declares the same huge shape, storing almost nothing
        edit(f)
        del f["model_weights/a/a/kernel:0"]
        f["model_weights/a"].create_dataset("a/kernel:0", shape=(6, 10**12), dtype="f4",
                                            chunks=(6, 1024))

    path.write_bytes(h5_bytes(lambda f: (keras2_functional(f, weights), agreeing(f))))
    with pytest.raises(CornuFileError, match="compression bomb|limit"):
        load_model(path, compile=False)


def test_weights_disagreeing_with_config_refused(tmp_path):
    def edit(f):
        del f["model_weights/a/a/kernel:0"]
        f["model_weights/a"].create_dataset("a/kernel:0", data=np.zeros((6, 5), np.float32))

    _refused(tmp_path, edit, "shape \\(6, 5\\).*shape \\(6, 4\\)")


def test_weight_count_disagreeing_refused(tmp_path):
    def edit(f):
        f["model_weights/out"].attrs["weight_names"] = [b"out/kernel:0"]

    _refused(tmp_path, edit, "holds 1 weights")


def test_missing_dataset_refused(tmp_path):
    def edit(f):
        del f["model_weights/b/b/bias:0"]

    _refused(tmp_path, edit, "no such dataset")


def test_soft_and_external_links_refused(tmp_path):
    def soft(f):
        del f["model_weights/a/a/bias:0"]
        f["model_weights/a/a/bias:0"] = h5py.SoftLink("/model_weights/b/b/bias:0")

    _refused(tmp_path, soft, "SoftLink")

    def external(f):
        del f["model_weights/a/a/bias:0"]
        f["model_weights/a/a/bias:0"] = h5py.ExternalLink("/etc/passwd", "/x")

    _refused(tmp_path, external, "ExternalLink")


def test_compression_bomb_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(limits, "RATIO_FREE_BYTES", 16)
    monkeypatch.setattr(limits, "MAX_COMPRESSION_RATIO", 2)

    def edit(f):
        del f["model_weights/a/a/kernel:0"]
        f["model_weights/a"].create_dataset("a/kernel:0", data=np.zeros((6, 4), np.float32),
                                            compression="gzip")

    _refused(tmp_path, edit, "compression bomb")


def test_weights_over_the_limit_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(limits, "MAX_WEIGHTS_BYTES", 64)
    path = tmp_path / "m.h5"
    keras_h5(lecture, path)
    with pytest.raises(CornuFileError, match="limit"):
        load_model(path)


def test_truncated_file_refused(tmp_path):
    keras_h5(lecture, tmp_path / "m.h5")
    data = (tmp_path / "m.h5").read_bytes()
    for cut in (4, len(data) // 3, len(data) - 100):
        (tmp_path / "t.h5").write_bytes(data[:cut])
        with pytest.raises(CornuFileError):
            load_model(tmp_path / "t.h5")


def test_format_from_contents_not_name(tmp_path):
    """load_model picks the format from the bytes: .keras, .cornu and .h5 renamed."""
    theirs, x = keras_h5(lecture, tmp_path / "m.h5")
    theirs.save(tmp_path / "m.keras")
    ours = load_model(tmp_path / "m.keras", compile=False)
    ours.save(tmp_path / "m.cornu")
    for source, disguise in (("m.h5", "a.keras"), ("m.keras", "b.h5"), ("m.cornu", "c.h5"),
                             ("m.h5", "d.cornu"), ("m.keras", "e.bin")):
        (tmp_path / disguise).write_bytes((tmp_path / source).read_bytes())
        np.testing.assert_allclose(predict(load_model(tmp_path / disguise, compile=False), x),
                                   predict(theirs, x), **TOL)


def test_keras3_weights_file_is_not_a_model(tmp_path):
    model, _ = lecture(cornu)
    model.save_weights(tmp_path / "w.weights.h5")
    with pytest.raises(CornuFileError, match="weights file"):
        load_model(tmp_path / "w.weights.h5")


def test_hand_written_keras2_convnet_and_lstm_spellings(tmp_path):
    """tf.keras 2.x settings Keras 3 dropped: BatchNormalization's built axis as a list,
    fused, virtual_batch_size; an LSTM's implementation and time_major; old weight names."""
    L = keras.layers
    theirs = keras.Sequential([keras.Input((5, 3)), L.LSTM(4, return_sequences=True),
                               L.BatchNormalization(), L.Flatten(), L.Dense(2)])
    x = _rng().normal(size=(3, 5, 3)).astype(np.float32)
    theirs.layers[1].set_weights([np.full(4, 0.5, np.float32), np.full(4, 0.1, np.float32),
                                  np.full(4, 0.2, np.float32), np.full(4, 2.0, np.float32)])
    w = theirs.get_weights()
    lstm_config = {"name": "lstm", "trainable": True, "dtype": "float32",
                   "batch_input_shape": [None, 5, 3], "units": 4, "activation": "tanh",
                   "recurrent_activation": "sigmoid", "use_bias": True,
                   "return_sequences": True, "return_state": False, "go_backwards": False,
                   "stateful": False, "unroll": False, "time_major": False,
                   "implementation": 2, "unit_forget_bias": True, "dropout": 0.0,
                   "recurrent_dropout": 0.0,
                   "recurrent_initializer": {"class_name": "Orthogonal",
                                             "config": {"gain": 1.0, "seed": None}}}
    bn_config = {"name": "batch_normalization", "trainable": True, "dtype": "float32",
                 "axis": [2], "momentum": 0.99, "epsilon": 0.001, "center": True,
                 "scale": True, "fused": None, "virtual_batch_size": None,
                 "adjustment": None, "renorm": False}
    layers = [{"class_name": "LSTM", "config": lstm_config},
              {"class_name": "BatchNormalization", "config": bn_config},
              {"class_name": "Flatten", "config": {"name": "flatten", "trainable": True,
                                                   "dtype": "float32",
                                                   "data_format": "channels_last"}},
              _dense("dense", 2)]
    groups = {"lstm": ["lstm/lstm_cell/kernel:0", "lstm/lstm_cell/recurrent_kernel:0",
                       "lstm/lstm_cell/bias:0"],
              "batch_normalization": [f"batch_normalization/{n}:0" for n in (
                  "gamma", "beta", "moving_mean", "moving_variance")],
              "flatten": [], "dense": ["dense/kernel:0", "dense/bias:0"]}
    values = {"lstm": w[0:3], "batch_normalization": w[3:7], "dense": w[7:9]}

    def write(f):
        f.attrs["model_config"] = json.dumps({"class_name": "Sequential", "config": {
            "name": "sequential", "layers": layers}}).encode()
        f.attrs["keras_version"] = b"2.11.0"
        group = f.create_group("model_weights")
        group.attrs["layer_names"] = [n.encode() for n in groups]
        for name, names in groups.items():
            g = group.create_group(name)
            g.attrs["weight_names"] = [n.encode() for n in names]
            for n, value in zip(names, values.get(name, ()), strict=True):
                g.create_dataset(n, data=value)

    (tmp_path / "k2.h5").write_bytes(h5_bytes(write))
    ours = load_model(tmp_path / "k2.h5")
    np.testing.assert_allclose(predict(ours, x), predict(theirs, x), **TOL)


@pytest.mark.parametrize("make", MODELS, ids=lambda f: f.__name__)
def test_cornu_h5_loads_in_keras(make, tmp_path):
    """model.save("m.h5") writes the file Keras 3's legacy loader reads (compile=False:
    Keras 3.15 cannot read back a loss given by name from .h5)."""
    ours, x = make(cornu)
    ours.compile(optimizer="adam", loss="mse")
    ours.fit(x, predict(ours, x) * 0.5, epochs=1, verbose=0)
    ours.save(tmp_path / "m.h5")
    theirs = keras.models.load_model(tmp_path / "m.h5", compile=False)
    np.testing.assert_allclose(predict(theirs, x), predict(ours, x), **TOL)
    again = load_model(tmp_path / "m.h5")  # and back, optimizer state included
    assert int(again.optimizer.iterations.value) == int(ours.optimizer.iterations.value)
    np.testing.assert_allclose(predict(again, x), predict(ours, x), **TOL)


@pytest.mark.parametrize("name", ["", "/", "nowhere", "a/../b", "a/a/kernel:0"])
def test_layer_names_naming_no_group_refused(tmp_path, name):
    def edit(f):
        f["model_weights"].attrs["layer_names"] = [b"input_1", b"a", name.encode(), b"cat",
                                                   b"out"]

    _refused(tmp_path, edit, "no group of that name")
