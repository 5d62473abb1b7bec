"""Losses from names, objects, functions and saved configs; configs from losses.

Nothing is imported by a name read from a config: only cornu's own losses, and the
classes and functions a caller passes in `custom_objects`, can be rebuilt.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any

from cornu._names import lookup
from cornu.losses import classes as C
from cornu.losses import functions as F
from cornu.losses.base import Loss, LossFunctionWrapper, function_config

__all__ = ["deserialize", "get", "serialize"]

_BUILTIN_CLASSES: tuple[type[Loss], ...] = (
    C.MeanSquaredError, C.MeanAbsoluteError, C.MeanAbsolutePercentageError,
    C.MeanSquaredLogarithmicError, C.CosineSimilarity, C.Huber, C.LogCosh, C.Hinge,
    C.SquaredHinge, C.CategoricalHinge, C.KLDivergence, C.Poisson, C.BinaryCrossentropy,
    C.BinaryFocalCrossentropy, C.CategoricalCrossentropy, C.CategoricalFocalCrossentropy,
    C.SparseCategoricalCrossentropy,
)
#: class name -> class, for {"class_name": ..., "config": ...}
CLASSES: dict[str, type[Loss]] = {
    **{cls.__name__: cls for cls in _BUILTIN_CLASSES}, "LossFunctionWrapper": LossFunctionWrapper}

#: each function's class (a function passed as the loss gets its class's logits and labels)
_CLASS_OF: tuple[tuple[Callable, type[Loss]], ...] = (
    (F.mean_squared_error, C.MeanSquaredError), (F.mean_absolute_error, C.MeanAbsoluteError),
    (F.mean_absolute_percentage_error, C.MeanAbsolutePercentageError),
    (F.mean_squared_logarithmic_error, C.MeanSquaredLogarithmicError),
    (F.cosine_similarity, C.CosineSimilarity), (F.huber, C.Huber), (F.log_cosh, C.LogCosh),
    (F.hinge, C.Hinge), (F.squared_hinge, C.SquaredHinge),
    (F.categorical_hinge, C.CategoricalHinge), (F.kl_divergence, C.KLDivergence),
    (F.poisson, C.Poisson), (F.binary_crossentropy, C.BinaryCrossentropy),
    (F.binary_focal_crossentropy, C.BinaryFocalCrossentropy),
    (F.categorical_crossentropy, C.CategoricalCrossentropy),
    (F.categorical_focal_crossentropy, C.CategoricalFocalCrossentropy),
    (F.sparse_categorical_crossentropy, C.SparseCategoricalCrossentropy),
)
#: function name (and Keras' short names) -> function, for a saved function
FUNCTIONS: dict[str, Callable] = {
    **{fn.__name__: fn for fn, _ in _CLASS_OF},
    "mse": F.mse, "mae": F.mae, "mape": F.mape, "msle": F.msle, "kld": F.kld,
    "kullback_leibler_divergence": F.kl_divergence, "logcosh": F.log_cosh, "bce": F.bce,
}
#: the names get() knows (matched ignoring case, spaces, '-' and '_'): the function names,
#: their short forms, and the losses' default names (which older saved configs hold)
_NAMES: dict[str, type[Loss]] = {
    **{name: cls for name, fn in FUNCTIONS.items() for f, cls in _CLASS_OF if f is fn},
    "huber_loss": C.Huber,
}


def _class_of(fn: Any) -> type[Loss] | None:
    return next((cls for f, cls in _CLASS_OF if f is fn), None)


def get(identifier: Any, argument: str = "loss") -> Loss:
    """A Loss from a name ('mse', 'categorical crossentropy', 'CategoricalCrossentropy'),
    a Loss, a Loss subclass, a function fn(y_true, y_pred), or a saved config (Keras'
    {"class_name", "config"} of a built-in loss, or {"name": ...} as cornu writes)."""
    if isinstance(identifier, Loss):
        return identifier
    if isinstance(identifier, type) and issubclass(identifier, Loss):
        if identifier in (Loss, LossFunctionWrapper):
            raise ValueError(f"{argument} must be a loss, not the base class "
                             f"{identifier.__name__}. Received: {argument}={identifier!r}")
        return identifier()
    if isinstance(identifier, dict):
        return deserialize(identifier, argument=argument)
    if callable(identifier) and not isinstance(identifier, str | type):
        cls = _class_of(identifier)
        if cls is not None:
            return cls()
        name = getattr(identifier, "__name__", None) or type(identifier).__name__
        return LossFunctionWrapper(identifier, name=name)
    return lookup("loss", argument, identifier, _NAMES)()


def serialize(loss: Any) -> Any:
    """Keras' form: {"module", "class_name", "config", "registered_name"} for a Loss (or
    a function); a name stays a name."""
    if isinstance(loss, str):
        return loss
    if isinstance(loss, Loss):
        cls = type(loss)
        builtin = CLASSES.get(cls.__name__) is cls
        config = loss.get_config()
        return {"module": "keras.losses" if builtin else cls.__module__,
                "class_name": cls.__name__, "config": config,
                "registered_name": None if builtin else cls.__name__}
    if callable(loss):
        return function_config(loss)
    raise TypeError(f"serialize takes a Loss, a loss function or a name. Received: {loss!r}")


def deserialize(config: Any, custom_objects: Mapping[str, Any] | None = None,
                argument: str = "loss") -> Loss:
    """The Loss a config describes (see get). `custom_objects` maps class or function
    names to the caller's own classes and functions; nothing else is looked up."""
    custom = dict(custom_objects or {})
    if not isinstance(config, dict):
        if isinstance(config, str) and config in custom:
            return get(custom[config], argument)
        return get(config, argument)
    if "class_name" in config:
        return _from_keras_config(config, custom, argument)
    if not isinstance(config.get("name"), str):
        raise ValueError(f"A loss config holds 'class_name' and 'config' (Keras' form) or a "
                         f"'name'. Received: {argument}={config!r}")
    if "fn" in config:
        return _wrapper(LossFunctionWrapper, config, custom, argument)
    cls = lookup("loss", argument, config["name"], _NAMES)
    kwargs = {k: v for k, v in config.items() if k != "name"}
    params = inspect.signature(cls).parameters
    if "from_logits" not in params:
        kwargs.pop("from_logits", None)  # older cornu files hold it for every loss
    unknown = sorted(set(kwargs) - set(params))
    if unknown:
        raise ValueError(f"{cls.__name__} takes no argument {', '.join(map(repr, unknown))}. "
                         f"Received: {argument}={config!r}")
    return cls(**kwargs)


