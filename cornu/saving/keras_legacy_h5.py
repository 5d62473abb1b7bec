"""Keras 2 (and Keras 3's legacy) `.h5` files: whole models and weights alone, read.

A whole-model file holds, as HDF5 attributes and groups,
    attrs model_config     the model's JSON config (Keras 2 or Keras 3 spellings)
    attrs training_config  compile() settings, the optimizer as `optimizer_config`
    attrs keras_version, backend
    model_weights/         attrs layer_names; per layer a group with attrs weight_names,
                           the datasets at those (relative) paths, trainable first
    optimizer_weights/     attrs weight_names, the optimizer's variables at those paths
A weights file (Keras 2's `save_weights("w.h5")`) is `model_weights/` at the file's root.
Long name lists are split over attributes `layer_names0`, `layer_names1`, ...

Reading checks every dataset it will read (only hard links, plain numbers, the shape the
planned model expects, its bytes in the file) before reading any. Keras 2 configs are put
in Keras 3's spelling first (`batch_input_shape`, `inbound_nodes` as nested lists, class
"Model", dtype policies as strings, optimizer `lr` and `decay`), then read as `.keras`
configs are: only known classes are built; Lambda layers (marshalled bytecode) are
refused by name, and their code is never looked at.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import jax
import numpy as np

from cornu.saving import jsonio, limits, registry
from cornu.saving.errors import CornuFileError
from cornu.saving.keras_config import cornu_compile, cornu_model, require_graph_model
from cornu.saving.keras_h5 import (
    MAX_H5_OBJECTS,
    H5Data,
    Slot,
    _check_dataset,
    _h5py,
    _survey,
    h5_file,
    own_weights,
)

if TYPE_CHECKING:
    from cornu.models.model import Model

__all__ = ["LegacyModelFile", "is_legacy_file", "is_legacy_model", "keras3_config",
           "legacy_h5_bytes", "load_legacy_weights", "read_legacy_model",
           "write_legacy_h5"]

#: Keras 2 layer settings that only chose an implementation (or fed shape inference),
#: dropped whatever their value; Keras 3 has none of them
_IMPLEMENTATION_ONLY = {"fused", "implementation", "input_length", "time_major"}
#: Keras 2 layer settings dropped at these (neutral) values; others are refused
_LEGACY_NEUTRAL: dict[str, tuple[Any, ...]] = {
    "virtual_batch_size": (None,), "adjustment": (None,), "zero_output_for_mask": (False,),
}
_LAMBDAS = ("Lambda", "TFOpLambda", "SlicingOpLambda")


@dataclass
class LegacyModelFile:
    model: Model
    compile: dict[str, Any] | None  # cornu_compile's form, not yet applied
    optimizer: list[tuple[str, Any]] | None  # (path, dataset) of optimizer_weights
    file: Any  # the open h5py.File, closed by the caller
    #: the file's weight names without ':0' ("dense/kernel") -> (entry index, key) in the
    #: model's weight trees: how Keras 2's optimizer weights name their variables
    weight_names: dict[str, tuple[int, str]] | None = None


# ------------------------------------------------------------------ reading the file


def open_h5(data: H5Data, where: str) -> Any:
    return h5_file(data, where, "; it may be truncated or damaged")


def _attribute(obj: Any, name: str, where: str, max_bytes: int) -> Any:
    """The attribute `name` of `obj` (None if absent), its declared size checked before it
    is read; variable-length strings live in the file, itself bounded."""
    if name not in obj.attrs:
        return None
    try:
        aid = obj.attrs.get_id(name)
        count = int(np.prod(aid.shape or (), dtype=np.int64))
        if count > MAX_H5_OBJECTS or count * aid.dtype.itemsize > max_bytes:
            raise CornuFileError(f"{where}: attribute '{name}' declares {count} values of "
                                 f"{aid.dtype.itemsize} bytes, more than cornu reads.")
        if aid.dtype.kind not in "SOUfiub":
            raise CornuFileError(f"{where}: attribute '{name}' has dtype {aid.dtype!r}.")
        return obj.attrs[name]
    except CornuFileError:
        raise
    except (OSError, ValueError, RuntimeError, TypeError, UnicodeDecodeError) as exc:
        raise CornuFileError(f"{where}: attribute '{name}' cannot be read ({exc}).") from exc


def _text(value: Any, what: str, where: str) -> str:
    if isinstance(value, np.ndarray) and value.shape == ():
        value = value[()]
    if isinstance(value, bytes | np.bytes_):
        try:
            return bytes(value).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise CornuFileError(f"{where}: {what} is not UTF-8 text ({exc}).") from None
    if isinstance(value, str):
        return value
    raise CornuFileError(f"{where}: {what} must be text. Received a {type(value).__name__}.")


def _names(obj: Any, name: str, where: str) -> list[str]:
    """A list of names, from `name` or its chunks `name0`, `name1`, ..."""
    limit = limits.MAX_JSON_BYTES
    value = _attribute(obj, name, where, limit)
    chunks = [value] if value is not None else []
    n = 0
    while value is None and f"{name}{n}" in obj.attrs:
        chunks.append(_attribute(obj, f"{name}{n}", where, limit))
        n += 1
        if n > MAX_H5_OBJECTS:
            break
    out: list[str] = []
    for chunk in chunks:
        items = np.asarray(chunk)
        if items.ndim != 1 or (items.size and items.dtype.kind == "f"):
            if items.size == 0:
                continue
            raise CornuFileError(f"{where}: attribute '{name}' must be a list of names.")
        out += [_text(item, f"an entry of '{name}'", where) for item in items]
        if len(out) > MAX_H5_OBJECTS:
            raise CornuFileError(f"{where}: attribute '{name}' lists too many names.")
    return out


def _json_attribute(f: Any, name: str, where: str) -> Any:
    value = _attribute(f, name, where, limits.MAX_JSON_BYTES)
    if value is None:
        return None
    text = _text(value, f"attribute '{name}'", where)
    return jsonio.loads(text.encode("utf-8"), f"{where} (attribute '{name}')")


def is_legacy_model(f: Any) -> bool:
    return "model_config" in f.attrs


def weights_group(f: Any) -> tuple[str, Any] | None:
    """(path prefix, group) of the legacy weights layout, or None (not that layout)."""
    if "layer_names" in f.attrs or "layer_names0" in f.attrs:
        return "", f
    link = f.get("model_weights", getlink=True) if "model_weights" in f else None
    if link is not None and isinstance(link, _h5py().HardLink):
        group = f["model_weights"]
        if "layer_names" in group.attrs or "layer_names0" in group.attrs:
            return "model_weights/", group
    return None


def is_legacy_file(data: H5Data, where: str) -> bool:
    """Whether the HDF5 file in `data` is in the legacy layout (layer_names, or a
    model_config), not Keras 3's weights layout."""
    with open_h5(data, where) as f:
        return is_legacy_model(f) or weights_group(f) is not None


