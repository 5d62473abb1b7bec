"""CategoryEncoding against Keras 3."""

from __future__ import annotations

import os

import numpy as np
import pytest

import cornu

os.environ.setdefault("KERAS_BACKEND", "jax")
keras = pytest.importorskip("keras")


@pytest.mark.parametrize("mode", ["one_hot", "multi_hot", "count"])
@pytest.mark.parametrize("ids", [np.array([0, 2, 3, 1]), np.array([[0], [2], [3]]),
                                 np.array([[0, 1, 1], [3, 3, 2]])])
def test_matches_keras(mode, ids):
    ours = cornu.layers.CategoryEncoding(num_tokens=4, output_mode=mode)
    theirs = keras.layers.CategoryEncoding(num_tokens=4, output_mode=mode)
    np.testing.assert_array_equal(np.asarray(ours(ids)), np.asarray(theirs(ids)))
    assert ours.compute_output_shape(ids.shape) == theirs.compute_output_shape(ids.shape)


def test_count_weights_and_a_model(tmp_path):
    ours = cornu.layers.CategoryEncoding(num_tokens=3, output_mode="count")
    got = ours(np.array([[0, 1, 1]]), count_weights=np.array([[0.5, 1.0, 2.0]], np.float32))
    np.testing.assert_allclose(np.asarray(got), [[0.5, 3.0, 0.0]])
    inputs = cornu.Input((1,), dtype="int32")
    x = cornu.layers.CategoryEncoding(num_tokens=5, output_mode="one_hot")(inputs)
    model = cornu.Model(inputs, cornu.layers.Dense(1)(x))
    model.compile(optimizer="adam", loss="mse")
    ids = np.arange(10).reshape(-1, 1) % 5
    model.fit(ids, np.ones((10, 1), np.float32), epochs=1, verbose=0)
    model.save(tmp_path / "m.cornu")
    loaded = cornu.models.load_model(tmp_path / "m.cornu")
    np.testing.assert_allclose(loaded.predict(ids, verbose=0), model.predict(ids, verbose=0))
    with pytest.raises(ValueError, match="num_tokens must be a positive integer"):
        cornu.layers.CategoryEncoding()
