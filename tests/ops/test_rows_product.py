"""`rows_product` (ops/_rows.py): x @ kernel whose kernel gradient takes x transposed in the
forward pass (XLA:CPU otherwise transposes the output's gradient inside the fusion that
computes it); the values and every derivative are the plain product's. Dense and
EinsumDense (matrix-product equations) use it."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import cornu
from cornu.layers import einsum_dense
from cornu.ops import _rows
from cornu.ops._rows import keeps_input_transposed, rows_product
from cornu.variables import StatelessScope

rng = np.random.default_rng(11)
X = jnp.asarray(rng.standard_normal((4, 40, 16)), jnp.float32)  # 160 rows
K = jnp.asarray(rng.standard_normal((16, 24)), jnp.float32)
on_cpu = jax.default_backend() == "cpu"


def _loss(product, x, k):
    return jnp.sum(jnp.sin(product(x, k)))


def test_values_and_derivatives_equal_the_plain_product():
    assert keeps_input_transposed(X, K) == on_cpu
    np.testing.assert_allclose(rows_product(X, K), X @ K, rtol=1e-6, atol=1e-6)
    ours = jax.jit(jax.grad(functools.partial(_loss, rows_product), argnums=(0, 1)))(X, K)
    theirs = jax.jit(jax.grad(functools.partial(_loss, jnp.matmul), argnums=(0, 1)))(X, K)
    for a, b in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)
    # forward mode and second derivatives (a custom_jvp: both go through)
    for argnum in (0, 1):
        tangent = (X, K)[argnum]

        def f(v, product, argnum=argnum):
            args = [X, K]
            args[argnum] = v
            return product(*args)

        np.testing.assert_allclose(jax.jvp(lambda v: f(v, rows_product), (tangent,),
                                           (tangent,))[1],
                                   jax.jvp(lambda v: f(v, jnp.matmul), (tangent,),
                                           (tangent,))[1], rtol=1e-5, atol=1e-4)
    k = K[:4, :3]
    x = X[..., :4]
    np.testing.assert_allclose(jax.hessian(lambda k: _loss(rows_product, x, k))(k),
                               jax.hessian(lambda k: _loss(jnp.matmul, x, k))(k),
                               rtol=1e-4, atol=1e-4)


@pytest.mark.skipif(not on_cpu, reason="the CPU's path")
def test_the_kernel_gradient_uses_the_input_transposed_in_the_forward_pass():
    """The gradient program transposes the input (rows x in -> in x rows) and takes no
    transpose of the outputs' gradient (rows x out)."""
    def transposes(product):
        jaxpr = jax.make_jaxpr(jax.grad(_loss, argnums=2), static_argnums=0)(product, X, K)
        return [tuple(e.outvars[0].aval.shape) for e in jaxpr.jaxpr.eqns
                if e.primitive.name == "transpose"] + [
            tuple(e.outvars[0].aval.shape) for e in _inner_eqns(jaxpr.jaxpr)
            if e.primitive.name == "transpose"]

    assert (16, 160) in transposes(rows_product)
    assert (16, 160) not in transposes(jnp.matmul)


def _inner_eqns(jaxpr):
    for e in jaxpr.eqns:
        for v in e.params.values():
            inner = getattr(v, "jaxpr", None)
            if inner is not None and hasattr(inner, "eqns"):
                yield from inner.eqns
                yield from _inner_eqns(inner)


@pytest.mark.parametrize("case", ["few_rows", "bfloat16", "wide_input", "switched_off"])
def test_other_cases_take_the_plain_product(case, monkeypatch):
    x, k = X, K
    if case == "few_rows":
        x = X[0, :32]
    elif case == "bfloat16":
        x, k = X.astype(jnp.bfloat16), K.astype(jnp.bfloat16)
    elif case == "wide_input":
        k = jnp.ones((16, 7), jnp.float32)  # 16 inputs > 2 x 7 outputs: XLA's way
    else:
        monkeypatch.setattr(_rows, "TRANSPOSED_INPUT_ON_CPU", False)
    assert not keeps_input_transposed(x, k)
    np.testing.assert_array_equal(rows_product(x, k), jnp.matmul(x, k))


def test_a_symbolic_row_count_takes_the_plain_product():
    batch = jax.export.symbolic_shape("b")[0]
    spec = jax.ShapeDtypeStruct((batch, 40, 16), jnp.float32)
    exported = jax.export.export(jax.jit(lambda x: rows_product(x, K)))(spec)
    np.testing.assert_allclose(exported.call(X), X @ K, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("equation, n", [
    ("abc,cde->abde", 1), ("abcd,cde->abe", 2), ("ab,bc->ac", 1), ("abc,bcd->ad", 2),
    ("...b,bc->...c", None), ("abc,dc->abd", None), ("abc,cde->abed", None),
    ("abc,acd->abd", None), ("ab,cb->ac", None)])
def test_einsum_equations_of_the_product_form(equation, n):
    assert einsum_dense._product_form(equation) == n


@pytest.mark.parametrize("equation, shape, out", [
    ("abc,cde->abde", (3, 20, 8), (None, 4, 5)), ("abcd,cde->abe", (3, 20, 4, 5), (None, 8))])
def test_einsum_dense_equals_its_einsum(equation, shape, out):
    layer = cornu.layers.EinsumDense(equation, output_shape=out, bias_axes=equation[-1])
    x = jnp.asarray(rng.standard_normal(shape), jnp.float32)
    layer(x)
    kernel, bias = (v.value for v in layer.weights)

    def theirs(kernel, bias, x):
        y = jnp.einsum(equation, x, kernel)
        return y + bias.reshape((1,) * (y.ndim - bias.ndim) + bias.shape)

    def ours(kernel, bias, x):
        with StatelessScope(list(zip(layer.weights, [kernel, bias], strict=True))):
            return layer(x)

    np.testing.assert_allclose(ours(kernel, bias, x), theirs(kernel, bias, x),
                               rtol=1e-5, atol=1e-5)
    grads = [jax.grad(lambda *a, f=f: jnp.sum(jnp.sin(f(*a))), argnums=(0, 1, 2))(
        kernel, bias, x) for f in (ours, theirs)]
    for a, b in zip(*grads, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4)
