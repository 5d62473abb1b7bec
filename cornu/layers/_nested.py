"""Layers inside layers' configs (RNN's cell, Bidirectional's and TimeDistributed's layer),
written as Keras writes them: {"module", "class_name", "config", "registered_name"}.

Reading such a config builds only cornu's own layers and the classes registered, passed as
custom_objects (load_model enters them as a scope) or in an active custom_object_scope;
nothing is imported by a name read from a config.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cornu import _registration
from cornu.layers.base import Layer


def _builtin() -> dict[str, type]:
    import cornu.layers

    return {name: getattr(cornu.layers, name) for name in cornu.layers.__all__
            if isinstance(getattr(cornu.layers, name), type)}


def serialize(layer: Any) -> dict[str, Any]:
    """Keras' serialized form of a layer (or of a user's cell that has get_config)."""
    cls = type(layer)
    config = layer.get_config()
    if _builtin().get(cls.__name__) is cls:
        return {"module": "keras.layers", "class_name": cls.__name__, "config": config,
                "registered_name": None}
    key = _registration.registered_key(cls)
    return {"module": cls.__module__, "class_name": cls.__name__, "config": config,
            "registered_name": key or cls.__name__}


def deserialize(entry: Any, argument: str) -> Any:
    """The layer a serialized entry describes, or a ValueError naming the class and the fix."""
    if isinstance(entry, Layer):
        return entry
    if not isinstance(entry, Mapping) or not isinstance(entry.get("class_name"), str) \
            or not isinstance(entry.get("config"), Mapping):
        raise ValueError(f"{argument} must be a layer or its serialized config "
                         f"{{'class_name': ..., 'config': {{...}}}}. Received: "
                         f"{argument}={entry!r}"[:2000])
    class_name, module = entry["class_name"], entry.get("module")
    names = [n for n in (entry.get("registered_name"), class_name) if isinstance(n, str) and n]
    cls = _registration.lookup(names)
    if not (isinstance(cls, type) and hasattr(cls, "from_config")):
        own = module is None or isinstance(module, str) and module.split(".")[0] in (
            "keras", "cornu")
        cls = _builtin().get(class_name) if own else None
    if not (isinstance(cls, type) and hasattr(cls, "from_config")):
        raise ValueError(
            f"{argument} names an unknown class {class_name!r} (module {module!r}): it is "
            f"neither one of cornu's layers nor registered nor in custom_objects. Pass "
            f"custom_objects={{'{class_name}': {class_name}}} to load_model (or load within "
            "cornu.saving.custom_object_scope), or decorate the class with "
            "@cornu.saving.register_keras_serializable().")
    return cls.from_config(dict(entry["config"]))


def copy(layer: Layer, **changes: Any) -> Layer:
    """A new layer made from `layer`'s config with some entries changed (no weights). The
    classes of the layers it holds (a user's cell) stand for themselves while it is made."""
    own: dict[str, Any] = {}
    for inner in layer._flatten_layers():
        cls = type(inner)
        for key in (_registration.registered_key(cls), cls.__name__):
            if key:
                own.setdefault(key, cls)
    with _registration.custom_object_scope(own):
        return type(layer).from_config({**layer.get_config(), **changes})
