"""Keras 3's config.json and cornu's model configs, each into the other.

Writing: the model and every layer as {"module", "class_name", "config",
"registered_name"}, a Sequential model's InputLayer, a functional model's calls as
"inbound_nodes" of `__keras_tensor__` references, and compile_config. Reading: Keras'
entries in the form `registry.plan_model` builds, so only known classes are made:
cornu's layers, registered ones and custom_objects. Lambda layers and unknown classes are
refused by name, and so is any setting a cornu layer does not have (settings at Keras'
neutral values are dropped).
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from cornu.layers.op_layer import OpLayer
from cornu.saving import registry
from cornu.saving.errors import CornuFileError
from cornu.saving.keras_ops import _collect_refs, cornu_op_entry, is_keras_op, keras_op_entry

if TYPE_CHECKING:
    from cornu.layers.base import Layer
    from cornu.models.model import Model

__all__ = ["cornu_compile", "cornu_model", "is_graph_model", "keras_config",
           "require_graph_model"]

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
_KERAS_COMPILE_EXTRAS = {"run_eagerly": (False,),
                         "steps_per_execution": (1,), "jit_compile": (True, False, "auto"),
                         "auto_scale_loss": (True, False)}


def is_graph_model(layer: Any) -> bool:
    """Sequential or Functional itself (Keras' format holds no subclass of them)."""
    from cornu.models.functional import Functional
    from cornu.models.sequential import Sequential

    return type(layer) in (Functional, Sequential)


def require_graph_model(model: Model, action: str) -> None:
    """Refuse a model that is, or holds, a subclass of Sequential or of a functional
    model (Keras records such a class with a graph config that cornu does not rebuild
    yet). Subclassed models (of Model) are written and read."""
    from cornu.models.functional import Functional
    from cornu.models.sequential import Sequential

    for layer in model._flatten_layers(include_self=True):
        if isinstance(layer, Functional | Sequential) and not is_graph_model(layer):
            raise CornuFileError(
                f"Cannot {action} '{layer.name}' ({type(layer).__name__}) in Keras' format: "
                "it is a subclass of Sequential or of a functional model, which cornu does "
                "not write or read as .keras yet. Save it as .cornu, or its weights with "
                "save_weights().")


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
#: Keras layers whose constructor takes no `trainable` (Keras 3.15 writes none for them)
_NO_TRAINABLE = frozenset({"SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D"})


def _keras_layer(entry: dict[str, Any], layer: Layer) -> dict[str, Any]:
    config = dict(entry["config"])
    config.pop("input_shape", None)
    for key, value in list(config.items()):
        for suffix, module in _OBJECT_MODULES.items():
            if key.endswith(suffix):
                config[key] = _keras_object(value, module)
    trainable = {"trainable": config.pop("trainable")} if "trainable" in config else {}
    if entry["class_name"] in _NO_TRAINABLE and trainable.get("trainable", True):
        trainable = {}
    config = {"name": config.pop("name"), **trainable, "dtype": _keras_dtype(config), **config}
    out: dict[str, Any] = {"module": entry.get("module", "keras.layers"),
                           "class_name": entry["class_name"], "config": config,
                           "registered_name": entry.get("registered_name")}
    custom = registry.custom_build_config(layer)
    shapes = layer.input_shape if layer.built and not is_graph_model(layer) else None
    names = _BUILD_SHAPE_NAMES.get(entry["class_name"])
    if custom is not None:
        out["build_config"] = custom
    elif shapes is not None and names is not None and isinstance(shapes, list):
        out["build_config"] = {"shapes_dict": dict(zip(
            names, registry._shapes_config(shapes), strict=False))}
    elif shapes is not None:
        out["build_config"] = {"input_shape": registry._shapes_config(shapes)}
    return out


#: Keras layers built from several shapes (build_config's shapes_dict, in build's order)
_BUILD_SHAPE_NAMES = {"MultiHeadAttention": ("query_shape", "value_shape", "key_shape")}


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
        layers = [_input_entry(f"{model.name}_input", shape,
                               config.get("input_dtype", "float32"))]
        for sub, layer in zip(config["layers"], model.layers, strict=True):
            layers.append(_keras_model(sub, layer) if is_graph_model(layer)
                          else _keras_layer(sub, layer))
        return {"module": "keras", "class_name": "Sequential",
                "config": {"name": config["name"], "trainable": model.trainable,
                           "dtype": _FLOAT, "layers": layers,
                           "build_input_shape": [None, *shape]},
                "registered_name": None, "build_config": {"input_shape": [None, *shape]}}
    by_name = {layer.name: layer for layer in model.layers}
    layers = []
    for sub, layer in zip(config["layers"], model.layers, strict=True):
        if isinstance(layer, OpLayer):  # cornu.ops on symbolic tensors: Keras' op node
            layers.append(keras_op_entry(layer, layer._inbound_nodes[0], _keras_value))
            continue
        if sub["class_name"] == "InputLayer":
            c = sub["config"]
            made = _input_entry(c["name"], list(c["shape"]), c.get("dtype", "float32"))
            layers.append({**made, "name": c["name"], "inbound_nodes": []})
            continue
        made = (_keras_model(sub, layer) if is_graph_model(layer)
                else _keras_layer(sub, layer))
        if sub.get("inbound"):
            calls = [([[n, 0, 0] for n in sub["inbound"]], len(sub["inbound"]) == 1)]
        else:
            calls = [(refs, len(refs) == 1) for refs in sub["inbound_nodes"]]
        structures = sub.get("call_args") or [None] * len(calls)
        nodes = []
        for (refs, single), structure, node in zip(calls, structures, layer._inbound_nodes,
                                                   strict=False):
            if structure is not None:  # several arguments, keyword arguments: as called
                nodes.append({"args": _keras_value(list(node.args)),
                              "kwargs": {k: _keras_value(v) for k, v in node.kwargs.items()}})
                continue
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
                       "dtype": tensor.dtype if tensor.dtype == "string" else
                       str(np.dtype(tensor.dtype)), "keras_history": [name, node, index]}}


