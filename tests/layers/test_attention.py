"""MultiHeadAttention, Attention, AdditiveAttention and EinsumDense against Keras 3 (JAX
backend) from the same weights; dropout only in training; a transformer block trains."""

from __future__ import annotations

import os

import jax
import numpy as np
import pytest
from layer_checks import check_layer, run_stateless

import cornu
from cornu import layers as L

os.environ.setdefault("KERAS_BACKEND", "jax")
keras = pytest.importorskip("keras")

RNG = np.random.default_rng(0)


def _x(*shape: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=shape).astype(np.float32)


def _keras(fn):
    """Run Keras code, which broadcasts as NumPy does (the suite is strict for cornu)."""
    with jax.numpy_rank_promotion("allow"):
        return fn()


def _same(a, b, tol=1e-5) -> None:
    a, b = jax.tree.leaves(a), jax.tree.leaves(b)
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        assert np.shape(x) == np.shape(y)
        np.testing.assert_allclose(np.asarray(y), np.asarray(x), rtol=tol, atol=tol)


def _pair(cls_name: str, init: dict, args: list, call: dict):
    """(Keras output, cornu output, keras layer, cornu layer) from the same weights."""
    k = getattr(keras.layers, cls_name)(**init)
    k_out = _keras(lambda: k(*args, **call))
    c = getattr(L, cls_name)(**init)
    c(*args, **call)
    assert [w.shape for w in c.weights] == [tuple(w.shape) for w in k.weights]
    assert [w.name for w in c.weights] == [w.name for w in k.weights]
    c.set_weights([np.asarray(w) for w in k.get_weights()])
    return k_out, c(*args, **call), k, c


def _mask(shape, seed=1) -> np.ndarray:
    mask = np.random.default_rng(seed).random(shape) > 0.4
    mask[..., 0] = True  # every query sees something
    return mask


Q, V, K = _x(2, 5, 8), _x(2, 7, 6, seed=1), _x(2, 7, 3, seed=2)

MHA_CASES = {
    "self": ({}, [Q, Q], {}),
    "cross": ({}, [Q, V], {}),
    "key": ({}, [Q, V], {"key": K}),
    "attention_mask": ({}, [Q, V], {"attention_mask": _mask((2, 5, 7))}),
    "attention_mask_2d": ({}, [Q, V], {"attention_mask": _mask((5, 7))}),
    "causal_self": ({}, [Q, Q], {"use_causal_mask": True}),
    "causal_cross": ({}, [Q, V], {"use_causal_mask": True}),
    "causal_and_mask": ({}, [Q, Q], {"use_causal_mask": True,
                                     "attention_mask": _mask((2, 5, 5))}),
    "scores": ({}, [Q, V], {"return_attention_scores": True}),
    "scores_causal_mask": ({}, [Q, V], {"return_attention_scores": True,
                                        "use_causal_mask": True,
                                        "attention_mask": _mask((2, 5, 7))}),
    "value_mask": ({}, [Q, V], {"value_mask": _mask((2, 7))}),
    "output_shape": ({"output_shape": (3, 2)}, [Q, V], {}),
    "output_int": ({"output_shape": 5, "use_bias": False}, [Q, V], {}),
    # Keras 3.15 on JAX computes value_dim != key_dim only on its einsum path (with scores)
    "value_dim": ({"value_dim": 3}, [Q, V], {"return_attention_scores": True}),
    "axes_2d": ({}, [_x(2, 3, 4, 8), _x(2, 3, 6, 8, seed=1)], {"return_attention_scores": True}),
    "axes_one": ({"attention_axes": (2,)}, [_x(2, 3, 4, 8), _x(2, 3, 6, 8, seed=1)], {}),
    "axes_neg": ({"attention_axes": -2}, [_x(2, 3, 4, 8), _x(2, 3, 6, 8, seed=1)],
                 {"return_attention_scores": True}),
    "axes_mask": ({"attention_axes": (1, 2)}, [_x(2, 3, 4, 8), _x(2, 2, 5, 8, seed=1)],
                  {"attention_mask": _mask((2, 3, 4, 2, 5))}),
    "sliding_window": ({"sliding_window": 2}, [Q, Q], {"use_causal_mask": True}),
    "gate": ({"use_gate": True}, [Q, V], {}),
}


