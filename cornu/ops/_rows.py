"""A weight laid along the last axes of many rows (a bias, a normalization's scale and
offset), whose gradient XLA:CPU computes as a matrix product; and the product of many rows
with a kernel, whose kernel gradient takes the rows transposed in the forward pass
(`rows_product`).

The gradient of `y + bias` with respect to `bias` is the sum of the output's gradient over
all rows. XLA:CPU rewrites a sum over more than 32 elements into a windowed sum and a
second sum (for precision), and its windowed sums run element by element: in rnn_speed's
transformer block (2,048 rows a step) the weights' sums took 0.8 ms of a 6.9 ms training
step. The same sum as a product with a vector of ones goes to Eigen's matrix product
(about a quarter of the time). `along_rows(v, shape)` broadcasts `v` to `shape` as
`jnp.broadcast_to` does; only the derivative differs, and only where it pays: on the CPU,
in float32, over more than 32 rows of known count. Elsewhere (GPUs, other dtypes, few
rows, a symbolic batch size as in an export) it is the plain broadcast.
"""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
from jax import lax
from jax.custom_derivatives import SymbolicZero

#: sums over more rows than this are windowed by XLA:CPU (its tree-reduction window)
_WINDOW = 32


def along_rows(v: jax.Array, shape: tuple[int, ...]) -> jax.Array:
    """`v` broadcast over the leading axes of `shape`; `v`'s own axes (leading ones of size
    1 aside) are `shape`'s last ones."""
    shape = tuple(shape)
    v = jnp.asarray(v)
    while v.ndim and v.shape[0] == 1:
        v = v.reshape(v.shape[1:])
    lead = shape[:len(shape) - v.ndim]
    if v.ndim == 0 or shape[len(lead):] != v.shape or not _many_rows_on_cpu(lead, v):
        return jnp.broadcast_to(v, shape)
    return _spread(v, lead)


def _many_rows_on_cpu(rows: tuple, *arrays: jax.Array) -> bool:
    """On the CPU, every array float32, and more than _WINDOW rows of known count (a
    symbolic count, as in an export, is not known): where this module's paths pay."""
    return (jax.default_backend() == "cpu" and all(a.dtype == jnp.float32 for a in arrays)
            and all(isinstance(d, int) for d in rows) and math.prod(rows) > _WINDOW)


@functools.partial(jax.custom_jvp, nondiff_argnums=(1,))
def _spread(v: jax.Array, lead: tuple[int, ...]) -> jax.Array:
    return jnp.broadcast_to(v, lead + v.shape)


@_spread.defjvp
def _spread_jvp(lead, primals, tangents):
    (v,), (dv,) = primals, tangents
    ones = jnp.ones((math.prod(lead), 1), dv.dtype)
    # an outer product with ones: its transpose, the gradient, is ones^T @ rows
    spread = lax.dot_general(ones, dv.reshape(1, -1), (((1,), (0,)), ((), ())))
    return _spread(v, lead), spread.reshape(lead + v.shape)


#: on the CPU `rows_product` keeps a layer's input transposed for the kernel's gradient
TRANSPOSED_INPUT_ON_CPU = True


def keeps_input_transposed(x: jax.Array, kernel: jax.Array) -> bool:
    """Whether `rows_product` takes its own path for these operands (else a plain product):
    on the CPU, in float32, more than 32 rows of known count, and inputs at most twice as
    wide as the outputs (the copy it makes is of the inputs, XLA's of the outputs'
    gradient: a Dense layer after a Flatten of 1,600 features, as in the convnet, keeps
    XLA's way)."""
    return (TRANSPOSED_INPUT_ON_CPU and kernel.ndim == 2
            and _many_rows_on_cpu(x.shape[:-1], x, kernel)
            and isinstance(x.shape[-1], int) and x.shape[-1] <= 2 * kernel.shape[1])


def rows_product(x: jax.Array, kernel: jax.Array) -> jax.Array:
    """`x @ kernel` for x (..., in) and kernel (in, out), whose kernel gradient is a
    product with x transposed in the forward pass.

    The kernel's gradient x^T @ dy contracts the rows. XLA:CPU computes it by transposing
    the output's gradient first, inside the fusion that computes that gradient, which
    then runs in the transposed order (0.05-0.34 ms for 2,048 x 64-128 in rnn_speed's
    transformer block, where a plain transposed copy of the same size takes ~0.05 ms).
    Here the forward pass keeps x transposed (a plain copy) and the gradient is the
    product of two untransposed operands: the block's operations took 6.39 ms a step
    against 7.08 (docs/performance.md, session 15). A `custom_jvp`: forward mode works
    too. Elsewhere (`keeps_input_transposed` false) the plain product."""
    if not keeps_input_transposed(x, kernel):
        return jnp.matmul(x, kernel)
    lead = x.shape[:-1]
    y = _times_kept(x.reshape(-1, x.shape[-1]), kernel)
    return y.reshape(*lead, kernel.shape[1])


@jax.custom_jvp
def _times_kept(x: jax.Array, kernel: jax.Array) -> jax.Array:
    return x @ kernel


def _times_kept_jvp(primals, tangents):
    (x, kernel), (dx, d_kernel) = primals, tangents
    x_t = x.T  # kept: the transpose of the tangent map below is x_t @ g, two plain operands
    y = x @ kernel
    dy = None
    if not isinstance(dx, SymbolicZero):
        dy = dx @ kernel
    if not isinstance(d_kernel, SymbolicZero):
        term = lax.dot_general(x_t, d_kernel, (((0,), (0,)), ((), ())))
        dy = term if dy is None else dy + term
    return y, jnp.zeros_like(y) if dy is None else dy


_times_kept.defjvp(_times_kept_jvp, symbolic_zeros=True)
