"""Keras' HDF5 weights layout (model.weights.h5, .weights.h5), written and read.

    layers/<snake_case class name, made unique>/vars/0, 1, ...   trainable variables
                          first, in creation order; a nested model's layers under its
                          own layers/ group; each vars group's attribute `name`
    optimizer/vars/0, 1, ...   Keras' optimizer variables: iteration, learning_rate,
                          then (Adam) m and v of each trainable variable

Reading walks the whole file before anything is read: only hard links, no loops, only
the datasets the model needs (and Keras' optimizer variables), each a plain number type
of exactly the shape and dtype the planned model expects, and holding its bytes (within
MAX_COMPRESSION_RATIO of them), so nothing is allocated beyond what the architecture
needs.
"""

from __future__ import annotations

import io
import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import jax
import numpy as np

from cornu.saving import limits
from cornu.saving.errors import CornuFileError
from cornu.saving.keras_config import is_graph_model

if TYPE_CHECKING:
    from cornu.models.model import Model

__all__ = ["H5Data", "HDF5_SIGNATURE", "MAX_H5_OBJECTS", "OPTIMIZER_VARIABLES", "Block", "Slot",
           "check_h5_head", "h5_bytes", "h5_file", "layout", "layout_with_hooks",
           "load_hooked_variables", "optimizer_slots", "optimizer_variables",
           "own_weights", "restore_optimizer", "restore_optimizer_datasets", "snake_case",
           "weights_bound", "weights_from_h5"]

HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
#: groups, datasets and attributes one HDF5 file may hold (walked before reading)
MAX_H5_OBJECTS = 1_000_000


# ----------------------------------------------------------------------------- naming


def snake_case(name: str) -> str:
    """Keras' group name for a class: MaxPooling2D -> max_pooling2d."""
    name = re.sub(r"\W+", "", name)
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


def _unique(name: str, used: dict[str, int]) -> str:
    if name in used:
        used[name] += 1
        return f"{name}_{used[name]}"
    used[name] = 0
    return name


# ------------------------------------------------------------ the weights' layout (h5)


@dataclass(frozen=True)
class Slot:
    """One variable of the HDF5 layout: `path` (e.g. layers/dense/vars/0) and where it
    lives in the model's weight trees: (layer index, "params" | "state", key)."""

    path: str
    index: int
    kind: str
    key: str
    owner: str  # "layer 'dense' (Dense)", for errors


def layout(model: Model) -> tuple[list[tuple[str, str]], list[Slot]]:
    """Keras' HDF5 layout of `model`: the groups (path, the name attribute Keras records)
    and the variables, in Keras' order. Sequential and functional models hold their
    layers under layers/<snake_case class name>; a subclassed model, and a layer of a
    user's class that holds layers, hold them under their attributes' names, as Keras
    walks them (see `_walk_object`)."""
    groups, slots, _ = layout_with_hooks(model)
    return groups, slots


def layout_with_hooks(model: Model) -> tuple[list[tuple[str, str]], list[Slot],
                                            list[tuple[str, Any]]]:
    """`layout`, and (group path, layer) for each layer whose class overrides
    save_own_variables / load_own_variables: its group holds what those write and read
    (the layer's variables are not slots then)."""
    own_weights(model)
    groups: list[tuple[str, str]] = []
    slots: list[Slot] = []
    hooks: list[tuple[str, Any]] = []
    _walk_object(model, "", _slot_of(model), groups, slots, set(), hooks)
    return groups, slots, hooks


def _has_hooks(layer: Any) -> bool:
    from cornu.layers.base import Layer

    return (type(layer).save_own_variables is not Layer.save_own_variables or
            type(layer).load_own_variables is not Layer.load_own_variables)


def own_weights(model: Model) -> None:
    """Refuse a Sequential or functional model with weights of its own (not in a
    layer); a subclassed model holds them under its own vars."""
    params, state = model.weight_trees()
    if is_graph_model(model) and len(params) > len(model.layers) and (params[len(model.layers)] or
                                            state[len(model.layers)]):
        raise CornuFileError(f"Model '{model.name}' has weights of its own, which Keras' "
                             "format does not hold for Sequential or functional models.")


