"""Functional models that call cornu.ops on symbolic tensors (`a + b`,
`ops.concatenate([...])`, `x[:, 0]`) save and load: as .cornu, and as .keras in Keras' own
form (operation nodes: the op's class and settings, the call's tensors and constants),
Keras' files loading in cornu and cornu's in Keras 3 (JAX backend) with the same
predictions. An operation is found only among cornu.ops' functions."""

from __future__ import annotations

import json
import os
import zipfile

import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "jax")
keras = pytest.importorskip("keras")

import jax  # noqa: E402

import cornu  # noqa: E402
from cornu.saving import CornuFileError  # noqa: E402

TOL = dict(rtol=1e-5, atol=1e-6)


@pytest.fixture(autouse=True)
def _user_broadcasting():
    with jax.numpy_rank_promotion("allow"):
        yield


def _model(lib):
    ops = lib.ops
    a, b = lib.Input((3, 4), name="a"), lib.Input((3, 4), name="b")
    s = a + b
    c = ops.concatenate([s, b], axis=-1)
    d = lib.layers.Dense(2)(c)
    e = ops.relu(d) * 2.0
    f = ops.sum(e, axis=-1, keepdims=True)
    g = ops.expand_dims(ops.mean(ops.square(c[:, 0, 1:6]), axis=1), -1) - ops.clip(
        f[:, -1], 0.0, 1.0)
    h = ops.reshape(ops.transpose(d, (0, 2, 1)), (-1, 6))
    return lib.Model([a, b], [f, g, h])


X = [np.random.default_rng(0).normal(size=(5, 3, 4)).astype(np.float32),
     np.random.default_rng(1).normal(size=(5, 3, 4)).astype(np.float32)]


def _same(a, b):
    for p, q in zip(a, b, strict=True):
        np.testing.assert_allclose(p, q, **TOL)


def test_cornu_file_round_trip(tmp_path):
    model = _model(cornu)
    model.save(tmp_path / "m.cornu")
    again = cornu.models.load_model(tmp_path / "m.cornu")
    _same(again.predict(X, verbose=0), model.predict(X, verbose=0))
    clone = cornu.Model.from_config(model.get_config())
    clone.set_weights(model.get_weights())
    _same(clone.predict(X, verbose=0), model.predict(X, verbose=0))


def test_keras_file_with_operations_loads_in_cornu(tmp_path):
    theirs = _model(keras)
    theirs.save(tmp_path / "k.keras")
    ours = cornu.models.load_model(tmp_path / "k.keras")
    _same(ours.predict(X, verbose=0), theirs.predict(X, verbose=0))


def test_cornu_keras_file_with_operations_loads_in_keras(tmp_path):
    ours = _model(cornu)
    ours.save(tmp_path / "c.keras")
    theirs = keras.models.load_model(tmp_path / "c.keras")
    _same(theirs.predict(X, verbose=0), ours.predict(X, verbose=0))
    # the entries are Keras' own: module, class name, settings, call arguments
    entries = {e["name"]: e for e in json.loads(
        zipfile.ZipFile(tmp_path / "c.keras").read("config.json"))["config"]["layers"]}
    concatenate = next(e for e in entries.values() if e["class_name"] == "Concatenate")
    assert concatenate["module"] == "keras.src.ops.numpy"
    assert concatenate["config"]["axis"] == -1
    assert len(concatenate["inbound_nodes"][0]["args"][0]) == 2
    relu = next(e for e in entries.values() if e["class_name"] == "Relu")
    assert relu["module"] == "keras.src.ops.nn"


def test_an_operation_cornu_does_not_have_is_refused_by_name(tmp_path):
    theirs = _model(keras)
    theirs.save(tmp_path / "k.keras")
    with zipfile.ZipFile(tmp_path / "k.keras") as z:
        members = {n: z.read(n) for n in z.namelist()}
    config = json.loads(members["config.json"])
    for entry in config["config"]["layers"]:
        if entry["class_name"] == "Concatenate":
            entry.update(class_name="Frobnicate", module="keras.src.ops.evil")
    members["config.json"] = json.dumps(config).encode()
    with zipfile.ZipFile(tmp_path / "bad.keras", "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    with pytest.raises(CornuFileError, match="'Frobnicate'.*cornu.ops does not have"):
        cornu.models.load_model(tmp_path / "bad.keras")


def test_an_op_name_outside_cornu_ops_is_refused():
    from cornu.layers.op_layer import OpLayer

    with pytest.raises(ValueError, match="op must name a cornu.ops function"):
        OpLayer.from_config({"name": "x", "op": "os.system"})
