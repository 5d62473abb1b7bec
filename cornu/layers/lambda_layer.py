"""Lambda: a function of the inputs as a layer (`Lambda(lambda x: x / 255.0)`), run in
this process like any call.

Saving records the function by its name only, never its code: loading a model that holds
one finds the function among those registered with
`@cornu.saving.register_keras_serializable()` or passed in `custom_objects` (a lambda's
name is "<lambda>": pass it as `custom_objects={"<lambda>": fn}`, or better, define the
function with `def`); otherwise the load is refused with an error naming it.
"""

from __future__ import annotations

import inspect
from typing import Any

from cornu import _registration
from cornu.layers.base import Layer


def _function_config(fn: Any) -> dict[str, Any]:
    name = _registration.registered_key(fn) or getattr(fn, "__name__", None)
    if not isinstance(name, str) or not name:
        raise ValueError(f"Lambda's function must be a function with a name. Received: "
                         f"function={fn!r}")
    return {"module": getattr(fn, "__module__", None) or "builtins", "class_name": "function",
            "config": name, "registered_name": "function"}


def _function_from_config(spec: Any) -> Any:
    if callable(spec):
        return spec
    name = spec.get("config") if isinstance(spec, dict) else spec
    found = _registration.lookup(name) if isinstance(name, str) else None
    if callable(found) and not isinstance(found, type):
        return found
    module = spec.get("module") if isinstance(spec, dict) else None
    if isinstance(module, str) and module.split(".")[0] in ("cornu", "keras"):
        from cornu import ops  # cornu's own ops by name (a table, not an import by name)

        if isinstance(name, str) and name in ops.__all__:
            return getattr(ops, name)
    raise ValueError(
        f"The Lambda layer's function {name!r} is not known: a saved Lambda holds only the "
        f"function's name, never its code. Pass custom_objects={{{name!r}: your_function}} "
        "to load_model (or use cornu.saving.custom_object_scope), or register the function "
        "with @cornu.saving.register_keras_serializable().")


class Lambda(Layer):
    def __init__(self, function: Any, output_shape: Any = None, mask: Any = None,
                 arguments: dict[str, Any] | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        function = _function_from_config(function)
        if not callable(function):
            raise ValueError(f"function must be callable. Received: function={function!r}")
        if arguments is not None and not isinstance(arguments, dict):
            raise ValueError(f"arguments must be a dict of keyword arguments for the "
                             f"function. Received: arguments={arguments!r}")
        self.function = function
        self.arguments = dict(arguments or {})
        self._output_shape = output_shape
        self._mask = mask
        # as Keras: only a Lambda given mask= (a mask, or a function of (inputs, mask))
        # hands a mask on; others drop it, with Keras' warning
        self.supports_masking = mask is not None
        params = inspect.signature(function).parameters if _has_signature(function) else {}
        self._passes = {k for k in ("mask", "training") if k in params}

    def call(self, inputs: Any, mask: Any = None, training: Any = None) -> Any:
        kwargs = dict(self.arguments)
        if "mask" in self._passes:
            kwargs["mask"] = mask
        if "training" in self._passes:
            kwargs["training"] = training
        return self.function(inputs, **kwargs)

    def compute_mask(self, inputs: Any, previous_mask: Any = None) -> Any:
        if callable(self._mask):
            return self._mask(inputs, previous_mask)
        return self._mask

    def get_config(self) -> dict[str, Any]:
        shape = self._output_shape
        if callable(shape):
            raise ValueError("A Lambda whose output_shape is a function cannot be saved; give "
                             "output_shape as a tuple, or leave it out (it is found by "
                             "tracing).")
        return {**Layer.get_config(self), "function": _function_config(self.function),
                "output_shape": None if shape is None else list(shape),
                "arguments": self.arguments}


def _has_signature(fn: Any) -> bool:
    try:
        inspect.signature(fn)
    except (TypeError, ValueError):
        return False
    return True