# ------------------------------------------------------------ Keras 2 configs -> Keras 3


def _policy(value: Any) -> Any:
    """Keras 2's dtype policy dicts ({"class_name": "Policy", ...}) as their name."""
    if isinstance(value, dict) and value.get("class_name") in ("Policy", "PolicyV1") and \
            isinstance(value.get("config"), dict):
        return value["config"].get("name")
    return value


def _node(node: Any, where: str) -> Any:
    """A Keras 2 call, [[name, node, tensor, kwargs], ...], as Keras 3's {"args", "kwargs"}."""
    if isinstance(node, dict):
        return node
    if not isinstance(node, list) or not node:
        raise CornuFileError(f"{where}: a call in inbound_nodes must be a list of inputs.")
    tensors, kwargs = [], {}
    for ref in node:
        if not isinstance(ref, list) or len(ref) not in (3, 4) or not isinstance(ref[0], str):
            raise CornuFileError(f"{where}: an input in inbound_nodes must be "
                                 "[layer name, node index, tensor index, kwargs].")
        if len(ref) == 4 and ref[3]:
            if not isinstance(ref[3], dict):
                raise CornuFileError(f"{where}: a call's keyword arguments must be a dict.")
            kwargs.update(ref[3])
        tensors.append({"class_name": "__keras_tensor__",
                        "config": {"keras_history": list(ref[:3])}})
    return {"args": [tensors[0] if len(tensors) == 1 else tensors], "kwargs": kwargs}


