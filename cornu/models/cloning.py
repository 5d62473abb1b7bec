"""clone_model and model_from_json: a model's architecture made again, with fresh weights."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from cornu.layers.base import Layer
from cornu.models.model import Model

__all__ = ["clone_model", "model_from_json"]


def _classes(model: Layer) -> dict[str, type]:
    """The classes of the model's layers (nested ones too), by the name a config records."""
    from cornu.saving import registry

    found: dict[str, type] = {}
    for layer in model._flatten_layers(include_self=False):
        found[type(layer).__name__] = type(layer)
        key = registry.registered_name(type(layer))
        if key is not None:
            found[key] = type(layer)
    return found


def clone_model(model: Model, input_tensors: Any = None, clone_function: Any = None,
                **kwargs: Any) -> Model:
    """A new model of the same architecture with fresh weights (Keras' clone_model)."""
    given = {"input_tensors": input_tensors, "clone_function": clone_function, **kwargs}
    unsupported = sorted(k for k, v in given.items() if v is not None)
    if unsupported:
        raise NotImplementedError(
            "clone_model takes the model only; input_tensors, clone_function and other "
            f"options are not supported. Received: {unsupported}")
    if type(model).__name__ not in ("Sequential", "Functional"):
        return type(model).from_config(model.get_config())
    return type(model).from_config(model.get_config(), custom_objects=_classes(model))


def model_from_json(json_string: str, custom_objects: Mapping[str, Any] | None = None) -> Model:
    """The model of `model.to_json()` with fresh weights. Only known classes (cornu's,
    registered ones, or those in custom_objects) are made; nothing is imported."""
    from cornu.saving import registry

    try:
        entry = json.loads(json_string)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"json_string is not JSON: {exc}") from None
    return registry.build_model(entry, custom_objects, "the JSON config")
