"""Which classes a file may name, and how a model is rebuilt from its config.

Only classes found here are ever built: the layers `cornu.layers` exports (looked up
at each call, so new layers are known as soon as they are exported), the layers
registered with `@register_layer`, and those passed as `custom_objects`. Nothing is
imported by a name read from a file.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar, overload

from cornu.layers.base import Layer
from cornu.saving.errors import CornuFileError

if TYPE_CHECKING:
    from cornu.models.model import Model

__all__ = [
    "ModelPlan", "class_name_of", "layer_class", "model_class_name", "plan_model",
    "register_layer",
]

L = TypeVar("L", bound=type[Layer])
_CUSTOM: dict[str, type[Layer]] = {}


def _builtin() -> dict[str, type[Layer]]:
    import cornu.layers

    found = {}
    for name in cornu.layers.__all__:
        obj = getattr(cornu.layers, name, None)
        if isinstance(obj, type) and issubclass(obj, Layer) and obj is not Layer:
            found[name] = obj
    return found


@overload
def register_layer(cls: L, *, name: str | None = None) -> L: ...
@overload
def register_layer(cls: None = None, *, name: str | None = None) -> Callable[[L], L]: ...
def register_layer(cls: Any = None, *, name: str | None = None) -> Any:
    """Class decorator: let `load_model` rebuild this custom layer (by `from_config`).

        @cornu.saving.register_layer
        class Scale(cornu.layers.Layer): ...

    `name` (default: the class name) is what files record; it must not be a built-in
    layer's name.
    """

    def register(layer_cls: L) -> L:
        if not (isinstance(layer_cls, type) and issubclass(layer_cls, Layer)):
            raise TypeError("register_layer decorates a subclass of cornu.layers.Layer. "
                            f"Received: {layer_cls!r}")
        key = layer_cls.__name__ if name is None else name
        if not isinstance(key, str) or not key:
            raise ValueError(f"name must be a non-empty string. Received: name={key!r}")
        if key in _builtin():
            raise ValueError(f"'{key}' is a built-in cornu layer; register {layer_cls.__name__}"
                             " under another name, e.g. register_layer(name='my_pkg>Dense').")
        old = _CUSTOM.get(key)
        same = old is not None and (old.__module__, old.__qualname__) == (
            layer_cls.__module__, layer_cls.__qualname__)  # a notebook cell run again
        if old is not None and not same:
            raise ValueError(f"A layer is already registered as '{key}' ({old.__module__}."
                             f"{old.__qualname__}). Pass register_layer(name=...) to tell "
                             "them apart.")
        _CUSTOM[key] = layer_cls
        return layer_cls

    return register if cls is None else register(cls)


def _known(custom_objects: Mapping[str, Any] | None) -> dict[str, type[Layer]]:
    known = {**_CUSTOM, **_builtin()}
    for key, obj in (custom_objects or {}).items():
        if not (isinstance(obj, type) and issubclass(obj, Layer)):
            raise TypeError("custom_objects maps names to cornu Layer subclasses. "
                            f"Received: custom_objects[{key!r}]={obj!r}")
        known[key] = obj
    return known


def layer_class(class_name: Any, custom_objects: Mapping[str, Any] | None = None,
                where: str = "the file") -> type[Layer]:
    """The class a config names, or a CornuFileError that lists the known ones."""
    known = _known(custom_objects)
    if isinstance(class_name, str) and class_name in known:
        return known[class_name]
    raise CornuFileError(
        f"{where} names an unknown layer class {class_name!r}. Known: "
        f"{', '.join(sorted(known))}. A custom layer must be registered before loading: "
        "decorate its class with @cornu.saving.register_layer, or pass "
        "custom_objects={'Name': Class}.")


def class_name_of(layer: Layer) -> str:
    """The name a file records for `layer`'s class (refuses classes load could not find)."""
    cls = type(layer)
    for key, known in {**_CUSTOM, **_builtin()}.items():
        if known is cls:
            return key
    raise CornuFileError(
        f"Cannot save: layer '{layer.name}' is a {cls.__module__}.{cls.__qualname__}, which "
        "cornu.saving does not know, so load_model could not rebuild it. Decorate the class "
        "with @cornu.saving.register_layer.")


# -------------------------------------------------------------------- model rebuilding


@dataclass
class ModelPlan:
    """Layers made from a config and built (shapes known, no arrays yet), and the step
    that makes the model (and its arrays) once the weights are known to fit."""

    layers: list[Layer]
    make: Callable[[], Model]


Builder = Callable[[Mapping[str, Any], Mapping[str, Any] | None, str], ModelPlan]


