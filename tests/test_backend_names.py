"""keras.backend / keras.config names that scripts call."""

import jax
import pytest

import cornu as keras


def test_backend_and_config_names(monkeypatch):
    assert keras.backend.backend() == "jax" and keras.config.floatx() == "float32"
    assert keras.backend.epsilon() == 1e-7
    assert keras.backend.image_data_format() == "channels_last"
    assert keras.backend.is_keras_tensor(keras.Input((3,)))
    assert keras.backend.standardize_dtype("float32") == "float32"
    keras.config.set_floatx("float32")
    keras.backend.set_image_data_format("channels_last")
    with pytest.raises(ValueError, match="mixed_precision"):
        keras.config.set_floatx("float64")
    with pytest.raises(ValueError, match="channels-last"):
        keras.backend.set_image_data_format("channels_first")
    keras.layers.Dense(2)
    # JAX's caches are dropped (recorded, not done: dropping everything the suite has
    # compiled so far takes seconds here and makes later tests compile again)
    cleared = []
    monkeypatch.setattr(jax, "clear_caches", lambda: cleared.append(True))
    keras.backend.clear_session()
    assert keras.layers.Dense(2).name == "dense"
    assert cleared == [True]
    keras.backend.clear_session(free_memory=False)
    assert cleared == [True]
