"""Saving and loading: one `.cornu` file per model, or the weights alone.

    model.save("model.cornu")                      # architecture, compile, weights, optimizer
    model = cornu.saving.load_model("model.cornu")  # compile=False: without compile settings
    model.save_weights("model.weights.safetensors")
    model.load_weights("model.weights.safetensors")

Loading never unpickles, evaluates or imports anything named in a file: only layers
exported by cornu.layers or registered with `@register_layer` are built, and every size,
name, shape and dtype is checked first. Every refusal is a `CornuFileError`.
"""

from cornu.saving import limits
from cornu.saving.api import FORMAT_VERSION, load_model, load_weights, save_model, save_weights
from cornu.saving.errors import CornuFileError
from cornu.saving.registry import register_keras_serializable, register_layer

__all__ = [
    "FORMAT_VERSION",
    "CornuFileError",
    "limits",
    "load_model",
    "load_weights",
    "register_keras_serializable",
    "register_layer",
    "save_model",
    "save_weights",
]