def _slot_of(model: Model) -> dict[int, tuple[int, str, str]]:
    """Where each variable lives in the weight trees: (entry, "params" | "state", key)."""
    return {id(v): (i, "params" if v.trainable else "state", key)
            for i, entry in enumerate(model._weight_slots()) for key, v in entry}


def optimizer_slots(model: Model) -> list[Slot]:
    """The trainable variables' slots in the order Keras' optimizer keeps its variables:
    the order of `model.trainable_variables` (a layer's own variables, then those of the
    layers it holds, in the order they were set)."""
    by_key = {(s.index, s.kind, s.key): s for s in layout(model)[1]}
    slot_of = _slot_of(model)
    out, seen = [], set()
    for v in model.weights:
        where = slot_of.get(id(v))
        if where is not None and where[1] == "params" and where not in seen:
            seen.add(where)
            out.append(by_key[where])
    return out


def _name_key(name: str) -> str:
    """Keras visits an object's public attributes first, then its private ones."""
    return f"~{name}" if name.startswith("_") else name


def _children(layer: Any) -> list[tuple[str, Any]]:
    """The attributes Keras' saving walks for `layer`, in its order: a Sequential or
    functional model's `layers` first; for other models and layers the attributes that
    hold layers (or lists, tuples and dicts of them) sorted by name, private ones last,
    with a model's `layers` property among them."""
    from cornu.layers.base import _UNTRACKED, Layer
    from cornu.models.model import Model

    if is_graph_model(layer):
        return [("layers", layer.layers)]
    found = {name: value for name, value in vars(layer).items() if name not in _UNTRACKED
             and (isinstance(value, Layer) or isinstance(value, list | tuple | dict))}
    if isinstance(layer, Model):
        found["layers"] = layer.layers
    return [(name, found[name]) for name in sorted(found, key=_name_key)]


def _walk_object(layer: Any, path: str, slot_of: dict[int, tuple[int, str, str]],
                 groups: list[tuple[str, str]], slots: list[Slot], visited: set[int],
                 hooks: list[tuple[str, Any]]) -> None:
    """Keras' `_save_state`: the layer's own variables under `path`vars (trainable ones
    first, each in creation order), then the layers it holds, each once (where first
    met), under the attribute's name, or in a list, tuple or dict under the attribute's
    name and the snake_case class name made unique there."""
    from cornu.layers.base import Layer
    from cornu.saving.registry import _builtin

    if id(layer) in visited:
        return
    visited.add(id(layer))
    owner = f"layer '{layer.name}' ({type(layer).__name__})"
    if _is_builtin_holder(layer):
        _holder_slots(layer, path.rstrip("/"), owner, slot_of, groups, slots)
        return
    groups.append((f"{path}vars", layer.name))
    own = layer._own_variables()
    ordered = [v for v in own if v.trainable] + [v for v in own if not v.trainable]
    if _has_hooks(layer):
        hooks.append((f"{path}vars", layer))
        ordered = []
    for n, variable in enumerate(ordered):
        where = slot_of.get(id(variable))
        if where is None:
            raise CornuFileError(f"Cannot map the weights of {owner} to Keras' layout.")
        slots.append(Slot(f"{path}vars/{n}", *where, owner))
    held = _keras_held(layer)
    if held is not None:
        for name, child in held:
            if isinstance(child, str):  # a helper layer of Keras' that has no weights
                groups.append((f"{path}{name}/vars", child))
            else:
                _walk_object(child, f"{path}{name}/", slot_of, groups, slots, visited, hooks)
        return
    children = _children(layer)
    if not is_graph_model(layer) and type(layer) in _builtin().values():
        if not any(sub.weights for sub in layer._flatten_layers(include_self=False)):
            return  # held layers without weights (a TextVectorization's lookup): no groups
        raise CornuFileError(
            f"Layer '{layer.name}' ({type(layer).__name__}) holds layers of its own; cornu "
            "does not write or read those in Keras' format yet. Save as .cornu.")

    def container(value: Any, here: str, depth: int) -> None:
        used: dict[str, int] = {}
        for item in value.values() if isinstance(value, dict) else value:
            if isinstance(item, Layer):
                name = _unique(snake_case(type(item).__name__), used)
                _walk_object(item, f"{here}{name}/", slot_of, groups, slots, visited, hooks)
            elif isinstance(item, list | tuple | dict) and depth < 4:
                container(item, f"{here}{_unique('container', used)}/", depth + 1)

    for name, value in children:
        if isinstance(value, Layer):
            _walk_object(value, f"{path}{name}/", slot_of, groups, slots, visited, hooks)
        elif isinstance(value, list | tuple | dict):
            container(value, f"{path}{name}/", 0)