def _layer(entry: Any, where: str) -> Any:
    """One layer (or nested model) entry in Keras 3's spelling."""
    if not isinstance(entry, dict) or not isinstance(entry.get("config"), dict | list):
        return entry  # cornu_model says what is wrong
    class_name = entry.get("class_name")
    if class_name in _LAMBDAS:
        name = entry["config"].get("name") if isinstance(entry["config"], dict) else None
        raise CornuFileError(
            f"{where} is a Lambda layer ('{name}'): it carries marshalled Python bytecode, "
            "and cornu never runs code read from a file. Write the computation as a layer "
            "class, register it, rebuild the model in code and load the weights.")
    if class_name in ("Sequential", "Functional", "Model"):
        out = _model(entry, where)
    else:
        config = {k: _policy(v) if k == "dtype" else v for k, v in entry["config"].items()
                  if k not in _IMPLEMENTATION_ONLY}
        for key, neutral in _LEGACY_NEUTRAL.items():
            if key in config and config[key] in neutral:
                del config[key]
        if class_name == "BatchNormalization" and isinstance(config.get("axis"), list) \
                and len(config["axis"]) == 1:
            config["axis"] = config["axis"][0]  # Keras 2 wrote the built axis as a list
        if class_name == "InputLayer":
            if "batch_input_shape" in config:
                config["batch_shape"] = config.pop("batch_input_shape")
        else:
            config.pop("batch_input_shape", None)
        out = {**entry, "config": config}
    if "inbound_nodes" in entry and isinstance(entry["inbound_nodes"], list):
        out["inbound_nodes"] = [_node(n, f"{where} ('{entry.get('name')}')")
                                for n in entry["inbound_nodes"]]
    return out


def _model(entry: dict[str, Any], where: str) -> dict[str, Any]:
    config = entry["config"]
    class_name = entry.get("class_name")
    if isinstance(config, list):  # Keras 2.0-2.2: a Sequential's config is its layers
        config = {"name": entry.get("name", "sequential"), "layers": config}
    config = dict(config)
    config.pop("dtype", None)
    entries = config.get("layers")
    if not isinstance(entries, list):
        return {**entry, "config": config}
    layers = [_layer(e, f"{where}, layer {i}") for i, e in enumerate(entries)]
    if class_name == "Sequential" and layers:
        first = entries[0] if isinstance(entries[0], dict) else {}
        shape = first.get("config", {}).get("batch_input_shape") \
            if isinstance(first.get("config"), dict) else None
        if first.get("class_name") != "InputLayer" and isinstance(shape, list):
            dtype = _policy(first["config"].get("dtype")) or "float32"
            layers.insert(0, {"class_name": "InputLayer", "config": {
                "batch_shape": shape, "dtype": dtype if isinstance(dtype, str) else "float32",
                "name": f"{config.get('name') or 'sequential'}_input"}})
    config["layers"] = layers
    if class_name == "Model":
        class_name = "Functional"
    return {**{k: v for k, v in entry.items() if k not in ("module",)},
            "class_name": class_name, "config": config}


def keras3_config(entry: Any, where: str) -> Any:
    """A model config from a legacy .h5 file (Keras 2 or Keras 3 spellings) in Keras 3's
    spelling, as keras_config.cornu_model reads it."""
    if not isinstance(entry, dict) or entry.get("class_name") not in (
            "Sequential", "Functional", "Model"):
        name = entry.get("class_name") if isinstance(entry, dict) else None
        raise CornuFileError(
            f"{where} holds a model of class {name!r}: cornu reads Sequential and "
            "functional models from .h5 files; a subclassed model's code is not in the "
            "file. Rebuild it in code and use load_weights().")
    return _model(entry, where)


_OPTIMIZER_DROPPED = {"jit_compile": None, "is_legacy_optimizer": None}


def _loss(value: Any) -> Any:
    if isinstance(value, dict) and isinstance(value.get("config"), dict):
        config = dict(value["config"])
        if config.get("reduction") == "auto":
            config["reduction"] = "sum_over_batch_size"
        return {**value, "config": config}
    return value