def _keras_value(value: Any) -> Any:
    """An argument of an op's call as Keras writes it: tensors as references."""
    from cornu.layers.keras_tensor import KerasTensor

    if isinstance(value, KerasTensor):
        layer, node, index = value._keras_history
        return {"class_name": "__keras_tensor__",
                "config": {"shape": [None if d is None else int(d) for d in value.shape],
                           "dtype": str(np.dtype(value.dtype)),
                           "keras_history": [layer.name, node, index]}}
    if isinstance(value, list | tuple):
        return [_keras_value(v) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, slice):
        return {"class_name": "__slice__", "config": {
            "start": _keras_value(value.start), "stop": _keras_value(value.stop),
            "step": _keras_value(value.step)}}
    if value is Ellipsis:
        return {"class_name": "__ellipsis__", "config": {}}
    raise CornuFileError(f"Cannot write an op's argument {value!r} (of type "
                         f"{type(value).__name__}) in Keras' format. Save as .cornu."[:500])


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
    weighted = config.pop("weighted_metrics", None)
    if isinstance(weighted, list):
        weighted = [_keras_object(m, "keras.metrics") for m in weighted]
    return {"optimizer": optimizer, "loss": loss, "loss_weights": config.pop("loss_weights",
                                                                             None),
            "metrics": metrics, "weighted_metrics": weighted, "run_eagerly": False,
            "steps_per_execution": 1, "jit_compile": True}


def _keras_subclassed(entry: dict[str, Any]) -> dict[str, Any]:
    """A subclassed model's entry (registry.model_entry) in Keras' form: its get_config()
    with the dtype as Keras' policy (added where the config holds the base settings, as
    Keras' Layer.get_config does), and the build_config of its input shapes."""
    config = dict(entry["config"])
    if "dtype" in config and isinstance(config["dtype"], str) or "trainable" in config:
        config["dtype"] = _keras_dtype(config)
    out = {"module": entry.get("module"), "class_name": entry["class_name"], "config": config,
           "registered_name": entry.get("registered_name")}
    if "build_config" in entry:
        out["build_config"] = entry["build_config"]
    return out


def keras_config(model: Model) -> dict[str, Any]:
    """config.json of `model` in Keras' form."""
    require_graph_model(model, "save")
    entry = registry.model_entry(model)
    out = (_keras_model(entry, model) if is_graph_model(model)
           else _keras_subclassed(entry))
    out["compile_config"] = _keras_compile(model.get_compile_config())
    return out


# ------------------------------------------------------------ config: Keras -> cornu


def _strip(value: Any) -> Any:
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
            config[key] = _cornu_layer(value, custom_objects, f"{where}, {key}") \
                if _is_layer_entry(value) else _strip(value)
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
               if isinstance(entry.get("registered_name"), str) and not builtin else {}),
            **({"build_config": entry["build_config"]}  # for a build_from_config of its own
               if not builtin and isinstance(entry.get("build_config"), dict) else {})}


