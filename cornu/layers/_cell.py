"""What SimpleRNNCell, LSTMCell and GRUCell share: Keras' arguments, their weights
(kernel, recurrent_kernel, bias; gates side by side on the last axis), the dropout masks,
and the split of a step that lets RNN run fast.

A cell step is `_recur(_project(x, masks), states, masks)`: `_project` is the input
product (x @ kernel + input bias), which RNN computes for every time step at once, outside
the loop; `_recur` adds the recurrent product and applies the gates, and is all that
RNN's scan carries. The dropout masks are drawn once per sequence, as in Keras (the same
mask at every step), in training only.
"""

from __future__ import annotations

import math
from typing import Any

import jax
import jax.numpy as jnp

from cornu import activations, constraints, initializers, random, regularizers
from cornu.layers.base import Layer

#: the name a cell gives (jax.ad_checkpoint.checkpoint_name) to the values of a step that
#: its gradient keeps; the rest is recomputed from them (rnn.py, keep_gates_only)
SAVED_GATES = "cornu_rnn_gates"


def positive_units(units: Any) -> int:
    if isinstance(units, bool) or not isinstance(units, int) or units < 1:
        raise ValueError(f"units must be a positive integer. Received: units={units!r}")
    return units


def _rate(value: Any, argument: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"{argument} must be a number in [0, 1]. Received: "
                         f"{argument}={value!r}")
    return min(1.0, max(0.0, float(value)))  # as Keras: clipped


