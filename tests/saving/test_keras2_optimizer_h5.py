"""Keras 2 whole-model `.h5` files keep the optimizer's state under optimizer_weights, with
TensorFlow's names: tf.keras' OptimizerV2 ("Adam/iter:0", "Adam/dense/kernel/m:0", all
first moments, then all second ones) and the optimizers of tf.keras 2.11+ ("iteration:0",
"m/dense/kernel:0", interleaved). load_model reads them into cornu's optimizer state by
name, so training resumes where Keras left off: checked against Keras 3 (whose Adam, SGD
and RMSprop update as Keras 2's did) given the same weights and optimizer variables.
Hostile values are refused with CornuFileError before anything is read. The fixtures are
written with h5py in Keras 2's layout (keras/src/legacy/saving/legacy_h5_format.py)."""

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

from cornu.saving import CornuFileError, load_model  # noqa: E402

logging.getLogger("absl").setLevel(logging.ERROR)
TOL = dict(rtol=2e-5, atol=2e-6)
VARIABLES = ["a/kernel", "a/bias", "out/kernel", "out/bias"]

#: Keras 2 configs, and the slots each optimizer keeps (OptimizerV2 names, 2.11+ names)
OPTIMIZERS = {
    "adam": ({"class_name": "Adam", "config": {
        "name": "Adam", "learning_rate": 0.01, "decay": 0.0, "beta_1": 0.9, "beta_2": 0.999,
        "epsilon": 1e-07, "amsgrad": False}}, [("m", "m"), ("v", "v")]),
    "sgd": ({"class_name": "SGD", "config": {
        "name": "SGD", "learning_rate": 0.05, "decay": 0.0, "momentum": 0.9,
        "nesterov": False}}, [("momentum", "m")]),
    "rmsprop": ({"class_name": "RMSprop", "config": {
        "name": "RMSprop", "learning_rate": 0.01, "decay": 0.0, "rho": 0.9, "momentum": 0.5,
        "epsilon": 1e-07, "centered": True}},
        [("rms", "velocity"), ("momentum", "momentum"), ("mg", "average_gradient")]),
}
ITERATIONS = 5


@pytest.fixture(autouse=True)
def _user_broadcasting():
    with jax.numpy_rank_promotion("allow"):
        yield


def _keras_model():
    inputs = keras.Input((6,), name="input_1")
    h = keras.layers.Dense(4, activation="tanh", name="a")(inputs)
    return keras.Model(inputs, keras.layers.Dense(2, name="out")(h))


def _dense(name, units, activation):
    return {"class_name": "Dense", "name": name, "config": {
        "name": name, "trainable": True, "dtype": "float32", "units": units,
        "activation": activation, "use_bias": True,
        "kernel_initializer": {"class_name": "GlorotUniform", "config": {"seed": None}},
        "bias_initializer": {"class_name": "Zeros", "config": {}},
        "kernel_regularizer": None, "bias_regularizer": None, "activity_regularizer": None,
        "kernel_constraint": None, "bias_constraint": None}}


def _slot_values(kind, weights):
    """Optimizer slot values (positive where Keras takes square roots) per slot, per
    variable."""
    rng = np.random.default_rng(3)
    out = {}
    for slot, _ in OPTIMIZERS[kind][1]:
        values = [rng.normal(size=w.shape).astype(np.float32) * 0.1 for w in weights]
        if slot in ("v", "rms"):
            values = [np.abs(v) + 0.05 for v in values]
        out[slot] = values
    return out


