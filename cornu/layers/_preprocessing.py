"""Helpers of the preprocessing layers that learn from data (Discretization, the lookups,
TextVectorization): the batches `adapt` reads, strings as NumPy arrays, and the refusal
of strings inside a model.

Strings never enter a compiled program: the layers that read strings (StringLookup,
TextVectorization; Hashing of strings) compute on the host with NumPy when called on
arrays. Inside a model, a StringLookup or TextVectorization may read a string Input
directly: the model then runs it on the host before the compiled program
(Model._host_steps); other symbolic uses are refused with an error that says to map the
strings to ids before the model (docs/data.md, "Strings stay on the host").
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np


def adapt_batches(data: Any, steps: int | None, layer: Any) -> Iterator[Any]:
    """The batches `adapt(data, steps)` reads, as Keras: an array, list or tuple is one
    batch; a generator, iterator, PyDataset or any other iterable gives batches, of which
    (x, y) tuples give x; `steps` bounds their number."""
    if _is_whole(data):
        if steps is not None:
            raise ValueError(f"adapt() of layer '{layer.name}': steps is used only with a "
                             f"source of batches, not with arrays. Received: steps={steps}")
        yield data
        return
    if hasattr(data, "__getitem__") and hasattr(data, "__len__") and not hasattr(
            data, "__iter__"):
        source: Any = (data[i] for i in range(len(data)))
    elif hasattr(data, "__iter__") or hasattr(data, "__next__"):
        source = data
    else:
        raise TypeError(f"adapt() of layer '{layer.name}' takes an array, a list, or a source "
                        f"of batches (generator, PyDataset, iterable). Received: "
                        f"{type(data).__name__}")
    for i, batch in enumerate(source):
        if steps is not None and i >= steps:
            break
        if isinstance(batch, tuple):
            batch = batch[0]
        yield batch


def _is_whole(data: Any) -> bool:
    if isinstance(data, np.ndarray | list | tuple | str | bytes | Mapping):
        return True
    return hasattr(data, "__array__") or hasattr(data, "__jax_array__")


def is_string_data(value: Any) -> bool:
    """Whether `value` holds strings (str/bytes, or an array or list of them)."""
    if isinstance(value, str | bytes):
        return True
    if isinstance(value, np.ndarray):
        if value.dtype.kind in "USO":
            return value.dtype.kind != "O" or (value.size > 0 and isinstance(
                value.reshape(-1)[0], str | bytes))
        return False
    if isinstance(value, list | tuple):
        flat: Any = value
        while isinstance(flat, list | tuple) and flat:
            flat = flat[0]
        return isinstance(flat, str | bytes)
    return False


def as_strings(value: Any, encoding: str = "utf-8") -> np.ndarray:
    """`value` (str, bytes, or an array or nested list of them) as a NumPy array of
    Python str (object dtype), bytes decoded with `encoding`."""
    array = np.asarray(value, dtype=object)
    flat = array.reshape(-1)
    out = np.empty(flat.shape, dtype=object)
    for i, item in enumerate(flat):
        if isinstance(item, bytes | np.bytes_):
            out[i] = bytes(item).decode(encoding)
        elif isinstance(item, str):
            out[i] = str(item)
        else:
            raise TypeError(f"Expected strings, found {type(item).__name__} {item!r}.")
    return out.reshape(array.shape)


def refuse_symbolic_strings(layer: Any, what: str) -> None:
    """The error for a string layer where the model cannot map strings on the host."""
    raise ValueError(
        f"Layer '{layer.name}' ({type(layer).__name__}) {what} strings, which cornu keeps "
        "out of the compiled model (docs/data.md, 'Strings stay on the host'). Inside a "
        "model it can only read a string Input directly (Input(shape=(1,), "
        "dtype='string') followed by this layer), which the model maps on the host. Or "
        "map the strings to ids before the model: `layer.adapt(texts)`, then "
        "`ids = layer(texts)`, and give `ids` to a model that starts with an integer "
        "Input, e.g. Input(shape=(sequence_length,), dtype='int32') followed by Embedding.")


def host_call(layer: Any, args: tuple, kwargs: dict, maps_strings: bool) -> Any:
    """`__call__` of a layer that maps strings on the host (StringLookup, TextVectorization).

    - on a symbolic string input (a model's `Input(dtype="string")`): the layer becomes
      the model's host step, which `Model` runs with NumPy on the strings before the
      compiled program (`host_map`); any other symbolic input is refused;
    - on strings: computed on the host;
    - on numbers where it maps strings: those are the ids its host step made, inside the
      model's compiled program, and pass through unchanged.
    """
    from cornu.layers.base import Layer, _leaves
    from cornu.layers.keras_tensor import KerasTensor

    if not args and "inputs" in kwargs:
        args = (kwargs.pop("inputs"),)
    symbolic = [t for t in _leaves((args, kwargs)) if isinstance(t, KerasTensor)]
    if symbolic:
        if not maps_strings or len(symbolic) != 1 or symbolic[0].dtype != "string" or \
                not symbolic[0]._keras_history[0].__class__.__name__ == "InputLayer":
            refuse_symbolic_strings(layer, "returns" if not maps_strings else "reads")
        return Layer.__call__(layer, *args, **kwargs)
    if not args:
        raise TypeError(f"Layer '{layer.name}' was called without inputs.")
    object.__setattr__(layer, "built", True)
    first = args[0]
    if maps_strings and not is_string_data(first):
        import jax

        from cornu import variables

        if isinstance(first, jax.core.Tracer) or variables.in_stateless_scope():
            return first  # inside a model's program: the ids its host step made
        raise TypeError(f"Layer '{layer.name}' ({type(layer).__name__}) maps strings. "
                        f"Received: {type(first).__name__} of dtype "
                        f"{getattr(first, 'dtype', None)}. Pass a list or array of str.")
    return layer.call(first)