class RecurrentCell(Layer):
    """Base of the built-in cells (Keras' `call(inputs, states, training)` API)."""

    gates = 1
    keeps_gates = False  # whether _recur names the values its gradient keeps SAVED_GATES

    def __init__(self, units: int, activation: Any = "tanh", use_bias: bool = True,
                 kernel_initializer: Any = "glorot_uniform",
                 recurrent_initializer: Any = "orthogonal", bias_initializer: Any = "zeros",
                 kernel_regularizer: Any = None, recurrent_regularizer: Any = None,
                 bias_regularizer: Any = None, kernel_constraint: Any = None,
                 recurrent_constraint: Any = None, bias_constraint: Any = None,
                 dropout: float = 0.0, recurrent_dropout: float = 0.0,
                 seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.units = positive_units(units)
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer, "kernel_initializer")
        self.recurrent_initializer = initializers.get(recurrent_initializer,
                                                      "recurrent_initializer")
        self.bias_initializer = initializers.get(bias_initializer, "bias_initializer")
        self.kernel_regularizer = regularizers.get(kernel_regularizer, "kernel_regularizer")
        self.recurrent_regularizer = regularizers.get(recurrent_regularizer,
                                                      "recurrent_regularizer")
        self.bias_regularizer = regularizers.get(bias_regularizer, "bias_regularizer")
        self.kernel_constraint = constraints.get(kernel_constraint, "kernel_constraint")
        self.recurrent_constraint = constraints.get(recurrent_constraint,
                                                    "recurrent_constraint")
        self.bias_constraint = constraints.get(bias_constraint, "bias_constraint")
        self.dropout = _rate(dropout, "dropout")
        self.recurrent_dropout = _rate(recurrent_dropout, "recurrent_dropout")
        self.seed = seed
        self.seed_generator = random.SeedGenerator(seed)
        self.state_size: Any = self.units
        self.output_size = self.units

    def _add_weights(self, input_shape, bias_shape=None, bias_initializer=None) -> None:
        if len(input_shape) < 2 or input_shape[-1] is None:
            raise ValueError(f"Layer '{self.name}' ({type(self).__name__}) needs step inputs "
                             f"with a known last axis. Received shape {tuple(input_shape)}.")
        width = self.gates * self.units
        self.kernel = self.add_weight(
            shape=(input_shape[-1], width), initializer=self.kernel_initializer,
            regularizer=self.kernel_regularizer, constraint=self.kernel_constraint,
            name="kernel")
        self.recurrent_kernel = self.add_weight(
            shape=(self.units, width), initializer=self.recurrent_initializer,
            regularizer=self.recurrent_regularizer, constraint=self.recurrent_constraint,
            name="recurrent_kernel")
        self.bias = self.add_weight(
            shape=bias_shape or (width,), initializer=bias_initializer or self.bias_initializer,
            regularizer=self.bias_regularizer, constraint=self.bias_constraint,
            name="bias") if self.use_bias else None

    # -- the fast path RNN uses -----------------------------------------------------------------
    def _masks(self, batch: int, dtype: Any, training: Any) -> tuple[Any, Any]:
        """(input mask, recurrent mask), each None unless training with that dropout. With
        recurrent dropout, gated cells draw one mask per gate, (gates, batch, width), as
        Keras' implementation 1 (which Keras switches to then)."""
        per_gate = self.gates if self.recurrent_dropout and self.gates > 1 else None

        def draw(width: int, rate: float) -> Any:
            if not training or not 0.0 < rate < 1.0:
                return None
            shape = (batch, width) if per_gate is None else (per_gate, batch, width)
            return random.dropout(jnp.ones(shape, dtype), rate, seed=self.seed_generator)

        return (draw(self.kernel.shape[0], self.dropout),
                draw(self.units, self.recurrent_dropout))

    def _input_bias(self) -> Any:
        return None if self.bias is None else self.bias.value

    def _project(self, inputs: Any, masks: tuple[Any, Any]) -> Any:
        """inputs (batch, [time,] features) @ kernel + the input bias."""
        kernel, mask = self.kernel.value, masks[0]
        if mask is None:
            y = jnp.matmul(inputs, kernel)
        elif mask.ndim == 2:  # one mask for every gate
            y = jnp.matmul(inputs * (mask if inputs.ndim == 2 else mask[:, None, :]), kernel)
        else:  # one mask per gate
            mask = mask if inputs.ndim == 2 else mask[:, :, None, :]
            gated = jnp.einsum("g...d,dgu->...gu", inputs[None] * mask,
                               kernel.reshape(kernel.shape[0], self.gates, self.units))
            y = gated.reshape(*inputs.shape[:-1], self.gates * self.units)
        bias = self._input_bias()
        return y if bias is None else y + jnp.reshape(bias, (1,) * (y.ndim - 1) + (-1,))

    def _recurrent(self, h: Any, masks: tuple[Any, Any], kernel: Any, first_gate: int = 0):
        """h @ kernel (columns of the gates from first_gate on), h under recurrent dropout."""
        mask = masks[1]
        if mask is None:
            return jnp.matmul(h, kernel)
        if mask.ndim == 2:
            return jnp.matmul(h * mask, kernel)
        n = kernel.shape[1] // self.units
        gated = jnp.einsum("gbu,ugv->bgv", h[None] * mask[first_gate:first_gate + n],
                           kernel.reshape(self.units, n, self.units))
        return gated.reshape(h.shape[0], n * self.units)

    def _recur(self, x: Any, states: list, masks: tuple[Any, Any]) -> tuple[Any, list]:
        raise NotImplementedError

    def _sequence(self, xs: Any, states: list, keeps: Any, masks: tuple[Any, Any],
                  return_sequences: bool) -> tuple[Any, list] | None:
        """The whole loop over time-major `xs` (time, batch, features) in one operation:
        (outputs (time, batch, units) if return_sequences else the last output, final
        states), or None to have RNN scan `_recur`. `states` None: the cell's zero state
        (`get_initial_state`); `keeps` (time, batch): the steps that update the state."""
        return None

    def _written_out_loop_inputs(self, xs: Any, masks: tuple[Any, Any], own: type) -> Any:
        """`xs` under the input dropout mask where a loop written out for the CPU
        (ops/_lstm.py, ops/_gru.py) covers this call, else None: on the CPU, in float32,
        with Keras' default activations (tanh, sigmoid), without recurrent dropout, with
        the step of `own` (not a subclass's) and shapes known when traced (not an
        export's symbolic batch size)."""
        if not (jax.default_backend() == "cpu" and all(isinstance(d, int) for d in xs.shape)
                and xs.dtype == jnp.float32 and self.kernel.value.dtype == jnp.float32
                and self.activation is activations.get("tanh")
                and self.recurrent_activation is activations.get("sigmoid")
                and masks[1] is None and (masks[0] is None or masks[0].ndim == 2)
                and type(self)._recur is own._recur and type(self).call is RecurrentCell.call):
            return None
        return xs if masks[0] is None else xs * masks[0][None]  # one mask for every step

    # -- Keras' cell API ------------------------------------------------------------------------
    def call(self, inputs, states, training=False):
        nested = isinstance(states, list | tuple)
        states = list(states) if nested else [states]
        masks = self._masks(inputs.shape[0], inputs.dtype, training)
        output, new = self._recur(self._project(inputs, masks), states, masks)
        return output, new if nested else new[0]

    def get_initial_state(self, batch_size: int | None = None) -> list:
        sizes = self.state_size if isinstance(self.state_size, list | tuple) else [
            self.state_size]
        return [jnp.zeros((batch_size, d), self.compute_dtype) for d in sizes]

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "units": self.units,
            "activation": activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "recurrent_initializer": initializers.serialize(self.recurrent_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "recurrent_regularizer": regularizers.serialize(self.recurrent_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "kernel_constraint": constraints.serialize(self.kernel_constraint),
            "recurrent_constraint": constraints.serialize(self.recurrent_constraint),
            "bias_constraint": constraints.serialize(self.bias_constraint),
            "dropout": self.dropout,
            "recurrent_dropout": self.recurrent_dropout,
            "seed": self.seed,
        }