def _metric(value: Any) -> Any:
    """Keras 2's MeanMetricWrapper(fn=name) as the metric's name."""
    if isinstance(value, dict) and value.get("class_name") == "MeanMetricWrapper" and \
            isinstance(value.get("config"), dict) and isinstance(value["config"].get("fn"),
                                                                 str):
        return value["config"]["fn"]
    return value


def compile_config(training: Any, where: str) -> dict[str, Any] | None:
    """A legacy training_config as a Keras 3 compile_config (then cornu_compile)."""
    if training is None:
        return None
    if not isinstance(training, dict) or not isinstance(training.get("optimizer_config"),
                                                         dict):
        raise CornuFileError(f"{where}: training_config must be a dict holding "
                             "optimizer_config. Load with compile=False to skip it.")
    optimizer = dict(training["optimizer_config"])
    config = dict(optimizer.get("config") or {})
    for key in _OPTIMIZER_DROPPED:
        config.pop(key, None)
    if "lr" in config:
        config.setdefault("learning_rate", config.pop("lr"))
        config.pop("lr", None)
    if "decay" in config:
        decay = config.pop("decay")
        if decay not in (0, 0.0, None):
            raise CornuFileError(
                f"{where}: the optimizer sets Keras 2's decay={decay!r}, which Keras 3 and "
                "cornu replaced by learning-rate schedules. Load with compile=False and "
                "compile with cornu.optimizers.schedules.InverseTimeDecay.")
    optimizer["config"] = config
    metrics = training.get("metrics")
    if isinstance(metrics, list) and len(metrics) == 1 and isinstance(metrics[0], list):
        metrics = metrics[0]  # Keras 2 wrote one list per output
    if isinstance(metrics, list):
        metrics = [_metric(m) for m in metrics]
    loss = training.get("loss")
    loss = ({k: _loss(v) for k, v in loss.items()} if isinstance(loss, dict) and
            "class_name" not in loss else [_loss(v) for v in loss] if isinstance(loss, list)
            else _loss(loss))
    out = {"optimizer": optimizer, "loss": loss, "metrics": metrics,
           "loss_weights": training.get("loss_weights")}
    weighted = training.get("weighted_metrics")
    if weighted not in (None, [], [[]]):
        raise CornuFileError(f"{where}: training_config sets weighted_metrics, which cornu "
                             "does not read yet. Load with compile=False.")
    return out


# ------------------------------------------------------------------ the weights


def _legacy_slots(model: Model) -> list[tuple[int, list[Slot]]]:
    """(top-level layer index, its weights in Keras' legacy order: trainable, then not,
    each in creation order) for each top-level layer that has weights. A layer holding
    layers (an RNN's cell, a nested model) is one entry, as in Keras."""
    own_weights(model)
    params, state = model.weight_trees()
    out = []
    for i, layer in enumerate(model.layers):
        owner = f"layer '{layer.name}' ({type(layer).__name__})"
        slots = [Slot("", i, kind, key, owner) for kind, tree in (("params", params),
                                                                  ("state", state))
                 for key in tree[i]]
        if slots:
            out.append((i, slots))
    return out


def _dataset_path(prefix: str, layer: str, weight: str) -> str:
    return "/".join(p for p in f"{prefix}{layer}/{weight}".split("/") if p)


