"""OpLayer: a `cornu.ops` function called on symbolic tensors in functional code.

`x = ops.concatenate([a, b], axis=-1)`, `x = inputs[:, 0]` or `y = x * 2 + 1` between
layers of a functional model record one OpLayer call each, as Keras records its
operations: the op runs on the values when the model runs. The config names the op
(looked up in cornu.ops only, never imported); writing such calls into a saved config
(with their non-tensor arguments: slices, axes) is not done yet, so get_config refuses
with an error that says what to do instead.
"""

from __future__ import annotations

from typing import Any

from cornu.layers.base import Layer


def op_table() -> dict[str, Any]:
    from cornu import ops

    return {**{name: getattr(ops, name) for name in ops.__all__}, **ops._OPERATORS}


class OpLayer(Layer):
    def __init__(self, op: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        table = op_table()
        if not isinstance(op, str) or op not in table:
            raise ValueError(f"op must name a cornu.ops function. Received: op={op!r}")
        self.op = op
        self._fn = table[op]
        self.built = True

    def call(self, *args: Any, **kwargs: Any) -> Any:
        kwargs.pop("training", None)  # the model's call context, not the op's arguments
        return self._fn(*args, **kwargs)

    def get_config(self) -> dict[str, Any]:
        raise NotImplementedError(
            f"Layer '{self.name}' is the op cornu.ops.{self.op} called on symbolic tensors; "
            "a model holding such calls runs and trains, but its config cannot be written "
            "yet. Wrap the computation in a Layer subclass (with get_config) to save the "
            "whole model, or save its weights with model.save_weights(...).")
