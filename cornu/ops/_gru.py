"""The loop of a GRU layer (reset_after=True, Keras' default) with Keras' default
activations (tanh, sigmoid) on the CPU: one `lax.scan` forward and a backward pass written
out by hand (`jax.custom_vjp`), as ops/_lstm.py does for the LSTM and for the same
reasons (its docstring): the recurrent kernel transposed once before the backward loop,
the saved values in separate stacks, the kernels' and biases' gradients one product or
sum each over the rows of all steps after the loop instead of a small product and a sum
over the batch a step, and from a zero state the first step before the loop without
the recurrent product.

The gates, in Keras' column order [z, r, h] of the kernels (batch, 3 x units):

    x_z, x_r, x_h = x @ kernel + input_bias
    i_z, i_r, i_h = h @ recurrent_kernel + recurrent_bias
    z = sigmoid(x_z + i_z), r = sigmoid(x_r + i_r), c = tanh(x_h + r * i_h)
    h_new = z * h + (1 - z) * c

The input bias is a row of the input kernel against a column of ones in the input. The
two sigmoid gates are activated by one `tanh` (sigmoid(v) = tanh(v / 2) / 2 + 1/2).
`gru_sequence` computes what `RNN(GRUCell(...))` computes to float32 rounding;
forward-mode differentiation (`jax.jvp`) does not go through a `custom_vjp`.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp

from cornu.ops import _loops


def _forward(xs, kernel, recurrent_kernel, recurrent_bias, h0, keeps, return_sequences,
             save):
    units = recurrent_kernel.shape[0]

    def step(x, states):  # states None: zeros, and no recurrent product
        projected = x @ kernel
        if states is None:
            inner = jnp.zeros_like(projected) if recurrent_bias is None else jnp.broadcast_to(
                recurrent_bias, projected.shape)
        else:
            inner = states[0] @ recurrent_kernel
            if recurrent_bias is not None:
                inner = inner + recurrent_bias[None]
        x_zr, x_h = jnp.split(projected, [2 * units], axis=-1)
        inner_zr, inner_h = jnp.split(inner, [2 * units], axis=-1)
        z, r = jnp.split(jnp.tanh((x_zr + inner_zr) * 0.5) * 0.5 + 0.5, 2, axis=-1)
        c = jnp.tanh(x_h + r * inner_h)
        h = (1 - z) * c if states is None else z * states[0] + (1 - z) * c
        return (h,), (z, r, c, inner_h)

    return _loops.forward(step, xs, keeps, None if h0 is None else (h0,), units,
                          return_sequences, save)


def gru_sequence(xs: jax.Array, kernel: jax.Array, recurrent_kernel: jax.Array,
                 input_bias: jax.Array | None, recurrent_bias: jax.Array | None,
                 h0: jax.Array | None = None, keeps: jax.Array | None = None,
                 return_sequences: bool = False):
    """A GRU (reset after the recurrent product; tanh activation, sigmoid recurrent
    activation) over time-major `xs` (time, batch, features) from the state `h0` (None:
    zeros; then the first step runs before the loop, without the recurrent product);
    `keeps` (time, batch) marks the steps that update the state (None: all). Returns
    (outputs (time, batch, units) if return_sequences else the last output, final h)."""
    if h0 is None and xs.shape[0] == 0:
        h0 = jnp.zeros((xs.shape[1], recurrent_kernel.shape[0]), xs.dtype)
    xs, kernel = _loops.bias_as_kernel_row(xs, kernel, input_bias)
    return _gru(xs, kernel, recurrent_kernel, recurrent_bias, h0, keeps, return_sequences)


@functools.partial(jax.custom_vjp, nondiff_argnums=(6,))
def _gru(xs, kernel, recurrent_kernel, recurrent_bias, h0, keeps, return_sequences):
    return _forward(xs, kernel, recurrent_kernel, recurrent_bias, h0, keeps,
                    return_sequences, save=False)[0]


def _gru_fwd(xs, kernel, recurrent_kernel, recurrent_bias, h0, keeps, return_sequences):
    out, saved = _forward(xs, kernel, recurrent_kernel, recurrent_bias, h0, keeps,
                          return_sequences, save=True)
    return out, (saved, xs, kernel, recurrent_kernel, recurrent_bias, keeps)


def _gradients(dh, saved, h):
    """A step's gradients from that of its new h: (the recurrent product's output's
    [z, r, h] columns, the candidate's pre-activation, the direct part of the previous h's).
    `h` (the previous h) None for a zero state."""
    z, r, c, inner_h = saved
    dz = dh * (-c if h is None else h - c)
    dc = dh * (1 - z) * (1 - c * c)  # the candidate's pre-activation
    d_inner = jnp.concatenate([dz * z * (1 - z), dc * inner_h * r * (1 - r), dc * r], axis=-1)
    return d_inner, dc, dh * z


def _gru_bwd(return_sequences, residuals, cotangents):
    (first, (saved, (hs,))), xs, kernel, recurrent_kernel, recurrent_bias, keeps = residuals
    g_out, g_h = cotangents
    units = recurrent_kernel.shape[0]
    recurrent_t = recurrent_kernel.T  # transposed once, before the loop
    if first is not None:  # the first step ran before the loop
        (x0, keep0, gy0), (xs, keeps, g_out) = _loops.split_first(xs, keeps, g_out,
                                                                    return_sequences)

    def step(grads, inputs):
        d_inner, dc, direct = _gradients(grads[0], *inputs)
        return (direct + d_inner @ recurrent_t,), (d_inner, dc)

    ((gh,), gl), (d_inners, dcs) = _loops.backward(step, (saved, hs), keeps, g_out, (g_h,),
                                                   return_sequences)
    # the kernels' and biases' gradients and the inputs': one product or sum each over
    # every step's rows. The input kernel's [z, r] columns take the recurrent product's
    # gradient, its h columns the candidate's (d_inner's h columns are that times r).
    rows = d_inners.shape[0] * d_inners.shape[1]
    d_inner_rows = d_inners.reshape(rows, 3 * units)
    dc_rows = dcs.reshape(rows, units)
    x_rows = xs.reshape(rows, xs.shape[-1])
    d_kernel = jnp.concatenate([(x_rows.T @ d_inner_rows)[:, :2 * units], x_rows.T @ dc_rows],
                               axis=1)
    d_recurrent = hs.reshape(rows, units).T @ d_inner_rows
    # (a product with ones, not a sum over the rows: XLA:CPU's reduction ran slower)
    d_bias = None if recurrent_bias is None else (
        jnp.ones((1, rows), d_inner_rows.dtype) @ d_inner_rows)[0]
    # the inputs' gradient: XLA drops it where nothing uses it (the inputs are data)
    d_xs = (d_inner_rows[:, :2 * units] @ kernel[:, :2 * units].T
            + dc_rows @ kernel[:, 2 * units:].T).reshape(*xs.shape)
    if first is None:
        return d_xs, d_kernel, d_recurrent, d_bias, gh, None
    (dh,), _, _ = _loops.through_mask((gh,), gl, gy0, keep0)
    d_inner, dc, _ = _gradients(dh, first, None)
    d_kernel = d_kernel + x0.T @ jnp.concatenate([d_inner[:, :2 * units], dc], axis=1)
    if recurrent_bias is not None:
        d_bias = d_bias + jnp.sum(d_inner, axis=0)
    d_x0 = d_inner[:, :2 * units] @ kernel[:, :2 * units].T + dc @ kernel[:, 2 * units:].T
    return jnp.concatenate([d_x0[None], d_xs]), d_kernel, d_recurrent, d_bias, None, None


_gru.defvjp(_gru_fwd, _gru_bwd)
