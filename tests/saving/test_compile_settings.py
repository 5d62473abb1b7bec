"""Compile settings survive save/load: no metrics, per-output losses as lists."""

import numpy as np

import cornu
from cornu.layers import Dense


def test_model_compiled_without_metrics_saves_and_loads(tmp_path):
    cornu.utils.set_random_seed(0)
    model = cornu.Sequential([Dense(2, input_shape=(3,), activation="softmax")])
    model.compile(optimizer="adam", loss="categorical_crossentropy")
    path = tmp_path / "m.cornu"
    model.save(path)
    loaded = cornu.models.load_model(path)
    assert loaded.get_compile_config() == model.get_compile_config()
    x = np.random.default_rng(0).random((4, 3)).astype(np.float32)
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