def legacy_weights(model: Model, f: Any, where: str, *, by_name: bool = False,
                   skip_mismatch: bool = False, strict: bool = True,
                   names: dict[str, tuple[int, str]] | None = None) -> tuple[list, list]:
    """(params, state) of `model` from the legacy layout of the open file `f`, matched by
    position (layers with weights, in order) or by layer name; every dataset read is
    checked first. Layers left unmatched (by_name, skip_mismatch) keep their weights.
    `names`, when given, receives each trainable weight's name in the file (without
    ':0') -> its (entry index, key)."""
    found = weights_group(f)
    if found is None:
        raise CornuFileError(f"{where} is not a Keras weights file: it lacks layer_names.")
    prefix, group = found
    datasets = _survey(f, where)
    file_layers: list[tuple[str, list[str]]] = []
    for name in _names(group, "layer_names", where):
        path = "/".join(p for p in f"{prefix}{name}".split("/") if p)
        try:  # every link in the file is a hard link (_survey), so this stays inside it
            layer_group = f[path] if name.strip("/") and path in f else None
        except (KeyError, ValueError, OSError, RuntimeError):
            layer_group = None
        if layer_group is None or not isinstance(layer_group, _h5py().Group):
            raise CornuFileError(f"{where}: layer_names lists '{name}', but the file has no "
                                 "group of that name. The file is damaged.")
        file_layers.append((name, _names(layer_group, "weight_names", where)))
    layers = _legacy_slots(model)
    pairs: list[tuple[str, list[str], int, list]] = []
    if by_name:
        index: dict[str, list[tuple[int, list]]] = {}
        for i, slots in layers:
            index.setdefault(model.layers[i].name, []).append((i, slots))
        for name, weights in file_layers:
            for i, slots in index.get(name, []):
                pairs.append((name, weights, i, slots))
    else:
        with_weights = [(n, w) for n, w in file_layers if w]
        if len(with_weights) != len(layers):
            raise CornuFileError(
                f"{where} holds weights for {len(with_weights)} layers, but model "
                f"'{model.name}' has {len(layers)} layers with weights. It was saved from a "
                "different architecture (load_weights(..., by_name=True) matches layers by "
                "name).")
        pairs = [(n, w, i, s) for (n, w), (i, s) in zip(with_weights, layers, strict=True)]
    abstract = model.weight_trees()
    reads: list[tuple[str, Any]] = []  # (dataset path, slot)
    total = 0
    for name, weights, i, slots in pairs:
        owner = f"layer '{model.layers[i].name}' ({type(model.layers[i]).__name__})"
        if len(weights) != len(slots):
            message = (f"{where}: layer '{name}' holds {len(weights)} weights, but {owner} "
                       f"has {len(slots)}. It was saved from a different architecture.")
            if skip_mismatch and by_name:
                warnings.warn(message + " Skipping it.", stacklevel=3)
                continue
            raise CornuFileError(message)
        for weight, slot in zip(weights, slots, strict=True):
            path = _dataset_path(prefix, name, weight)
            if path not in datasets:
                raise CornuFileError(f"{where} lists weight '{weight}' of layer '{name}', "
                                     "but holds no such dataset. The file is damaged.")
            want = (abstract[0] if slot.kind == "params" else abstract[1])[slot.index][slot.key]
            ds = datasets[path]
            what = f"weight '{slot.key.rsplit('/', 1)[-1]}' of {owner}"
            if tuple(ds.shape or ()) != tuple(want.shape) and skip_mismatch:
                warnings.warn(f"{where}: skipping dataset '{path}' of shape "
                              f"{tuple(ds.shape or ())}; the {what} has shape "
                              f"{tuple(want.shape)}.", stacklevel=3)
                continue
            _check_dataset(ds, path, where, tuple(want.shape), None, what)
            if ds.dtype.kind not in "fiu":
                raise CornuFileError(f"{where}: dataset '{path}' has dtype {ds.dtype}; "
                                     "weights are numbers.")
            total += int(np.prod(want.shape, dtype=np.int64)) * ds.dtype.itemsize
            reads.append((path, slot))
            if names is not None and slot.kind == "params":
                names[_variable_name(weight)] = (slot.index, slot.key)
    if total > limits.MAX_WEIGHTS_BYTES:
        raise CornuFileError(f"{where}: the weights take {total} bytes, more than the limit of "
                             f"{limits.MAX_WEIGHTS_BYTES} (cornu.saving.limits.MAX_WEIGHTS_BYTES).")
    if strict and len(reads) != sum(len(s) for _, s in layers):
        raise CornuFileError(f"{where} does not hold every weight of model '{model.name}'.")
    params = [dict(d) for d in abstract[0]]
    state = [dict(d) for d in abstract[1]]
    trees = {"params": params, "state": state}
    for path, slot in reads:
        want = trees[slot.kind][slot.index][slot.key]
        try:
            value = np.asarray(datasets[path][()])
        except (OSError, ValueError, RuntimeError) as exc:
            raise CornuFileError(f"{where}: dataset '{path}' cannot be read ({exc}); the file "
                                 "may be truncated.") from exc
        if value.shape != tuple(want.shape):
            raise CornuFileError(f"{where}: dataset '{path}' is damaged.")
        trees[slot.kind][slot.index][slot.key] = jax.device_put(
            value.astype(want.dtype, copy=False))
    return params, state


