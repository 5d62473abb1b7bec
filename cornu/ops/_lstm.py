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

The backward step is then one product (the recurrent state's gradient) and a few
vectorized elementwise fusions; it stacks the gradients of the steps' pre-activations, and
the kernels' gradients (and the inputs') are one product each over the rows of all steps
after the loop, instead of a small product and a sum a step (an LSTM(128) fit epoch on
MNIST rows 5% faster; session 16). The bias is a row of the input kernel against a column
of ones in the input, so its gradient comes out of the kernel's product instead of a sum
over the batch. The four gates are activated by one `tanh` over the whole
(batch, 4 x units) array (sigmoid(x) = tanh(x / 2) / 2 + 1/2). From a zero state (a
layer's default) the first step runs before the loop, without the recurrent product and
without the state's gradient (the epoch 3% faster).

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


def _step(x, h, c, last, keep, kernel, recurrent_kernel):
    """One step from the input row `x`, the state (`h`, `c`; None: zeros) and the last
    output: (new h, new c, output, the four activated gates (i, f, g, o))."""
    z = x @ kernel if h is None else x @ kernel + h @ recurrent_kernel
    i, f, g, o = jnp.split(_activate(z, kernel.shape[-1] // 4), 4, axis=-1)
    c_new = i * g if c is None else f * c + i * g
    h_new = o * jnp.tanh(c_new)
    out = h_new
    if keep is not None:  # a masked step keeps the state and the previous output
        k = keep[:, None]
        out = jnp.where(k, h_new, last)
        h_new = jnp.where(k, h_new, 0 if h is None else h)
        c_new = jnp.where(k, c_new, 0 if c is None else c)
    return h_new, c_new, out, (i, f, g, o)


def _forward(xs, kernel, recurrent_kernel, h0, c0, keeps, return_sequences, save):
    masked = keeps is not None

    def step(carry, inputs):
        h, c, last = carry
        x, keep = inputs
        h_new, c_new, out, gates = _step(x, h, c, last, keep, kernel, recurrent_kernel)
        saved = (gates, h, c) if save else None
        return (h_new, c_new, out if masked else None), (out if return_sequences else None,
                                                         saved)

    first = None
    if h0 is None:  # the first step from zeros, before the loop: no recurrent product
        zeros = jnp.zeros((xs.shape[1], recurrent_kernel.shape[0]), xs.dtype)
        h, c, out0, first = _step(xs[0], None, None, zeros, None if keeps is None else keeps[0],
                                  kernel, recurrent_kernel)
        init = (h, c, out0 if masked else None)
        xs, keeps = xs[1:], None if keeps is None else keeps[1:]
    else:
        init = (h0, c0, jnp.zeros_like(h0) if masked else None)
    (h, c, last), (ys, saved) = lax.scan(step, init, (xs, keeps))
    if return_sequences and first is not None:
        ys = jnp.concatenate([out0[None], ys])
    output = ys if return_sequences else (last if masked else h)
    return (output, h, c), (first, saved)


def lstm_sequence(xs: jax.Array, kernel: jax.Array, recurrent_kernel: jax.Array,
                  bias: jax.Array | None, h0: jax.Array | None = None,
                  c0: jax.Array | None = None, keeps: jax.Array | None = None,
                  return_sequences: bool = False):
    """An LSTM (tanh activation, sigmoid recurrent activation) over time-major `xs`
    (time, batch, features) from the state (`h0`, `c0`), both None for zeros (then the
    first step runs before the loop, without the recurrent product); `keeps` (time,
    batch) marks the steps that update the state (None: all). Returns (outputs (time,
    batch, units) if return_sequences else the last output, final h, final c)."""
    if (h0 is None) != (c0 is None):
        raise ValueError("lstm_sequence takes both of h0 and c0 or neither (zeros).")
    if h0 is None and xs.shape[0] == 0:
        h0 = c0 = jnp.zeros((xs.shape[1], recurrent_kernel.shape[0]), xs.dtype)
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


def _through_step(gh, gc, gl, gy, keep, gates, c):
    """The gradient through one step: (the gradient of the step's pre-activations dz,
    the gradients reaching the previous state and last output, without the recurrent
    product's part of h's). `gl` (the last output's gradient) is None without masks, `c`
    None for a zero state."""
    if gy is not None:  # the output of this step (return_sequences)
        if keep is not None:
            gl = gl + gy
        else:
            gh = gh + gy
    skips = None
    if keep is not None:
        k = keep[:, None]
        dh, dc_new = jnp.where(k, gh + gl, 0), jnp.where(k, gc, 0)
        skips, gl = (jnp.where(k, 0, gh), jnp.where(k, 0, gc)), jnp.where(k, 0, gl)
    else:
        dh, dc_new = gh, gc
    i, f, g, o = gates
    t = jnp.tanh(i * g if c is None else f * c + i * g)
    dc = dc_new + dh * o * (1 - t * t)
    # through the activations: s (1 - s) for a sigmoid s, 1 - g^2 for the cell gate
    df = jnp.zeros_like(dc) if c is None else dc * c * f * (1 - f)
    dz = jnp.concatenate([dc * g * i * (1 - i), df, dc * i * (1 - g * g),
                          dh * t * o * (1 - o)], axis=-1)
    return dz, dc * f, gl, skips


def _lstm_bwd(return_sequences, residuals, cotangents):
    (first, (gates, hs, cs)), xs, kernel, recurrent_kernel, keeps = residuals
    g_out, g_h, g_c = cotangents
    masked = keeps is not None
    # transposed once, before the loop (see the module's docstring)
    recurrent_t, kernel_t = recurrent_kernel.T, kernel.T
    gys = g_out if return_sequences else None
    if first is not None:  # the first step ran before the loop
        x0, xs = xs[0], xs[1:]
        keep0, keeps = (None, None) if keeps is None else (keeps[0], keeps[1:])
        gy0, gys = (None, None) if gys is None else (gys[0], gys[1:])

    def step(carry, inputs):
        gh, gc, gl = carry
        gates, c, keep, gy = inputs
        dz, gc, gl, skips = _through_step(gh, gc, gl, gy, keep, gates, c)
        gh = dz @ recurrent_t
        if skips is not None:
            gh, gc = gh + skips[0], gc + skips[1]
        return (gh, gc, gl), dz

    # without masks the last output is the final h: its gradient joins h's
    if masked:
        init = (g_h, g_c, jnp.zeros_like(g_h) if return_sequences else g_out)
    else:
        init = (g_h if return_sequences else g_h + g_out, g_c, None)
    (gh, gc, gl), dzs = lax.scan(step, init, (gates, cs, keeps, gys), reverse=True)
    # the kernels' gradients and the inputs': one product each over every step's rows
    rows = dzs.shape[0] * dzs.shape[1]
    dz_rows = dzs.reshape(rows, dzs.shape[-1])
    d_kernel = xs.reshape(rows, xs.shape[-1]).T @ dz_rows
    d_recurrent = hs.reshape(rows, hs.shape[-1]).T @ dz_rows
    # the inputs' gradient: XLA drops it where nothing uses it (the inputs are data)
    d_xs = (dz_rows @ kernel_t).reshape(*xs.shape)
    if first is None:
        return d_xs, d_kernel, d_recurrent, gh, gc, None
    dz, _, _, _ = _through_step(gh, gc, gl, gy0, keep0, first, None)
    d_kernel = d_kernel + x0.T @ dz
    return jnp.concatenate([(dz @ kernel_t)[None], d_xs]), d_kernel, d_recurrent, None, None, None


_lstm.defvjp(_lstm_fwd, _lstm_bwd)
