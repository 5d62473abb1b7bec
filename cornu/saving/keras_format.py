"""Keras 3 files: `.keras` archives and `.weights.h5` weights files, written and read.

A `.keras` file is a zip holding
    metadata.json     {"keras_version", "date_saved"}
    config.json       the model in Keras' form: {"module", "class_name", "config",
                      "registered_name", "build_config", "compile_config"}; every layer
                      likewise, and a functional model's calls as "inbound_nodes"
    model.weights.h5  HDF5: layers/<snake_case class name, made unique>/vars/0, 1, ...
                      (trainable variables first, in creation order), nested models'
                      layers under their own layers/ group, optimizer/vars when compiled
A `.weights.h5` file is the HDF5 member alone, as a plain file.

Reading translates Keras' configs into cornu's and builds the model through
`registry.plan_model` (abstract weights, nothing allocated), so only known classes are
made: cornu's layers, registered ones and `custom_objects`. Lambda layers and unknown
classes are refused by name, and so is any setting a cornu layer does not have. The HDF5
file is walked before anything is read: only hard links, only the groups and datasets the
model needs (plus Keras' optimizer state, checked and not used), each dataset a plain
number type of exactly the shape and dtype the rebuilt model expects.
"""

from __future__ import annotations

import datetime
import inspect
import io
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import jax
import numpy as np

from cornu.saving import archive, jsonio, limits, registry
from cornu.saving.errors import CornuFileError

if TYPE_CHECKING:
    from pathlib import Path

    from cornu.layers.base import Layer
    from cornu.models.model import Model

__all__ = ["HDF5_SIGNATURE", "KERAS_SUFFIX", "WEIGHTS_H5_SUFFIX", "is_keras_archive",
           "read_keras_model", "read_weights_h5", "write_keras_model", "write_weights_h5"]

KERAS_SUFFIX = ".keras"
WEIGHTS_H5_SUFFIX = ".weights.h5"
HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
METADATA, CONFIG, WEIGHTS = "metadata.json", "config.json", "model.weights.h5"
#: the Keras release whose file format this module writes
KERAS_FORMAT_VERSION = "3.15.0"
#: groups, datasets and attributes one HDF5 file may hold (walked before reading)
MAX_H5_OBJECTS = 1_000_000
_FLOAT = {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"},
          "registered_name": None}
#: Keras layer settings cornu's layers do not take, dropped when they hold these values
_NEUTRAL: dict[str, tuple[Any, ...]] = {
    "quantization_config": (None,), "synchronized": (False,), "renorm": (False,),
    "renorm_clipping": (None,), "renorm_momentum": (0.99,), "lora_rank": (None,),
    "lora_alpha": (None,), "optional": (False,), "sparse": (False,), "ragged": (False,),
    "keepdims": (False,), "activity_regularizer": (None,), "seed": (None,),
    "noise_shape": (None,), "groups": (1,), "dilation_rate": ([1], [1, 1]),
    "input_axes": (None,), "output_axes": (None,),
}
_KERAS_COMPILE_EXTRAS = {"weighted_metrics": (None,), "run_eagerly": (False,),
                         "steps_per_execution": (1,), "jit_compile": (True, False, "auto"),
                         "auto_scale_loss": (True, False)}


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


def _is_graph_model(layer: Any) -> bool:
    from cornu.models.functional import Functional
    from cornu.models.sequential import Sequential

    return type(layer) in (Functional, Sequential)


def _require_graph_model(model: Model, action: str) -> None:
    from cornu.models.model import Model as ModelClass

    for layer in model._flatten_layers(include_self=True):
        if isinstance(layer, ModelClass) and not _is_graph_model(layer):
            raise CornuFileError(
                f"Cannot {action} '{layer.name}' ({type(layer).__name__}) in Keras' format: "
                "cornu writes and reads Sequential and functional models as .keras files. "
                "Save a subclassed model as .cornu, or its weights with save_weights().")


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
    and the variables, in Keras' order."""
    params, state = model.weight_trees()
    if len(params) > len(model.layers) and (params[len(model.layers)] or
                                            state[len(model.layers)]):
        raise CornuFileError(f"Model '{model.name}' has weights of its own, which Keras' "
                             "format does not hold for Sequential or functional models.")
    groups: list[tuple[str, str]] = []
    slots: list[Slot] = []
    _walk(model, params, state, None, "", "", groups, slots)
    return groups, slots