def load_legacy_weights(model: Model, data: H5Data, where: str, *,
                        by_name: bool = False, skip_mismatch: bool = False) -> None:
    """model.load_weights of a legacy .h5 file (weights alone or a whole model)."""
    require_graph_model(model, "load the weights of")
    with open_h5(data, where) as f:
        params, state = legacy_weights(model, f, where, by_name=by_name,
                                       skip_mismatch=skip_mismatch,
                                       strict=not (by_name or skip_mismatch))
    model.set_weight_trees(params, state)


def read_legacy_model(data: H5Data, where: str,
                      custom_objects: Mapping[str, Any] | None, compile: bool
                      ) -> LegacyModelFile:
    """The model of a legacy whole-model .h5 file, weights set; its compile settings and
    optimizer datasets (checked later against the compiled optimizer) returned. The
    caller closes `.file`."""
    f = open_h5(data, where)
    try:
        config = _json_attribute(f, "model_config", where)
        if config is None:
            raise CornuFileError(f"{where} is a weights file, not a model file (it holds "
                                 "no model_config). Make the model in code, then call "
                                 "model.load_weights(filepath).")
        entry = cornu_model(keras3_config(config, where), custom_objects, where)
        plan = registry.plan_model(entry, custom_objects, where)
        require_graph_model(plan.model, "load")
        weight_names: dict[str, tuple[int, str]] = {}
        plan.model.set_weight_trees(*legacy_weights(plan.model, f, where, names=weight_names))
        settings = None
        optimizer = None
        if compile:
            training = _json_attribute(f, "training_config", where)
            settings = cornu_compile(compile_config(training, where), where)
            if settings is not None and "optimizer_weights" in f:
                group = f["optimizer_weights"]
                names = _names(group, "weight_names", where)
                datasets = _survey(f, where)
                optimizer = []
                for name in names:
                    path = _dataset_path("optimizer_weights/", "", name)
                    if path not in datasets:
                        raise CornuFileError(f"{where} lists optimizer weight '{name}', but "
                                             "holds no such dataset. The file is damaged.")
                    optimizer.append((path, datasets[path]))
        return LegacyModelFile(plan.model, settings, optimizer, f, weight_names)
    except BaseException:
        f.close()
        raise


# ------------------------------------------------------------------ Keras 2's optimizer

#: Keras 2's slot names (tf.keras' OptimizerV2 "Adam/dense/kernel/m:0", and the optimizers
#: of tf.keras 2.11+ "m/dense/kernel:0") -> the field of cornu's rule state that holds the
#: same value (keras_h5.OPTIMIZER_VARIABLES gives its sign); the update rules are the same
KERAS2_SLOTS: dict[str, dict[str, str]] = {
    "Adam": {"m": "m", "v": "v", "vhat": "v_max"},
    "SGD": {"momentum": "1.trace", "m": "1.trace"},
    "RMSprop": {"rms": "0.nu", "velocity": "0.nu", "momentum": "2.trace", "mg": "0.mu",
                "average_gradient": "0.mu"},
    "Adagrad": {"accumulator": "0.sum_of_squares"},
}
_ITERATIONS = ("iter", "iteration", "iterations")


def _variable_name(name: str) -> str:
    """A TensorFlow variable's name without its output index: 'dense/kernel:0' ->
    'dense/kernel'."""
    head, sep, tail = name.rpartition(":")
    return head if sep and tail.isdigit() else name


def is_keras2_optimizer(datasets: list[tuple[str, Any]]) -> bool:
    """Whether optimizer_weights holds Keras 2's variables (TensorFlow names, 'x:0')."""
    return bool(datasets) and all(_variable_name(p) != p for p, _ in datasets)


