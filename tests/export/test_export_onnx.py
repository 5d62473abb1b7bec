"""format="onnx": ONNX Runtime runs the export and predicts what cornu predicts, at any
batch size; what jax2onnx cannot convert is named by layer and op."""

from __future__ import annotations

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


def test_unconvertible_layer_is_named(tmp_path):
    # jax2onnx 0.17 cannot pad with a symbolic batch size
    model = cornu.Sequential([cornu.Input((5, 5, 2)), cornu.layers.Dense(3),
                              cornu.layers.MaxPooling2D(padding="same"),
                              cornu.layers.Flatten(), cornu.layers.Dense(2)])
    model.export(tmp_path / "ok.stablehlo", format="stablehlo", verbose=False)
    with pytest.raises(ValueError, match=r"could not convert model .* at the jax op 'pad' "
                       r"of layer 'max_pooling2d' \(MaxPooling2D\)"):
        model.export(tmp_path / "m.onnx", format="onnx", verbose=False)
    assert not (tmp_path / "m.onnx").exists()


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