def _keras_held(layer: Any) -> list[tuple[str, Any]] | None:
    """The layers a built-in layer holds as Keras' walk meets them (attribute, layer), or
    (attribute, group name) for a helper that Keras holds as a layer without weights and
    cornu computes inline; None for other layers. MultiHeadAttention: the projections
    under Keras' public properties, then its private dropout, gate and softmax."""
    if type(layer).__name__ != "MultiHeadAttention" or \
            not type(layer).__module__.startswith("cornu.layers"):
        return None
    gate = [("_gate_dense", layer.gate_dense)] if layer.gate_dense is not None else []
    return [("key_dense", layer.key_dense), ("output_dense", layer.output_dense),
            ("query_dense", layer.query_dense), ("value_dense", layer.value_dense),
            ("_dropout_layer", "dropout"), *gate, ("_softmax", "softmax")]


#: cornu's layers that hold layers laid out by the keys of their weights (_walk_holder)
_HOLDERS = ("RNN", "Bidirectional", "TimeDistributed")


def _is_builtin_holder(layer: Any) -> bool:
    return any(c.__module__.startswith("cornu.layers") and c.__name__ in _HOLDERS
               for c in type(layer).__mro__) and \
        any(sub.weights for sub in layer._flatten_layers(include_self=False))


def _holder_slots(layer: Any, here: str, owner: str, slot_of: dict[int, tuple[int, str, str]],
                  groups: list[tuple[str, str]], slots: list[Slot]) -> None:
    """_walk_holder for a holder met while walking objects: its entry and key prefix (a
    nested graph model's `layers/<j>/`) from where its variables live."""
    where = [slot_of[id(v)] for v in layer.weights if id(v) in slot_of]
    if not where or len(where) != len(layer.weights):
        raise CornuFileError(f"Cannot map the weights of {owner} to Keras' layout.")
    index = where[0][0]
    prefix = re.match(r"(?:layers/\d+/)*", where[0][2]).group(0)
    params: list[dict[str, Any]] = [{} for _ in range(index + 1)]
    state: list[dict[str, Any]] = [{} for _ in range(index + 1)]
    for i, kind, key in where:
        (params if kind == "params" else state)[i][key] = None
    _walk_holder(layer, params, state, index, prefix, here, owner, groups, slots)


def _walk_holder(layer: Any, params: list, state: list, index: int, key_prefix: str,
                 here: str, owner: str, groups: list[tuple[str, str]],
                 slots: list[Slot]) -> None:
    """A layer holding layers (an RNN's cell, Bidirectional's two RNNs, TimeDistributed's
    layer), as Keras lays it out: each held layer under the attribute that holds it
    (`cell/vars`, `forward_layer/cell/vars`, ...), which is the prefix of cornu's weight
    keys; each group's variables trainable first, in creation order."""
    keys = [(kind, key[len(key_prefix):]) for kind, tree in (("params", params),
                                                              ("state", state))
            for key in tree[index] if key.startswith(key_prefix)]
    by_path: dict[str, list[tuple[str, str]]] = {"": []}
    for kind, key in keys:
        path = key.rpartition("/")[0]
        parts = path.split("/") if path else []
        for n in range(1, len(parts) + 1):
            by_path.setdefault("/".join(parts[:n]), [])
        by_path[path].append((kind, key))
    for path in sorted(by_path, key=lambda p: (p.count("/"), p) if p else (-1, "")):
        obj = layer
        for part in path.split("/") if path else []:
            obj = getattr(obj, part, None)
        name = getattr(obj, "name", None) or path.rpartition("/")[2] or layer.name
        group = f"{here}/{path}/vars" if path else f"{here}/vars"
        groups.append((group, str(name)))
        for n, (kind, key) in enumerate(by_path[path]):
            slots.append(Slot(f"{group}/{n}", index, kind, f"{key_prefix}{key}", owner))