@pytest.mark.parametrize("case", sorted(MHA_CASES))
def test_multi_head_attention_matches_keras(case):
    init, args, call = MHA_CASES[case]
    k_out, c_out, k, c = _pair("MultiHeadAttention", {"num_heads": 3, "key_dim": 4, **init},
                               args, call)
    _same(k_out, c_out)


def test_multi_head_attention_weights_and_config_as_keras():
    k = keras.layers.MultiHeadAttention(num_heads=2, key_dim=4, value_dim=3, dropout=0.1,
                                        output_shape=(6,), attention_axes=(1,))
    c = L.MultiHeadAttention(num_heads=2, key_dim=4, value_dim=3, dropout=0.1,
                             output_shape=(6,), attention_axes=(1,))
    _keras(lambda: k(Q, V))
    c(Q, V)
    assert [(w.path, w.shape) for w in c.weights] == [
        (w.path.split("/", 1)[1], tuple(w.shape)) for w in k.weights]  # query/kernel, ...
    assert c.count_params() == k.count_params()
    k_config, c_config = k.get_config(), c.get_config()
    assert set(k_config) - set(c_config) <= {"dtype"}
    for key in ("num_heads", "key_dim", "value_dim", "dropout", "use_bias", "seed"):
        assert c_config[key] == k_config[key]
    again = L.MultiHeadAttention.from_config(c_config)
    assert again.get_config() == c_config


def test_multi_head_attention_accepts_keyword_inputs_and_jits():
    layer = L.MultiHeadAttention(num_heads=2, key_dim=3)
    y = layer(query=Q, value=V, key=K)
    assert y.shape == Q.shape
    values = [v.value for v in layer.weights]

    def run(values, q, v):
        with cornu.variables.StatelessScope(list(zip(layer.weights, values, strict=True))):
            return layer(q, v, key=K)

    _same(y, jax.jit(run)(values, Q, V))


def test_multi_head_attention_dropout_only_in_training():
    cornu.utils.set_random_seed(1)
    layer = L.MultiHeadAttention(num_heads=2, key_dim=4, dropout=0.5)
    plain = L.MultiHeadAttention(num_heads=2, key_dim=4)
    plain(Q, V)
    inference = layer(Q, V)
    plain.set_weights(layer.get_weights())
    _same(plain(Q, V), inference)
    _same(layer(Q, V, training=False), inference)
    trained = layer(Q, V, training=True)
    assert np.all(np.isfinite(trained)) and not np.allclose(trained, inference, atol=1e-4)
    # the scores are returned before dropout, as in Keras
    _, scores = layer(Q, V, training=True, return_attention_scores=True)
    _same(scores, plain(Q, V, return_attention_scores=True)[1])


def test_multi_head_attention_in_a_model_infers_shapes():
    q, v = cornu.Input(shape=(5, 8)), cornu.Input(shape=(None, 6))
    out, scores = L.MultiHeadAttention(3, 4, output_shape=2)(q, v, return_attention_scores=True)
    assert out.shape == (None, 5, 2) and scores.shape[:3] == (None, 3, 5)
    model = cornu.Model([q, v], [out, scores])
    got = model.predict([Q, V], verbose=0)
    assert got[0].shape == (2, 5, 2) and got[1].shape == (2, 3, 5, 7)


def test_multi_head_attention_errors_name_the_argument():
    with pytest.raises(ValueError, match="num_heads=0"):
        L.MultiHeadAttention(num_heads=0, key_dim=2)
    with pytest.raises(ValueError, match="key_dim='4'"):
        L.MultiHeadAttention(num_heads=1, key_dim="4")
    with pytest.raises(ValueError, match="dropout=1.5"):
        L.MultiHeadAttention(num_heads=1, key_dim=2, dropout=1.5)
    with pytest.raises(ValueError, match="key and value"):
        L.MultiHeadAttention(num_heads=1, key_dim=2)(_x(2, 5, 4), _x(2, 6, 4), key=_x(2, 7, 4))
    with pytest.raises(TypeError, match="layer\\(query, value"):
        L.MultiHeadAttention(num_heads=1, key_dim=2)(Q)


