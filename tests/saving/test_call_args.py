"""Functional configs keep each call's arguments (several inputs, keyword arguments): they
load into the same calls, and malformed call_args in a file are refused."""

from __future__ import annotations

import json

import numpy as np
import pytest
from saving_helpers import members, rewrite

import cornu
from cornu import layers as L
from cornu.saving import CornuFileError, load_model


def _model() -> cornu.Model:
    q, v = cornu.Input(shape=(4, 3)), cornu.Input(shape=(5, 2))
    x = L.MultiHeadAttention(2, 2, name="mha")(q, v, key=v, use_causal_mask=True)
    return cornu.Model([q, v], x)


def _entry(config: dict) -> dict:
    return next(e for e in config["model"]["config"]["layers"] if e["config"]["name"] == "mha")


def test_keyword_arguments_and_several_inputs_survive_saving(tmp_path):
    model = _model()
    entry = _entry({"model": {"config": model.get_config()}})
    call = entry["call_args"][0]
    assert call["kwargs"]["use_causal_mask"] is True
    assert [a["class_name"] for a in call["args"]] == ["__keras_tensor__"] * 3  # q, v, key
    x = [np.random.default_rng(0).normal(size=s).astype(np.float32) for s in [(2, 4, 3),
                                                                              (2, 5, 2)]]
    model.save(tmp_path / "m.cornu")
    again = load_model(tmp_path / "m.cornu")
    np.testing.assert_array_equal(model.predict(x, verbose=0), again.predict(x, verbose=0))
    # without the keyword argument the model computes something else
    plain = L.MultiHeadAttention(2, 2)
    plain(x[0], x[1])
    plain.set_weights(model.layers[-1].get_weights())
    assert not np.allclose(plain(x[0], x[1]), again.predict(x, verbose=0), atol=1e-4)


def test_arguments_a_config_cannot_hold_are_refused():
    q = cornu.Input(shape=(4, 3))
    x = L.MultiHeadAttention(2, 2)(q, q, attention_mask=np.ones((4, 4), bool))
    with pytest.raises(NotImplementedError, match="model input"):
        cornu.Model(q, x).get_config()


@pytest.mark.parametrize("bad", [
    "text", [], [None, None], [{"args": []}], [{"args": {}, "kwargs": {}}],
    [{"args": [{"class_name": "__keras_tensor__", "config": {"keras_history": ["x", -1, 0]}}],
      "kwargs": {}}],
    [{"args": [{"class_name": "__keras_tensor__", "config": {"keras_history": ["nowhere", 0, 0]}}],
      "kwargs": {}}],
    [{"args": [[[[[[[[[[1]]]]]]]]]], "kwargs": {}}],
    [{"args": [], "kwargs": {"unknown_argument": 1}}],
])
def test_malformed_call_args_are_refused(tmp_path, bad):
    _model().save(tmp_path / "m.cornu")
    config = json.loads(members(tmp_path / "m.cornu")["config.json"])
    _entry(config)["call_args"] = bad
    rewrite(tmp_path / "m.cornu", tmp_path / "bad.cornu",
            {"config.json": json.dumps(config).encode()})
    with pytest.raises(CornuFileError):
        load_model(tmp_path / "bad.cornu")
