"""Masks that arrive with the inputs of the attention layers (Embedding(mask_zero=True)
upstream), against Keras 3 (JAX backend) from the same weights: MultiHeadAttention turns
them into query/value/key masks combined with attention_mask and use_causal_mask,
Attention and AdditiveAttention into [query_mask, value_mask]; the output carries the
query's mask. Eager calls, functional models, and a fitted model."""

from __future__ import annotations

import os

import jax
import numpy as np
import pytest

import cornu
from cornu import layers as L

os.environ.setdefault("KERAS_BACKEND", "jax")
keras = pytest.importorskip("keras")

# padded sequences: the first and last rows have padding, a query row fully padded
T1 = np.array([[3, 4, 5, 0, 0, 0], [1, 2, 3, 4, 5, 6], [7, 0, 0, 0, 0, 0]], np.int32)
T2 = np.array([[3, 4, 0, 0, 0], [1, 2, 3, 4, 5], [7, 8, 9, 0, 0]], np.int32)


def _keras(fn):
    with jax.numpy_rank_promotion("allow"):
        return fn()


def _leaves(out):
    return [np.asarray(a) for a in (out if isinstance(out, list | tuple) else [out])]


def _same(ours, theirs, tol=1e-5):
    ours, theirs = _leaves(ours), _leaves(theirs)
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs, strict=True):
        assert a.shape == b.shape
        np.testing.assert_allclose(a, b, rtol=tol, atol=tol)


def _mha_model(lib, init, call, *, key=False, pool=False):
    q_in = lib.Input((6,), dtype="int32")
    v_in = lib.Input((5,), dtype="int32")
    q = lib.layers.Embedding(20, 8, mask_zero=True)(q_in)
    v = lib.layers.Embedding(20, 8, mask_zero=True)(v_in)
    mha = lib.layers.MultiHeadAttention(2, 4, **init)
    if key:  # a key with its own padding, different from the value's
        k_in = lib.layers.Lambda(lambda t: t * (t > 2).astype("int32"))(v_in)
        k = lib.layers.Embedding(20, 8, mask_zero=True)(k_in)
        out = mha(q, v, key=k, **call)
    else:
        out = mha(q, v, **call)
    if pool:  # the mean over the query's real steps: reads the output's mask
        out = lib.layers.Dense(1)(lib.layers.GlobalAveragePooling1D()(out))
    return lib.Model([q_in, v_in], list(out) if isinstance(out, tuple) else out)


def _pair_models(build):
    ours, theirs = build(cornu), build(keras)
    _keras(lambda: theirs.set_weights([np.asarray(w) for w in ours.get_weights()]))
    return ours, theirs


MHA_CASES = {
    "cross": ({}, {}, {}),
    "causal": ({}, {"use_causal_mask": True}, {}),
    "attention_mask": ({}, {"attention_mask": np.tril(np.ones((6, 5), bool), 1)}, {}),
    "dropout_inference": ({"dropout": 0.3}, {}, {}),
    "scores": ({}, {"return_attention_scores": True}, {}),
    "key_mask": ({}, {}, {"key": True}),
    "pooled_output_mask": ({}, {}, {"pool": True}),
    "pooled_causal": ({}, {"use_causal_mask": True}, {"pool": True}),
}


@pytest.mark.parametrize("case", MHA_CASES)
def test_multi_head_attention_uses_propagated_masks_as_keras(case):
    init, call, extra = MHA_CASES[case]
    ours, theirs = _pair_models(lambda lib: _mha_model(lib, init, call, **extra))
    expected = _keras(lambda: theirs([T1, T2]))
    _same(ours([T1, T2]), expected)
    _same(ours.predict([T1, T2], verbose=0), expected)


def test_multi_head_attention_masks_differ_from_no_masks():
    """The masks change the numbers (the test above would pass by accident otherwise)."""
    ours, _ = _pair_models(lambda lib: _mha_model(lib, {}, {}))
    mha = next(layer for layer in ours.layers if isinstance(layer, L.MultiHeadAttention))
    q, v = ours.layers[2](T1), ours.layers[3](T2)
    masked, plain = np.asarray(ours([T1, T2])), np.asarray(mha(q, v))
    assert np.abs(masked - plain).max() > 1e-3


