"""Fixtures shared by the mask tests (test_eager_masks, test_output_masks,
test_traced_masks), which compare with Keras 3 from the same weights and data."""

from __future__ import annotations

import jax
import pytest


@pytest.fixture
def user_broadcasting():
    """Keras' code and the users' layers broadcast as NumPy does (the suite is strict for
    cornu's own code): a test module asks for it with
    `pytestmark = pytest.mark.usefixtures("user_broadcasting")`."""
    with jax.numpy_rank_promotion("allow"):
        yield