ATTENTION_CASES = {
    "dot": ({}, [Q, _x(2, 7, 8, seed=1)], {}),
    "key": ({}, [Q, _x(2, 7, 8, seed=1), _x(2, 7, 8, seed=2)], {}),
    "scale_concat": ({"use_scale": True, "score_mode": "concat"}, [Q, _x(2, 7, 8, seed=1)],
                     {"return_attention_scores": True}),
    "masks": ({"use_scale": True}, [Q, _x(2, 7, 8, seed=1)],
              {"mask": [_mask((2, 5)), _mask((2, 7), seed=2)]}),
    "causal": ({}, [Q, Q], {"use_causal_mask": True, "return_attention_scores": True}),
    "causal_value_mask": ({}, [Q, Q], {"use_causal_mask": True,
                                       "mask": [None, _mask((2, 5), seed=3)]}),
}


@pytest.mark.parametrize("cls", ["Attention", "AdditiveAttention"])
@pytest.mark.parametrize("case", sorted(ATTENTION_CASES))
def test_attention_matches_keras(cls, case):
    init, inputs, call = ATTENTION_CASES[case]
    if cls == "AdditiveAttention":
        init = {k: v for k, v in init.items() if k != "score_mode"}
    k_out, c_out, k, c = _pair(cls, init, [inputs], call)
    _same(k_out, c_out)
    config = c.get_config()
    assert type(c).from_config(config).get_config() == config
    assert set(k.get_config()) - set(config) <= {"dtype"}


def test_attention_dropout_only_in_training():
    cornu.utils.set_random_seed(2)
    layer = L.Attention(dropout=0.5)
    inputs = [Q, _x(2, 7, 8, seed=1)]
    inference = layer(inputs)
    _same(inference, L.Attention()(inputs))
    trained = layer(inputs, training=True)
    assert not np.allclose(trained, inference, atol=1e-4)
    with pytest.raises(ValueError, match="list"):
        layer(Q)
    with pytest.raises(ValueError, match="score_mode='sum'"):
        L.Attention(score_mode="sum")


EINSUM_CASES = [
    ("ab,bc->ac", (4,), "c", (3, 5)),
    ("abc,cd->abd", (None, 4), "d", (3, 6, 5)),
    ("abc,cde->abde", (None, 2, 4), "de", (3, 6, 5)),
    ("abcd,cde->abe", (None, 4), None, (3, 6, 2, 5)),
    ("...b,bc->...c", (4,), "c", (3, 6, 5)),
    ("ab...,bc->ac...", (4,), "c", (3, 5, 6)),
    ("ab,bc->ac", 4, None, (3, 5)),
]


@pytest.mark.parametrize("equation,output_shape,bias_axes,shape", EINSUM_CASES)
def test_einsum_dense_matches_keras(equation, output_shape, bias_axes, shape):
    x = _x(*shape)
    init = {"equation": equation, "output_shape": output_shape, "bias_axes": bias_axes,
            "activation": "tanh", "bias_initializer": "random_normal"}
    k_out, c_out, k, c = _pair("EinsumDense", init, [x], {})
    _same(k_out, c_out)
    assert c.compute_output_shape((None, *shape[1:]))[1:] == tuple(k_out.shape[1:])


def test_einsum_dense_layer_checks():
    layer = L.EinsumDense("abc,cde->abde", output_shape=(None, 2, 3), bias_axes="de")
    check_layer(layer, (None, 4, 5), output_shape=(None, 4, 2, 3), params=5 * 6 + 6)
    with pytest.raises(ValueError, match="equation"):
        L.EinsumDense("ab->b", output_shape=2)
    with pytest.raises(ValueError, match="bias_axes='x'"):
        L.EinsumDense("ab,bc->ac", output_shape=2, bias_axes="x").build((None, 3))