def _walk(model: Model, params: list, state: list, top: int | None, prefix: str, path: str,
          groups: list[tuple[str, str]], slots: list[Slot]) -> None:
    groups.append((f"{path}vars", model.name))
    used: dict[str, int] = {}
    for j, layer in enumerate(model.layers):
        here = f"{path}layers/{_unique(snake_case(type(layer).__name__), used)}"
        index = j if top is None else top
        key_prefix = "" if top is None else f"{prefix}layers/{j}/"
        if _is_graph_model(layer):
            _walk(layer, params, state, index, key_prefix, here + "/", groups, slots)
            continue
        if [sub for sub in layer._flatten_layers(include_self=False)]:
            raise CornuFileError(
                f"Layer '{layer.name}' ({type(layer).__name__}) holds layers of its own; "
                "cornu does not write or read those in Keras' format yet. Save as .cornu.")
        groups.append((f"{here}/vars", layer.name))
        owner = f"layer '{layer.name}' ({type(layer).__name__})"
        ordered = [(kind, f"{key_prefix}{w.name}") for kind, tree in
                   (("params", params), ("state", state)) for w in layer.weights
                   if f"{key_prefix}{w.name}" in tree[index]]
        if len(ordered) != len(layer.weights):
            raise CornuFileError(f"Cannot map the weights of {owner} to Keras' layout.")
        for n, (kind, key) in enumerate(ordered):
            slots.append(Slot(f"{here}/vars/{n}", index, kind, key, owner))


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


# ------------------------------------------------------------ config: cornu -> Keras


def _keras_dtype(config: dict[str, Any]) -> dict[str, Any]:
    name = config.pop("dtype", "float32")
    return {**_FLOAT, "config": {"name": name}}


def _keras_object(value: Any, module: str) -> Any:
    """cornu's {"class_name", "config"} of a built-in object in Keras' form."""
    if isinstance(value, dict) and "class_name" in value and "module" not in value:
        return {"module": module, "class_name": value["class_name"],
                "config": value.get("config", {}), "registered_name": None}
    return value


_OBJECT_MODULES = {"initializer": "keras.initializers", "regularizer": "keras.regularizers",
                   "constraint": "keras.constraints"}


def _keras_layer(entry: dict[str, Any], layer: Layer) -> dict[str, Any]:
    config = dict(entry["config"])
    config.pop("input_shape", None)
    for key, value in list(config.items()):
        for suffix, module in _OBJECT_MODULES.items():
            if key.endswith(suffix):
                config[key] = _keras_object(value, module)
    config = {"name": config.pop("name"), "trainable": config.pop("trainable", True),
              "dtype": _keras_dtype(config), **config}
    out: dict[str, Any] = {"module": entry.get("module", "keras.layers"),
                           "class_name": entry["class_name"], "config": config,
                           "registered_name": entry.get("registered_name")}
    shapes = layer.input_shape if layer.built and not _is_graph_model(layer) else None
    if shapes is not None:
        out["build_config"] = {"input_shape": registry._shapes_config(shapes)}
    return out


def _input_entry(name: str, shape: list, dtype: str = "float32") -> dict[str, Any]:
    return {"module": "keras.layers", "class_name": "InputLayer",
            "config": {"batch_shape": [None, *shape], "dtype": dtype, "sparse": False,
                       "ragged": False, "name": name, "optional": False},
            "registered_name": None}


