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


def test_weighted_metrics_survive_save_and_load_and_keras_files(tmp_path):
    import os

    import jax
    import pytest
    os.environ.setdefault("KERAS_BACKEND", "jax")
    keras = pytest.importorskip("keras")

    model = cornu.Sequential([cornu.Input(shape=(3,)), Dense(2, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"], weighted_metrics=["accuracy"])
    x = np.random.default_rng(0).random((6, 3)).astype(np.float32)
    y, sw = np.array([0, 1, 0, 1, 1, 0]), np.array([1, 1, 1, 1, 1, 4], np.float32)
    expected = model.evaluate(x, y, sample_weight=sw, return_dict=True, verbose=0)
    assert set(expected) == {"loss", "accuracy", "weighted_accuracy"}
    for name in ("m.cornu", "m.keras"):
        model.save(tmp_path / name)
        loaded = cornu.models.load_model(tmp_path / name)
        assert loaded.get_compile_config()["weighted_metrics"] == ["accuracy"]
        got = loaded.evaluate(x, y, sample_weight=sw, return_dict=True, verbose=0)
        assert got == pytest.approx(expected)
    with jax.numpy_rank_promotion("allow"):
        theirs = keras.models.load_model(tmp_path / "m.keras")
        got = theirs.evaluate(x, y, sample_weight=sw, return_dict=True, verbose=0)
        assert got == pytest.approx(expected, rel=1e-5)
        theirs.save(tmp_path / "k.keras")
    back = cornu.models.load_model(tmp_path / "k.keras")
    assert back.evaluate(x, y, sample_weight=sw, return_dict=True, verbose=0) == \
        pytest.approx(expected, rel=1e-5)