def test_einsum_dense_initializer_counts_fans_as_keras():
    cornu.utils.set_random_seed(0)
    layer = L.MultiHeadAttention(num_heads=8, key_dim=16)
    layer(_x(2, 3, 64), _x(2, 3, 64))
    kernel = np.asarray(layer.weights[0].value)  # (64, 8, 16): fans 64 in, 128 out
    limit = np.sqrt(6.0 / (64 + 128))
    assert kernel.shape == (64, 8, 16)
    assert np.abs(kernel).max() <= limit and np.abs(kernel).max() > 0.9 * limit


def _transformer_classifier(vocab: int, maxlen: int, embed: int = 16) -> cornu.Model:
    """Keras' text classification with a transformer block, at toy size."""
    inputs = cornu.Input(shape=(maxlen,))
    x = L.Embedding(vocab, embed)(inputs)
    attn = L.MultiHeadAttention(num_heads=2, key_dim=embed)(x, x)
    attn = L.Dropout(0.1)(attn)
    x = L.LayerNormalization(epsilon=1e-6)(L.Add()([x, attn]))
    ffn = L.Dense(embed)(L.Dense(32, activation="relu")(x))
    ffn = L.Dropout(0.1)(ffn)
    x = L.LayerNormalization(epsilon=1e-6)(L.Add()([x, ffn]))
    x = L.GlobalAveragePooling1D()(x)
    x = L.Dropout(0.1)(x)
    x = L.Dense(16, activation="relu")(x)
    return cornu.Model(inputs, L.Dense(2, activation="softmax")(x))


def test_transformer_block_trains_and_saves(tmp_path):
    cornu.utils.set_random_seed(0)
    vocab, maxlen = 20, 10
    rng = np.random.default_rng(0)
    x = rng.integers(2, vocab, size=(256, maxlen))
    y = (x == 3).any(axis=1).astype(np.int32)  # is token 3 in the sequence?
    model = _transformer_classifier(vocab, maxlen)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    history = model.fit(x.astype(np.float32), y, batch_size=32, epochs=6, verbose=0)
    losses = history.history["loss"]
    assert losses[-1] < 0.8 * losses[0], losses
    model.save(tmp_path / "m.cornu")
    again = cornu.saving.load_model(tmp_path / "m.cornu")
    _same(model.predict(x[:8].astype(np.float32), verbose=0),
          again.predict(x[:8].astype(np.float32), verbose=0), tol=1e-6)


def test_attention_layers_run_inside_stateless_training_call():
    layer = L.MultiHeadAttention(num_heads=2, key_dim=4, dropout=0.3)
    layer(Q, Q)
    values = [v.value for v in layer.weights]
    y, _ = run_stateless(_SelfAttention(layer), values, Q, training=True)
    assert y.shape == Q.shape and np.all(np.isfinite(y))


class _SelfAttention(L.Layer):
    def __init__(self, inner, **kwargs):
        super().__init__(**kwargs)
        self.inner = inner

    def call(self, x, training=None):
        return self.inner(x, x, training=training)


def test_multi_head_attention_gradients_match_keras():
    call = {"use_causal_mask": True}  # the fused path: jax.nn.dot_product_attention
    k_out, _, k, c = _pair("MultiHeadAttention", {"num_heads": 2, "key_dim": 3}, [Q, V], call)
    weights = [np.asarray(w) for w in k.get_weights()]

    def k_loss(ws):
        out, _ = k.stateless_call(ws, [], Q, V, **call)
        return sum(jax.numpy.sum(o ** 2) for o in jax.tree.leaves(out))

    def c_loss(ws):
        with cornu.variables.StatelessScope(list(zip(c.weights, ws, strict=True))):
            out = c(Q, V, **call)
        return sum(jax.numpy.sum(o ** 2) for o in jax.tree.leaves(out))

    _same(_keras(lambda: jax.grad(k_loss)(weights)), jax.grad(c_loss)(weights), tol=1e-4)