def keras2_file(kind, weights, layout, edit=None):
    """The bytes of a Keras 2 whole-model .h5 file of _keras_model with its optimizer state:
    layout "v2" (OptimizerV2) or "new" / "new_scoped" (tf.keras 2.11+)."""
    config, slots = OPTIMIZERS[kind]
    values = _slot_values(kind, weights)
    layers = [{"class_name": "InputLayer", "name": "input_1", "inbound_nodes": [],
               "config": {"batch_input_shape": [None, 6], "dtype": "float32",
                          "sparse": False, "ragged": False, "name": "input_1"}},
              {**_dense("a", 4, "tanh"), "inbound_nodes": [[["input_1", 0, 0, {}]]]},
              {**_dense("out", 2, "linear"), "inbound_nodes": [[["a", 0, 0, {}]]]}]
    model_config = {"class_name": "Functional", "config": {
        "name": "model", "layers": layers, "input_layers": [["input_1", 0, 0]],
        "output_layers": [["out", 0, 0]]}}
    name = config["config"]["name"]
    entries = []  # (dataset name, value)
    if layout == "v2":
        entries.append((f"{name}/iter:0", np.int64(ITERATIONS)))
        for slot, _ in slots:  # all variables' first slot, then the next slot
            entries += [(f"{name}/{v}/{slot}:0", value)
                        for v, value in zip(VARIABLES, values[slot], strict=True)]
    else:
        scope = f"{name}/" if layout == "new_scoped" else ""
        entries.append((f"{scope}iteration:0", np.int64(ITERATIONS)))
        for i, v in enumerate(VARIABLES):  # interleaved per variable
            entries += [(f"{scope}{new}/{v}:0", values[slot][i]) for slot, new in slots]
    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as f:
        f.attrs["model_config"] = json.dumps(model_config).encode()
        f.attrs["keras_version"] = b"2.12.0" if layout != "v2" else b"2.4.0"
        f.attrs["backend"] = b"tensorflow"
        f.attrs["training_config"] = json.dumps({
            "loss": "mse", "metrics": None, "weighted_metrics": None, "loss_weights": None,
            "optimizer_config": config}).encode()
        group = f.create_group("model_weights")
        group.attrs["layer_names"] = [b"input_1", b"a", b"out"]
        group.create_group("input_1").attrs["weight_names"] = []
        for layer, pair in (("a", weights[0:2]), ("out", weights[2:4])):
            g = group.create_group(layer)
            names = [f"{layer}/kernel:0", f"{layer}/bias:0"]
            g.attrs["weight_names"] = [n.encode() for n in names]
            for n, value in zip(names, pair, strict=True):
                g.create_dataset(n, data=value)
        opt = f.create_group("optimizer_weights")
        if edit is not None:
            entries = edit(entries)
        opt.attrs["weight_names"] = [n.encode() for n, _ in entries]
        for n, value in entries:
            opt.create_dataset(n, data=value)
    return buffer.getvalue(), values


def _keras3_with_state(kind, weights, values):
    """Keras 3's model with the same weights and optimizer variables."""
    model = _keras_model()
    model.set_weights(weights)
    config = dict(OPTIMIZERS[kind][0]["config"])
    config.pop("decay")
    config.pop("name")
    optimizer = {"adam": keras.optimizers.Adam, "sgd": keras.optimizers.SGD,
                 "rmsprop": keras.optimizers.RMSprop}[kind](**config)
    model.compile(optimizer=optimizer, loss="mse")
    optimizer.build(model.trainable_variables)
    lists = {"m": "_momentums", "v": "_velocities", "momentum": "momentums" if kind == "sgd"
             else "_momentums", "rms": "_velocities", "mg": "_average_gradients"}
    for slot, slot_values in values.items():
        for variable, value in zip(getattr(optimizer, lists[slot]), slot_values, strict=True):
            variable.assign(value)
    optimizer.iterations.assign(ITERATIONS)
    return model


def _batch():
    rng = np.random.default_rng(5)
    return rng.normal(size=(8, 6)).astype(np.float32), rng.normal(size=(8, 2)).astype(
        np.float32)


