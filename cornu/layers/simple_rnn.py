"""SimpleRNNCell and SimpleRNN: `h = activation(x @ kernel + bias + h_prev @ recurrent_kernel)`."""

from __future__ import annotations

from typing import Any

from cornu.layers._cell import RecurrentCell
from cornu.layers.rnn import CellLayer


class SimpleRNNCell(RecurrentCell):
    def build(self, input_shape) -> None:
        self._add_weights(input_shape)

    def _recur(self, x, states, masks):
        h = self.activation(x + self._recurrent(states[0], masks, self.recurrent_kernel.value))
        return h, [h]


class SimpleRNN(CellLayer):
    cell_class = SimpleRNNCell

    def __init__(self, units: int, activation: Any = "tanh", use_bias: bool = True,
                 kernel_initializer: Any = "glorot_uniform",
                 recurrent_initializer: Any = "orthogonal", bias_initializer: Any = "zeros",
                 kernel_regularizer: Any = None, recurrent_regularizer: Any = None,
                 bias_regularizer: Any = None, activity_regularizer: Any = None,
                 kernel_constraint: Any = None, recurrent_constraint: Any = None,
                 bias_constraint: Any = None, dropout: float = 0.0,
                 recurrent_dropout: float = 0.0, return_sequences: bool = False,
                 return_state: bool = False, go_backwards: bool = False,
                 stateful: bool = False, unroll: bool = False, seed: int | None = None,
                 **kwargs: Any) -> None:
        super().__init__(
            dict(units=units, activation=activation, use_bias=use_bias,
                 kernel_initializer=kernel_initializer,
                 recurrent_initializer=recurrent_initializer,
                 bias_initializer=bias_initializer, kernel_regularizer=kernel_regularizer,
                 recurrent_regularizer=recurrent_regularizer,
                 bias_regularizer=bias_regularizer, kernel_constraint=kernel_constraint,
                 recurrent_constraint=recurrent_constraint, bias_constraint=bias_constraint,
                 dropout=dropout, recurrent_dropout=recurrent_dropout, seed=seed),
            return_sequences=return_sequences, return_state=return_state,
            go_backwards=go_backwards, stateful=stateful, unroll=unroll,
            activity_regularizer=activity_regularizer, **kwargs)
