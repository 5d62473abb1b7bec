"""What the recurrent loops written out for the CPU (ops/_lstm.py, ops/_gru.py) share:
the forward scan with a zero start before it, the part of a backward step that masks and
the last output make, and the backward scan around a cell's own gradient step.

A cell's states are a tuple whose first entry is h, the step's output. A masked step
(`keep` False for a row) keeps every state and the previous output; a zero start (states
None) runs the first step before the loop with states None, so the cell can leave out
its recurrent product.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax.numpy as jnp
from jax import lax


def forward(step: Callable, xs, keeps, states, units: int, return_sequences: bool,
            save: bool):
    """`step(x, states or None) -> (new states, saved)` over time-major `xs`; `keeps`
    (time, batch) or None. Returns ((output, *final states), (the first step's saved values
    or None, (the stacked saved values, the stacked states each step started from)))."""
    masked = keeps is not None

    def through(x, states, last, keep):
        new, saved = step(x, states)
        out = new[0]
        if keep is not None:  # a masked step keeps the states and the previous output
            k = keep[:, None]
            out = jnp.where(k, out, last)
            new = tuple(jnp.where(k, n, 0 if states is None else s)
                        for n, s in zip(new, states or new, strict=True))
        return new, out, saved

    def body(carry, inputs):
        states, last = carry
        x, keep = inputs
        new, out, saved = through(x, states, last, keep)
        return (new, out if masked else None), (out if return_sequences else None,
                                                (saved, states) if save else None)

    first = None
    zeros = jnp.zeros((xs.shape[1], units), xs.dtype) if masked else None
    if states is None:  # the first step from zeros, before the loop
        states, out0, first = through(xs[0], None, zeros, None if keeps is None else keeps[0])
        xs, keeps = xs[1:], None if keeps is None else keeps[1:]
        last = out0 if masked else None
    else:
        last = zeros
    (states, last), (ys, stacks) = lax.scan(body, (tuple(states), last), (xs, keeps))
    if return_sequences and first is not None:
        ys = jnp.concatenate([out0[None], ys])
    output = ys if return_sequences else (last if masked else states[0])
    return (output, *states), (first, stacks)


def through_mask(grads: tuple, gl, gy, keep) -> tuple[tuple, Any, tuple | None]:
    """The gradients reaching a step's new states (h first), less what masks and the last
    output take: (the gradients through the cell's step, the last output's gradient carried
    on (None without masks), the gradients a masked row passes straight to the previous
    states, or None without masks). `gy`: the gradient of this step's output, or None."""
    gh, rest = grads[0], tuple(grads[1:])
    if gy is not None:  # the output of this step (return_sequences)
        if keep is None:
            gh = gh + gy
        else:
            gl = gl + gy
    if keep is None:
        return (gh, *rest), gl, None
    k = keep[:, None]
    through = (jnp.where(k, gh + gl, 0), *(jnp.where(k, g, 0) for g in rest))
    skips = tuple(jnp.where(k, 0, g) for g in (gh, *rest))
    return through, jnp.where(k, 0, gl), skips


def backward(step: Callable, inputs, keeps, g_out, g_states: tuple, return_sequences: bool):
    """The reverse scan of `step(gradients through the step, inputs) -> (gradients of the
    previous states, output)` over the stacked `inputs`; the gradients of the final states
    `g_states` and of the layer's output `g_out` start it. Returns ((the states' gradients,
    the last output's gradient (None without masks)), the stacked outputs)."""
    masked = keeps is not None
    gys = g_out if return_sequences else None
    if masked:
        gl = jnp.zeros_like(g_states[0]) if return_sequences else g_out
    else:  # without masks the last output is the final h: its gradient joins h's
        g_states = (g_states[0] if return_sequences else g_states[0] + g_out, *g_states[1:])
        gl = None

    def body(carry, inputs):
        grads, gl = carry
        inputs, keep, gy = inputs
        through, gl, skips = through_mask(grads, gl, gy, keep)
        grads, out = step(through, inputs)
        if skips is not None:
            grads = tuple(g + s for g, s in zip(grads, skips, strict=True))
        return (grads, gl), out

    return lax.scan(body, (tuple(g_states), gl), (inputs, keeps, gys), reverse=True)


def split_first(xs, keeps, g_out, return_sequences: bool):
    """The first step's input row, keep and output gradient, and the rest of each, for a
    loop that ran its first step before the scan."""
    keep0, keeps = (None, None) if keeps is None else (keeps[0], keeps[1:])
    gy0, g_out = (g_out[0], g_out[1:]) if return_sequences else (None, g_out)
    return (xs[0], keep0, gy0), (xs[1:], keeps, g_out)


def bias_as_kernel_row(xs, kernel, bias):
    """(xs with a column of ones, kernel with the bias as its last row): the bias's
    gradient then comes out of the kernel's product instead of a sum over the rows."""
    if bias is None:
        return xs, kernel
    return (jnp.concatenate([xs, jnp.ones((*xs.shape[:2], 1), xs.dtype)], axis=-1),
            jnp.concatenate([kernel, bias[None]], axis=0))