def _parse(name: str, slots: dict[str, str], names: dict[str, tuple[int, str]]
           ) -> tuple[str, Any] | None:
    """('count' | 'learning_rate', None) or (field, (index, key)) for one Keras 2
    optimizer weight name, or None when it names nothing this model has."""
    parts = [p for p in _variable_name(name).split("/") if p]
    if parts and parts[-1] in _ITERATIONS and len(parts) <= 2:
        return "count", None
    if parts and parts[-1] in ("learning_rate", "lr") and len(parts) <= 2:
        return "learning_rate", None
    candidates = []
    if len(parts) >= 2:  # OptimizerV2: [optimizer/]variable/slot
        candidates += [(parts[-1], "/".join(parts[:-1])), (parts[-1], "/".join(parts[1:-1]))]
        # tf.keras 2.11+: [optimizer/]slot/variable
        candidates += [(parts[0], "/".join(parts[1:])), (parts[1] if len(parts) > 2 else "",
                                                         "/".join(parts[2:]))]
    for slot, variable in candidates:
        if slot in slots and variable in names:
            return slots[slot], names[variable]
    return None


def restore_keras2_optimizer(model: Model, datasets: list[tuple[str, Any]],
                             names: dict[str, tuple[int, str]], where: str) -> bool:
    """Set the compiled model's optimizer state from Keras 2's optimizer weights, matched
    by name to the model's variables (either layout Keras 2 wrote). A weight of the wrong
    shape or kind is refused (CornuFileError) before any is read; weights for another
    optimizer, or missing ones, leave a fresh state with a warning (as Keras 2 did)."""
    from cornu.saving.keras_h5 import (
        OPTIMIZER_VARIABLES,
        _check_dataset,
        _get,
        _rule_path,
        _variables,
        install_optimizer_state,
    )

    def afresh(why: str) -> bool:
        warnings.warn(f"{where}: Keras 2's optimizer weights {why}; the "
                      f"{type(model.optimizer).__name__} state starts afresh.", stacklevel=4)
        return False

    kind = type(model.optimizer).__name__
    slots = KERAS2_SLOTS.get(kind)
    wanted = _variables(model)
    if slots is None or wanted is None:
        return afresh(f"are not read for {kind} (cornu reads Adam, SGD, RMSprop and "
                      "Adagrad)")
    signs = {field: sign for block in OPTIMIZER_VARIABLES[kind] for field, sign in block.fields}
    abstract = model.weight_trees()[0]
    found: dict[Any, tuple[str, Any]] = {}
    for path, ds in datasets:
        name = path.removeprefix("optimizer_weights/")
        parsed = _parse(name, slots, names)
        if parsed is None:
            return afresh(f"name '{name}', which is no variable of this model's {kind}")
        field, at = parsed
        key = (field, at)
        if key in found:
            raise CornuFileError(f"{where}: optimizer weights '{found[key][0]}' and '{name}' "
                                 "are the same variable. The file is damaged.")
        shape = () if at is None else tuple(abstract[at[0]][at[1]].shape)
        _check_dataset(ds, path, where, shape, None, "optimizer variable")
        if ds.dtype.kind not in "fiu":
            raise CornuFileError(f"{where}: dataset '{path}' has dtype {ds.dtype}; "
                                 "optimizer variables are numbers.")
        found[key] = (name, ds)
    needed = {(field, (slot.index, slot.key)) for field, _, slot in wanted if slot is not None}
    if any(slot is None for _, _, slot in wanted) or ("count", None) not in found:
        return afresh("lack the step count or a variable")
    missing = needed - set(found)
    extra = {k for k in found if k[1] is not None} - needed
    if missing or extra:
        return afresh(f"hold {len(found)} variables where this {kind} (with its settings) "
                      f"has {len(needed) + 1}")

    def read(key: Any) -> np.ndarray:
        name, ds = found[key]
        try:
            return np.asarray(ds[()])
        except (OSError, ValueError, RuntimeError) as exc:
            raise CornuFileError(f"{where}: optimizer weight '{name}' cannot be read ({exc})."
                                 ) from exc

    count = read(("count", None))
    if count.dtype.kind == "f" and (not np.isfinite(count) or count != np.floor(count)):
        raise CornuFileError(f"{where}: the optimizer's step count is {count}, not a whole "
                             "number. The file is damaged.")
    if not 0 <= float(count) < 2**31:
        raise CornuFileError(f"{where}: the optimizer's step count is {count}; it must be "
                             f"between 0 and {2**31 - 1}.")
    engine = model._require_compiled("load_model")
    state = jax.device_get(engine.tx.init(model.train_state.params))
    count = count.astype(np.asarray(state.count).dtype)
    hyper = dict(state.hyperparams)
    if ("learning_rate", None) in found and "learning_rate" in hyper:
        rate = read(("learning_rate", None))
        hyper["learning_rate"] = rate.astype(np.asarray(hyper["learning_rate"]).dtype)
    state = state._replace(count=count, hyperparams=hyper)
    prefix = _rule_path(model)
    rule = _get(state.inner_state, prefix) if prefix else state.inner_state
    trees: dict[str, Any] = {}
    for field, (index, key) in sorted(needed):
        value = read((field, (index, key)))
        tree = trees.setdefault(field, [dict(d) for d in _get(rule, field)])
        want = np.asarray(tree[index][key]).dtype
        tree[index][key] = (value * np.asarray(signs[field], value.dtype)).astype(want)
    install_optimizer_state(model, state, prefix, rule, trees, count)
    return True


