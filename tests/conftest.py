"""Strict settings for the whole suite, and the MNIST location."""

from __future__ import annotations

from pathlib import Path

import jax
import pytest

jax.config.update("jax_numpy_rank_promotion", "raise")

REPO = Path(__file__).resolve().parent.parent


def mnist_dir() -> Path | None:
    """The folder holding mnist/: the copy shipped in the repository (data/), so the
    suite needs nothing outside the clone; None where it is missing (an sdist)."""
    folder = REPO / "data"
    return folder if (folder / "mnist").is_dir() else None


@pytest.fixture
def mnist_data(monkeypatch):
    """Real MNIST through the project's data setting; skip (with the reason) when absent."""
    folder = mnist_dir()
    if folder is None:
        pytest.skip(f"MNIST not found: the repository's copy {REPO / 'data' / 'mnist'} "
                    "is missing")
    monkeypatch.setenv("CORNU_DATA", str(folder))
    from cornu.datasets import mnist

    return mnist.load_data()


@pytest.fixture(autouse=True)
def _fresh_names():
    from cornu.utils import clear_session

    clear_session()
    yield


@pytest.fixture
def classifier():
    """make(features, hidden, classes, activation, seed): a seeded two-layer Sequential
    classifier (Dense hidden -> Dense softmax), compiled with Adam, categorical
    cross-entropy and accuracy."""
    def make(features: int, hidden: int, classes: int, activation: str, seed: int):
        import cornu
        from cornu.layers import Dense

        cornu.utils.set_random_seed(seed)
        model = cornu.Sequential([Dense(hidden, input_shape=(features,), activation=activation),
                                  Dense(classes, activation="softmax")])
        model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
        return model

    return make


@pytest.fixture
def user_broadcasting():
    """Keras' code and the users' layers broadcast as NumPy does (the suite is strict for
    cornu's own code): a test module asks for it with
    `pytestmark = pytest.mark.usefixtures("user_broadcasting")`."""
    with jax.numpy_rank_promotion("allow"):
        yield
