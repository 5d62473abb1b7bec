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
from typing import TYPE_CHECKING, Any

import jax
import numpy as np

from cornu.saving import limits
from cornu.saving.errors import CornuFileError
from cornu.saving.keras_config import is_graph_model

if TYPE_CHECKING:
    from cornu.models.model import Model

__all__ = ["HDF5_SIGNATURE", "MAX_H5_OBJECTS", "Slot", "check_h5_head", "h5_bytes", "layout",
           "optimizer_slots",
           "optimizer_variables", "restore_optimizer", "snake_case", "weights_from_h5"]

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
    params, state = model.weight_trees()
    if is_graph_model(model) and len(params) > len(model.layers) and (
            params[len(model.layers)] or state[len(model.layers)]):
        raise CornuFileError(f"Model '{model.name}' has weights of its own, which Keras' "
                             "format does not hold for Sequential or functional models.")
    groups: list[tuple[str, str]] = []
    slots: list[Slot] = []
    _walk_object(model, "", _slot_of(model), groups, slots, set())
    return groups, slots


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
                 groups: list[tuple[str, str]], slots: list[Slot], visited: set[int]) -> None:
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
    groups.append((f"{path}vars", layer.name))
    own = layer._own_variables()
    ordered = [v for v in own if v.trainable] + [v for v in own if not v.trainable]
    for n, variable in enumerate(ordered):
        where = slot_of.get(id(variable))
        if where is None:
            raise CornuFileError(f"Cannot map the weights of {owner} to Keras' layout.")
        slots.append(Slot(f"{path}vars/{n}", *where, owner))
    children = _children(layer)
    if children and not is_graph_model(layer) and type(layer) in _builtin().values() and \
            any(isinstance(v, Layer) or isinstance(v, list | tuple | dict) and any(
                isinstance(x, Layer) for x in (v.values() if isinstance(v, dict) else v))
                for _, v in children):
        raise CornuFileError(
            f"Layer '{layer.name}' ({type(layer).__name__}) holds layers of its own; cornu "
            "does not write or read those in Keras' format yet. Save as .cornu.")

    def container(value: Any, here: str, depth: int) -> None:
        used: dict[str, int] = {}
        for item in value.values() if isinstance(value, dict) else value:
            if isinstance(item, Layer):
                name = _unique(snake_case(type(item).__name__), used)
                _walk_object(item, f"{here}{name}/", slot_of, groups, slots, visited)
            elif isinstance(item, list | tuple | dict) and depth < 4:
                container(item, f"{here}{_unique('container', used)}/", depth + 1)

    for name, value in children:
        if isinstance(value, Layer):
            _walk_object(value, f"{path}{name}/", slot_of, groups, slots, visited)
        elif isinstance(value, list | tuple | dict):
            container(value, f"{path}{name}/", 0)


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
    groups, slots = layout(model)
    params, state = jax.device_get(model.weight_trees())
    trees = {"params": params, "state": state}
    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as f:
        for path, name in groups:
            f.require_group(path).attrs["name"] = name
        for slot in slots:
            f.create_dataset(slot.path, data=np.asarray(trees[slot.kind][slot.index][slot.key]))
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


def _open_h5(data: bytes | bytearray, where: str) -> Any:
    h5py = _h5py()
    check_h5_head(data, len(data), where)
    try:
        return h5py.File(io.BytesIO(bytes(data)), "r")
    except (OSError, ValueError, RuntimeError) as exc:
        raise CornuFileError(f"{where} is not a readable HDF5 file ({exc}).") from exc


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


def weights_from_h5(model: Model, data: bytes | bytearray, where: str) -> tuple[list, list]:
    """(params, state) for `model` from Keras' HDF5 layout, every dataset checked against
    the model before any is read. Optimizer variables are checked, not read."""
    groups, slots = layout(model)
    abstract = model.weight_trees()
    expected = {s.path: s for s in slots}
    with _open_h5(data, where) as f:
        datasets = _survey(f, where)
        for path, ds in datasets.items():
            if path not in expected:
                if path.startswith("optimizer/vars/"):
                    _check_dataset(ds, path, where)
                    continue
                raise CornuFileError(f"{where} holds dataset '{path}', which model "
                                     f"'{model.name}' does not have. It was saved from a "
                                     "different architecture.")
        params: list[dict] = [{} for _ in abstract[0]]
        state: list[dict] = [{} for _ in abstract[1]]
        trees = {"params": params, "state": state}
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


