"""`along_rows` (ops/_rows.py): a weight broadcast over rows whose gradient XLA:CPU
computes as a product with ones; the values and derivatives are the broadcast's."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from cornu.ops._rows import along_rows

rng = np.random.default_rng(5)
Y = jnp.asarray(rng.standard_normal((6, 40, 3, 4)), jnp.float32)  # 240 rows of (3, 4)
B = jnp.asarray(rng.standard_normal((3, 4)), jnp.float32)


def _loss(f, y, b):
    return jnp.sum(jnp.sin(y * f(b, y.shape) + f(b, y.shape) ** 2))


def _plain(b, shape):
    return jnp.broadcast_to(b, shape)


def test_values_and_gradients_equal_the_broadcast():
    np.testing.assert_array_equal(along_rows(B, Y.shape), _plain(B, Y.shape))
    ours = jax.grad(_loss, argnums=(1, 2))(along_rows, Y, B)
    theirs = jax.grad(_loss, argnums=(1, 2))(_plain, Y, B)
    for a, b in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(a, b, rtol=2e-5, atol=2e-5)


@pytest.mark.skipif(jax.default_backend() != "cpu", reason="the product is the CPU's")
def test_the_gradient_is_a_product_not_a_windowed_sum():
    def grad_text(f):
        grad = jax.grad(lambda b, y: jnp.sum(y * f(b, y.shape)))
        return jax.jit(grad).lower(B, Y).compile().as_text()

    ours, theirs = grad_text(along_rows), grad_text(_plain)
    assert "reduce-window(" in theirs  # XLA:CPU windows the plain sum over 240 rows
    assert "reduce-window(" not in ours and " dot(" in ours


def test_forward_mode_and_second_derivatives():
    tangent = jnp.ones_like(B)
    ours = jax.jvp(lambda b: along_rows(b, Y.shape), (B,), (tangent,))[1]
    np.testing.assert_array_equal(ours, jnp.ones(Y.shape))
    hess = [jax.hessian(lambda b, f=f: _loss(f, Y[:, :10], b))(B) for f in (along_rows, _plain)]
    np.testing.assert_allclose(hess[0], hess[1], rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("case", ["few_rows", "bfloat16", "not_trailing", "leading_ones",
                                  "scalar"])
def test_other_cases_are_the_plain_broadcast(case):
    y, b = Y, B
    if case == "few_rows":
        y = Y[:2, :16]  # 32 rows: XLA sums them directly
    elif case == "bfloat16":
        y, b = Y.astype(jnp.bfloat16), B.astype(jnp.bfloat16)
    elif case == "not_trailing":
        b = B[:, :1]  # (3, 1): laid along an axis that is not the last
    elif case == "leading_ones":
        b = B[None, None]  # (1, 1, 3, 4), as LayerNormalization reshapes its weights
    elif case == "scalar":
        b = B[0, 0]
    out = along_rows(b, y.shape)
    assert out.shape == y.shape and out.dtype == b.dtype
    np.testing.assert_array_equal(np.asarray(out, np.float32),
                                  np.asarray(jnp.broadcast_to(b, y.shape), np.float32))
    g = jax.grad(lambda b: jnp.sum(y.astype(jnp.float32) * along_rows(b, y.shape)))(b)
    want = jax.grad(lambda b: jnp.sum(y.astype(jnp.float32) * jnp.broadcast_to(b, y.shape)))(b)
    assert g.shape == b.shape
    np.testing.assert_allclose(np.asarray(g, np.float32), np.asarray(want, np.float32),
                               rtol=1e-2 if case == "bfloat16" else 2e-5, atol=1e-4)



def test_a_symbolic_row_count_takes_the_plain_broadcast():
    """An export with a symbolic batch size: the row count is not a number."""
    from jax import export

    (batch,) = export.symbolic_shape("batch")
    exported = export.export(jax.jit(lambda y: y + along_rows(B, y.shape)))(
        jax.ShapeDtypeStruct((batch, 3, 4), jnp.float32))
    np.testing.assert_array_equal(exported.call(Y[:, 0]), Y[:, 0] + B[None])
