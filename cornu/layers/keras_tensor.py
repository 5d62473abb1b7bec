"""KerasTensor and Node: the symbolic tensors and calls of the functional API.

A KerasTensor is a shape and dtype (batch axis first, None) and the call that made it:
`_keras_history = (layer, node_index, tensor_index)`. A Node is one call of a layer on
symbolic tensors; a layer called twice has two nodes and shares its weights.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import jax

if TYPE_CHECKING:
    from cornu.layers.base import Layer


class KerasTensor:
    """The output of `cornu.Input(...)` or of a layer called on such tensors. It holds no
    data: a model built from these tensors computes the values."""

    def __init__(self, shape: tuple[int | None, ...], dtype: Any = "float32",
                 name: str | None = None, history: tuple[Layer, int, int] | None = None) -> None:
        self.shape = tuple(shape)
        self.dtype = dtype if isinstance(dtype, str) else getattr(dtype, "name", str(dtype))
        self._keras_history = history
        self._name = name
        self._keras_mask: KerasTensor | None = None

    @property
    def name(self) -> str:
        if self._name is not None:
            return self._name
        if self._keras_history is None:
            return "keras_tensor"
        layer, node, index = self._keras_history
        return layer.name if node == 0 and index == 0 else f"{layer.name}_{node}_{index}"

    @property
    def layer(self) -> Layer:
        return self._keras_history[0]

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def __repr__(self) -> str:
        return f"<KerasTensor shape={self.shape}, dtype={self.dtype}, name={self.name}>"

    # operators, as Keras' KerasTensor: each records a cornu.ops call in the model
    def __add__(self, other): return _ops().add(self, other)  # noqa: E704
    def __radd__(self, other): return _ops().add(other, self)  # noqa: E704
    def __sub__(self, other): return _ops().subtract(self, other)  # noqa: E704
    def __rsub__(self, other): return _ops().subtract(other, self)  # noqa: E704
    def __mul__(self, other): return _ops().multiply(self, other)  # noqa: E704
    def __rmul__(self, other): return _ops().multiply(other, self)  # noqa: E704
    def __truediv__(self, other): return _ops().divide(self, other)  # noqa: E704
    def __rtruediv__(self, other): return _ops().divide(other, self)  # noqa: E704
    def __matmul__(self, other): return _ops().matmul(self, other)  # noqa: E704
    def __rmatmul__(self, other): return _ops().matmul(other, self)  # noqa: E704
    def __pow__(self, other): return _ops().power(self, other)  # noqa: E704
    def __neg__(self): return _ops().negative(self)  # noqa: E704
    def __abs__(self): return _ops().absolute(self)  # noqa: E704
    def __getitem__(self, key): return _ops()._OPERATORS["getitem"](self, key)  # noqa: E704

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        raise AttributeError(
            f"A KerasTensor is symbolic: it has no '{name}'. Wrap computations in a layer "
            "(a Layer subclass), or call the model "
            "on arrays.")


def _ops() -> Any:
    from cornu import ops

    return ops


def _is_tensor(value: Any) -> bool:
    return isinstance(value, KerasTensor)


class Node:
    """One call of `layer` on symbolic tensors: its arguments (with KerasTensors in
    them), the input tensors and the outputs it made."""

    def __init__(self, layer: Layer, args: tuple, kwargs: dict,
                 inputs: list[KerasTensor]) -> None:
        self.layer = layer
        self.args = args
        self.kwargs = kwargs
        self.inputs = inputs
        self.index = len(layer._inbound_nodes)
        self.outputs: Any = None

    def make_outputs(self, specs: Any) -> Any:
        flat, treedef = jax.tree.flatten(specs, is_leaf=_is_tensor)
        made = [KerasTensor(spec.shape, spec.dtype, history=(self.layer, self.index, i))
                for i, spec in enumerate(flat)]
        self.outputs = jax.tree.unflatten(treedef, made)
        self.flat_outputs = made
        return self.outputs

    @property
    def parent_nodes(self) -> list[Node]:
        return [t.layer._inbound_nodes[t._keras_history[1]] for t in self.inputs
                if t._keras_history is not None]

    def call(self, values: dict[int, Any], masks: dict[int, Any] | None = None
             ) -> tuple[Any, Any]:
        """(outputs, their mask): the layer run on the values of its input tensors (by
        id), given the masks those tensors carry (Embedding(mask_zero=True) makes one)."""
        from cornu.layers.base import argument_masks, call_with_mask

        args, kwargs = jax.tree.map(lambda t: values[id(t)] if _is_tensor(t) else t,
                                    (self.args, self.kwargs), is_leaf=_is_tensor)
        mask = None
        if masks:
            first = self.args[0] if self.args else None
            if _is_tensor(first):
                mask = masks.get(id(first))
            elif isinstance(first, list | tuple) and all(_is_tensor(t) for t in first):
                found = [masks.get(id(t)) for t in first]
                mask = found if any(m is not None for m in found) else None
        named = argument_masks(self.layer, self.args, self.kwargs,
                               lambda t: masks.get(id(t)) if _is_tensor(t) else None
                               ) if masks else None
        return call_with_mask(self.layer, args, kwargs, mask, named)
