"""MultiHeadAttention's attention core (`attend`) gives jax.nn.dot_product_attention's
numbers, values and gradients, with masks, a fully masked row and causal masks."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from cornu.ops.nn import attend

rng = np.random.default_rng(3)
Q, K, V = (jnp.asarray(rng.standard_normal((3, 5, 2, 4)), jnp.float32) for _ in range(3))
K7, V7 = (jnp.asarray(rng.standard_normal((3, 7, 2, 4)), jnp.float32) for _ in range(2))
MASK = jnp.asarray(rng.random((3, 1, 5, 7)) > 0.4).at[0, 0, 1].set(False)  # one row masked


@pytest.mark.parametrize("case", ["plain", "causal", "mask", "mask_causal", "bfloat16"])
def test_attend_equals_jax(case):
    k, v = (K7, V7) if case == "mask" else (K, V)
    mask = {"mask": MASK, "mask_causal": MASK[..., :5]}.get(case)
    causal = case in ("causal", "mask_causal")
    q = Q.astype(jnp.bfloat16) if case == "bfloat16" else Q
    k, v = (k.astype(q.dtype), v.astype(q.dtype))

    def ours(q, k, v):
        return attend(q, k, v, mask, 0.3, causal)

    def theirs(q, k, v):
        return jax.nn.dot_product_attention(q, k, v, mask=mask, scale=0.3, is_causal=causal)

    np.testing.assert_array_equal(np.asarray(ours(q, k, v), np.float32),
                                  np.asarray(theirs(q, k, v), np.float32))
    grads = [jax.grad(lambda *a, f=f: f(*a).astype(jnp.float32).sum(), argnums=(0, 1, 2))(
        q, k, v) for f in (ours, theirs)]
    for a, b in zip(*grads, strict=True):
        np.testing.assert_allclose(np.asarray(a, np.float32), np.asarray(b, np.float32),
                                   rtol=1e-6, atol=1e-6)
    if case == "mask":  # the fully masked row attends uniformly over the values
        np.testing.assert_allclose(ours(q, k, v)[0, 1], v[0].mean(0), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("case", ["plain", "mask_causal", "grouped", "bias", "default_scale"])
def test_ops_dot_product_attention_equals_jax(case):
    """cornu.ops.dot_product_attention: `attend` where it takes the inputs (float32, as
    many key as query heads, no bias), jax's function otherwise; the same numbers."""
    import cornu

    q, k, v, mask, bias, scale = Q, K, V, None, None, 0.3
    if case == "mask_causal":
        mask = MASK[..., :5]
    if case == "grouped":  # 2 query heads over 1 key head: jax's grouped attention
        k, v = K[:, :, :1], V[:, :, :1]
    if case == "bias":
        bias = jnp.asarray(rng.standard_normal((3, 2, 5, 5)), jnp.float32)
    if case == "default_scale":
        scale = None
    from cornu.ops import nn

    written_out = nn._writes_out(q, k, v, bias, mask, None)
    assert written_out == (case not in ("grouped", "bias") and jax.default_backend() == "cpu")
    ours = cornu.ops.dot_product_attention(q, k, v, bias=bias, mask=mask, scale=scale,
                                           is_causal=case == "mask_causal")
    theirs = jax.nn.dot_product_attention(q, k, v, bias, mask, scale=scale,
                                          is_causal=case == "mask_causal")
    np.testing.assert_allclose(np.asarray(ours), np.asarray(theirs), rtol=1e-6, atol=1e-7)


def test_ops_dot_product_attention_keeps_jax_errors():
    import cornu

    with pytest.raises(ValueError):
        cornu.ops.dot_product_attention(Q, K7[:, :, :, :3], V7)  # head_dim 3 against 4


