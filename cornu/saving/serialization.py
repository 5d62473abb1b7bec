"""Keras' `serialize_keras_object` and `deserialize_keras_object`, over cornu's objects.

A config is Keras' dict {"module", "class_name", "config", "registered_name"} (plus
"build_config" for a built layer or model). Deserializing builds only cornu's own classes
and functions and those registered with `register_keras_serializable`, passed in
`custom_objects`, or in an active `custom_object_scope`; `module` is recorded for
Keras' sake but never imported.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cornu import _registration
from cornu.layers.base import Layer
from cornu.saving import registry
from cornu.saving.errors import CornuFileError

__all__ = ["deserialize_keras_object", "serialize_keras_object"]

_PLAIN = (str, int, float, bool)
_MAX_DEPTH = 64


def serialize_keras_object(obj: Any) -> Any:
    """The config of a cornu object (layer, model, loss, metric, optimizer, function), as
    Keras writes it; plain values, lists and dicts are kept, with objects inside them
    serialized."""
    import numpy as np

    from cornu import activations, losses, metrics, optimizers
    from cornu.models.model import Model

    if obj is None or isinstance(obj, _PLAIN):
        return obj
    if isinstance(obj, list | tuple):
        items = [serialize_keras_object(v) for v in obj]
        return tuple(items) if isinstance(obj, tuple) else items
    if isinstance(obj, dict):
        return {k: serialize_keras_object(v) for k, v in obj.items()}
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, Model):
        entry = registry.model_entry(obj)
        if "module" not in entry:
            entry = {"module": "keras", **entry, "registered_name": None}
        return entry
    if isinstance(obj, Layer):
        return _layer_config(obj)
    if isinstance(obj, losses.Loss):
        return losses.serialize(obj)
    if isinstance(obj, metrics.Metric):
        config = metrics.serialize(obj)
        builtin = type(obj).__name__ in metrics.__all__
        return {"module": "keras.metrics" if builtin else type(obj).__module__, **config,
                "registered_name": None if builtin else _registration.get_registered_name(
                    type(obj))}
    if isinstance(obj, optimizers.Optimizer):
        return optimizers.serialize(obj)
    if isinstance(obj, type):
        raise TypeError(f"serialize_keras_object takes an object, not a class. Received: {obj!r}")
    if callable(obj) and not hasattr(obj, "get_config"):
        config = activations.serialize(obj)
        if isinstance(config, str):  # one of cornu's activations
            return {"module": "keras.activations", "class_name": "function",
                    "config": config, "registered_name": config}
        return config
    if hasattr(obj, "get_config"):
        cls = type(obj)
        return {"module": cls.__module__, "class_name": cls.__name__,
                "config": serialize_keras_object(obj.get_config()),
                "registered_name": _registration.get_registered_name(cls)}
    raise TypeError(f"Cannot serialize {obj!r} (of type {type(obj).__name__}): a class must "
                    "implement get_config().")


def _layer_config(layer: Layer) -> dict[str, Any]:
    names = registry.class_entry(layer)
    config = {"module": names.get("module", "keras.layers"), "class_name": names["class_name"],
              "config": layer.get_config(), "registered_name": names.get("registered_name")}
    custom = registry.custom_build_config(layer)
    if custom is not None:
        config["build_config"] = custom
    elif layer.built and layer._build_shapes is not None:
        try:
            config["build_config"] = {"input_shape": registry._shapes_config(layer._build_shapes)}
        except CornuFileError:
            pass
    return config


def deserialize_keras_object(config: Any, custom_objects: Mapping[str, Any] | None = None,
                             safe_mode: bool = True, **kwargs: Any) -> Any:
    """The object a `serialize_keras_object` config describes (Keras' dict form).

    Only cornu's own classes and functions, registered ones, and those in `custom_objects`
    or the active `custom_object_scope` are made; anything else raises a ValueError that
    names the class and the fix. `safe_mode=False` is refused: cornu never runs code read
    from a config (a lambda) and never imports a module a config names."""
    if safe_mode is not True:
        raise ValueError("cornu has no unsafe deserialization: it never runs code from a "
                         "config. Received: safe_mode=False")
    if kwargs:
        raise TypeError(f"deserialize_keras_object got unexpected arguments: {sorted(kwargs)}")
    registry._check_custom(custom_objects)
    with _registration.custom_object_scope(dict(custom_objects or {})):
        return _deserialize(config, custom_objects, 0)


def _deserialize(config: Any, custom: Mapping[str, Any] | None, depth: int) -> Any:
    if depth > _MAX_DEPTH:
        raise ValueError("The config is nested too deeply to deserialize.")
    if config is None or isinstance(config, _PLAIN):
        if isinstance(config, str):
            found = _registration.lookup(config, custom)
            if found is not None:
                return found
        return config
    if isinstance(config, list | tuple):
        return type(config)(_deserialize(v, custom, depth + 1) for v in config)
    if not isinstance(config, Mapping):
        raise TypeError(f"Cannot deserialize a {type(config).__name__}: expected a dict "
                        "config. Received: {config!r}")
    if "class_name" not in config or "config" not in config:
        return {k: _deserialize(v, custom, depth + 1) for k, v in config.items()}
    class_name, inner = config["class_name"], config["config"]
    module, registered = config.get("module"), config.get("registered_name")
    if not isinstance(class_name, str):
        raise ValueError(f"class_name must be a string. Received: {class_name!r}")
    if class_name == "function":
        return _function(config, custom)
    if class_name.startswith("__") and class_name.endswith("__"):
        raise ValueError(f"Cannot deserialize {class_name}: cornu makes no lambdas, tensors "
                         "or other Python values from configs.")
    names = [n for n in (registered, class_name) if isinstance(n, str) and n]
    cls = _registration.lookup(names, custom)
    if cls is None and registry._own_module(module):
        cls = _builtin_class(class_name, module)
    if cls is None:
        described = repr(class_name) if not isinstance(module, str) else \
            f"{class_name!r} (module {module!r})"
        raise ValueError(
            f"Could not deserialize class {described}: it is neither one of cornu's classes "
            f"nor registered nor in custom_objects. {registry._fix(class_name, 'class')}")
    if not isinstance(cls, type):
        return cls  # an object passed in custom_objects stands for itself
    if not isinstance(inner, Mapping):
        raise ValueError(f"{class_name}: 'config' must be a dict. Received: {inner!r}"[:2000])
    if registry._is_model_class(cls) or cls.__name__ in ("Sequential", "Functional") and \
            issubclass(cls, Layer):
        return registry.build_model(dict(config), custom, "the config")
    try:
        obj = cls.from_config(dict(inner))
    except CornuFileError as exc:
        raise ValueError(str(exc)) from exc
    build = config.get("build_config")
    if isinstance(obj, Layer) and type(obj).build_from_config is not Layer.build_from_config:
        try:
            registry.rebuild(obj, config, class_name)
        except CornuFileError as exc:
            raise ValueError(str(exc)) from exc
    elif isinstance(obj, Layer) and isinstance(build, Mapping) and "input_shape" in build \
            and not obj.built:
        shapes = registry._shapes_from_config(build["input_shape"], class_name)
        obj.build(shapes)
        object.__setattr__(obj, "built", True)
    return obj


def _function(config: Mapping[str, Any], custom: Mapping[str, Any] | None) -> Any:
    from cornu import activations

    name = config.get("config")
    if not isinstance(name, str) or not name:
        raise ValueError(f"A function config names the function in 'config'. Received: "
                         f"{dict(config)!r}"[:2000])
    module = config.get("module")
    if not (isinstance(module, str) and module.split(".")[0] in ("keras", "cornu")):
        found = _registration.lookup(name, custom)
        if found is not None:
            return found
    if module in ("keras.losses", "cornu.losses"):
        from cornu import losses

        if name in losses.__all__ and callable(getattr(losses, name)):
            return getattr(losses, name)
    return activations.get(dict(config))


def _builtin_class(class_name: str, module: Any) -> type | None:
    """One of cornu's classes by its Keras name: layers, models, losses, metrics and
    optimizers (the `module`, when given as keras.<group>, says which)."""
    from cornu import metrics
    from cornu.losses.registry import CLASSES as LOSSES
    from cornu.optimizers.catalog import _CLASSES as OPTIMIZERS

    group = module.split(".")[1] if isinstance(module, str) and "." in module else None
    tables = {"layers": registry._builtin, "models": registry._model_classes,
              "losses": lambda: dict(LOSSES), "metrics": lambda: dict(metrics._CLASSES),
              "optimizers": lambda: dict(OPTIMIZERS)}
    for key, table in tables.items():
        if group in (None, key) or key == "models" and module in ("keras", "cornu"):
            cls = table().get(class_name)
            if isinstance(cls, type):
                return cls
    return None