def _h5py() -> Any:
    try:
        import h5py
    except ImportError as exc:  # pragma: no cover - h5py is a dependency
        raise CornuFileError("Keras' .keras and .weights.h5 files need h5py: "
                             "pip install h5py") from exc
    return h5py


def h5_bytes(model: Model, optimizer: list[np.ndarray] | None = None,
             optimizer_name: str = "") -> bytes:
    """model.weights.h5 of `model` (and Keras' optimizer variables, if given)."""
    h5py = _h5py()
    groups, slots, hooks = layout_with_hooks(model)
    params, state = jax.device_get(model.weight_trees())
    trees = {"params": params, "state": state}
    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as f:
        for path, name in groups:
            f.require_group(path).attrs["name"] = name
        for slot in slots:
            f.create_dataset(slot.path, data=np.asarray(trees[slot.kind][slot.index][slot.key]))
        for path, layer in hooks:
            store: dict[str, Any] = {}
            layer.save_own_variables(store)
            for key, value in store.items():
                f.create_dataset(f"{path}/{key}", data=np.asarray(value))
        if optimizer is not None:
            group = f.require_group("optimizer/vars")
            group.attrs["name"] = optimizer_name
            for n, value in enumerate(optimizer):
                group.create_dataset(str(n), data=value)
    return buffer.getvalue()


def check_h5_head(prefix: bytes | bytearray, total: int, where: str) -> int:
    """archive.Head: an HDF5 file starts with its signature."""
    if total < len(HDF5_SIGNATURE):
        raise CornuFileError(f"{where} is not an HDF5 file: it is {total} bytes long.")
    if len(prefix) < len(HDF5_SIGNATURE):
        return len(HDF5_SIGNATURE)
    if bytes(prefix[:len(HDF5_SIGNATURE)]) != HDF5_SIGNATURE:
        raise CornuFileError(f"{where} is not an HDF5 file (it lacks the HDF5 signature).")
    return 0


#: an HDF5 file: its bytes (a .keras member), or a file on disk checked by
#: archive.check_file, which libhdf5 reads only where the file's structure points
H5Data = bytes | bytearray | Path


class _BytesReader(io.RawIOBase):
    """A read-only file over bytes without copying them (io.BytesIO copies a bytearray)."""

    def __init__(self, data: bytes | bytearray) -> None:
        super().__init__()
        self._view = memoryview(data)
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        n = max(0, min(len(buffer), len(self._view) - self._pos))
        buffer[:n] = self._view[self._pos:self._pos + n]
        self._pos += n
        return n

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: len(self._view)}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def tell(self) -> int:
        return self._pos


def h5_file(data: H5Data, where: str, damaged: str = "") -> Any:
    """The open h5py.File of `data` (bytes, or a checked path read in place)."""
    h5py = _h5py()
    try:
        if isinstance(data, Path):
            return h5py.File(data, "r", locking=False)
        check_h5_head(data, len(data), where)
        return h5py.File(io.BufferedReader(_BytesReader(data)), "r")
    except (OSError, ValueError, RuntimeError) as exc:
        raise CornuFileError(f"{where} is not a readable HDF5 file ({exc}){damaged}.") from exc


def _open_h5(data: H5Data, where: str) -> Any:
    return h5_file(data, where)


