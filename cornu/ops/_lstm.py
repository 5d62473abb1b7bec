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

from cornu.ops import _loops


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


def _forward(xs, kernel, recurrent_kernel, h0, c0, keeps, return_sequences, save):
    units = recurrent_kernel.shape[0]

    def step(x, states):  # states None: zeros, and no recurrent product
        z = x @ kernel if states is None else x @ kernel + states[0] @ recurrent_kernel
        i, f, g, o = jnp.split(_activate(z, units), 4, axis=-1)
        c = i * g if states is None else f * states[1] + i * g
        return (o * jnp.tanh(c), c), (i, f, g, o)

    return _loops.forward(step, xs, keeps, None if h0 is None else (h0, c0), units,
                          return_sequences, save)


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
    xs, kernel = _loops.bias_as_kernel_row(xs, kernel, bias)
    return _lstm(xs, kernel, recurrent_kernel, h0, c0, keeps, return_sequences)


@functools.partial(jax.custom_vjp, nondiff_argnums=(6,))
def _lstm(xs, kernel, recurrent_kernel, h0, c0, keeps, return_sequences):
    return _forward(xs, kernel, recurrent_kernel, h0, c0, keeps, return_sequences,
                    save=False)[0]


def _lstm_fwd(xs, kernel, recurrent_kernel, h0, c0, keeps, return_sequences):
    out, saved = _forward(xs, kernel, recurrent_kernel, h0, c0, keeps, return_sequences,
                          save=True)
    return out, (saved, xs, kernel, recurrent_kernel, keeps)


def _dz(dh, dc_new, gates, c):
    """The gradient of a step's pre-activations from those of its new h and c, and the
    gradient reaching the previous c; `c` (the previous c) None for a zero state."""
    i, f, g, o = gates
    t = jnp.tanh(i * g if c is None else f * c + i * g)
    dc = dc_new + dh * o * (1 - t * t)
    # through the activations: s (1 - s) for a sigmoid s, 1 - g^2 for the cell gate
    df = jnp.zeros_like(dc) if c is None else dc * c * f * (1 - f)
    dz = jnp.concatenate([dc * g * i * (1 - i), df, dc * i * (1 - g * g),
                          dh * t * o * (1 - o)], axis=-1)
    return dz, dc * f


def _lstm_bwd(return_sequences, residuals, cotangents):
    (first, (gates, (hs, cs))), xs, kernel, recurrent_kernel, keeps = residuals
    g_out, g_h, g_c = cotangents
    # transposed once, before the loop (see the module's docstring)
    recurrent_t, kernel_t = recurrent_kernel.T, kernel.T
    if first is not None:  # the first step ran before the loop
        (x0, keep0, gy0), (xs, keeps, g_out) = _loops.split_first(xs, keeps, g_out,
                                                                    return_sequences)

    def step(grads, inputs):
        dz, gc = _dz(*grads, *inputs)
        return (dz @ recurrent_t, gc), dz

    ((gh, gc), gl), dzs = _loops.backward(step, (gates, cs), keeps, g_out, (g_h, g_c),
                                          return_sequences)
    # the kernels' gradients and the inputs': one product each over every step's rows
    rows = dzs.shape[0] * dzs.shape[1]
    dz_rows = dzs.reshape(rows, dzs.shape[-1])
    d_kernel = xs.reshape(rows, xs.shape[-1]).T @ dz_rows
    d_recurrent = hs.reshape(rows, hs.shape[-1]).T @ dz_rows
    # the inputs' gradient: XLA drops it where nothing uses it (the inputs are data)
    d_xs = (dz_rows @ kernel_t).reshape(*xs.shape)
    if first is None:
        return d_xs, d_kernel, d_recurrent, gh, gc, None
    through, _, _ = _loops.through_mask((gh, gc), gl, gy0, keep0)
    dz, _ = _dz(*through, first, None)
    d_kernel = d_kernel + x0.T @ dz
    return jnp.concatenate([(dz @ kernel_t)[None], d_xs]), d_kernel, d_recurrent, None, None, None


_lstm.defvjp(_lstm_fwd, _lstm_bwd)
