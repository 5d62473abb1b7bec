"""`cornu convert IN OUT`: .keras, .h5 and .cornu into each other (Keras 3 loads what it
writes and predicts the same), the export formats dispatched to model.export, and the
one-line errors."""

from __future__ import annotations

import logging
import os

import numpy as np
import pytest
from cli_helpers import run_cli

os.environ.setdefault("KERAS_BACKEND", "jax")
keras = pytest.importorskip("keras")
pytest.importorskip("h5py")

import jax  # noqa: E402

from cornu.cli.convert import output_format  # noqa: E402
from cornu.cli.errors import CliError  # noqa: E402
from cornu.saving import load_model  # noqa: E402

TOL = dict(rtol=1e-5, atol=1e-5)
logging.getLogger("absl").setLevel(logging.ERROR)


@pytest.fixture(autouse=True)
def _user_broadcasting():
    with jax.numpy_rank_promotion("allow"):
        yield


@pytest.fixture
def keras_model(tmp_path):
    L = keras.layers
    inputs = keras.Input((6,), name="x")
    merged = L.Concatenate()([L.Dense(4, activation="relu")(inputs),
                              L.Dense(3, activation="tanh")(inputs)])
    model = keras.Model(inputs, L.Dense(2)(L.BatchNormalization()(merged)))
    # a loss object: Keras 3.15's legacy .h5 loader cannot read back a loss given by name
    model.compile(optimizer="rmsprop", loss=keras.losses.MeanSquaredError())
    x = np.random.default_rng(0).normal(size=(8, 6)).astype(np.float32)
    model.fit(x, np.ones((8, 2), np.float32), epochs=2, verbose=0)
    return model, x


def predict(model, x):
    return np.asarray(model.predict(x, verbose=0))


def test_round_trip_through_every_file_format(keras_model, tmp_path):
    model, x = keras_model
    model.save(tmp_path / "m.h5")  # Keras 3's legacy writer
    chain = ["m.h5", "a.keras", "b.cornu", "c.h5", "d.keras"]
    for source, target in zip(chain, chain[1:], strict=False):
        code, out, err = run_cli("convert", tmp_path / source, tmp_path / target)
        assert code == 0, err
        assert f"Wrote {tmp_path / target}" in out
        np.testing.assert_allclose(predict(load_model(tmp_path / target), x),
                                   predict(model, x), **TOL)
    for name in ("a.keras", "d.keras", "c.h5"):  # Keras 3 reads what cornu wrote
        theirs = keras.models.load_model(tmp_path / name)
        np.testing.assert_allclose(predict(theirs, x), predict(model, x), **TOL)
    theirs = keras.models.load_model(tmp_path / "d.keras")
    assert int(theirs.optimizer.iterations) == int(model.optimizer.iterations)


def test_existing_output_needs_force(keras_model, tmp_path):
    model, _ = keras_model
    model.save(tmp_path / "m.keras")
    (tmp_path / "out.cornu").write_bytes(b"old")
    code, _, err = run_cli("convert", tmp_path / "m.keras", tmp_path / "out.cornu")
    assert code == 1 and "exists; pass --force" in err
    assert (tmp_path / "out.cornu").read_bytes() == b"old"
    code, _, err = run_cli("convert", tmp_path / "m.keras", tmp_path / "out.cornu", "--force")
    assert code == 0, err


def test_unreadable_input(tmp_path):
    code, _, err = run_cli("convert", tmp_path / "missing.h5", tmp_path / "o.keras")
    assert code == 1 and "does not exist" in err
    (tmp_path / "junk.h5").write_bytes(b"not a model at all")
    code, _, err = run_cli("convert", tmp_path / "junk.h5", tmp_path / "o.keras")
    assert code == 1 and err.startswith("cornu: error:") and "junk.h5" in err
    assert not (tmp_path / "o.keras").exists()


def test_unknown_extension(tmp_path):
    code, _, err = run_cli("convert", tmp_path / "m.keras", tmp_path / "o.pkl")
    assert code == 1 and "'.pkl'" in err and "--format" in err


def test_output_format_by_name_and_flag(tmp_path):
    assert output_format(tmp_path / "a.keras", None) == "keras"
    assert output_format(tmp_path / "a.HDF5", None) == "h5"
    assert output_format(tmp_path / "a.cornu", None) == "cornu"
    assert output_format(tmp_path / "a.stablehlo", None) == "stablehlo"
    assert output_format(tmp_path / "a.onnx", None) == "onnx"
    assert output_format(tmp_path / "served", None) == "tf_saved_model"
    assert output_format(tmp_path / "x.bin", "onnx") == "onnx"
    with pytest.raises(CliError, match="weights file"):
        output_format(tmp_path / "w.weights.h5", None)


def test_export_formats_call_model_export(keras_model, tmp_path, monkeypatch):
    """The export formats go to model.export(OUT, format=...) (tested with the export
    itself where Model.export is implemented)."""
    from cornu.models.model import Model

    model, _ = keras_model
    model.save(tmp_path / "m.keras")
    calls = []
    monkeypatch.setattr(Model, "export", lambda self, path, format: calls.append(
        (path, format)), raising=False)
    for target, fmt in (("m.onnx", "onnx"), ("m.stablehlo", "stablehlo"),
                        ("served", "tf_saved_model")):
        code, _, err = run_cli("convert", tmp_path / "m.keras", tmp_path / target)
        assert code == 0, err
        assert calls[-1] == (str(tmp_path / target), fmt)
    code, _, err = run_cli("convert", tmp_path / "m.keras", tmp_path / "x.bin",
                           "--format", "stablehlo")
    assert code == 0 and calls[-1] == (str(tmp_path / "x.bin"), "stablehlo")


def test_help_lists_the_formats():
    code, out, _ = run_cli("convert", "--help")
    assert code == 0
    for word in (".keras", ".h5", ".cornu", ".stablehlo", ".onnx", "SavedModel", "--force"):
        assert word in out