def _keras_model(entry: dict[str, Any], model: Model) -> dict[str, Any]:
    """A model entry (registry.model_entry) in Keras' form."""
    config = entry["config"]
    if entry["class_name"] == "Sequential":
        shape = list(config["input_shape"])
        layers = [_input_entry(f"{model.name}_input", shape)]
        for sub, layer in zip(config["layers"], model.layers, strict=True):
            layers.append(_keras_model(sub, layer) if _is_graph_model(layer)
                          else _keras_layer(sub, layer))
        return {"module": "keras", "class_name": "Sequential",
                "config": {"name": config["name"], "trainable": model.trainable,
                           "dtype": _FLOAT, "layers": layers,
                           "build_input_shape": [None, *shape]},
                "registered_name": None, "build_config": {"input_shape": [None, *shape]}}
    by_name = {layer.name: layer for layer in model.layers}
    layers = []
    for sub, layer in zip(config["layers"], model.layers, strict=True):
        if sub["class_name"] == "InputLayer":
            c = sub["config"]
            made = _input_entry(c["name"], list(c["shape"]), c.get("dtype", "float32"))
            layers.append({**made, "name": c["name"], "inbound_nodes": []})
            continue
        made = (_keras_model(sub, layer) if _is_graph_model(layer)
                else _keras_layer(sub, layer))
        if sub.get("inbound"):
            calls = [([[n, 0, 0] for n in sub["inbound"]], len(sub["inbound"]) == 1)]
        else:
            calls = [(refs, len(refs) == 1) for refs in sub["inbound_nodes"]]
        nodes = []
        for refs, single in calls:
            tensors = [_keras_tensor(by_name, ref) for ref in refs]
            nodes.append({"args": [tensors[0] if single else tensors], "kwargs": {}})
        layers.append({**made, "name": layer.name, "inbound_nodes": nodes})
    out_refs = config.get("output_refs") or [[n, 0, 0] for n in config["outputs"]]
    in_refs = [[n, 0, 0] for n in config["inputs"]]
    return {"module": "keras.src.models.functional", "class_name": "Functional",
            "config": {"name": config["name"], "trainable": model.trainable, "layers": layers,
                       "input_layers": in_refs[0] if len(in_refs) == 1 else in_refs,
                       "output_layers": out_refs[0] if len(out_refs) == 1 else out_refs},
            "registered_name": "Functional", "build_config": {"input_shape": None}}


def _keras_tensor(by_name: Mapping[str, Layer], ref: list) -> dict[str, Any]:
    name, node, index = ref
    tensor = by_name[name]._inbound_nodes[node].flat_outputs[index]
    return {"class_name": "__keras_tensor__",
            "config": {"shape": [None if d is None else int(d) for d in tensor.shape],
                       "dtype": str(np.dtype(tensor.dtype)), "keras_history": [name, node, index]}}


def _keras_compile(compile_config: dict[str, Any] | None) -> dict[str, Any]:
    if compile_config is None:
        return {}
    config = dict(compile_config)
    optimizer = _keras_object(config.pop("optimizer"), "keras.optimizers")
    loss = config.pop("loss")
    loss = {k: _keras_object(v, "keras.losses") for k, v in loss.items()} \
        if isinstance(loss, dict) and "class_name" not in loss else \
        [_keras_object(v, "keras.losses") for v in loss] if isinstance(loss, list) else \
        _keras_object(loss, "keras.losses")
    metrics = config.pop("metrics", None)
    if isinstance(metrics, list):
        metrics = [_keras_object(m, "keras.metrics") for m in metrics]
    return {"optimizer": optimizer, "loss": loss, "loss_weights": config.pop("loss_weights",
                                                                             None),
            "metrics": metrics, "weighted_metrics": None, "run_eagerly": False,
            "steps_per_execution": 1, "jit_compile": True}


def keras_config(model: Model) -> dict[str, Any]:
    """config.json of `model` in Keras' form."""
    _require_graph_model(model, "save")
    out = _keras_model(registry.model_entry(model), model)
    out["compile_config"] = _keras_compile(model.get_compile_config())
    return out


def _optimizer_variables(model: Model) -> tuple[list[np.ndarray], str] | None:
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
    _, slots = layout(model)
    trainable = [s for s in slots if s.kind == "params"]
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
    import warnings

    kind = _keras_optimizer_kind(model)
    _, slots = layout(model)
    trainable = [s for s in slots if s.kind == "params"]
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


def write_keras_model(model: Model, path: Path, overwrite: bool) -> None:
    """`model` as a Keras 3 .keras file (written atomically, as .cornu files are)."""
    from cornu import __version__

    config = keras_config(model)
    optimizer = _optimizer_variables(model)
    weights = h5_bytes(model, *(optimizer if optimizer is not None else (None, "")))
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d@%H:%M:%S")
    members: list[tuple[str, bytes | archive.Writer]] = [
        (METADATA, jsonio.dumps({"keras_version": KERAS_FORMAT_VERSION, "date_saved": now,
                                 "cornu_version": __version__}, "metadata")),
        (CONFIG, jsonio.dumps(config, "the model config")),
        (WEIGHTS, weights),
    ]
    archive.atomic_write(path, lambda fp: archive.write_archive(fp, members),
                         overwrite=overwrite)


