"""format="tf_saved_model": tf.saved_model.load runs the export's serving_default
signature (named inputs and outputs, any batch size) and predicts what cornu predicts."""

from __future__ import annotations

import numpy as np
import pytest
from export_helpers import MODELS, check_runtime, lecture_net

from cornu.export import tf_saved_model
from cornu.export._common import input_specs, output_specs
from cornu.saving import CornuFileError

tf = pytest.importorskip("tensorflow", reason="needs the extra: pip install 'cornu[export-tf]'")


def _serving(path):
    return tf.saved_model.load(str(path)).signatures["serving_default"]


@pytest.mark.parametrize("kind", ["lecture_net", "convnet", "lstm", "branches", "subclassed"])
def test_saved_model_predicts_as_cornu(tmp_path, kind):
    model = MODELS[kind]()
    path = tmp_path / "saved"
    model.export(path, format="tf_saved_model", verbose=False)
    serve = _serving(path)
    inputs = sorted(serve.structured_input_signature[1])
    outputs = [s.name for s in output_specs(model, input_specs(model))]  # the model's order
    assert sorted(outputs) == sorted(serve.structured_outputs)

    def run(xs):
        names = [s["name"] for s in _specs(model)]
        assert sorted(names) == inputs
        result = serve(**{n: tf.constant(x) for n, x in zip(names, xs, strict=True)})
        return [result[n].numpy() for n in outputs]

    check_runtime(model, run)


def _specs(model):
    return [s.as_json() for s in input_specs(model)]


def test_signature_names_are_the_models(tmp_path):
    lecture_net().export(tmp_path / "saved", format="tf_saved_model", verbose=False)
    serve = _serving(tmp_path / "saved")
    spec = serve.structured_input_signature[1]["pixels"]
    assert spec.shape.as_list() == [None, 20] and spec.dtype == tf.float32
    assert list(serve.structured_outputs) == ["probabilities"]
    assert (tmp_path / "saved" / "variables").is_dir()


def test_docs_serving_snippet(tmp_path):
    """docs/interop.md: the signature called by input name."""
    model = lecture_net()
    model.export(tmp_path / "net_savedmodel", format="tf_saved_model", verbose=False)
    x = np.ones((2, 20), np.float32)
    serve = tf.saved_model.load(str(tmp_path / "net_savedmodel")).signatures["serving_default"]
    y = serve(pixels=tf.constant(x))["probabilities"].numpy()
    np.testing.assert_allclose(y, model.predict(x, verbose=0), atol=1e-5)


def test_failed_export_keeps_the_earlier_one(tmp_path, monkeypatch):
    model = lecture_net()
    path = tmp_path / "saved"
    model.export(path, format="tf_saved_model", verbose=False)
    before = sorted(p.relative_to(path) for p in path.rglob("*"))

    def broken(tf, module, folder, serve):
        (tmp_path / folder / "saved_model.pb").write_bytes(b"partial")
        raise RuntimeError("disk full halfway")

    monkeypatch.setattr(tf_saved_model, "_save", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        model.export(path, format="tf_saved_model", verbose=False)
    with pytest.raises(RuntimeError, match="disk full"):
        model.export(tmp_path / "new", format="tf_saved_model", verbose=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["saved"]
    assert sorted(p.relative_to(path) for p in path.rglob("*")) == before
    assert _serving(path) is not None


def test_folder_of_other_files_is_not_replaced(tmp_path):
    (tmp_path / "photos").mkdir()
    (tmp_path / "photos" / "cat.jpg").write_bytes(b"\xff")
    with pytest.raises(CornuFileError, match="not a SavedModel"):
        lecture_net().export(tmp_path / "photos", format="tf_saved_model", verbose=False)
    assert (tmp_path / "photos" / "cat.jpg").exists()
