import os

import pytest

os.environ.setdefault("KERAS_BACKEND", "jax")  # before anything imports keras


@pytest.fixture(scope="session")
def kops():
    """keras.ops (JAX backend) to compare with; skips the test where Keras is missing."""
    from ops_checks import keras_ops

    return keras_ops()
