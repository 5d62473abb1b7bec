"""Output shapes found by tracing a layer's call on abstract inputs (jax.eval_shape)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import jax
import jax.numpy as jnp
import numpy as np

from cornu import variables
from cornu.layers.keras_tensor import KerasTensor

if TYPE_CHECKING:
    from cornu.layers.base import Layer


def _spec_from_shapes(shapes: Any) -> Any:
    if isinstance(shapes, tuple) and all(d is None or isinstance(d, int) for d in shapes):
        return KerasTensor(shapes, "float32")
    if isinstance(shapes, list | tuple):
        return type(shapes)(_spec_from_shapes(s) for s in shapes)
    if isinstance(shapes, dict):
        return {k: _spec_from_shapes(s) for k, s in shapes.items()}
    return KerasTensor(tuple(shapes), "float32")


def _spec_shapes(spec: Any) -> Any:
    return jax.tree.map(lambda t: tuple(t.shape), spec,
                        is_leaf=lambda t: isinstance(t, KerasTensor))


def _shapes_to_specs(shapes: Any, dtype: str) -> Any:
    if isinstance(shapes, tuple | list) and all(d is None or isinstance(d, int | np.integer)
                                                for d in shapes):
        return KerasTensor(tuple(None if d is None else int(d) for d in shapes), dtype)
    if isinstance(shapes, list | tuple):
        return [_shapes_to_specs(s, dtype) for s in shapes]
    if isinstance(shapes, dict):
        return {k: _shapes_to_specs(s, dtype) for k, s in shapes.items()}
    raise TypeError(f"compute_output_shape returned {shapes!r}; expected a shape tuple.")


_PROBES = (3, 5)  # two sizes for unknown axes: an output axis that follows them is unknown


def _trace_output_spec(layer: Layer, args: tuple, kwargs: dict) -> Any:
    """Output KerasTensors found by tracing the layer's call on abstract inputs twice, with
    two sizes for every unknown axis."""
    weights = layer.variables
    values = [jax.ShapeDtypeStruct(v.shape, v.dtype) for v in weights]
    results = []
    for probe in _PROBES:
        def concrete(t: Any, probe: int = probe) -> Any:
            if isinstance(t, KerasTensor):
                return jax.ShapeDtypeStruct(tuple(probe if d is None else d for d in t.shape),
                                            jnp.dtype(t.dtype))
            return t

        structs = jax.tree.map(concrete, (args, kwargs),
                               is_leaf=lambda t: isinstance(t, KerasTensor))
        arrays = [a for a in jax.tree.leaves(structs) if isinstance(a, jax.ShapeDtypeStruct)]
        treedef = jax.tree.structure(structs)

        def run(var_values: list, leaves: list, structs: Any = structs,
                treedef: Any = treedef) -> Any:
            it = iter(leaves)
            rebuilt = jax.tree.unflatten(treedef, [
                next(it) if isinstance(a, jax.ShapeDtypeStruct) else a
                for a in jax.tree.leaves(structs)])
            call_args, call_kwargs = rebuilt
            with variables.StatelessScope(list(zip(weights, var_values, strict=True)),
                                          collect_losses=True):
                return layer._call_built(tuple(call_args), dict(call_kwargs))

        results.append(jax.eval_shape(run, values, arrays))

    def merge(a: Any, b: Any) -> KerasTensor:
        shape = tuple(None if x != y else x for x, y in zip(a.shape, b.shape, strict=True))
        return KerasTensor(shape, a.dtype.name)

    return jax.tree.map(merge, results[0], results[1])