def _survey(f: Any, where: str) -> dict[str, Any]:
    """Every dataset of the file by path, after refusing anything but hard links, groups
    and datasets; the number of objects and attributes is bounded."""
    h5py = _h5py()
    datasets: dict[str, Any] = {}
    pending = [("", f)]
    seen = 0
    groups: set[int] = set()  # by address: a hard link back to a group is walked once
    while pending:
        path, group = pending.pop()
        address = h5py.h5o.get_info(group.id).addr
        if address in groups:
            raise CornuFileError(f"{where}: group '{path.rstrip('/')}' is reached twice (a "
                                 "hard link loop or alias); Keras files hold a tree.")
        groups.add(address)
        for name in group:
            seen += 1 + len(group.attrs)
            if seen > MAX_H5_OBJECTS:
                raise CornuFileError(f"{where} holds more than {MAX_H5_OBJECTS} HDF5 objects.")
            full = f"{path}{name}"
            link = group.get(name, getlink=True)
            if not isinstance(link, h5py.HardLink):
                kind = type(link).__name__
                raise CornuFileError(f"{where}: '{full}' is an HDF5 {kind}; only plain groups "
                                     "and datasets are read (links may point outside the "
                                     "file).")
            obj = group.get(name)
            if isinstance(obj, h5py.Group):
                pending.append((f"{full}/", obj))
            elif isinstance(obj, h5py.Dataset):
                datasets[full] = obj
            else:
                raise CornuFileError(f"{where}: '{full}' is neither a group nor a dataset.")
    return datasets


def weights_bound(model: Model) -> int:
    """The most bytes a Keras HDF5 weights file of `model` can need: every weight at 8
    bytes an entry, four optimizer variables per trainable entry, a few KiB of HDF5
    structure per dataset, and each layer with its own save hooks (vocabularies) its
    limit. A member larger than this is refused before it is read (a small model's file
    cannot make cornu read a gigabyte)."""
    params, state = model.weight_trees()
    trainable = sum(int(np.prod(v.shape, dtype=np.int64)) for d in params for v in d.values())
    others = sum(int(np.prod(v.shape, dtype=np.int64)) for d in state for v in d.values())
    datasets = sum(len(d) for d in params) * 5 + sum(len(d) for d in state) + 16
    hooks = len(layout_with_hooks(model)[2])
    return (8 * (5 * trainable + others) + 64 * 1024 * datasets + 2**20
            + hooks * limits.MAX_VOCABULARY_BYTES)


def _check_dataset(ds: Any, path: str, where: str, shape: tuple[int, ...] | None = None,
                   dtype: np.dtype | None = None, what: str = "") -> None:
    dt = ds.dtype
    if dt.fields is not None or dt.kind not in "fiub" or dt.subdtype is not None \
            or dt.metadata:
        raise CornuFileError(f"{where}: dataset '{path}' has dtype {dt!r}; only plain "
                             "numbers are read.")
    if ds.is_virtual or ds.external:
        raise CornuFileError(f"{where}: dataset '{path}' keeps its data outside the file; "
                             "refusing it.")
    if ds.shape is None:
        raise CornuFileError(f"{where}: dataset '{path}' is empty (a null dataspace).")
    if len(ds.shape) > limits.MAX_RANK:
        raise CornuFileError(f"{where}: dataset '{path}' has {len(ds.shape)} dimensions.")
    if shape is not None and tuple(ds.shape or ()) != shape:
        raise CornuFileError(f"{where}: dataset '{path}' has shape {tuple(ds.shape or ())}, "
                             f"but the {what} has shape {shape}. It was saved from a "
                             "different architecture.")
    if dtype is not None and dt.newbyteorder("=") != dtype:
        raise CornuFileError(f"{where}: dataset '{path}' has dtype {dt.name}, but the {what} "
                             f"is {dtype.name}.")
    if shape is not None:  # it is about to be read: it must hold its bytes, or near enough
        nbytes = int(np.prod(shape, dtype=np.int64)) * dt.itemsize
        stored = ds.id.get_storage_size()
        if nbytes > max(limits.RATIO_FREE_BYTES, limits.MAX_COMPRESSION_RATIO * stored):
            raise CornuFileError(
                f"{where}: dataset '{path}' declares {nbytes} bytes but stores {stored}, "
                f"more than {limits.MAX_COMPRESSION_RATIO} times fewer (a compression bomb?); "
                "see cornu.saving.limits.MAX_COMPRESSION_RATIO.")


