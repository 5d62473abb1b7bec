"""The objects a saved config may name besides cornu's own: Keras' global custom objects
(filled by `register_keras_serializable`) and `custom_object_scope`.

This module imports nothing of cornu, so activations, losses and layers can resolve a
name through it. Nothing is ever imported by a name read from a file: a name resolves
only to an object a user put here (or passed as custom_objects).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

__all__ = [
    "GLOBAL_CUSTOM_NAMES", "GLOBAL_CUSTOM_OBJECTS", "CustomObjectScope", "custom_object_scope",
    "get_custom_objects", "get_registered_name", "get_registered_object", "lookup",
    "registered_key", "scope_objects",
]

#: registered name ('package>name') -> class or function; `get_custom_objects()` is it
GLOBAL_CUSTOM_OBJECTS: dict[str, Any] = {}
#: class or function -> its registered name
GLOBAL_CUSTOM_NAMES: dict[Any, str] = {}

_local = threading.local()


def _scopes() -> list[dict[str, Any]]:
    stack = getattr(_local, "stack", None)
    if stack is None:
        stack = _local.stack = []
    return stack


def scope_objects() -> dict[str, Any]:
    """The objects of the active `custom_object_scope`s (inner ones win)."""
    merged: dict[str, Any] = {}
    for objects in _scopes():
        merged.update(objects)
    return merged


class CustomObjectScope:
    """Keras' `custom_object_scope`: within it, `load_model`, `model_from_json`,
    `from_config` and `deserialize_keras_object` find these objects by name.

        with cornu.saving.custom_object_scope({"MyLayer": MyLayer}):
            model = cornu.saving.load_model("model.cornu")

    Scopes nest; an inner scope adds to the outer ones (Keras 3 replaces them). The
    objects are not added to `get_custom_objects()`.
    """

    def __init__(self, custom_objects: Mapping[str, Any] | None = None,
                 *more: Mapping[str, Any]) -> None:
        merged: dict[str, Any] = {}
        for objects in (custom_objects, *more):
            if objects is None:
                continue
            if not isinstance(objects, Mapping) or not all(isinstance(k, str) for k in objects):
                raise TypeError("custom_object_scope takes a dict {'Name': object}. "
                                f"Received: {objects!r}")
            merged.update(objects)
        self.custom_objects = merged

    def __enter__(self) -> CustomObjectScope:
        _scopes().append(dict(self.custom_objects))
        return self

    def __exit__(self, *exc: Any) -> None:
        _scopes().pop()


custom_object_scope = CustomObjectScope


def get_custom_objects() -> dict[str, Any]:
    """The live global dict of registered objects (registered name -> object), as Keras'.
    Objects put in it are found by name when loading, like registered ones."""
    return GLOBAL_CUSTOM_OBJECTS


def registered_key(obj: Any) -> str | None:
    """The name `obj` was registered under, or None (also for objects only put into
    `get_custom_objects()` by hand: then the key they were put under)."""
    try:
        name = GLOBAL_CUSTOM_NAMES.get(obj)
    except TypeError:  # unhashable
        return None
    if name is not None and GLOBAL_CUSTOM_OBJECTS.get(name) is obj:
        return name
    for key, known in GLOBAL_CUSTOM_OBJECTS.items():
        if known is obj:
            return key
    return None


def get_registered_name(obj: Any) -> str:
    """The name `obj` was registered under, else its `__name__` (Keras' behaviour)."""
    key = registered_key(obj)
    if key is not None:
        return key
    return obj.__name__


def get_registered_object(name: str, custom_objects: Mapping[str, Any] | None = None,
                          module_objects: Mapping[str, Any] | None = None) -> Any:
    """The object registered or in scope as `name`, else the one in `custom_objects`,
    else in `module_objects`, else None (Keras' order)."""
    scoped = scope_objects()
    if name in scoped:
        return scoped[name]
    if name in GLOBAL_CUSTOM_OBJECTS:
        return GLOBAL_CUSTOM_OBJECTS[name]
    if custom_objects and name in custom_objects:
        return custom_objects[name]
    if module_objects and name in module_objects:
        return module_objects[name]
    return None


def lookup(names: Any, custom_objects: Mapping[str, Any] | None = None) -> Any:
    """The object a file names, or None. `names` is one name or several (the registered
    name first, then the class or function name). custom_objects passed to the call come
    first, then the active scopes, then the registered objects (Keras' order): in each,
    every name as it is, then the part after 'package>'. Only objects users provided
    are found."""
    wanted = [n for n in (names if isinstance(names, list | tuple) else [names])
              if isinstance(n, str) and n]
    keys = [*wanted, *(n.split(">")[-1] for n in wanted if ">" in n)]
    for table in (dict(custom_objects or {}), scope_objects(), GLOBAL_CUSTOM_OBJECTS):
        for key in keys:
            if key in table:
                return table[key]
    return None
