"""The loop of an LSTM layer with Keras' default activations (tanh, sigmoid) on the CPU:
one `lax.scan` forward and a backward pass written out by hand (`jax.custom_vjp`).

JAX's automatic gradient of the scan over LSTMCell steps spread each backward time step
over ~15 small XLA:CPU operations, and two things XLA:CPU does made them slower than they
need be (measured at batch 128, 128 units, 28 steps; docs/performance.md, session 15):

- A product with a transposed operand inside a loop, `dz @ recurrent_kernel.T`, ran at
  ~260 microseconds a step against ~107 for the same product with the transpose made
  once before the loop.
- An elementwise fusion that reads several column slices of one array that the loop
  slices out of a stack (the gates i, f, c, o of one step, side by side) compiles to
  scalar code, ~8x slower than the vectorized loop of the same arithmetic on separate
  arrays. So the forward pass saves the four activated gates as four stacks.

The backward step is then three products (the recurrent state's gradient, the kernels'
gradients accumulated in the loop) and a few vectorized elementwise fusions. The bias is
a row of the input kernel against a column of ones in the input, so its gradient comes
out of the kernel's product instead of a sum over the batch. The four gates are activated
by one `tanh` over the whole (batch, 4 x units) array (sigmoid(x) = tanh(x / 2) / 2 + 1/2).

`lstm_sequence` computes what `RNN(LSTMCell(...))` computes (same weights, same gate
order, masked steps keeping the state and the previous output) to float32 rounding.
Forward-mode differentiation (`jax.jvp`) does not go through a `custom_vjp`; reverse mode
(also of the gradient) does.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax


def _gate_columns(units: int, dtype) -> tuple[np.ndarray, np.ndarray]:
    """Rows (1, 4 x units) over the gates' columns [i, f, c, o]: the scale inside and
    outside the tanh (1/2 on the sigmoid gates, 1 on the cell gate) and the offset."""
    cell = np.zeros((4, units), dtype)
    cell[2] = 1
    cell = cell.reshape(1, -1)
    return 0.5 + 0.5 * cell, 0.5 - 0.5 * cell


def _activate(z: jax.Array, units: int) -> jax.Array:
    scale, offset = _gate_columns(units, z.dtype)
    return jnp.tanh(z * scale) * scale + offset


def _cell(a: jax.Array, c: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array]:
    """(new h, new c, tanh(new c)) from the activated gates and the previous cell state."""
    i, f, g, o = jnp.split(a, 4, axis=-1)
    c = f * c + i * g
    t = jnp.tanh(c)
    return o * t, c, t


def _forward(xs, kernel, recurrent_kernel, h0, c0, keeps, return_sequences, save):
    units = h0.shape[-1]

    def step(carry, inputs):
        h, c, last = carry
        x, keep = inputs
        a = _activate(x @ kernel + h @ recurrent_kernel, units)
        h_new, c_new, _ = _cell(a, c)
        out = h_new
        if keep is not None:
            k = keep[:, None]
            out = jnp.where(k, h_new, last)
            h_new, c_new = jnp.where(k, h_new, h), jnp.where(k, c_new, c)
        saved = (tuple(jnp.split(a, 4, axis=-1)), h, c) if save else None
        return (h_new, c_new, out), (out if return_sequences else None, saved)

    init = (h0, c0, jnp.zeros_like(h0) if keeps is not None else h0)
    (h, c, last), (ys, saved) = lax.scan(step, init, (xs, keeps))
    return (ys if return_sequences else last, h, c), saved


def lstm_sequence(xs: jax.Array, kernel: jax.Array, recurrent_kernel: jax.Array,
                  bias: jax.Array | None, h0: jax.Array, c0: jax.Array,
                  keeps: jax.Array | None = None, return_sequences: bool = False):
    """An LSTM (tanh activation, sigmoid recurrent activation) over time-major `xs`
    (time, batch, features); `keeps` (time, batch) marks the steps that update the state
    (None: all). Returns (outputs (time, batch, units) if return_sequences else the last
    output, final h, final c)."""
    if bias is not None:  # a column of ones in the input: the bias's gradient is a product
        xs = jnp.concatenate([xs, jnp.ones((*xs.shape[:2], 1), xs.dtype)], axis=-1)
        kernel = jnp.concatenate([kernel, bias[None]], axis=0)
    return _lstm(xs, kernel, recurrent_kernel, h0, c0, keeps, return_sequences)


@functools.partial(jax.custom_vjp, nondiff_argnums=(6,))
def _lstm(xs, kernel, recurrent_kernel, h0, c0, keeps, return_sequences):
    return _forward(xs, kernel, recurrent_kernel, h0, c0, keeps, return_sequences,
                    save=False)[0]


def _lstm_fwd(xs, kernel, recurrent_kernel, h0, c0, keeps, return_sequences):
    out, saved = _forward(xs, kernel, recurrent_kernel, h0, c0, keeps, return_sequences,
                          save=True)
    return out, (saved, xs, kernel, recurrent_kernel, keeps)


def _lstm_bwd(return_sequences, residuals, cotangents):
    (gates, hs, cs), xs, kernel, recurrent_kernel, keeps = residuals
    g_out, g_h, g_c = cotangents
    # transposed once, before the loop (see the module's docstring)
    recurrent_t, kernel_t = recurrent_kernel.T, kernel.T

    def step(carry, inputs):
        gh, gc, gl, d_kernel, d_recurrent = carry
        (i, f, g, o), h, c, x, keep, gy = inputs
        if gy is not None:  # the output of this step (return_sequences)
            gl = gl + gy
        if keep is not None:
            k = keep[:, None]
            dh, dc_new = jnp.where(k, gh + gl, 0), jnp.where(k, gc, 0)
            skip_h, skip_c, gl = jnp.where(k, 0, gh), jnp.where(k, 0, gc), jnp.where(k, 0, gl)
        else:
            dh, dc_new = gh + gl, gc
        t = jnp.tanh(f * c + i * g)
        dc = dc_new + dh * o * (1 - t * t)
        # through the activations: s (1 - s) for a sigmoid s, 1 - g^2 for the cell gate
        dz = jnp.concatenate([dc * g * i * (1 - i), dc * c * f * (1 - f), dc * i * (1 - g * g),
                              dh * t * o * (1 - o)], axis=-1)
        gh = dz @ recurrent_t
        gc = dc * f
        if keep is not None:
            gh, gc = gh + skip_h, gc + skip_c
        else:
            gl = jnp.zeros_like(gl)
        d_kernel = d_kernel + x.T @ dz
        d_recurrent = d_recurrent + h.T @ dz
        # the inputs' gradient: XLA drops it where nothing uses it (the inputs are data)
        return (gh, gc, gl, d_kernel, d_recurrent), dz @ kernel_t

    gys = g_out if return_sequences else None
    g_last = jnp.zeros_like(g_h) if return_sequences else g_out
    init = (g_h, g_c, g_last, jnp.zeros_like(kernel), jnp.zeros_like(recurrent_kernel))
    (gh, gc, gl, d_kernel, d_recurrent), d_xs = lax.scan(
        step, init, (gates, hs, cs, xs, keeps, gys), reverse=True)
    if keeps is None:
        gh = gh + gl  # without masks the initial "last output" is h0 itself
    return d_xs, d_kernel, d_recurrent, gh, gc, None


_lstm.defvjp(_lstm_fwd, _lstm_bwd)