@pytest.mark.parametrize("pieces", [1, 2, 3, 8])
def test_attend_in_pieces_of_the_batch(monkeypatch, pieces):
    """The batch cut into pieces (uneven ones, more pieces than examples, a mask per example
    or one for all) gives the numbers of the whole batch, values and gradients."""
    from cornu.ops import nn

    masks = (MASK[..., :5], MASK[:1, ..., :5])

    def run():
        return [(attend(Q, K, V, m, 0.3, True),
                 jax.grad(lambda q, k, v, m=m: attend(q, k, v, m, 0.3, False).sum(),
                          argnums=(0, 1, 2))(Q, K, V)) for m in masks]

    monkeypatch.setattr(nn, "ATTENTION_PIECES", 1)
    whole = run()
    monkeypatch.setattr(nn, "ATTENTION_PIECES", pieces)
    for (out, grads), (want, want_grads) in zip(run(), whole, strict=True):
        np.testing.assert_array_equal(out, want)
        for a, b in zip(grads, want_grads, strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    text = jax.jit(lambda q: attend(q, K, V, None, 0.3, False)).lower(Q).as_text()
    if jax.default_backend() == "cpu":  # one product of logits per piece
        assert text.count("dot_general") == 2 * min(pieces, Q.shape[0])


def test_attend_with_a_symbolic_batch_size():
    """An export's batch size is symbolic: the batch is then not cut into pieces."""
    from jax import export

    (batch,) = export.symbolic_shape("batch")
    spec = jax.ShapeDtypeStruct((batch, 5, 2, 4), jnp.float32)
    exported = export.export(jax.jit(lambda q, k, v: attend(q, k, v, None, 0.3, False)))(
        spec, spec, spec)
    np.testing.assert_allclose(exported.call(Q, K, V), attend(Q, K, V, None, 0.3, False),
                               rtol=1e-6, atol=1e-7)



@pytest.mark.parametrize("width", [1, 8, 9, 33, 64, 100, 1000])
def test_the_row_softmax_equals_jax(width):
    """The attention's softmax takes its row maximum by folding halves (odd widths
    overlap): jax.nn.softmax's values and gradients at every width, also for rows far
    from zero, a row of one value repeated (a fully masked row) and a maximum in the last
    column."""
    from cornu.ops.nn import _softmax_last

    r = np.random.default_rng(width)
    x = r.standard_normal((4, 3, width)).astype(np.float32) * 4
    x[0, 0] += 80
    x[1, 1] = -0.7 * np.finfo(np.float32).max
    x[2, 2, -1] = 50
    x = jnp.asarray(x)
    g = jnp.asarray(r.standard_normal(x.shape), jnp.float32)
    ours, our_vjp = jax.vjp(_softmax_last, x)
    theirs, their_vjp = jax.vjp(lambda x: jax.nn.softmax(x, axis=-1), x)
    np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(our_vjp(g)[0], their_vjp(g)[0], rtol=1e-5, atol=1e-6)
    assert np.all(np.isfinite(ours))
    if width > 1:
        np.testing.assert_allclose(ours[2, 2, -1], 1, rtol=1e-6)


def test_attend_over_many_keys_equals_jax():
    q = jnp.asarray(rng.standard_normal((2, 6, 2, 4)), jnp.float32)
    k, v = (jnp.asarray(rng.standard_normal((2, 65, 2, 4)), jnp.float32) for _ in range(2))
    mask = jnp.asarray(rng.random((2, 1, 6, 65)) > 0.3)

    def loss(f, q, k, v):
        return jnp.sum(jnp.sin(f(q, k, v)))

    ours = jax.value_and_grad(loss, argnums=(1, 2, 3))(
        lambda q, k, v: attend(q, k, v, mask, 0.5, False), q, k, v)
    theirs = jax.value_and_grad(loss, argnums=(1, 2, 3))(
        lambda q, k, v: jax.nn.dot_product_attention(q, k, v, mask=mask, scale=0.5), q, k, v)
    for a, b in zip(jax.tree.leaves(ours), jax.tree.leaves(theirs), strict=True):
        np.testing.assert_allclose(a, b, rtol=2e-5, atol=2e-6)
