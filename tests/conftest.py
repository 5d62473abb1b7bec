"""Strict settings for the whole suite, and the MNIST location."""

from __future__ import annotations

import os
from pathlib import Path

import jax
import pytest

jax.config.update("jax_numpy_rank_promotion", "raise")

REPO = Path(__file__).resolve().parent.parent


def mnist_dir() -> Path | None:
    """The folder holding mnist/ (CORNU_DATA, else ../shared/data beside the repo)."""
    for candidate in (os.environ.get("CORNU_DATA"), REPO.parent / "shared" / "data"):
        if candidate and (Path(candidate) / "mnist").is_dir():
            return Path(candidate)
    return None


@pytest.fixture
def mnist_data(monkeypatch):
    """Real MNIST through the project's data setting; skip (with the reason) when absent."""
    folder = mnist_dir()
    if folder is None:
        pytest.skip("MNIST not found: set CORNU_DATA to a folder holding mnist/")
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