# ------------------------------------------------------------------ writing


def _compact(value: Any, what: str) -> bytes:
    """JSON without indentation (HDF5 attributes are small), checked as jsonio.dumps."""
    import json

    jsonio.dumps(value, what)
    return json.dumps(value, allow_nan=False, ensure_ascii=False).encode("utf-8")


def legacy_h5_bytes(model: Model) -> bytes:
    """`model` as a legacy whole-model .h5 file, as Keras 3's `model.save("m.h5")` writes
    it: model_config (Keras 3's spelling), training_config, model_weights/ and, when the
    optimizer is described in keras_h5.OPTIMIZER_VARIABLES, optimizer_weights/."""
    from cornu.saving.keras_config import keras_config
    from cornu.saving.keras_format import KERAS_FORMAT_VERSION
    from cornu.saving.keras_h5 import optimizer_variables

    h5py = _h5py()
    config = keras_config(model)
    compile_config = config.pop("compile_config", None) or None
    slots = dict(_legacy_slots(model))
    params, state = jax.device_get(model.weight_trees())
    trees = {"params": params, "state": state}
    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as f:
        f.attrs["model_config"] = _compact(
            {"class_name": config["class_name"], "config": config["config"]},
            "the model config")
        f.attrs["keras_version"] = KERAS_FORMAT_VERSION.encode()
        f.attrs["backend"] = b"jax"
        if compile_config is not None:
            training = {k: v for k, v in compile_config.items() if k != "optimizer"}
            optimizer = compile_config["optimizer"]
            training["optimizer_config"] = {"class_name": optimizer["class_name"],
                                            "config": optimizer["config"]}
            f.attrs["training_config"] = _compact(training, "the compile settings")
        group = f.create_group("model_weights")
        group.attrs["layer_names"] = [layer.name.encode() for layer in model.layers]
        group.attrs["backend"] = b"jax"
        group.attrs["keras_version"] = KERAS_FORMAT_VERSION.encode()
        for i, layer in enumerate(model.layers):
            layer_group = group.create_group(layer.name)
            names = [f"{layer.name}/{slot.key}" for slot in slots.get(i, [])]
            layer_group.attrs["weight_names"] = [n.encode() for n in names]
            for name, slot in zip(names, slots.get(i, []), strict=True):
                layer_group.create_dataset(
                    name, data=np.asarray(trees[slot.kind][slot.index][slot.key]))
        optimizer_state = optimizer_variables(model) if compile_config is not None else None
        if optimizer_state is not None:
            values, name = optimizer_state
            opt = f.create_group("optimizer_weights")
            names = [f"{name}/{n}" for n in range(len(values))]
            opt.attrs["weight_names"] = [n.encode() for n in names]
            for n, value in zip(names, values, strict=True):
                opt.create_dataset(n, data=value)
    return buffer.getvalue()


def write_legacy_h5(model: Model, path: Any, overwrite: bool) -> None:
    from cornu.saving import archive

    require_graph_model(model, "save")
    data = legacy_h5_bytes(model)
    archive.atomic_write(path, lambda fp: fp.write(data), overwrite=overwrite)
