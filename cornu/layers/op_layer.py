"""OpLayer: a `cornu.ops` function called on symbolic tensors in functional code.

`x = ops.concatenate([a, b], axis=-1)`, `x = inputs[:, 0]` or `y = x * 2 + 1` between
layers of a functional model record one OpLayer call each, as Keras records its
operations: the op runs on the values when the model runs. The config names the op;
the call's other arguments (axes, constants) are the node's, in the model's config.
Loading resolves the name only among cornu.ops' own functions (an allow-list, never an
import of a name read from a file).
"""

from __future__ import annotations

from typing import Any

from cornu.layers.base import Layer, unique_name


def op_table() -> dict[str, Any]:
    from cornu import ops

    return {**{name: getattr(ops, name) for name in ops.__all__}, **ops._OPERATORS}


class OpLayer(Layer):
    _keras_operation = True  # as Keras' operations: no mask goes in, none is warned of

    def __init__(self, op: str, **kwargs: Any) -> None:
        table = op_table()
        if not isinstance(op, str) or op not in table:
            raise ValueError(f"op must name a cornu.ops function. Received: op={op!r}")
        # named after the op, as Keras names its operations ('add', 'add_1', ...)
        kwargs["name"] = kwargs.get("name") or unique_name(op)
        super().__init__(**kwargs)
        self.op = op
        self._fn = table[op]
        self.built = True

    def call(self, *args: Any, **kwargs: Any) -> Any:
        kwargs.pop("training", None)  # the model's call context, not the op's arguments
        if self.op == "getitem" and len(args) == 2 and isinstance(args[1], list):
            args = (args[0], tuple(args[1]))  # an index read back from a config, as Keras
        return self._fn(*args, **kwargs)

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "trainable": self.trainable, "op": self.op}
