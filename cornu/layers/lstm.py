"""LSTMCell and LSTM, Keras' gates i, f, c, o side by side in kernel, recurrent_kernel and
bias (unit_forget_bias: the forget gate's bias starts at one)."""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp
from jax.ad_checkpoint import checkpoint_name

from cornu import activations
from cornu.layers._cell import SAVED_GATES, RecurrentCell
from cornu.layers.rnn import CellLayer
from cornu.ops._lstm import lstm_sequence

#: on the CPU a whole LSTM loop runs as ops._lstm's lstm_sequence (see LSTMCell._sequence)
WHOLE_LOOP_ON_CPU = True


class LSTMCell(RecurrentCell):
    gates = 4
    keeps_gates = True  # names its gates' sum SAVED_GATES (see rnn.py, keep_gates_only)

    def __init__(self, units: int, activation: Any = "tanh",
                 recurrent_activation: Any = "sigmoid", use_bias: bool = True,
                 kernel_initializer: Any = "glorot_uniform",
                 recurrent_initializer: Any = "orthogonal", bias_initializer: Any = "zeros",
                 unit_forget_bias: bool = True, **kwargs: Any) -> None:
        kwargs.pop("implementation", None)  # Keras' kernel choice: the same numbers
        super().__init__(units, activation=activation, use_bias=use_bias,
                         kernel_initializer=kernel_initializer,
                         recurrent_initializer=recurrent_initializer,
                         bias_initializer=bias_initializer, **kwargs)
        self.recurrent_activation = activations.get(recurrent_activation)
        self.unit_forget_bias = bool(unit_forget_bias)
        self.state_size = [self.units, self.units]

    def build(self, input_shape) -> None:
        init, units = self.bias_initializer, self.units

        def forget_ones(shape, dtype=None):
            return jnp.concatenate([jnp.asarray(init((units,), dtype)), jnp.ones((units,), dtype),
                                    jnp.asarray(init((2 * units,), dtype))])

        self._add_weights(input_shape,
                          bias_initializer=forget_ones if self.unit_forget_bias else None)

    def _recur(self, x, states, masks):
        c_prev = states[1]
        z = x + self._recurrent(states[0], masks, self.recurrent_kernel.value)
        z = checkpoint_name(z, SAVED_GATES)  # what the step keeps for its gradient (rnn.py)
        i, f, g, o = jnp.split(z, 4, axis=-1)
        sigma = self.recurrent_activation
        c = sigma(f) * c_prev + sigma(i) * self.activation(g)
        h = sigma(o) * self.activation(c)
        return h, [h, c]

    def _sequence(self, xs, states, keeps, masks, return_sequences):
        """The whole loop over time-major `xs` at once (ops._lstm: its activations run
        vectorized and its gradient is written out), or None where RNN runs the steps:
        off the CPU, outside float32, with other activations than Keras' defaults, with
        recurrent dropout, for subclasses that change the step, and for shapes not known
        when traced (an export's symbolic batch size)."""
        xs = self._written_out_loop_inputs(xs, masks, LSTMCell) if WHOLE_LOOP_ON_CPU else None
        if xs is None:
            return None
        bias = None if self.bias is None else self.bias.value
        h0, c0 = (None, None) if states is None else states  # None: zeros
        output, h, c = lstm_sequence(xs, self.kernel.value, self.recurrent_kernel.value, bias,
                                     h0, c0, keeps, return_sequences)
        return output, [h, c]

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(),
                "recurrent_activation": activations.serialize(self.recurrent_activation),
                "unit_forget_bias": self.unit_forget_bias}


class LSTM(CellLayer):
    cell_class = LSTMCell

    def __init__(self, units: int, activation: Any = "tanh",
                 recurrent_activation: Any = "sigmoid", use_bias: bool = True,
                 kernel_initializer: Any = "glorot_uniform",
                 recurrent_initializer: Any = "orthogonal", bias_initializer: Any = "zeros",
                 unit_forget_bias: bool = True, kernel_regularizer: Any = None,
                 recurrent_regularizer: Any = None, bias_regularizer: Any = None,
                 activity_regularizer: Any = None, kernel_constraint: Any = None,
                 recurrent_constraint: Any = None, bias_constraint: Any = None,
                 dropout: float = 0.0, recurrent_dropout: float = 0.0,
                 seed: int | None = None, return_sequences: bool = False,
                 return_state: bool = False, go_backwards: bool = False,
                 stateful: bool = False, unroll: bool = False, **kwargs: Any) -> None:
        super().__init__(
            dict(units=units, activation=activation,
                 recurrent_activation=recurrent_activation, use_bias=use_bias,
                 kernel_initializer=kernel_initializer,
                 recurrent_initializer=recurrent_initializer,
                 bias_initializer=bias_initializer, unit_forget_bias=unit_forget_bias,
                 kernel_regularizer=kernel_regularizer,
                 recurrent_regularizer=recurrent_regularizer,
                 bias_regularizer=bias_regularizer, kernel_constraint=kernel_constraint,
                 recurrent_constraint=recurrent_constraint, bias_constraint=bias_constraint,
                 dropout=dropout, recurrent_dropout=recurrent_dropout, seed=seed),
            return_sequences=return_sequences, return_state=return_state,
            go_backwards=go_backwards, stateful=stateful, unroll=unroll,
            activity_regularizer=activity_regularizer, **kwargs)