def weights_from_h5(model: Model, data: H5Data, where: str) -> tuple[list, list]:
    """(params, state) for `model` from Keras' HDF5 layout, every dataset checked against
    the model before any is read. Optimizer variables are checked, not read."""
    groups, slots, hooks = layout_with_hooks(model)
    abstract = model.weight_trees()
    expected = {s.path: s for s in slots}
    hooked = tuple(f"{path}/" for path, _ in hooks)
    with _open_h5(data, where) as f:
        datasets = _survey(f, where)
        for path, ds in datasets.items():
            if path not in expected:
                if path.startswith("optimizer/vars/") or (hooked and path.startswith(hooked)):
                    _check_dataset(ds, path, where)
                    continue
                raise CornuFileError(f"{where} holds dataset '{path}', which model "
                                     f"'{model.name}' does not have. It was saved from a "
                                     "different architecture.")
        params: list[dict] = [{} for _ in abstract[0]]
        state: list[dict] = [{} for _ in abstract[1]]
        trees = {"params": params, "state": state}
        slot_of = _slot_of(model)
        for _, layer in hooks:  # kept as they are here; load_own_variables sets them
            for variable in layer._own_variables():
                index, kind, key = slot_of[id(variable)]
                trees[kind][index][key] = abstract[0 if kind == "params" else 1][index][key]
        total = 0
        for slot in slots:  # every dataset checked before any is read
            want = (abstract[0] if slot.kind == "params" else abstract[1])[slot.index][slot.key]
            what = f"weight '{slot.key.rsplit('/', 1)[-1]}' of {slot.owner}"
            if slot.path not in datasets:
                raise CornuFileError(f"{where} lacks dataset '{slot.path}', the {what}. It "
                                     "was saved from a different architecture.")
            _check_dataset(datasets[slot.path], slot.path, where, tuple(want.shape),
                           np.dtype(want.dtype), what)
            total += int(np.prod(want.shape, dtype=np.int64)) * np.dtype(want.dtype).itemsize
        if total > limits.MAX_WEIGHTS_BYTES:
            raise CornuFileError(f"{where}: the model's weights take {total} bytes, more than "
                                 f"the limit of {limits.MAX_WEIGHTS_BYTES} "
                                 "(cornu.saving.limits.MAX_WEIGHTS_BYTES).")
        for slot in slots:
            want = (abstract[0] if slot.kind == "params" else abstract[1])[slot.index][slot.key]
            ds = datasets[slot.path]
            try:
                value = np.asarray(ds[()])
            except (OSError, ValueError, RuntimeError) as exc:
                raise CornuFileError(f"{where}: dataset '{slot.path}' cannot be read "
                                     f"({exc}).") from exc
            if value.shape != tuple(want.shape):
                raise CornuFileError(f"{where}: dataset '{slot.path}' is damaged.")
            trees[slot.kind][slot.index][slot.key] = jax.device_put(
                value.astype(want.dtype, copy=False))
    return params, state


def load_hooked_variables(model: Model, data: H5Data, where: str) -> None:
    """Call load_own_variables of each layer whose class overrides it, with the datasets
    of its group (read after the other weights are set, as Keras does)."""
    hooks = layout_with_hooks(model)[2]
    if not hooks:
        return
    with _open_h5(data, where) as f:
        datasets = _survey(f, where)
        for path, layer in hooks:
            prefix = f"{path}/"
            store = {}
            for name, ds in datasets.items():
                if name.startswith(prefix) and "/" not in name[len(prefix):]:
                    _check_dataset(ds, name, where)
                    store[name[len(prefix):]] = np.asarray(ds[()])
            layer.load_own_variables(store)


class Block(NamedTuple):
    """Keras optimizer variables made together: `fields` of the rule's optax state (a
    path like "m", or "1.trace" for a chain's second state; a sign where cornu keeps the
    negated value), one each per trainable variable, interleaved as Keras makes them
    (`per_variable=False`: one scalar each). Present when `condition` (a config entry)
    is truthy, or always."""

    fields: tuple[tuple[str, float], ...]
    condition: str | None = None
    per_variable: bool = True


