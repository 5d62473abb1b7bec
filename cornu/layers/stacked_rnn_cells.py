"""StackedRNNCells: several cells run one after another at each step, as one cell (what
`RNN([cell_a, cell_b])` makes). The first cell's input product runs outside the loop when
it is a built-in cell."""

from __future__ import annotations

from typing import Any

from cornu.layers import _nested
from cornu.layers._cell import RecurrentCell
from cornu.layers.base import Layer, _call_arguments


def check_cell(cell: Any, argument: str) -> None:
    if not callable(getattr(cell, "call", None)):
        raise ValueError(f"{argument} must have a `call(inputs, states)` method. "
                         f"Received: {argument}={cell!r}")
    size = getattr(cell, "state_size", None)
    if size is None:
        raise ValueError(f"{argument} must have a `state_size` attribute (an integer, or a "
                         f"list of integers, one per state). Received: {argument}={cell!r}")


def output_size(cell: Any) -> Any:
    size = getattr(cell, "output_size", None)
    if size is not None:
        return size
    state = cell.state_size
    return state[0] if isinstance(state, list | tuple) else state


def call_cell(cell: Any, inputs: Any, states: list, training: Any) -> tuple[Any, list]:
    """One step of any cell: Keras' call(inputs, states[, training]); states as a list."""
    if isinstance(cell, Layer):
        kwargs = {"training": training} if "training" in _call_arguments(type(cell)) else {}
        output, new = cell(inputs, states, **kwargs)
    else:
        output, new = cell.call(inputs, states)
    return output, list(new) if isinstance(new, list | tuple) else [new]


class StackedRNNCells(Layer):
    def __init__(self, cells: list, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        cells = list(cells) if isinstance(cells, list | tuple) else None
        if not cells:
            raise ValueError("cells must be a non-empty list of RNN cells. Received: "
                             f"cells={cells!r}")
        for i, cell in enumerate(cells):
            check_cell(cell, f"cells[{i}]")
        self.cells = cells

    @property
    def state_size(self) -> list:
        return [c.state_size for c in self.cells]

    @property
    def output_size(self) -> Any:
        return output_size(self.cells[-1])

    def build(self, input_shape) -> None:
        for cell in self.cells:
            if isinstance(cell, Layer) and not cell.built:
                cell.build(input_shape)
                object.__setattr__(cell, "built", True)
            input_shape = (input_shape[0], output_size(cell))

    def get_initial_state(self, batch_size: int | None = None) -> list:
        from cornu.layers.rnn import initial_state_of

        return [initial_state_of(c, batch_size, self.compute_dtype) for c in self.cells]

    # -- the fast path RNN uses -----------------------------------------------------------------
    def _masks(self, batch: int, dtype: Any, training: Any) -> list:
        return [c._masks(batch, dtype, training) if isinstance(c, RecurrentCell) else None
                for c in self.cells]

    def _project(self, inputs: Any, masks: list) -> Any:
        first = self.cells[0]
        return first._project(inputs, masks[0]) if isinstance(first, RecurrentCell) else inputs

    def _recur(self, x: Any, states: list, masks: list, training: Any = False):
        new_states = []
        for i, (cell, state, m) in enumerate(zip(self.cells, states, masks, strict=True)):
            nested = isinstance(state, list | tuple)
            state = list(state) if nested else [state]
            if isinstance(cell, RecurrentCell):
                x, new = cell._recur(x if i == 0 else cell._project(x, m), state, m)
            else:
                x, new = call_cell(cell, x, state, training)
            new_states.append(new if nested else new[0])
        return x, new_states

    def call(self, inputs, states, training=False):
        masks = self._masks(inputs.shape[0], inputs.dtype, training)
        return self._recur(self._project(inputs, masks), list(states), masks, training)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "cells": [_nested.serialize(c) for c in self.cells]}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> StackedRNNCells:
        config = dict(config)
        cells = config.pop("cells", None)
        if not isinstance(cells, list):
            raise ValueError(f"cells must be a list of cell configs. Received: cells={cells!r}")
        return cls([_nested.deserialize(c, f"cells[{i}]") for i, c in enumerate(cells)],
                   **config)
