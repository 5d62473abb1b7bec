"""Activation functions by their Keras 3 names, as pure `jax.numpy` functions."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import jax
import jax.numpy as jnp

from cornu import _registration, variables
from cornu._names import lookup

Array = jax.Array
Activation = Callable[[Array], Array]

__all__ = [
    "elu",
    "exponential",
    "gelu",
    "get",
    "hard_sigmoid",
    "leaky_relu",
    "linear",
    "relu",
    "selu",
    "serialize",
    "sigmoid",
    "silu",
    "softmax",
    "softplus",
    "softsign",
    "swish",
    "tanh",
]


def linear(x: Array) -> Array:
    return x


def sigmoid(x: Array) -> Array:
    return variables.record_logits(jax.nn.sigmoid(x), x, "sigmoid")


def hard_sigmoid(x: Array) -> Array:
    """Keras 3's piecewise-linear sigmoid: relu6(x + 3) / 6."""
    return jnp.clip(x / 6.0 + 0.5, 0.0, 1.0)


def tanh(x: Array) -> Array:
    return jnp.tanh(x)


def relu(x: Array) -> Array:
    return jax.nn.relu(x)


def elu(x: Array, alpha: float = 1.0) -> Array:
    return jnp.where(x > 0, x, alpha * jnp.expm1(jnp.minimum(x, 0.0)))


def selu(x: Array) -> Array:
    return jax.nn.selu(x)


def softplus(x: Array) -> Array:
    return jax.nn.softplus(x)


def softsign(x: Array) -> Array:
    return x / (1.0 + jnp.abs(x))


def softmax(x: Array, axis: int = -1) -> Array:
    y = jax.nn.softmax(x, axis=axis)
    return variables.record_logits(y, x, "softmax") if axis in (-1, x.ndim - 1) else y


def silu(x: Array) -> Array:
    return x * jax.nn.sigmoid(x)


swish = silu


def gelu(x: Array, approximate: bool = False) -> Array:
    return jax.nn.gelu(x, approximate=approximate)


def leaky_relu(x: Array, negative_slope: float = 0.2) -> Array:
    return jnp.where(x >= 0, x, negative_slope * x)


def exponential(x: Array) -> Array:
    return jnp.exp(x)


_TABLE: dict[str, Activation] = {
    "linear": linear,
    "sigmoid": sigmoid,
    "hard_sigmoid": hard_sigmoid,
    "tanh": tanh,
    "relu": relu,
    "elu": elu,
    "selu": selu,
    "softplus": softplus,
    "softsign": softsign,
    "softmax": softmax,
    "silu": silu,
    "swish": swish,
    "gelu": gelu,
    "leaky_relu": leaky_relu,
    "exponential": exponential,
}
_NAMES = {fn: name for name, fn in reversed(list(_TABLE.items()))}


def get(identifier: str | Activation | Mapping[str, Any] | None,
        argument: str = "activation") -> Activation:
    """An activation by name (or None for linear), a function, or a saved config: Keras'
    {"class_name": "function", "config": name} form. A name that is not one of cornu's
    activations is found only among the functions registered with
    `@cornu.saving.register_keras_serializable()` or passed as custom_objects (or in a
    `custom_object_scope`): nothing is imported by a name read from a file."""
    if identifier is None:
        return linear
    if isinstance(identifier, Mapping):
        return _from_config(identifier, argument)
    if callable(identifier) and not isinstance(identifier, str):
        return identifier
    if isinstance(identifier, str) and identifier not in _TABLE:
        found = _registration.lookup(identifier)
        if callable(found) and not isinstance(found, type):
            return found
    try:
        return lookup("activation", argument, identifier, _TABLE)
    except ValueError as exc:
        raise ValueError(f"{exc} {_unknown_hint(identifier)}") from None


def _unknown_hint(name: Any) -> str:
    short = name.split(">")[-1] if isinstance(name, str) else "fn"
    short = short if short.isidentifier() else "fn"
    return (f"A custom activation function must be known to load it: pass "
            f"custom_objects={{'{short}': {short}}} (or use cornu.saving."
            "custom_object_scope), or decorate the function with "
            "@cornu.saving.register_keras_serializable().")


def _from_config(config: Mapping[str, Any], argument: str) -> Activation:
    name = config.get("config")
    if config.get("class_name") != "function" or not isinstance(name, str) or not name:
        raise ValueError(f"An activation config is Keras' {{'class_name': 'function', "
                         f"'config': name}}. Received: {argument}={dict(config)!r}"[:2000])
    module = config.get("module")
    builtin = isinstance(module, str) and module.split(".")[0] in ("keras", "cornu")
    if not builtin:  # a user's function first, as Keras looks up custom objects first
        found = _registration.lookup(name)
        if callable(found) and not isinstance(found, type):
            return found
    if name in _TABLE:
        return _TABLE[name]
    raise ValueError(f"Unknown activation function {name!r} in {argument}: it is neither one of "
                     f"cornu's activations nor registered nor in custom_objects. "
                     f"{_unknown_hint(name)}")


def serialize(fn: Activation) -> str | dict[str, Any]:
    """What a saved config holds: the Keras name of a built-in activation; for another
    function, Keras' form {"module": "builtins", "class_name": "function", "config":
    its registered name (else its __name__), "registered_name": "function"} - loading it
    needs it registered or in custom_objects."""
    try:
        return _NAMES[fn]
    except (KeyError, TypeError):
        pass
    name = _registration.registered_key(fn)
    if name is None:
        name = getattr(fn, "__name__", None)
        if not isinstance(name, str) or not name.isidentifier():
            raise ValueError(
                f"Only named functions can be saved as activations (a lambda or a callable "
                f"object has no name to load it by). Received: activation={fn!r}. Define "
                "it with def, and decorate it with "
                "@cornu.saving.register_keras_serializable(), or use one of: "
                + ", ".join(sorted(_TABLE)))
    return {"module": "builtins", "class_name": "function", "config": name,
            "registered_name": "function"}