#: Keras 3's optimizer variables after `iteration` and `learning_rate`, in its order, as
#: they sit in the state of cornu's rule for the same optimizer (optimizers/_rules.py)
OPTIMIZER_VARIABLES: dict[str, tuple[Block, ...]] = {
    "SGD": (Block((("1.trace", 1.0),), "momentum"),),
    "RMSprop": (Block((("0.nu", 1.0),)), Block((("2.trace", -1.0),), "momentum"),
                Block((("0.mu", 1.0),), "centered")),
    "Adagrad": (Block((("0.sum_of_squares", 1.0),)),),
    "Adadelta": (Block((("0.e_g", 1.0), ("0.e_x", 1.0))),),
    "Adam": (Block((("m", 1.0), ("v", 1.0))), Block((("v_max", 1.0),), "amsgrad")),
    "AdamW": (Block((("m", 1.0), ("v", 1.0))), Block((("v_max", 1.0),), "amsgrad")),
    "Adamax": (Block((("m", 1.0), ("u", 1.0))),),
    "Nadam": (Block((("m", 1.0), ("v", 1.0))), Block((("u_product", 1.0),),
                                                     per_variable=False)),
}


def _get(state: Any, path: str) -> Any:
    for part in path.split("."):
        state = state[int(part)] if part.isdigit() else getattr(state, part)
    return state


def _set(state: Any, path: str, value: Any) -> Any:
    head, _, rest = path.partition(".")
    inner = state[int(head)] if head.isdigit() else getattr(state, head)
    new = _set(inner, rest, value) if rest else value
    if head.isdigit():
        return (*state[:int(head)], new, *state[int(head) + 1:])
    return state._replace(**{head: new})


def _variables(model: Model) -> list[tuple[str, float, Slot | None]] | None:
    """Keras' optimizer variables after iteration and learning_rate for the compiled
    model's optimizer: (field, sign, the trainable variable's slot or None for a scalar);
    None when OPTIMIZER_VARIABLES does not describe it."""
    optimizer = model.optimizer
    blocks = OPTIMIZER_VARIABLES.get(type(optimizer).__name__)
    if optimizer is None or blocks is None or type(optimizer).__module__ != "cornu.optimizers":
        return None
    config = optimizer.get_config()
    trainable = optimizer_slots(model)
    out: list[tuple[str, float, Slot | None]] = []
    for block in blocks:
        if block.condition is not None and not config.get(block.condition):
            continue
        if block.per_variable:
            out += [(field, sign, s) for s in trainable for field, sign in block.fields]
        else:
            out += [(field, sign, None) for field, sign in block.fields]
    return out


def _rule_path(model: Model) -> str:
    """Where the rule's state sits in the transform's inner state (after clipping)."""
    return "1" if model.optimizer._clipping() is not None else ""


def _join(prefix: str, field: str) -> str:
    return f"{prefix}.{field}" if prefix else field


def optimizer_variables(model: Model) -> tuple[list[np.ndarray], str] | None:
    """Keras' optimizer variables (iteration, learning_rate, then those OPTIMIZER_VARIABLES
    describes) of the compiled model's optimizer, from its state (zeros, as Keras' are,
    before training). None for an optimizer not described or a schedule's rate."""
    from cornu.optimizers import base

    optimizer = model.optimizer
    if optimizer is None:
        return None
    config = optimizer.get_config()
    lr = config.get("learning_rate")
    variables = _variables(model)
    if variables is None or not isinstance(lr, int | float) or isinstance(lr, bool):
        return None
    ts = model.train_state
    state = ts.opt_state
    if state is None:
        state = model._require_compiled("save").tx.init(ts.params)
    state = jax.device_get(state)
    head = [np.asarray(base.get_iterations(state), np.int64),
            np.asarray(base.get_learning_rate(state), np.float32)]
    rule = _get(state.inner_state, _rule_path(model)) if _rule_path(model) else \
        state.inner_state
    values = []
    for field, sign, slot in variables:
        tree = _get(rule, field)
        value = tree if slot is None else tree[slot.index][slot.key]
        values.append(np.asarray(value) * np.asarray(sign, np.asarray(value).dtype))
    return head + values, config.get("name", type(optimizer).__name__.lower())


