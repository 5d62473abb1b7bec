"""model.export's arguments: the format names, the path, the optional packages."""

from __future__ import annotations

import sys

import pytest
from export_helpers import lecture_net

import cornu
from cornu.saving import CornuFileError


def test_bad_format_lists_the_formats(tmp_path):
    with pytest.raises(ValueError, match="format must be one of 'tf_saved_model', 'onnx', "
                       "'stablehlo'. Received: format='pt'"):
        lecture_net().export(tmp_path / "m", format="pt")


@pytest.mark.parametrize("format", ["stablehlo", "onnx"])
def test_missing_folder_is_refused(tmp_path, format):
    pytest.importorskip("jax2onnx") if format == "onnx" else None
    with pytest.raises(CornuFileError, match="does not exist"):
        lecture_net().export(tmp_path / "no" / "such" / "m.bin", format=format, verbose=False)


def test_folder_as_file_is_refused(tmp_path):
    with pytest.raises(CornuFileError, match="it is a folder"):
        lecture_net().export(tmp_path, format="stablehlo", verbose=False)


def test_empty_path_is_refused():
    with pytest.raises(ValueError, match="filepath must name"):
        lecture_net().export("", format="stablehlo")


def test_unbuilt_model_is_refused(tmp_path):
    model = cornu.Sequential([cornu.layers.Dense(2)])
    with pytest.raises(ValueError, match="not built yet"):
        model.export(tmp_path / "m.stablehlo", format="stablehlo")


def test_unknown_keyword_is_refused(tmp_path):
    with pytest.raises(TypeError, match="unexpected keyword arguments: opset"):
        lecture_net().export(tmp_path / "m.stablehlo", format="stablehlo", opset=3)


@pytest.mark.parametrize("format, module, extra", [
    ("onnx", "jax2onnx", "export-onnx"), ("tf_saved_model", "tensorflow", "export-tf")])
def test_missing_package_names_the_extra(tmp_path, monkeypatch, format, module, extra):
    monkeypatch.setitem(sys.modules, module, None)  # import fails as if not installed
    with pytest.raises(ImportError, match=rf"pip install 'cornu\[{extra}\]'"):
        lecture_net().export(tmp_path / "m", format=format)
    assert list(tmp_path.iterdir()) == []
