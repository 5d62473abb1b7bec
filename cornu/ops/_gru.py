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
from jax import lax


def _step(x, h, last, keep, kernel, recurrent_kernel, recurrent_bias):
    """One step from the input row `x`, the state `h` (None: zeros) and the last output:
    (new h, output, saved (z, r, c, i_h))."""
    units = recurrent_kernel.shape[0]
    projected = x @ kernel
    if h is None:
        inner = jnp.zeros_like(projected) if recurrent_bias is None else jnp.broadcast_to(
            recurrent_bias, projected.shape)
    else:
        inner = h @ recurrent_kernel
        if recurrent_bias is not None:
            inner = inner + recurrent_bias[None]
    x_zr, x_h = jnp.split(projected, [2 * units], axis=-1)
    inner_zr, inner_h = jnp.split(inner, [2 * units], axis=-1)
    z, r = jnp.split(jnp.tanh((x_zr + inner_zr) * 0.5) * 0.5 + 0.5, 2, axis=-1)
    c = jnp.tanh(x_h + r * inner_h)
    h_new = (1 - z) * c if h is None else z * h + (1 - z) * c
    out = h_new
    if keep is not None:  # a masked step keeps the state and the previous output
        k = keep[:, None]
        out = jnp.where(k, h_new, last)
        h_new = jnp.where(k, h_new, 0 if h is None else h)
    return h_new, out, (z, r, c, inner_h)


def _forward(xs, kernel, recurrent_kernel, recurrent_bias, h0, keeps, return_sequences,
             save):
    masked = keeps is not None

    def step(carry, inputs):
        h, last = carry
        x, keep = inputs
        h_new, out, gates = _step(x, h, last, keep, kernel, recurrent_kernel, recurrent_bias)
        saved = (gates, h) if save else None
        return (h_new, out if masked else None), (out if return_sequences else None, saved)

    first = None
    if h0 is None:  # the first step from zeros, before the loop: no recurrent product
        zeros = jnp.zeros((xs.shape[1], recurrent_kernel.shape[0]), xs.dtype)
        h, out0, first = _step(xs[0], None, zeros, None if keeps is None else keeps[0],
                               kernel, recurrent_kernel, recurrent_bias)
        init = (h, out0 if masked else None)
        xs, keeps = xs[1:], None if keeps is None else keeps[1:]
    else:
        init = (h0, jnp.zeros_like(h0) if masked else None)
    (h, last), (ys, saved) = lax.scan(step, init, (xs, keeps))
    if return_sequences and first is not None:
        ys = jnp.concatenate([out0[None], ys])
    output = ys if return_sequences else (last if masked else h)
    return (output, h), (first, saved)


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
    if input_bias is not None:  # a column of ones in the input: the bias's gradient is a product
        xs = jnp.concatenate([xs, jnp.ones((*xs.shape[:2], 1), xs.dtype)], axis=-1)
        kernel = jnp.concatenate([kernel, input_bias[None]], axis=0)
    return _gru(xs, kernel, recurrent_kernel, recurrent_bias, h0, keeps, return_sequences)


@functools.partial(jax.custom_vjp, nondiff_argnums=(6,))
def _gru(xs, kernel, recurrent_kernel, recurrent_bias, h0, keeps, return_sequences):
    return _forward(xs, kernel, recurrent_kernel, recurrent_bias, h0, keeps,
                    return_sequences, save=False)[0]


def _gru_fwd(xs, kernel, recurrent_kernel, recurrent_bias, h0, keeps, return_sequences):
    out, saved = _forward(xs, kernel, recurrent_kernel, recurrent_bias, h0, keeps,
                          return_sequences, save=True)
    return out, (saved, xs, kernel, recurrent_kernel, recurrent_bias, keeps)


def _through_step(gh, gl, gy, keep, saved, h):
    """The gradient through one step: (the gradient of the recurrent product's output
    [z, r, h] columns, of the candidate's pre-activation, the direct part of the previous
    state's gradient, the last output's gradient, the masked rows' state gradient). `gl`
    is None without masks, `h` None for a zero state."""
    if gy is not None:  # the output of this step (return_sequences)
        if keep is not None:
            gl = gl + gy
        else:
            gh = gh + gy
    skip = None
    if keep is not None:
        k = keep[:, None]
        dh = jnp.where(k, gh + gl, 0)
        skip, gl = jnp.where(k, 0, gh), jnp.where(k, 0, gl)
    else:
        dh = gh
    z, r, c, inner_h = saved
    dz = dh * (-c if h is None else h - c)
    dc = dh * (1 - z) * (1 - c * c)  # the candidate's pre-activation
    d_inner = jnp.concatenate([dz * z * (1 - z), dc * inner_h * r * (1 - r), dc * r], axis=-1)
    return d_inner, dc, dh * z, gl, skip


def _gru_bwd(return_sequences, residuals, cotangents):
    (first, (saved, hs)), xs, kernel, recurrent_kernel, recurrent_bias, keeps = residuals
    g_out, g_h = cotangents
    masked = keeps is not None
    units = recurrent_kernel.shape[0]
    recurrent_t = recurrent_kernel.T  # transposed once, before the loop
    gys = g_out if return_sequences else None
    if first is not None:  # the first step ran before the loop
        x0, xs = xs[0], xs[1:]
        keep0, keeps = (None, None) if keeps is None else (keeps[0], keeps[1:])
        gy0, gys = (None, None) if gys is None else (gys[0], gys[1:])

    def step(carry, inputs):
        gh, gl = carry
        saved, h, keep, gy = inputs
        d_inner, dc, direct, gl, skip = _through_step(gh, gl, gy, keep, saved, h)
        gh = direct + d_inner @ recurrent_t
        if skip is not None:
            gh = gh + skip
        return (gh, gl), (d_inner, dc)

    # without masks the last output is the final h: its gradient joins h's
    if masked:
        init = (g_h, jnp.zeros_like(g_h) if return_sequences else g_out)
    else:
        init = (g_h if return_sequences else g_h + g_out, None)
    (gh, gl), (d_inners, dcs) = lax.scan(step, init, (saved, hs, keeps, gys), reverse=True)
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
    d_inner, dc, _, _, _ = _through_step(gh, gl, gy0, keep0, first, None)
    d_kernel = d_kernel + x0.T @ jnp.concatenate([d_inner[:, :2 * units], dc], axis=1)
    if recurrent_bias is not None:
        d_bias = d_bias + jnp.sum(d_inner, axis=0)
    d_x0 = d_inner[:, :2 * units] @ kernel[:, :2 * units].T + dc @ kernel[:, 2 * units:].T
    return jnp.concatenate([d_x0[None], d_xs]), d_kernel, d_recurrent, d_bias, None, None


_gru.defvjp(_gru_fwd, _gru_bwd)
