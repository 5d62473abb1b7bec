"""GRUCell and GRU, Keras' gates z, r, h side by side. reset_after=True (the default)
applies the reset gate after the recurrent product and keeps two biases, bias[0] for the
input and bias[1] for the recurrent product (shape (2, 3 * units)); reset_after=False
applies it to the state before the candidate's recurrent product, with one bias."""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp

from cornu import activations
from cornu.layers._cell import RecurrentCell
from cornu.layers.rnn import CellLayer
from cornu.ops._gru import gru_sequence

#: on the CPU a whole GRU loop runs as ops._gru's gru_sequence (see GRUCell._sequence)
WHOLE_LOOP_ON_CPU = True


class GRUCell(RecurrentCell):
    gates = 3

    def __init__(self, units: int, activation: Any = "tanh",
                 recurrent_activation: Any = "sigmoid", use_bias: bool = True,
                 kernel_initializer: Any = "glorot_uniform",
                 recurrent_initializer: Any = "orthogonal", bias_initializer: Any = "zeros",
                 reset_after: bool = True, **kwargs: Any) -> None:
        kwargs.pop("implementation", None)  # Keras' kernel choice: the same numbers
        super().__init__(units, activation=activation, use_bias=use_bias,
                         kernel_initializer=kernel_initializer,
                         recurrent_initializer=recurrent_initializer,
                         bias_initializer=bias_initializer, **kwargs)
        self.recurrent_activation = activations.get(recurrent_activation)
        self.reset_after = bool(reset_after)

    def build(self, input_shape) -> None:
        shape = (2, 3 * self.units) if self.reset_after else (3 * self.units,)
        self._add_weights(input_shape, bias_shape=shape)

    def _input_bias(self):
        if self.bias is None:
            return None
        return self.bias.value[0] if self.reset_after else self.bias.value

    def _recur(self, x, states, masks):
        h_prev, u = states[0], self.units
        kernel = self.recurrent_kernel.value
        if self.reset_after:  # split, not sliced: the gradient joins the pieces in one op
            inner = self._recurrent(h_prev, masks, kernel)
            if self.bias is not None:
                inner = inner + self.bias.value[1][None]
            x_zr, x_h = jnp.split(x, [2 * u], axis=-1)
            inner_zr, inner_h = jnp.split(inner, [2 * u], axis=-1)
            z, r = jnp.split(self.recurrent_activation(x_zr + inner_zr), 2, axis=-1)
            candidate = r * inner_h
        else:
            x_z, x_r, x_h = jnp.split(x, 3, axis=-1)
            inner = self._recurrent(h_prev, masks, kernel[:, :2 * u])
            z = self.recurrent_activation(x_z + inner[:, :u])
            r = self.recurrent_activation(x_r + inner[:, u:])
            candidate = self._recurrent(r * h_prev, masks, kernel[:, 2 * u:], first_gate=2)
        h = z * h_prev + (1 - z) * self.activation(x_h + candidate)
        return h, [h]

    def _sequence(self, xs, states, keeps, masks, return_sequences):
        """The whole loop over time-major `xs` at once (ops._gru: its gradient written
        out), or None where RNN runs the steps: off the CPU, outside float32, with
        reset_after=False, other activations than Keras' defaults, recurrent dropout, for
        subclasses that change the step, and for shapes not known when traced."""
        xs = self._written_out_loop_inputs(xs, masks, GRUCell) if (
            WHOLE_LOOP_ON_CPU and self.reset_after) else None
        if xs is None:
            return None
        biases = (None, None) if self.bias is None else (self.bias.value[0], self.bias.value[1])
        output, h = gru_sequence(xs, self.kernel.value, self.recurrent_kernel.value, *biases,
                                 None if states is None else states[0], keeps,
                                 return_sequences)
        return output, [h]

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(),
                "recurrent_activation": activations.serialize(self.recurrent_activation),
                "reset_after": self.reset_after}


class GRU(CellLayer):
    cell_class = GRUCell

    def __init__(self, units: int, activation: Any = "tanh",
                 recurrent_activation: Any = "sigmoid", use_bias: bool = True,
                 kernel_initializer: Any = "glorot_uniform",
                 recurrent_initializer: Any = "orthogonal", bias_initializer: Any = "zeros",
                 kernel_regularizer: Any = None, recurrent_regularizer: Any = None,
                 bias_regularizer: Any = None, activity_regularizer: Any = None,
                 kernel_constraint: Any = None, recurrent_constraint: Any = None,
                 bias_constraint: Any = None, dropout: float = 0.0,
                 recurrent_dropout: float = 0.0, seed: int | None = None,
                 return_sequences: bool = False, return_state: bool = False,
                 go_backwards: bool = False, stateful: bool = False, unroll: bool = False,
                 reset_after: bool = True, **kwargs: Any) -> None:
        super().__init__(
            dict(units=units, activation=activation,
                 recurrent_activation=recurrent_activation, use_bias=use_bias,
                 kernel_initializer=kernel_initializer,
                 recurrent_initializer=recurrent_initializer,
                 bias_initializer=bias_initializer, kernel_regularizer=kernel_regularizer,
                 recurrent_regularizer=recurrent_regularizer,
                 bias_regularizer=bias_regularizer, kernel_constraint=kernel_constraint,
                 recurrent_constraint=recurrent_constraint, bias_constraint=bias_constraint,
                 dropout=dropout, recurrent_dropout=recurrent_dropout, seed=seed,
                 reset_after=reset_after),
            return_sequences=return_sequences, return_state=return_state,
            go_backwards=go_backwards, stateful=stateful, unroll=unroll,
            activity_regularizer=activity_regularizer, **kwargs)