def write_weights_h5(model: Model, path: Path, overwrite: bool) -> None:
    """Keras' save_weights(): the HDF5 layout alone, the optimizer's variables included
    when they map to Keras' (as Keras writes them for a compiled model)."""
    _require_graph_model(model, "save the weights of")
    optimizer = _optimizer_variables(model)
    data = h5_bytes(model, *(optimizer if optimizer is not None else (None, "")))
    archive.atomic_write(path, lambda fp: fp.write(data), overwrite=overwrite)


# ------------------------------------------------------------ config: Keras -> cornu


def _strip(value: Any, depth: int = 0) -> Any:
    """A Keras object dict ({"module", "class_name", "config", "registered_name"}) as
    cornu's {"class_name", "config"}, its None settings dropped (Keras' defaults)."""
    if isinstance(value, dict) and "class_name" in value and "config" in value:
        config = value["config"]
        if isinstance(config, dict):
            config = {k: _strip(v) for k, v in config.items()
                      if v is not None and k != "shared_object_id"}
        return {"class_name": value["class_name"], "config": config}
    return value


def _dtype_name(value: Any, where: str) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, dict) and value.get("class_name") in ("DTypePolicy", "FloatDTypePolicy") \
            and isinstance(value.get("config"), dict) \
            and isinstance(value["config"].get("name"), str):
        return value["config"]["name"]
    raise CornuFileError(f"{where}: unsupported dtype policy {value!r}"[:500])


def _accepted(cls: type) -> set[str] | None:
    """The keyword arguments `cls` takes (None: it takes any)."""
    from cornu.layers.base import Layer

    names: set[str] = set()
    for klass in cls.__mro__:
        if "__init__" not in vars(klass):
            continue
        parameters = inspect.signature(klass.__init__).parameters
        names |= {n for n, p in parameters.items() if p.kind in (p.POSITIONAL_OR_KEYWORD,
                                                                   p.KEYWORD_ONLY)}
        if not any(p.kind == p.VAR_KEYWORD for p in parameters.values()):
            break
        if klass is Layer:
            break
    else:
        return None
    return names - {"self"}


def _cornu_layer(entry: Any, custom_objects: Mapping[str, Any] | None, where: str
                 ) -> dict[str, Any]:
    if not isinstance(entry, dict) or not isinstance(entry.get("config"), dict) \
            or not isinstance(entry.get("class_name"), str):
        raise CornuFileError(f"{where}: expected {{'class_name': ..., 'config': {{...}}}}.")
    class_name, module = entry["class_name"], entry.get("module")
    if class_name in ("Sequential", "Functional") and (module is None or str(module).startswith(
            "keras")):
        return cornu_model(entry, custom_objects, where)
    if class_name in ("Lambda", "TFOpLambda"):
        raise CornuFileError(
            f"{where} is a Lambda layer ('{entry['config'].get('name')}'): it carries Python "
            "code, and cornu never runs code read from a file. Write the computation as a "
            "layer class, register it, and rebuild the model in code.")
    cls = registry.layer_class(class_name, custom_objects, where, entry.get("registered_name"),
                               module)
    config = {k: v for k, v in entry["config"].items() if k != "shared_object_id"}
    dtype = _dtype_name(config.pop("dtype", None), where)
    if dtype not in (None, "float32"):
        config["dtype"] = dtype
    builtin = module is None or str(module).startswith("keras")
    if builtin:
        accepted = _accepted(cls)
        for key in list(config):
            value = config[key]
            config[key] = _strip(value)
            if accepted is None or key in accepted:
                continue
            if value in _NEUTRAL.get(key, (None,)):
                del config[key]
                continue
            raise CornuFileError(
                f"{where} ('{config.get('name')}', {class_name}) sets {key}={value!r}, "
                f"which cornu's {class_name} does not support.")
    return {"class_name": class_name, "config": config,
            **({"module": module} if not builtin else {}),
            **({"registered_name": entry["registered_name"]}
               if isinstance(entry.get("registered_name"), str) and not builtin else {})}


def _refs(arg: Any, where: str) -> tuple[list[list], bool]:
    def ref(t: Any) -> list:
        history = t.get("config", {}).get("keras_history") if isinstance(t, dict) else None
        if not (isinstance(t, dict) and t.get("class_name") == "__keras_tensor__"
                and isinstance(history, list) and len(history) == 3):
            raise CornuFileError(f"{where}: a call's input is not a Keras tensor reference.")
        return list(history)

    if isinstance(arg, list):
        return [ref(t) for t in arg], False
    return [ref(arg)], True


