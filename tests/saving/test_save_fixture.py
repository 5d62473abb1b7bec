"""The committed format-version-1 file must load, in this and every later cornu."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import jax
import numpy as np

import cornu
from cornu.saving import FORMAT_VERSION, load_model

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
MODEL = FIXTURES / "v1_mlp.cornu"
EXPECTED = json.loads((FIXTURES / "v1_mlp_expected.json").read_text())


def test_the_fixture_is_format_version_1():
    with zipfile.ZipFile(MODEL) as zf:
        assert json.loads(zf.read("metadata.json"))["format_version"] == 1
    assert FORMAT_VERSION >= 1


def test_the_v1_fixture_loads_and_predicts_as_recorded():
    model = load_model(MODEL)
    for got, want in zip(model.get_weights(), EXPECTED["weights"], strict=True):
        np.testing.assert_array_equal(got, np.asarray(want, np.float32))
    inputs = np.asarray(EXPECTED["inputs"], np.float32)
    np.testing.assert_allclose(model.predict(inputs, verbose=0),
                               np.asarray(EXPECTED["predictions"], np.float32),
                               rtol=1e-5, atol=1e-7)
    # the loss as version 1 wrote it ({"name", "from_logits"}), read back and written as
    # today's config (Keras' form)
    recorded = EXPECTED["compile"]
    assert model.get_compile_config() == {
        **recorded, "loss": cornu.losses.serialize(cornu.losses.get(recorded["loss"]))}
    assert isinstance(model.loss, cornu.losses.CategoricalCrossentropy)
    assert not model.loss.from_logits
    counts = [int(leaf) for path, leaf in jax.tree_util.tree_leaves_with_path(model._opt_state)
              if jax.tree_util.keystr(path).endswith("count")]
    assert counts and all(c == EXPECTED["train_steps"] for c in counts)


def test_the_v1_fixture_trains_on_and_loads_without_compile():
    model = load_model(MODEL)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(32, 4)).astype(np.float32)
    y = cornu.utils.to_categorical(rng.integers(0, 3, 32), 3)
    history = model.fit(x, y, batch_size=16, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    bare = load_model(MODEL, compile=False)
    assert bare.optimizer is None
    np.testing.assert_array_equal(bare.predict(x, verbose=0),
                                  load_model(MODEL).predict(x, verbose=0))
