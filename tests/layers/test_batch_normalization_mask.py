"""BatchNormalization called with a mask takes its batch statistics over the unmasked
positions only, as Keras 3 does; compared with Keras (JAX backend)."""

from __future__ import annotations

import os

import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "jax")
keras = pytest.importorskip("keras")

import jax  # noqa: E402

import cornu  # noqa: E402

TOL = dict(rtol=1e-5, atol=1e-5)


@pytest.fixture(autouse=True)
def _user_broadcasting():
    with jax.numpy_rank_promotion("allow"):
        yield


def _masked_input():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(4, 6, 3)).astype(np.float32) * 3 + 1
    mask = np.ones((4, 6), bool)
    mask[:, 4:] = False
    mask[1, 1:] = False
    return x, mask


def test_layer_call_with_a_mask_matches_keras():
    x, mask = _masked_input()
    theirs, ours = keras.layers.BatchNormalization(momentum=0.5), \
        cornu.layers.BatchNormalization(momentum=0.5)
    theirs.build(x.shape)
    ours.build(x.shape)
    got = ours(x, training=True, mask=mask)
    want = theirs(x, training=True, mask=mask)
    np.testing.assert_allclose(np.asarray(got), np.asarray(want), **TOL)
    for a, b in zip(theirs.get_weights(), ours.get_weights(), strict=True):
        np.testing.assert_allclose(b, a, **TOL)
    # statistics over the unmasked steps differ from those over all of them
    assert not np.allclose(np.asarray(ours.moving_mean.value),
                           0.5 * np.asarray(x.mean(axis=(0, 1))), atol=1e-3)
    np.testing.assert_allclose(np.asarray(ours(x, training=False, mask=mask)),
                               np.asarray(theirs(x, training=False, mask=mask)), **TOL)


def test_a_mask_of_the_wrong_rank_is_refused():
    x, mask = _masked_input()
    with pytest.raises(ValueError, match="one dimension less"):
        cornu.layers.BatchNormalization()(x, training=True, mask=mask[..., None])


def test_the_mask_of_an_embedding_reaches_it_in_fit():
    rng = np.random.default_rng(1)
    tokens = rng.integers(1, 8, size=(10, 6))
    tokens[:, 4:] = 0
    tokens[2, 1:] = 0
    y = rng.normal(size=(10, 6, 1)).astype(np.float32)

    def model(lib):
        inputs = lib.Input((6,), dtype="int32")
        h = lib.layers.Embedding(8, 3, mask_zero=True)(inputs)
        h = lib.layers.BatchNormalization(momentum=0.5)(h)
        return lib.Model(inputs, lib.layers.Dense(1)(h))

    theirs, ours = model(keras), model(cornu)
    ours.set_weights(theirs.get_weights())
    theirs.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    ours.compile(optimizer=cornu.optimizers.SGD(0.1), loss="mse")
    theirs.fit(tokens, y, batch_size=4, epochs=1, shuffle=False, verbose=0)
    ours.fit(tokens, y, batch_size=4, epochs=1, shuffle=False, verbose=0)
    for a, b in zip(theirs.get_weights(), ours.get_weights(), strict=True):
        np.testing.assert_allclose(b, a, **TOL)