def restore_optimizer(model: Model, data: H5Data, where: str) -> bool:
    """Set the compiled model's optimizer state from Keras' optimizer/vars in `data`;
    False when it holds none (see restore_optimizer_datasets)."""
    with _open_h5(data, where) as f:
        found = {path: ds for path, ds in _survey(f, where).items()
                 if path.startswith("optimizer/vars/")}
        if not found:
            return False
        names = [f"optimizer/vars/{n}" for n in range(len(found))]
        if set(names) != set(found):
            warnings.warn(f"{where}: Keras' optimizer variables are not numbered 0 to "
                          f"{len(found) - 1}; the optimizer state starts afresh.", stacklevel=3)
            return False
        return restore_optimizer_datasets(model, [(n, found[n]) for n in names], where)


def restore_optimizer_datasets(model: Model, datasets: list[tuple[str, Any]],
                               where: str) -> bool:
    """Set the compiled model's optimizer state from Keras' optimizer variables (datasets
    in Keras' order), every one checked before any is read. False (and a warning, as
    Keras gives) when they do not match this model's optimizer."""
    variables = _variables(model)
    abstract = model.weight_trees()[0]
    expected: list[tuple[int, ...]] = [(), ()]
    if variables is not None and len(datasets) == 2:
        variables = []  # Keras saved its optimizer unbuilt: iteration and rate alone
    elif variables is not None:
        expected += [() if slot is None else tuple(abstract[slot.index][slot.key].shape)
                     for _, _, slot in variables]
    if variables is None or len(datasets) != len(expected) or any(
            tuple(ds.shape or ()) != shape for (_, ds), shape in
            zip(datasets, expected, strict=True)):
        warnings.warn(f"{where}: Keras' optimizer variables ({len(datasets)}) do not match "
                      f"this model's {type(model.optimizer).__name__}; its state starts "
                      "afresh.", stacklevel=3)
        return False
    values = []
    for (path, ds), shape in zip(datasets, expected, strict=True):
        _check_dataset(ds, path, where, shape, None, "optimizer variable")
        try:
            values.append(np.asarray(ds[()]))
        except (OSError, ValueError, RuntimeError) as exc:
            raise CornuFileError(f"{where}: dataset '{path}' cannot be read ({exc}).") from exc
    engine = model._require_compiled("load_model")
    state = jax.device_get(engine.tx.init(model.train_state.params))
    count = values[0].astype(np.asarray(state.count).dtype)
    hyper = dict(state.hyperparams)
    if "learning_rate" in hyper:
        hyper["learning_rate"] = values[1].astype(np.asarray(hyper["learning_rate"]).dtype)
    state = state._replace(count=count, hyperparams=hyper)
    prefix = _rule_path(model)
    rule = _get(state.inner_state, prefix) if prefix else state.inner_state
    trees: dict[str, Any] = {}
    for (field, sign, slot), value in zip(variables, values[2:], strict=True):
        if slot is None:
            old = np.asarray(_get(rule, field))
            rule = _set(rule, field, (value * sign).astype(old.dtype))
            continue
        tree = trees.setdefault(field, [dict(d) for d in _get(rule, field)])
        want = np.asarray(tree[slot.index][slot.key]).dtype
        tree[slot.index][slot.key] = (value * np.asarray(sign, value.dtype)).astype(want)
    install_optimizer_state(model, state, prefix, rule, trees, count)
    return True


def install_optimizer_state(model: Any, state: Any, prefix: str, rule: Any,
                            trees: dict[str, Any], count: Any) -> None:
    """Put slot values read from a file (`trees`, per field of the update rule) and the
    step count into the model's optimizer state (Keras 3 and Keras 2 files alike)."""
    for field, tree in trees.items():
        rule = _set(rule, field, tree)
    if "count" in getattr(rule, "_fields", ()):
        rule = rule._replace(count=count.astype(np.asarray(rule.count).dtype))
    inner = _set(state.inner_state, prefix, rule) if prefix else rule
    opt_state = jax.device_put(state._replace(inner_state=inner))
    model.train_state = model.train_state._replace(opt_state=opt_state)
    model.optimizer._sync_iterations(opt_state)