def _is_layer_entry(value: Any) -> bool:
    """A layer held in a layer's config (Bidirectional's, TimeDistributed's `layer`)."""
    return isinstance(value, dict) and isinstance(value.get("config"), dict) and \
        isinstance(value.get("class_name"), str) and \
        str(value.get("module", "")).startswith(("keras.layers", "keras.src.layers"))


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
        if is_keras_op(entry):  # an operation (a + b, ops.concatenate): an OpLayer call
            layers.append(cornu_op_entry(entry, here))
            continue
        made = _cornu_layer(entry, custom_objects, here)
        nodes = entry.get("inbound_nodes") if isinstance(entry, dict) else None
        if not isinstance(nodes, list) or not nodes:
            raise CornuFileError(f"{here}: lists no calls (inbound_nodes).")
        calls, structures = [], []
        for node in nodes:
            kwargs = node.get("kwargs") or {} if isinstance(node, dict) else None
            if not isinstance(node, dict) or not isinstance(node.get("args"), list) \
                    or not node["args"] or not isinstance(kwargs, dict):
                raise CornuFileError(f"{here}: each call holds its arguments (args, a list "
                                     "of one or more) and kwargs (a dict), as Keras writes "
                                     "them.")
            # Keras records training=False from the symbolic call (fit and predict pass
            # their own flag over it, as cornu's graph does) and the arguments left None
            kwargs = {k: v for k, v in kwargs.items()
                      if v is not None and not (k == "training" and v is False)}
            if len(node["args"]) > 1 or kwargs:  # several arguments: call_args, as cornu's
                refs: list[list] = []
                _collect_refs(node["args"], refs, 0)
                _collect_refs(kwargs, refs, 0)
                calls.append(refs)
                structures.append({"args": node["args"], "kwargs": kwargs})
                continue
            refs, single = _refs(node["args"][0], here)
            if not single and len(refs) == 1:
                raise CornuFileError(f"{here}: a call on a list of one tensor is not "
                                     "supported.")
            calls.append(refs)
            structures.append(None)
        layers.append({**made, "inbound_nodes": calls,
                       **({"call_args": structures} if any(structures) else {})})

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
        return _cornu_subclassed(entry, custom_objects, where)
    entries = config.get("layers")
    if not isinstance(entries, list) or not entries:
        raise CornuFileError(f"{where}: a Sequential config needs a list of layers.")
    shape = None
    string_input = False
    if isinstance(entries[0], dict) and entries[0].get("class_name") == "InputLayer":
        c = entries[0].get("config") if isinstance(entries[0].get("config"), dict) else {}
        shape = _input_config(c, f"{where}, layer 0")["shape"]
        string_input = c.get("dtype") == "string"
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
            "config": {"name": config.get("name"), "input_shape": shape, "layers": layers,
                       **({"input_dtype": "string"} if string_input else {})}}


def _cornu_subclassed(entry: dict[str, Any], custom_objects: Mapping[str, Any] | None,
                      where: str) -> dict[str, Any]:
    """A subclassed model's Keras entry, for `registry.build_model`: its class must be
    registered, in custom_objects or in the active custom_object_scope (the module the
    file names is never imported); its config's dtype policy becomes a dtype name."""
    class_name, module = entry.get("class_name"), entry.get("module")
    names = [n for n in (entry.get("registered_name"), class_name) if isinstance(n, str) and n]
    if not registry._is_model_class(registry.find_object(names, custom_objects)):
        raise CornuFileError(
            f"{where} holds a model of class {class_name!r} (module {module!r}), which is "
            "neither Sequential nor Functional nor a registered model class nor in "
            f"custom_objects; its code is not in the file. {registry._fix(class_name, 'model')}")
    config = dict(entry["config"])
    if "dtype" in config:
        dtype = _dtype_name(config.pop("dtype"), where)
        if dtype is not None:
            config["dtype"] = dtype
    out = {"module": module, "class_name": class_name, "config": config,
           "registered_name": entry.get("registered_name")}
    if "build_config" in entry:
        out["build_config"] = entry["build_config"]
    return out


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
    weighted = out.pop("weighted_metrics", None)
    if weighted:
        out["weighted_metrics"] = [_strip(m) for m in weighted] \
            if isinstance(weighted, list) else weighted
    if out.get("loss_weights") is None:
        out.pop("loss_weights", None)
    return out