@pytest.mark.parametrize("layout", ["v2", "new", "new_scoped"])
@pytest.mark.parametrize("kind", ["adam", "sgd", "rmsprop"])
def test_keras2_optimizer_state_resumes_training(kind, layout, tmp_path):
    weights = _keras_model().get_weights()
    data, values = keras2_file(kind, weights, layout)
    (tmp_path / "k2.h5").write_bytes(data)
    ours = load_model(tmp_path / "k2.h5")
    assert type(ours.optimizer).__name__ == OPTIMIZERS[kind][0]["class_name"]
    assert int(ours.optimizer.iterations.value) == ITERATIONS
    theirs = _keras3_with_state(kind, weights, values)
    x, y = _batch()
    for _ in range(2):
        ours.train_on_batch(x, y)
        theirs.train_on_batch(x, y)
    for a, b in zip(ours.get_weights(), theirs.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, **TOL)
    assert int(ours.optimizer.iterations.value) == ITERATIONS + 2
    # the state matters: a fresh optimizer would end elsewhere
    fresh = _keras_model()
    fresh.set_weights(weights)
    fresh.compile(optimizer=theirs.optimizer.__class__.from_config(
        theirs.optimizer.get_config()), loss="mse")
    for _ in range(2):
        fresh.train_on_batch(x, y)
    assert max(float(np.max(np.abs(a - b))) for a, b in
               zip(ours.get_weights(), fresh.get_weights(), strict=True)) > 1e-4


def _refused(tmp_path, edit, match):
    weights = _keras_model().get_weights()
    data, _ = keras2_file("adam", weights, "v2", edit)
    (tmp_path / "bad.h5").write_bytes(data)
    with pytest.raises(CornuFileError, match=match):
        load_model(tmp_path / "bad.h5")


def test_wrong_slot_shape_refused(tmp_path):
    def edit(entries):
        return [(n, np.zeros((3, 3), np.float32) if n == "Adam/a/kernel/m:0" else v)
                for n, v in entries]
    _refused(tmp_path, edit, r"Adam/a/kernel/m:0.*shape \(3, 3\)")


def test_huge_declared_slot_refused_before_reading(tmp_path):
    def edit(entries):
        return entries  # the dataset is replaced below, with a huge declared shape

    weights = _keras_model().get_weights()
    data, _ = keras2_file("adam", weights, "v2", edit)
    buffer = io.BytesIO(data)
    with h5py.File(buffer, "a") as f:
        del f["optimizer_weights/Adam/a/kernel/v:0"]
        f["optimizer_weights"].create_dataset("Adam/a/kernel/v:0", shape=(10**6, 10**6),
                                              dtype="float32", chunks=(1, 1024))
    (tmp_path / "huge.h5").write_bytes(buffer.getvalue())
    with pytest.raises(CornuFileError, match=r"shape \(1000000, 1000000\)"):
        load_model(tmp_path / "huge.h5")


@pytest.mark.parametrize("count, match", [(np.float64(np.nan), "not a whole number"),
                                          (np.int64(-4), "between 0"),
                                          (np.int64(2**40), "between 0"),
                                          (np.array([1, 2]), "shape")])
def test_bad_step_count_refused(tmp_path, count, match):
    def edit(entries):
        return [(n, count if n == "Adam/iter:0" else v) for n, v in entries]
    _refused(tmp_path, edit, match)


def test_string_slot_and_duplicate_refused(tmp_path):
    def strings(entries):
        return [(n, np.bytes_("x") if n == "Adam/a/bias/v:0" else v) for n, v in entries]
    _refused(tmp_path, strings, "dtype")

    def twice(entries):  # the same variable under both of Keras 2's spellings
        return entries + [("m/a/bias:0", np.zeros(4, np.float32))]
    _refused(tmp_path, twice, "same variable")


def test_weights_of_another_optimizer_start_afresh_with_a_warning(tmp_path):
    def other(entries):  # Adagrad's slot names in a file whose config says Adam
        return [(n.replace("/m:0", "/accumulator:0"), v) for n, v in entries]

    weights = _keras_model().get_weights()
    data, _ = keras2_file("adam", weights, "v2", other)
    (tmp_path / "other.h5").write_bytes(data)
    with pytest.warns(UserWarning, match="starts afresh"):
        ours = load_model(tmp_path / "other.h5")
    assert int(ours.optimizer.iterations.value) == 0
