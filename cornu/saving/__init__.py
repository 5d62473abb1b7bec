"""Saving and loading: one `.cornu` file per model, or the weights alone.

    model.save("model.cornu")                      # architecture, compile, weights, optimizer
    model = cornu.saving.load_model("model.cornu")  # compile=False: without compile settings
    model.save_weights("model.weights.safetensors")
    model.load_weights("model.weights.safetensors")

Loading never unpickles, evaluates or imports anything named in a file: only cornu's own
classes and functions, those registered with `@register_keras_serializable` (or
`@register_layer`), and those passed as `custom_objects` (or in a `custom_object_scope`)
are built, and every size, name, shape and dtype is checked first. A custom class or
function that is none of these is saved by name, as Keras does; loading it is refused,
naming it. Every refusal is a `CornuFileError`.
"""

from cornu._registration import (
    CustomObjectScope,
    custom_object_scope,
    get_custom_objects,
    get_registered_name,
    get_registered_object,
)
from cornu.saving import limits
from cornu.saving.api import FORMAT_VERSION, load_model, load_weights, save_model, save_weights
from cornu.saving.errors import CornuFileError
from cornu.saving.registry import register_keras_serializable, register_layer
from cornu.saving.serialization import deserialize_keras_object, serialize_keras_object

__all__ = [
    "FORMAT_VERSION",
    "CornuFileError",
    "CustomObjectScope",
    "custom_object_scope",
    "deserialize_keras_object",
    "get_custom_objects",
    "get_registered_name",
    "get_registered_object",
    "limits",
    "load_model",
    "load_weights",
    "register_keras_serializable",
    "register_layer",
    "save_model",
    "save_weights",
    "serialize_keras_object",
]