def _plan_sequential(config: Mapping[str, Any], custom_objects: Mapping[str, Any] | None,
                     where: str) -> ModelPlan:
    from cornu.models.sequential import Sequential

    name, input_shape, entries = (config.get(k) for k in ("name", "input_shape", "layers"))
    if not isinstance(name, str) or not name or not isinstance(entries, list) or not entries:
        raise CornuFileError(f"{where}: a Sequential config needs a name and a non-empty "
                             "list of layers.")
    if not isinstance(input_shape, list) or not all(
            isinstance(d, int) and not isinstance(d, bool) and d > 0 for d in input_shape):
        raise CornuFileError(f"{where}: input_shape must be a list of positive integers. "
                             f"Received: {input_shape!r}")
    layers: list[Layer] = []
    for i, entry in enumerate(entries):
        here = f"{where}, layer {i}"
        if not isinstance(entry, dict) or not isinstance(entry.get("config"), dict):
            raise CornuFileError(f"{here}: expected {{'class_name': ..., 'config': {{...}}}}.")
        cls = layer_class(entry.get("class_name"), custom_objects, here)
        if cls.__name__ == "InputLayer":
            raise CornuFileError(f"{here}: a Sequential config lists no InputLayer.")
        layers.append(_call(f"{here} ({entry['class_name']}) cannot be made from its config",
                            cls.from_config, dict(entry["config"])))
        if not isinstance(layers[-1], Layer):
            raise CornuFileError(f"{here}: from_config did not return a layer.")
    own = getattr(layers[0], "_input_shape_arg", None)  # Sequential builds on it, if given
    if own is not None and tuple(own) != tuple(input_shape):
        raise CornuFileError(f"{where}: input_shape {input_shape} disagrees with the first "
                             f"layer's input_shape {list(own)}.")
    shape: tuple[int | None, ...] = (None, *input_shape)
    for layer in layers:
        shape = _call(f"{where}, layer '{layer.name}' cannot be built on input shape {shape}",
                      layer.build, shape)

    def make() -> Model:
        model = Sequential(layers, name=name)
        if not model.built:
            model.build((None, *input_shape))
        return model

    return ModelPlan(layers, lambda: _call(f"{where}: the model cannot be assembled", make))


def _call(problem: str, fn: Callable[..., Any], *args: Any) -> Any:
    """fn(*args), its complaints about the config turned into a CornuFileError."""
    try:
        return fn(*args)
    except CornuFileError:
        raise
    except (TypeError, ValueError, KeyError, IndexError, OverflowError) as exc:
        raise CornuFileError(f"{problem}: {exc}") from exc


def _names(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def _plan_functional(config: Mapping[str, Any], custom_objects: Mapping[str, Any] | None,
                     where: str) -> ModelPlan:
    from cornu.layers.input_layer import InputLayer
    from cornu.models.functional import Functional

    name, entries = config.get("name"), config.get("layers")
    inputs, outputs = config.get("inputs"), config.get("outputs")
    if not isinstance(name, str) or not name or not isinstance(entries, list) or not entries \
            or not _names(inputs) or not _names(outputs) or not inputs or not outputs:
        raise CornuFileError(f"{where}: a Functional config needs a name, a non-empty list of "
                             "layers, and lists of input and output layer names.")
    tensors: dict[str, Any] = {}
    layers: list[Layer] = []
    for i, entry in enumerate(entries):
        here = f"{where}, layer {i}"
        if not isinstance(entry, dict) or not isinstance(entry.get("config"), dict) \
                or not _names(entry.get("inbound")):
            raise CornuFileError(f"{here}: expected {{'class_name': ..., 'config': {{...}}, "
                                 "'inbound': [names]}.")
        cls = layer_class(entry.get("class_name"), custom_objects, here)
        layer = _call(f"{here} ({entry['class_name']}) cannot be made from its config",
                      cls.from_config, dict(entry["config"]))
        if not isinstance(layer, Layer) or layer.name in tensors:
            raise CornuFileError(f"{here}: not a layer, or a second layer named "
                                 f"{getattr(layer, 'name', None)!r}.")
        inbound = entry["inbound"]
        if isinstance(layer, InputLayer) != (not inbound) or any(n not in tensors
                                                               for n in inbound):
            raise CornuFileError(f"{here} ('{layer.name}') takes inputs {inbound}: an "
                                 "InputLayer takes none, other layers take earlier layers.")
        if isinstance(layer, InputLayer):
            tensors[layer.name] = layer.output
        else:
            args = [tensors[n] for n in inbound]
            tensors[layer.name] = _call(f"{here} ('{layer.name}') cannot be built on its "
                                        "inputs", layer, args[0] if len(args) == 1 else args)
        layers.append(layer)
    if any(n not in tensors for n in inputs + outputs) or not all(
            isinstance(tensors[n].layer, InputLayer) for n in inputs):
        raise CornuFileError(f"{where}: inputs {inputs} must name InputLayers and outputs "
                             f"{outputs} layers of the config.")

    def make() -> Model:
        model = Functional([tensors[n] for n in inputs], [tensors[n] for n in outputs],
                           name=name)
        if model.layers != layers:
            raise CornuFileError(f"{where}: the layers are not listed in the model's order.")
        return model

    return ModelPlan(layers, lambda: _call(f"{where}: the model cannot be assembled", make))


_MODELS: dict[str, Builder] = {"Sequential": _plan_sequential, "Functional": _plan_functional}


def _model_classes() -> dict[str, type]:
    from cornu.models.functional import Functional
    from cornu.models.sequential import Sequential

    return {"Sequential": Sequential, "Functional": Functional}


def model_class_name(model: Model) -> str:
    """The name a file records for the model's class (only classes plan_model rebuilds)."""
    for key, cls in _model_classes().items():
        if type(model) is cls:
            return key
    raise CornuFileError(f"Cannot save a {type(model).__qualname__}: cornu files hold "
                         f"{', '.join(_MODELS)} models (a subclass cannot be rebuilt).")


def plan_model(entry: Any, custom_objects: Mapping[str, Any] | None, where: str) -> ModelPlan:
    """The plan for `{"class_name": "Sequential", "config": {...}}` read from a file."""
    if not isinstance(entry, dict) or not isinstance(entry.get("config"), dict):
        raise CornuFileError(f"{where}: 'model' must be {{'class_name': ..., 'config': ...}}.")
    builder = _MODELS.get(entry.get("class_name")) if isinstance(
        entry.get("class_name"), str) else None
    if builder is None:
        raise CornuFileError(f"{where} names an unknown model class {entry.get('class_name')!r}."
                             f" Known: {', '.join(_MODELS)}.")
    return builder(entry["config"], custom_objects, where)