def test_multi_head_attention_eager_masks_as_keras_propagated_ones():
    """cornu's eager arrays carry no mask: query_mask/value_mask given by hand equal what
    Keras reads from Embedding outputs."""
    embed_q, embed_v = L.Embedding(20, 8, mask_zero=True), L.Embedding(20, 8, mask_zero=True)
    mha = L.MultiHeadAttention(2, 4)
    q, v = embed_q(T1), embed_v(T2)
    ours = mha(q, v, query_mask=T1 != 0, value_mask=T2 != 0, use_causal_mask=True)
    k_embed_q = keras.layers.Embedding(20, 8, mask_zero=True)
    k_embed_v = keras.layers.Embedding(20, 8, mask_zero=True)
    k_mha = keras.layers.MultiHeadAttention(2, 4)

    def run():
        k_embed_q.build((None, 6))
        k_embed_v.build((None, 5))
        k_embed_q.set_weights(embed_q.get_weights())
        k_embed_v.set_weights(embed_v.get_weights())
        k_mha(k_embed_q(T1), k_embed_v(T2))
        k_mha.set_weights(mha.get_weights())
        # Keras' call takes the masks off its inputs: fresh ones for the compared call
        return k_mha(k_embed_q(T1), k_embed_v(T2), use_causal_mask=True)

    _same(ours, _keras(run))


def test_multi_head_attention_output_carries_the_query_mask():
    q_in, v_in = cornu.Input((6,), dtype="int32"), cornu.Input((5,), dtype="int32")
    q = L.Embedding(20, 8, mask_zero=True)(q_in)
    v = L.Embedding(20, 8, mask_zero=True)(v_in)
    out = L.MultiHeadAttention(2, 4)(q, v)
    assert out._keras_mask is not None and tuple(out._keras_mask.shape) == (None, 6)
    plain = L.MultiHeadAttention(2, 4)(cornu.Input((6, 8)), cornu.Input((5, 8)))
    assert plain._keras_mask is None
    mha = L.MultiHeadAttention(2, 4)
    mask = T1 != 0
    np.testing.assert_array_equal(mha.compute_mask(None, mask), mask)


def test_multi_head_attention_in_a_fitted_model_as_keras():
    """The same weights, data and SGD steps: the weights after fit agree with Keras'."""
    ours, theirs = _pair_models(lambda lib: _mha_model(lib, {}, {"use_causal_mask": True},
                                                       pool=True))
    y = np.array([[0.5], [-1.0], [2.0]], np.float32)
    x = [np.concatenate([T1] * 4), np.concatenate([T2] * 4)]
    y = np.concatenate([y] * 4)
    ours.compile(optimizer=cornu.optimizers.SGD(0.1), loss="mse")
    ours.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0)

    def fit():
        theirs.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
        theirs.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0)
        return theirs.get_weights()

    _same(ours.get_weights(), _keras(fit), tol=1e-4)
    _same(ours.predict(x, verbose=0), _keras(lambda: theirs.predict(x, verbose=0)), tol=1e-4)


@pytest.mark.parametrize("cls", ["Attention", "AdditiveAttention"])
@pytest.mark.parametrize("pool", [False, True])
def test_attention_uses_propagated_masks_as_keras(cls, pool):
    def build(lib):
        q_in = lib.Input((6,), dtype="int32")
        v_in = lib.Input((5,), dtype="int32")
        q = lib.layers.Embedding(20, 8, mask_zero=True)(q_in)
        v = lib.layers.Embedding(20, 8, mask_zero=True)(v_in)
        out = getattr(lib.layers, cls)()([q, v])
        if pool:
            out = lib.layers.GlobalAveragePooling1D()(out)
        return lib.Model([q_in, v_in], out)

    ours, theirs = _pair_models(build)
    _same(ours([T1, T2]), _keras(lambda: theirs([T1, T2])))


def test_attention_output_carries_the_query_mask():
    q_in, v_in = cornu.Input((6,), dtype="int32"), cornu.Input((5,), dtype="int32")
    q = L.Embedding(20, 8, mask_zero=True)(q_in)
    v = L.Embedding(20, 8)(v_in)
    out = L.Attention()([q, v])
    assert out._keras_mask is not None and tuple(out._keras_mask.shape) == (None, 6)
    layer = L.Attention()
    np.testing.assert_array_equal(layer.compute_mask(None, [T1 != 0, None]), T1 != 0)
    assert layer.compute_mask(None, None) is None
