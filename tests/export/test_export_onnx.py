"""format="onnx": ONNX Runtime runs the export and predicts what cornu predicts, at any
batch size; what jax2onnx cannot convert is named by layer and op."""

from __future__ import annotations

import jax
import numpy as np
import pytest
from export_helpers import MODELS, check_runtime, lecture_net

import cornu
from cornu.export import onnx as onnx_export

pytest.importorskip("jax2onnx", reason="needs the extra: pip install 'cornu[export-onnx]'")
ort = pytest.importorskip("onnxruntime",
                          reason="needs the extra: pip install 'cornu[export-onnx]'")


def _session(path):
    options = ort.SessionOptions()
    options.log_severity_level = 3  # errors only
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


@pytest.mark.parametrize("kind", sorted(MODELS))
def test_onnx_runtime_predicts_as_cornu(tmp_path, kind):
    model = MODELS[kind]()
    path = tmp_path / "m.onnx"
    model.export(path, format="onnx", verbose=False)
    session = _session(path)
    names = [i.name for i in session.get_inputs()]
    assert session.get_inputs()[0].shape[0] == "batch"
    check_runtime(model, lambda xs: session.run(None, dict(zip(names, xs, strict=True))))


def test_names_are_the_models(tmp_path):
    path = tmp_path / "net.onnx"
    lecture_net().export(path, format="onnx", verbose=False)
    session = _session(path)
    assert [i.name for i in session.get_inputs()] == ["pixels"]
    assert [o.name for o in session.get_outputs()] == ["probabilities"]


class EdgePad(cornu.layers.Layer):
    """A user's layer with lax.pad, which jax2onnx 0.17 cannot convert with a symbolic
    batch size (it converts jnp.pad)."""

    def call(self, x):
        return jax.lax.pad(x, np.float32(0), [(0, 0, 0), (1, 1, 0), (1, 1, 0), (0, 0, 0)])


def test_unconvertible_layer_is_named(tmp_path):
    model = cornu.Sequential([cornu.Input((5, 5, 2)), cornu.layers.Dense(3),
                              EdgePad(name="edge_pad"), cornu.layers.Flatten(),
                              cornu.layers.Dense(2)])
    model.export(tmp_path / "ok.stablehlo", format="stablehlo", verbose=False)
    with pytest.raises(ValueError, match=r"could not convert model .* at the jax op 'pad' "
                       r"of layer 'edge_pad' \(EdgePad\)"):
        model.export(tmp_path / "m.onnx", format="onnx", verbose=False)
    assert not (tmp_path / "m.onnx").exists()


@pytest.mark.parametrize("layer", [
    lambda: cornu.layers.MaxPooling2D(padding="same"),
    lambda: cornu.layers.MaxPooling2D(3, strides=2, padding="same"),
    lambda: cornu.layers.AveragePooling2D(padding="same"),
    lambda: cornu.layers.AveragePooling2D((3, 2), strides=(1, 2), padding="same"),
    lambda: cornu.layers.MaxPooling1D(3, strides=2, padding="same"),
    lambda: cornu.layers.AveragePooling1D(3, strides=2, padding="same"),
], ids=["max2", "max3s2", "avg2", "avg3x2", "max1d", "avg1d"])
def test_same_padded_pooling_exports_with_a_symbolic_batch(tmp_path, layer):
    """'same' pooling pads with jnp.pad, which jax2onnx converts at a symbolic batch size
    (lax.pad it does not): ONNX Runtime gives predict's outputs at any batch size, also
    where the edges hold extreme values."""
    pool = layer()
    shape = (5, 7, 2) if "2D" in type(pool).__name__ else (7, 2)
    model = cornu.Sequential([cornu.Input(shape), cornu.layers.Dense(3), pool,
                              cornu.layers.Flatten(), cornu.layers.Dense(2)])
    path = tmp_path / "m.onnx"
    model.export(path, format="onnx", verbose=False)
    session = _session(path)
    assert session.get_inputs()[0].shape[0] == "batch"
    for batch in (1, 4):
        x = np.random.default_rng(batch).normal(size=(batch, *shape)).astype(np.float32)
        (y,) = session.run(None, {session.get_inputs()[0].name: x})
        np.testing.assert_allclose(y, model.predict(x, verbose=0), rtol=1e-5, atol=1e-5)
    # the pooling layer alone, on values whose edges are extreme
    alone = cornu.Sequential([cornu.Input(shape), layer()])
    alone.export(path, format="onnx", verbose=False)
    session = _session(path)
    x = np.random.default_rng(9).normal(size=(3, *shape)).astype(np.float32)
    x[0, 0] = -1e30
    x[1, -1] = 1e30
    (y,) = session.run(None, {session.get_inputs()[0].name: x})
    np.testing.assert_allclose(y, alone.predict(x, verbose=0), rtol=1e-6)


def test_failed_write_leaves_no_file(tmp_path, monkeypatch):
    def broken(proto):
        raise RuntimeError("disk full halfway")

    monkeypatch.setattr(onnx_export, "_serialize", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        lecture_net().export(tmp_path / "net.onnx", format="onnx", verbose=False)
    assert list(tmp_path.iterdir()) == []


def test_docs_session_snippet(tmp_path):
    """docs/interop.md: an InferenceSession fed by input name."""
    model = lecture_net()
    model.export(tmp_path / "net.onnx", format="onnx", verbose=False)
    x = np.ones((2, 20), np.float32)
    session = ort.InferenceSession(str(tmp_path / "net.onnx"))
    (y,) = session.run(None, {session.get_inputs()[0].name: x})
    np.testing.assert_allclose(y, model.predict(x, verbose=0), atol=1e-5)
