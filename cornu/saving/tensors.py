"""A model's arrays as named tensors, and back, every name, shape and dtype checked.

Weights: `layers.{i}.params.{name}` and `layers.{i}.state.{name}` (i: position in
`model.layers`), so a file loads into any model of the same architecture, whatever its
layer names. Optimizer state: `opt_state/{path}` (the optax pytree's path, e.g.
`opt_state/inner_state/m/0/kernel`) and `train_rng`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import jax
import numpy as np

from cornu import devices
from cornu.layers.base import Layer
from cornu.saving.errors import CornuFileError
from cornu.saving.weights import TensorFile

__all__ = ["Expected", "check", "expected_weights", "optimizer_tensors",
           "restore_optimizer", "shapes", "take_weights", "weight_tensors"]

Trees = tuple[list[dict[str, jax.Array]], list[dict[str, jax.Array]]]
_KINDS = ("params", "state")
_OPT = "opt_state"
_RNG = "train_rng"


@dataclass(frozen=True)
class Expected:
    shape: tuple[int, ...]
    dtype: np.dtype
    what: str  # for errors: "weight 'kernel' of layer 'dense' (Dense)"


def weight_tensors(params: Sequence[Mapping[str, Any]],
                   state: Sequence[Mapping[str, Any]]) -> dict[str, np.ndarray]:
    host = devices.get((list(params), list(state)))  # (gathered, if split over processes)
    return {f"layers.{i}.{kind}.{key}": np.asarray(value)
            for kind, tree in zip(_KINDS, host, strict=True)
            for i, layer in enumerate(tree) for key, value in layer.items()}


def expected_weights(layers: Sequence[Layer], params: Sequence[Mapping[str, Any]],
                     state: Sequence[Mapping[str, Any]]) -> dict[str, Expected]:
    """What the architecture needs; params/state may hold arrays or ShapeDtypeStructs."""
    out = {}
    for kind, tree in zip(_KINDS, (params, state), strict=True):
        for i, values in enumerate(tree):
            layer = layers[i] if i < len(layers) else None
            owner = (f"layer '{layer.name}' ({type(layer).__name__})" if layer is not None
                     else "the model itself")
            for key, value in values.items():
                what = f"{'weight' if kind == 'params' else 'state'} '{key}' of {owner}"
                out[f"layers.{i}.{kind}.{key}"] = Expected(
                    tuple(value.shape), np.dtype(value.dtype), what)
    return out


def shapes(expected: Mapping[str, Expected]) -> dict[str, tuple[tuple[int, ...], str]]:
    return {name: (want.shape, want.dtype.name) for name, want in expected.items()}


_OTHER_MODEL = "It was saved from a different architecture."
_OTHER_OPTIMIZER = ("It was saved with other optimizer settings; load_model(..., compile=False) "
                    "skips the optimizer state.")


def check(tensors: TensorFile, expected: Mapping[str, Expected], where: str,
          names: Sequence[str] | None = None, cause: str = _OTHER_MODEL) -> None:
    """Refuse unless the tensors `names` (default: all) are exactly `expected`."""
    present = list(tensors.specs) if names is None else list(names)
    for name, want in expected.items():
        if name not in tensors.specs:
            raise CornuFileError(f"{where} lacks tensor '{name}', the {want.what}. {cause}")
        spec = tensors.specs[name]
        if spec.shape != want.shape:
            raise CornuFileError(f"{where}: tensor '{name}' has shape {spec.shape}, but the "
                                 f"{want.what} has shape {want.shape}. {cause}")
        if spec.dtype.name != want.dtype.name:
            raise CornuFileError(f"{where}: tensor '{name}' has dtype {spec.dtype.name}, but "
                                 f"the {want.what} is {want.dtype.name}. {cause}")
    extra = [name for name in present if name not in expected]
    if extra:
        raise CornuFileError(f"{where} holds tensor '{extra[0]}', which the model does not "
                             f"have. {cause}")


def take_weights(tensors: TensorFile, expected: Mapping[str, Expected], n_layers: int,
                 where: str) -> Trees:
    """(params, state) lists for the model, after `check`."""
    check(tensors, expected, where)
    trees: Trees = ([{} for _ in range(n_layers)], [{} for _ in range(n_layers)])
    for name in expected:
        _, index, kind, key = name.split(".", 3)
        # tensors.array is a fresh copy; device_put needs no compiled program per shape
        trees[_KINDS.index(kind)][int(index)][key] = jax.device_put(tensors.array(name))
    return trees


# -------------------------------------------------------------------- optimizer state


def _path_name(path: tuple[Any, ...]) -> str:
    parts = []
    for entry in path:
        for attribute in ("name", "key", "idx"):  # GetAttrKey, DictKey/FlattenedIndexKey, ...
            if hasattr(entry, attribute):
                parts.append(str(getattr(entry, attribute)))
                break
        else:
            parts.append(str(entry))
    return "/".join([_OPT, *parts])


def _named_leaves(tree: Any) -> dict[str, Any]:
    leaves = jax.tree_util.tree_flatten_with_path(tree)[0]
    named = {_path_name(path): leaf for path, leaf in leaves}
    if len(named) != len(leaves):
        raise CornuFileError("Cannot name the optimizer state's leaves uniquely "
                             f"({[_path_name(p) for p, _ in leaves]}).")
    return named


def optimizer_tensors(opt_state: Any, train_rng: Any) -> dict[str, np.ndarray]:
    out = {} if opt_state is None else {
        name: np.asarray(leaf) for name, leaf in devices.get(_named_leaves(opt_state)).items()}
    if train_rng is not None:
        out[_RNG] = np.asarray(jax.device_get(train_rng))
    return out


def restore_optimizer(tensors: TensorFile, template: Any, where: str,
                      arrays: bool = True) -> tuple[Any, Any]:
    """(opt_state or None, train_rng or None) from the file, with the tree, shapes and
    dtypes of `template` (arrays or ShapeDtypeStructs); arrays=False only checks."""
    names = [name for name in tensors.specs if name != _RNG]
    rng = None
    if _RNG in tensors.specs:
        spec = tensors.specs[_RNG]
        if spec.dtype.name != "uint32" or len(spec.shape) != 1 or not 0 < spec.shape[0] <= 16:
            raise CornuFileError(f"{where}: tensor '{_RNG}' must be a uint32 key, received "
                                 f"{spec.dtype.name} of shape {spec.shape}.")
        rng = jax.device_put(tensors.array(_RNG)) if arrays else None
    if not names:  # saved before the first fit: no optimizer state yet
        return None, rng
    expected = _expected_leaves(template)
    check(tensors, expected, where, names, _OTHER_OPTIMIZER)
    if not arrays:
        return None, None
    treedef = jax.tree_util.tree_structure(template)
    values = [jax.device_put(tensors.array(name)) for name in expected]
    return jax.tree_util.tree_unflatten(treedef, values), rng


def _expected_leaves(template: Any) -> dict[str, Expected]:
    return {name: Expected(tuple(leaf.shape), np.dtype(leaf.dtype), "optimizer's state entry")
            for name, leaf in _named_leaves(template).items()}