def optimizer_variables(model: Model) -> tuple[list[np.ndarray], str] | None:
    """Keras' optimizer variables (iteration, learning_rate, then per trainable variable
    its slots) for the optimizers whose state maps one to one: Adam (without amsgrad) and
    SGD without momentum. None for the others (Keras then starts their state afresh)."""
    from cornu.optimizers import base

    optimizer = model.optimizer
    if optimizer is None:
        return None
    config = optimizer.get_config()
    lr = config.get("learning_rate")
    if not isinstance(lr, int | float) or isinstance(lr, bool):
        return None
    state = getattr(model, "_opt_state", None)
    iterations = 0 if state is None else base.get_iterations(state)
    if state is not None:
        lr = base.get_learning_rate(state)
    head = [np.asarray(iterations, np.int64), np.asarray(lr, np.float32)]
    trainable = optimizer_slots(model)
    params = jax.device_get(model.weight_trees()[0])
    kind = _keras_optimizer_kind(model)
    if kind == "sgd":
        return head, config.get("name", "SGD")
    if kind is None:
        return None
    inner = None if state is None else getattr(state, "inner_state", None)
    moments: list[np.ndarray] = []
    for s in trainable:
        zeros = np.zeros_like(np.asarray(params[s.index][s.key]))
        if inner is None or not hasattr(inner, "m"):
            moments += [zeros, zeros]
        else:
            m, v = jax.device_get((inner.m[s.index][s.key], inner.v[s.index][s.key]))
            moments += [np.asarray(m), np.asarray(v)]
    return head + moments, config.get("name", "adam")


def _keras_optimizer_kind(model: Model) -> str | None:
    optimizer = model.optimizer
    config = optimizer.get_config() if optimizer is not None else {}
    name = type(optimizer).__name__
    if name == "Adam" and not config.get("amsgrad"):
        return "adam"
    if name == "SGD" and not config.get("momentum"):
        return "sgd"
    return None


def restore_optimizer(model: Model, data: bytes | bytearray, where: str) -> bool:
    """Set the compiled model's optimizer state from Keras' optimizer/vars (Adam without
    amsgrad, SGD without momentum), every dataset checked first. False (and a warning,
    as Keras gives) when the file holds none or they do not match this optimizer."""
    kind = _keras_optimizer_kind(model)
    trainable = optimizer_slots(model)
    abstract = model.weight_trees()[0]
    expected: list[tuple[tuple[int, ...], str]] = [((), "iteration"), ((), "learning_rate")]
    if kind == "adam":
        for s in trainable:
            shape = tuple(abstract[s.index][s.key].shape)
            expected += [(shape, "m"), (shape, "v")]
    with _open_h5(data, where) as f:
        found = {path: ds for path, ds in _survey(f, where).items()
                 if path.startswith("optimizer/vars/")}
        if not found:
            return False
        names = [f"optimizer/vars/{n}" for n in range(len(found))]
        if kind is None or set(names) != set(found) or len(names) != len(expected):
            warnings.warn(f"{where}: Keras' optimizer variables ({len(found)}) do not match "
                          f"this model's {type(model.optimizer).__name__}; its state starts "
                          "afresh.", stacklevel=3)
            return False
        values = []
        for path, (shape, _) in zip(names, expected, strict=True):
            ds = found[path]
            _check_dataset(ds, path, where, shape, None, "optimizer variable")
            values.append(np.asarray(ds[()]))
    engine = model._require_compiled("load_model")
    state = jax.device_get(engine.tx.init(model._params))
    count = np.asarray(values[0]).astype(np.asarray(state.count).dtype)
    hyper = dict(state.hyperparams)
    if "learning_rate" in hyper:
        hyper["learning_rate"] = np.asarray(values[1]).astype(
            np.asarray(hyper["learning_rate"]).dtype)
    state = state._replace(count=count, hyperparams=hyper)
    if kind == "adam":
        inner = state.inner_state
        m = [dict(d) for d in inner.m]
        v = [dict(d) for d in inner.v]
        for n, s in enumerate(trainable):
            want = np.asarray(m[s.index][s.key]).dtype
            m[s.index][s.key] = values[2 + 2 * n].astype(want)
            v[s.index][s.key] = values[3 + 2 * n].astype(want)
        state = state._replace(inner_state=inner._replace(
            count=count.astype(np.asarray(inner.count).dtype), m=m, v=v))
    model._opt_state = jax.device_put(state)
    model.optimizer._sync_iterations(model._opt_state)
    return True