def _cornu_functional(config: dict[str, Any], custom_objects: Mapping[str, Any] | None,
                      where: str) -> dict[str, Any]:
    entries = config.get("layers")
    if not isinstance(entries, list) or not entries:
        raise CornuFileError(f"{where}: a Functional config needs a list of layers.")
    layers = []
    for i, entry in enumerate(entries):
        here = f"{where}, layer {i}"
        if isinstance(entry, dict) and entry.get("class_name") == "InputLayer":
            c = entry.get("config") if isinstance(entry.get("config"), dict) else {}
            layers.append({"class_name": "InputLayer",
                           "config": _input_config(c, here), "inbound_nodes": []})
            continue
        made = _cornu_layer(entry, custom_objects, here)
        nodes = entry.get("inbound_nodes") if isinstance(entry, dict) else None
        if not isinstance(nodes, list) or not nodes:
            raise CornuFileError(f"{here}: lists no calls (inbound_nodes).")
        calls = []
        for node in nodes:
            if not isinstance(node, dict) or not isinstance(node.get("args"), list) \
                    or len(node["args"]) != 1:
                raise CornuFileError(f"{here}: each call must take one argument (a tensor or "
                                     "a list of tensors), as Keras writes them.")
            kwargs = node.get("kwargs") or {}
            # Keras records training=False from the symbolic call; fit and predict pass
            # their own flag over it, as cornu's graph does
            if not isinstance(kwargs, dict) or any(
                    v is not None and not (k == "training" and v is False)
                    for k, v in kwargs.items()):
                raise CornuFileError(f"{here}: calls with keyword arguments "
                                     f"({sorted(kwargs) if isinstance(kwargs, dict) else kwargs})"
                                     " are not supported.")
            refs, single = _refs(node["args"][0], here)
            if not single and len(refs) == 1:
                raise CornuFileError(f"{here}: a call on a list of one tensor is not "
                                     "supported.")
            calls.append(refs)
        layers.append({**made, "inbound_nodes": calls})

    def refs_of(value: Any, what: str) -> list[list]:
        if registry._ref(value):
            return [value]
        if isinstance(value, list) and value and all(registry._ref(v) for v in value):
            return value
        raise CornuFileError(f"{where}: {what} must be [name, node, tensor] references.")

    inputs = refs_of(config.get("input_layers"), "input_layers")
    outputs = refs_of(config.get("output_layers"), "output_layers")
    return {"name": config.get("name"), "layers": layers, "inputs": [r[0] for r in inputs],
            "outputs": [r[0] for r in outputs], "output_refs": outputs}


def _input_config(config: dict[str, Any], where: str) -> dict[str, Any]:
    shape = config.get("batch_shape", config.get("batch_input_shape"))
    if not isinstance(shape, list) or not shape:
        raise CornuFileError(f"{where}: an InputLayer needs batch_shape.")
    for key in ("sparse", "ragged"):
        if config.get(key):
            raise CornuFileError(f"{where}: {key} inputs are not supported by cornu.")
    dtype = _dtype_name(config.get("dtype"), where) or "float32"
    return {"name": config.get("name"), "shape": shape[1:], "dtype": dtype}


def cornu_model(entry: Any, custom_objects: Mapping[str, Any] | None, where: str
                ) -> dict[str, Any]:
    """A Keras model entry (Sequential or Functional) in cornu's form (registry)."""
    if not isinstance(entry, dict) or not isinstance(entry.get("config"), dict):
        raise CornuFileError(f"{where}: expected {{'class_name': ..., 'config': {{...}}}}.")
    class_name, module = entry.get("class_name"), entry.get("module")
    config = entry["config"]
    if class_name == "Functional" or class_name == "Model" and "layers" in config:
        return {"class_name": "Functional",
                "config": _cornu_functional(config, custom_objects, where)}
    if class_name != "Sequential" or not (module is None or str(module).startswith("keras")):
        raise CornuFileError(
            f"{where} holds a model of class {class_name!r} (module {module!r}): cornu reads "
            "Sequential and functional models from .keras files; a subclassed model's code "
            "is not in the file. Rebuild it in code and use load_weights().")
    entries = config.get("layers")
    if not isinstance(entries, list) or not entries:
        raise CornuFileError(f"{where}: a Sequential config needs a list of layers.")
    shape = None
    if isinstance(entries[0], dict) and entries[0].get("class_name") == "InputLayer":
        c = entries[0].get("config") if isinstance(entries[0].get("config"), dict) else {}
        shape = _input_config(c, f"{where}, layer 0")["shape"]
        entries = entries[1:]
    if shape is None:
        build = config.get("build_input_shape")
        if isinstance(build, list) and build:
            shape = build[1:]
    if shape is None:
        raise CornuFileError(f"{where}: the Sequential model was saved unbuilt (no input "
                             "shape); cornu needs its input shape to rebuild its weights.")
    layers = [_cornu_layer(e, custom_objects, f"{where}, layer {i + 1}")
              for i, e in enumerate(entries)]
    return {"class_name": "Sequential",
            "config": {"name": config.get("name"), "input_shape": shape, "layers": layers}}