def _from_keras_config(config: dict, custom: dict[str, Any], argument: str) -> Loss:
    class_name, inner = config["class_name"], config.get("config")
    if class_name == "function":
        return get(_function(config, custom, argument), argument)
    cls = custom.get(class_name) if isinstance(class_name, str) else None
    if cls is None:
        cls = CLASSES.get(class_name) if isinstance(class_name, str) else None
    if cls is None:
        raise ValueError(
            f"Unknown loss class in {argument}: class_name={class_name!r}. cornu rebuilds only "
            f"its own losses from a config ({', '.join(sorted(CLASSES))}); for your own "
            f"class, pass it in custom_objects={{{class_name!r}: YourLoss}}.")
    if not (isinstance(cls, type) and issubclass(cls, Loss)):
        raise ValueError(f"custom_objects[{class_name!r}] must be a Loss subclass. "
                         f"Received: {cls!r}")
    if inner is None:
        inner = {}
    if not isinstance(inner, dict):
        raise ValueError(f"The 'config' of loss class {class_name!r} must be a dict. "
                         f"Received: {argument}={config!r}")
    if "fn" in inner:
        return _wrapper(cls, inner, custom, argument)
    try:
        return cls.from_config(inner)
    except TypeError as exc:
        raise ValueError(f"The config of loss class {class_name!r} does not fit its "
                         f"arguments ({exc}). Received: {argument}={config!r}") from None


def _wrapper(cls: type[Loss], config: dict, custom: dict[str, Any], argument: str) -> Loss:
    """A LossFunctionWrapper config, its `fn` resolved to a known function."""
    try:
        return cls.from_config({**config, "fn": _function(config["fn"], custom, argument)})
    except TypeError as exc:
        raise ValueError(f"The config of loss {config.get('name')!r} does not fit "
                         f"{cls.__name__}'s arguments ({exc}). Received: {argument}={config!r}"
                         ) from None


def _function(spec: Any, custom: dict[str, Any], argument: str) -> Callable:
    """A saved function (a name, or Keras' {"class_name": "function", "config": name})."""
    name = spec.get("config") if isinstance(spec, dict) else spec
    fn = custom.get(name) if isinstance(name, str) else None
    if fn is None and isinstance(name, str):
        fn = FUNCTIONS.get(name)
    if fn is None or not callable(fn):
        raise ValueError(
            f"Unknown loss function in {argument}: {name!r}. cornu loads only its own loss "
            f"functions by name ({', '.join(sorted(FUNCTIONS))}); for your own function, "
            f"pass it in custom_objects={{{name!r}: your_function}}.")
    return fn
