"""format="stablehlo": the export runs with jax alone and predicts what cornu predicts, at
any batch size; a file outside jax's compatibility window is refused, saying so."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import jax
import numpy as np
import pytest
from export_helpers import MODELS, check_runtime, inputs_for, lecture_net

import cornu
from cornu.export import load_stablehlo, stablehlo
from cornu.saving import CornuFileError


@pytest.mark.parametrize("kind", sorted(MODELS))
def test_reloaded_export_predicts_as_cornu(tmp_path, kind):
    model = MODELS[kind]()
    path = tmp_path / "m.stablehlo"
    model.export(path, format="stablehlo", verbose=False)
    loaded = load_stablehlo(path)

    def run(xs):
        out = loaded(*xs)
        return list(out) if isinstance(out, tuple | list) else [out]

    check_runtime(model, run)  # two batch sizes from one export
    assert loaded.header["inputs"][0]["shape"][0] is None


def test_file_runs_with_jax_alone(tmp_path):
    model = lecture_net()
    path = tmp_path / "net.stablehlo"
    model.export(path, format="stablehlo", verbose=False)
    x = inputs_for(model, 5)[0]
    np.save(tmp_path / "x.npy", x)
    script = f"""
import sys
sys.modules["cornu"] = None  # importing cornu fails from here on
import json, jax, numpy as np
header, payload = open({str(path)!r}, "rb").read().split(b"\\n", 1)
exported = jax.export.deserialize(bytearray(payload))
y = exported.call(np.load({str(tmp_path / 'x.npy')!r}))
np.save({str(tmp_path / 'y.npy')!r}, np.asarray(y))
print(json.loads(header)["inputs"][0]["name"])
"""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          cwd=tmp_path, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "pixels"
    np.testing.assert_allclose(np.load(tmp_path / "y.npy"), model.predict(x, verbose=0),
                               atol=1e-5, rtol=1e-5)


def test_header_records_versions_and_specs(tmp_path):
    model = lecture_net()
    path = tmp_path / "net.stablehlo"
    model.export(path, format="stablehlo", verbose=False)
    header = json.loads(path.read_bytes().split(b"\n", 1)[0])
    assert header["jax_version"] == jax.__version__
    assert header["calling_convention_version"] in range(
        jax.export.minimum_supported_calling_convention_version,
        jax.export.maximum_supported_calling_convention_version + 1)
    assert header["inputs"] == [{"name": "pixels", "shape": [None, 20], "dtype": "float32"}]
    assert header["outputs"] == [{"name": "probabilities", "shape": [None, 4],
                                  "dtype": "float32"}]


def _edit_header(path: Path, **changes) -> None:
    header, payload = path.read_bytes().split(b"\n", 1)
    header = {**json.loads(header), **changes}
    path.write_bytes(json.dumps(header).encode() + b"\n" + payload)


@pytest.mark.parametrize("version", [
    jax.export.maximum_supported_calling_convention_version + 1,
    jax.export.minimum_supported_calling_convention_version - 1])
def test_outside_compatibility_window_is_refused(tmp_path, version):
    path = tmp_path / "net.stablehlo"
    lecture_net().export(path, format="stablehlo", verbose=False)
    _edit_header(path, calling_convention_version=version, jax_version="0.0.1")
    with pytest.raises(CornuFileError, match="outside jax's serialization compatibility "
                       "window") as info:
        load_stablehlo(path)
    assert "jax 0.0.1" in str(info.value) and f"version {version}" in str(info.value)


def test_not_an_export_is_refused(tmp_path):
    path = tmp_path / "other.stablehlo"
    path.write_bytes(b'{"format": "something else"}\n\x00\x01')
    with pytest.raises(CornuFileError, match="not a StableHLO export of cornu"):
        load_stablehlo(path)
    path.write_bytes(b"\x00" * 64)
    with pytest.raises(CornuFileError, match="JSON header line"):
        load_stablehlo(path)


def test_failed_export_leaves_no_file(tmp_path, monkeypatch):
    path = tmp_path / "net.stablehlo"
    model = lecture_net()
    model.export(path, format="stablehlo", verbose=False)
    before = path.read_bytes()

    def broken(exported):
        raise RuntimeError("disk full halfway")

    monkeypatch.setattr(stablehlo, "_payload", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        model.export(path, format="stablehlo", verbose=False)
    with pytest.raises(RuntimeError, match="disk full"):
        model.export(tmp_path / "new.stablehlo", format="stablehlo", verbose=False)
    assert path.read_bytes() == before  # the earlier export is whole
    assert sorted(p.name for p in tmp_path.iterdir()) == ["net.stablehlo"]


def test_verbose_says_what_was_saved(tmp_path, capsys):
    lecture_net().export(tmp_path / "net.stablehlo", format="stablehlo")
    out = capsys.readouterr().out
    assert "Saved artifact at" in out and "pixels (None, 20) float32" in out


def test_dtype_of_integer_inputs_is_kept(tmp_path):
    inputs = cornu.Input((5,), dtype="int32", name="tokens")
    x = cornu.layers.GlobalAveragePooling1D()(cornu.layers.Embedding(10, 3)(inputs))
    model = cornu.Model(inputs, cornu.layers.Dense(2)(x))
    path = tmp_path / "text.stablehlo"
    model.export(path, format="stablehlo", verbose=False)
    loaded = load_stablehlo(path)
    assert loaded.header["inputs"][0]["dtype"] == "int32"
    tokens = np.array([[1, 2, 3, 0, 9], [4, 4, 4, 4, 4]], np.int32)
    np.testing.assert_allclose(np.asarray(loaded(tokens)), model.predict(tokens, verbose=0),
                               atol=1e-5, rtol=1e-5)


def test_more_platforms(tmp_path):
    model = lecture_net()
    path = tmp_path / "net.stablehlo"
    model.export(path, format="stablehlo", platforms=("cpu", "cuda"), verbose=False)
    loaded = load_stablehlo(path)
    assert loaded.header["platforms"] == ["cpu", "cuda"]
    x = inputs_for(model, 2)[0]
    np.testing.assert_allclose(np.asarray(loaded(x)), model.predict(x, verbose=0), atol=1e-5)


def test_dict_outputs_in_output_names_order(tmp_path):
    inputs = cornu.Input((4,), name="features")
    h = cornu.layers.Dense(3)(inputs)
    model = cornu.Model(inputs, {"second": cornu.layers.Dense(2)(h),
                                 "first": cornu.layers.Dense(1)(h)})
    path = tmp_path / "dict.stablehlo"
    model.export(path, format="stablehlo", verbose=False)
    loaded = load_stablehlo(path)
    assert loaded.output_names == ["second", "first"]
    x = inputs_for(model, 3)[0]
    want = model.predict(x, verbose=0)
    got = loaded(x)
    for name, value in zip(loaded.output_names, got, strict=True):
        np.testing.assert_allclose(np.asarray(value), want[name], atol=1e-5, rtol=1e-5)


class _NeedsBatchSize(cornu.layers.Layer):
    def call(self, x):
        return x * float(x.shape[0])  # the batch size as a number: not exportable


def test_layer_needing_a_number_for_the_batch_is_named(tmp_path):
    inputs = cornu.Input((3,))
    model = cornu.Model(inputs, _NeedsBatchSize(name="scaler")(cornu.layers.Dense(2)(inputs)))
    with pytest.raises(ValueError, match=r"tracing its forward failed in layer 'scaler' "
                       r"\(_NeedsBatchSize\).*batch size is symbolic"):
        model.export(tmp_path / "m.stablehlo", format="stablehlo", verbose=False)
    assert list(tmp_path.iterdir()) == []