def cornu_compile(config: Any, where: str) -> dict[str, Any] | None:
    """A Keras compile_config as cornu's compile settings (None: not compiled)."""
    if not config:
        return None
    if not isinstance(config, dict):
        raise CornuFileError(f"{where}: compile_config must be a dict.")
    out: dict[str, Any] = {}
    for key, value in config.items():
        if key in _KERAS_COMPILE_EXTRAS:
            if value not in _KERAS_COMPILE_EXTRAS[key]:
                raise CornuFileError(f"{where}: compile_config sets {key}={value!r}, which "
                                     "cornu does not support. Load with compile=False.")
            continue
        out[key] = value
    optimizer = _strip(out.get("optimizer"))
    if isinstance(optimizer, dict) and isinstance(optimizer.get("config"), dict):
        config_ = {k: v for k, v in optimizer["config"].items()
                   if k not in ("use_ema", "ema_momentum", "ema_overwrite_frequency",
                                "loss_scale_factor", "gradient_accumulation_steps")
                   or v not in (False, None) and k != "ema_momentum"}
        optimizer = {"class_name": optimizer["class_name"], "config": config_}
    out["optimizer"] = optimizer
    loss = out.get("loss")
    out["loss"] = ({k: _strip(v) for k, v in loss.items()} if isinstance(loss, dict)
                   and "class_name" not in loss else
                   [_strip(v) for v in loss] if isinstance(loss, list) else _strip(loss))
    metrics = out.get("metrics")
    out["metrics"] = [] if metrics is None else [_strip(m) for m in metrics] \
        if isinstance(metrics, list) else metrics
    if out.get("loss_weights") is None:
        out.pop("loss_weights", None)
    return out


def is_keras_archive(path: Path) -> bool:
    """Whether `path` is a zip whose members are those of a Keras archive."""
    return {CONFIG, WEIGHTS} <= set(archive.member_names(path))


def read_keras_archive(path: Path) -> dict[str, bytearray]:
    return archive.read_archive(path, {
        METADATA: archive.Member(limits.MAX_JSON_BYTES),
        CONFIG: archive.Member(limits.MAX_JSON_BYTES),
        WEIGHTS: archive.Member(limits.MAX_WEIGHTS_BYTES, head=check_h5_head),
    })


@dataclass
class KerasModelFile:
    model: Model
    compile: dict[str, Any] | None
    weights: bytearray  # model.weights.h5, for the optimizer's variables


def read_keras_model(path: Path, custom_objects: Mapping[str, Any] | None) -> KerasModelFile:
    """The model of a Keras .keras file, weights set; compile settings not yet applied."""
    members = read_keras_archive(path)
    where = f"'{path}' ({CONFIG})"
    metadata = jsonio.loads(members[METADATA], f"'{path}' ({METADATA})")
    if not isinstance(metadata, dict) or not str(metadata.get("keras_version", "")
                                                     ).startswith("3"):
        raise CornuFileError(f"'{path}' ({METADATA}) does not name a Keras 3 version: not a "
                             "Keras 3 .keras file.")
    config = jsonio.loads(members[CONFIG], where)
    if not isinstance(config, dict):
        raise CornuFileError(f"{where} must hold a model config.")
    entry = cornu_model(config, custom_objects, where)
    plan = registry.plan_model(entry, custom_objects, where)
    _require_graph_model(plan.model, "load")
    params, state = weights_from_h5(plan.model, members[WEIGHTS], f"'{path}' ({WEIGHTS})")
    plan.model.set_weight_trees(params, state)
    return KerasModelFile(plan.model, cornu_compile(config.get("compile_config"), where),
                          members[WEIGHTS])


def read_weights_h5(model: Model, data: bytes | bytearray, where: str) -> None:
    _require_graph_model(model, "load the weights of")
    model.set_weight_trees(*weights_from_h5(model, data, where))
