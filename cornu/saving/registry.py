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
    "ModelPlan", "build_model", "class_name_of", "find_object", "layer_class",
    "model_class_name", "plan_model", "register_keras_serializable", "register_layer",
    "registered_name",
]

L = TypeVar("L", bound=type[Layer])
Builder = Callable[[Mapping[str, Any], Mapping[str, Any] | None, str], "Model"]
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
    if custom_objects is not None and not isinstance(custom_objects, Mapping):
        raise TypeError("custom_objects must be a dict {'Name': Class}. Received: "
                        f"custom_objects={custom_objects!r}")
    known = {**_CUSTOM, **_builtin()}
    for key, obj in (custom_objects or {}).items():
        if isinstance(obj, type) and issubclass(obj, Layer):  # losses, metrics: elsewhere
            known[key] = obj
    return known


def register_keras_serializable(package: str = "Custom", name: str | None = None):
    """Keras' decorator: files record the class as 'package>name' (name: the class name),
    and load_model finds it there. Layers, models, losses and metrics may be registered."""
    if isinstance(package, type):  # used without parentheses
        return register_keras_serializable()(package)
    if not isinstance(package, str) or not package or ">" in package:
        raise ValueError(f"package must be a non-empty string without '>'. Received: "
                         f"package={package!r}")

    def register(cls: Any) -> Any:
        key = f"{package}>{name or cls.__name__}"
        if isinstance(cls, type) and issubclass(cls, Layer):
            return register_layer(cls, name=key)
        old = _OBJECTS.get(key)
        if old is not None and (old.__module__, old.__qualname__) != (
                cls.__module__, cls.__qualname__):
            raise ValueError(f"An object is already registered as '{key}'.")
        _OBJECTS[key] = cls
        return cls

    return register


_OBJECTS: dict[str, Any] = {}


def registered_name(obj: Any) -> str | None:
    """The key a registered class (or an instance's class) was registered under."""
    cls = obj if isinstance(obj, type) or callable(obj) and not hasattr(obj, "__dict__") \
        else type(obj)
    for table in (_CUSTOM, _OBJECTS):
        for key, known in table.items():
            if known is cls or known is obj:
                return key
    return None


def custom_lookup(custom_objects: Mapping[str, Any] | None) -> dict[str, Any]:
    """The objects a file may name besides cornu's own: the registered ones (by their
    registered name and by their class name) and those passed in custom_objects, which
    take precedence."""
    table: dict[str, Any] = {}
    for key, obj in (*_OBJECTS.items(), *_CUSTOM.items()):
        table.setdefault(key.split(">")[-1], obj)
        table[key] = obj
    for key, obj in (custom_objects or {}).items():
        table[key] = obj
        if isinstance(key, str):
            table[key.split(">")[-1]] = obj
    return table


def find_object(class_name: Any, custom_objects: Mapping[str, Any] | None) -> Any:
    """A registered or passed (custom_objects) class or function by the name a file
    records, or None. Nothing is imported by that name."""
    if not isinstance(class_name, str):
        return None
    objects = dict(custom_objects or {})
    if class_name in objects:
        return objects[class_name]
    short = class_name.split(">")[-1]
    if short in objects:
        return objects[short]
    return _OBJECTS.get(class_name) or _CUSTOM.get(class_name)


def layer_class(class_name: Any, custom_objects: Mapping[str, Any] | None = None,
                where: str = "the file") -> type[Layer]:
    """The class a config names, or a CornuFileError that lists the known ones."""
    known = _known(custom_objects)
    passed = {k: v for k, v in (custom_objects or {}).items()
              if isinstance(v, type) and issubclass(v, Layer)}
    if isinstance(class_name, str):  # custom_objects first (by full or class name), as Keras
        for key in (class_name, class_name.split(">")[-1]):
            if key in passed:
                return passed[key]
    if isinstance(class_name, str) and class_name in known:
        return known[class_name]
    if isinstance(class_name, str) and class_name.split(">")[-1] in known and ">" in class_name:
        return known[class_name.split(">")[-1]]
    raise CornuFileError(
        f"{where} names an unknown layer class {class_name!r}. Known: "
        f"{', '.join(sorted(known))}. A custom layer must be registered before loading: "
        "decorate its class with @cornu.saving.register_keras_serializable(), or pass "
        "custom_objects={'Name': Class}.")


_MODEL_CLASSES = ("Sequential", "Functional")


def class_name_of(layer: Layer) -> str:
    """The name a file records for `layer`'s class (refuses classes load could not find)."""
    cls = type(layer)
    for key, known in {**_CUSTOM, **_builtin(), **_model_classes()}.items():
        if known is cls:
            return key
    raise CornuFileError(
        f"Cannot save: layer '{layer.name}' is a {cls.__module__}.{cls.__qualname__}, which "
        "cornu.saving does not know, so load_model could not rebuild it. Decorate the class "
        "with @cornu.saving.register_keras_serializable().")


def name_classes(config: dict[str, Any], model: Model) -> None:
    """Put the registered class names into a model config's layer entries (nested models'
    configs too)."""
    for entry, layer in zip(config["layers"], model.layers, strict=True):
        entry["class_name"] = class_name_of(layer)
        if entry["class_name"] in _MODEL_CLASSES:
            name_classes(entry["config"], layer)


# -------------------------------------------------------------------- model rebuilding


@dataclass
class ModelPlan:
    """A model made from a config, its weights abstract (shapes and dtypes only) when it was
    planned for loading: nothing is allocated before the file is checked against it."""

    model: Model

    @property
    def layers(self) -> list[Layer]:
        return self.model.layers


def _make_layer(entry: Any, custom_objects: Mapping[str, Any] | None, here: str) -> Layer:
    if not isinstance(entry, dict) or not isinstance(entry.get("config"), dict):
        raise CornuFileError(f"{here}: expected {{'class_name': ..., 'config': {{...}}}}.")
    class_name = entry.get("class_name")
    if class_name in _MODEL_CLASSES:
        return _MODELS[class_name](entry["config"], custom_objects, here)
    cls = layer_class(class_name, custom_objects, here)
    layer = _call(f"{here} ({class_name}) cannot be made from its config", cls.from_config,
                  dict(entry["config"]))
    if not isinstance(layer, Layer):
        raise CornuFileError(f"{here}: from_config did not return a layer.")
    return layer


def _build_sequential(config: Mapping[str, Any], custom_objects: Mapping[str, Any] | None,
                      where: str) -> Model:
    from cornu.layers.input_layer import Input
    from cornu.models.sequential import Sequential

    name, input_shape, entries = (config.get(k) for k in ("name", "input_shape", "layers"))
    if not isinstance(name, str) or not name or not isinstance(entries, list) or not entries:
        raise CornuFileError(f"{where}: a Sequential config needs a name and a non-empty "
                             "list of layers.")
    if not isinstance(input_shape, list) or not all(
            d is None or isinstance(d, int) and not isinstance(d, bool) and d > 0
            for d in input_shape):
        raise CornuFileError(f"{where}: input_shape must be a list of positive integers. "
                             f"Received: {input_shape!r}")
    layers: list[Layer] = []
    for i, entry in enumerate(entries):
        here = f"{where}, layer {i}"
        if isinstance(entry, dict) and entry.get("class_name") == "InputLayer":
            raise CornuFileError(f"{here}: a Sequential config lists no InputLayer.")
        layers.append(_make_layer(entry, custom_objects, here))
    own = getattr(layers[0], "_input_shape_arg", None)  # Sequential builds on it, if given
    if own is not None and tuple(own) != tuple(input_shape):
        raise CornuFileError(f"{where}: input_shape {input_shape} disagrees with the first "
                             f"layer's input_shape {list(own)}.")

    def make() -> Model:
        return Sequential([Input(shape=tuple(input_shape)), *layers], name=name)

    return _call(f"{where}: the model cannot be built", make)


def _call(problem: str, fn: Callable[..., Any], *args: Any) -> Any:
    """fn(*args), its complaints about the config turned into a CornuFileError."""
    try:
        return fn(*args)
    except CornuFileError:
        raise
    except (TypeError, ValueError, KeyError, IndexError, OverflowError,
            NotImplementedError) as exc:
        raise CornuFileError(f"{problem}: {exc}") from exc


def _names(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def _ref(value: Any) -> bool:
    return (isinstance(value, list) and len(value) == 3 and isinstance(value[0], str)
            and all(isinstance(v, int) and not isinstance(v, bool) and v >= 0
                    for v in value[1:]))


def _build_functional(config: Mapping[str, Any], custom_objects: Mapping[str, Any] | None,
                      where: str) -> Model:
    """The graph of a functional config: each layer entry lists its calls, either
    `inbound` (one call on the first outputs of the named layers) or `inbound_nodes`
    (calls on [layer name, node, tensor] references), run in an order where every call's
    inputs exist."""
    from cornu.layers.input_layer import InputLayer
    from cornu.models.functional import Functional

    name, entries = config.get("name"), config.get("layers")
    inputs, outputs = config.get("inputs"), config.get("outputs")
    if not isinstance(name, str) or not name or not isinstance(entries, list) or not entries \
            or not _names(inputs) or not _names(outputs) or not inputs or not outputs:
        raise CornuFileError(f"{where}: a Functional config needs a name, a non-empty list of "
                             "layers, and lists of input and output layer names.")
    tensors: dict[tuple[str, int, int], Any] = {}
    pending: list[tuple[Layer, list[list]]] = []
    names: set[str] = set()
    for i, entry in enumerate(entries):
        here = f"{where}, layer {i}"
        layer = _make_layer(entry, custom_objects, here)
        if layer.name in names:
            raise CornuFileError(f"{here}: a second layer named {layer.name!r}.")
        names.add(layer.name)
        if isinstance(layer, InputLayer):
            if entry.get("inbound") or entry.get("inbound_nodes"):
                raise CornuFileError(f"{here} ('{layer.name}'): an InputLayer takes no inputs.")
            tensors[(layer.name, 0, 0)] = layer.output
            continue
        if _names(entry.get("inbound")) and entry["inbound"]:
            calls = [[[n, 0, 0] for n in entry["inbound"]]]
            single = len(entry["inbound"]) == 1
        else:
            calls = entry.get("inbound_nodes")
            if not isinstance(calls, list) or not calls or not all(
                    isinstance(c, list) and c and all(_ref(r) for r in c) for c in calls):
                raise CornuFileError(f"{here} ('{layer.name}') lists no valid inputs: "
                                     "'inbound' (layer names) or 'inbound_nodes' "
                                     "([[name, node, tensor], ...] per call).")
            single = None
        pending.append((layer, [(c, single) for c in calls]))
    done: dict[str, int] = {}
    while pending:
        progressed = False
        for layer, calls in list(pending):
            node = done.get(layer.name, 0)
            refs, single = calls[node]
            if not all(tuple(r) in tensors for r in refs):
                continue
            args = [tensors[tuple(r)] for r in refs]
            arg = args[0] if (single if single is not None else len(args) == 1) else args
            out = _call(f"{where}, layer '{layer.name}' cannot be called on its inputs",
                        layer, arg)
            for k, t in enumerate(out if isinstance(out, list | tuple) else [out]):
                tensors[(layer.name, node, k)] = t
            done[layer.name] = node + 1
            if node + 1 == len(calls):
                pending.remove((layer, calls))
            progressed = True
        if not progressed:
            stuck = [layer.name for layer, _ in pending]
            raise CornuFileError(f"{where}: the calls of layers {stuck} take inputs that no "
                                 "layer of the config makes.")
    refs = config.get("output_refs")
    if refs is not None:
        if not isinstance(refs, list) or not all(_ref(r) and tuple(r) in tensors for r in refs):
            raise CornuFileError(f"{where}: output_refs must reference outputs of the layers.")
        out_tensors = [tensors[tuple(r)] for r in refs]
    else:
        if any((n, 0, 0) not in tensors for n in outputs):
            raise CornuFileError(f"{where}: outputs {outputs} must name layers of the config.")
        out_tensors = [tensors[(n, 0, 0)] for n in outputs]
    if any((n, 0, 0) not in tensors for n in inputs) or not all(
            isinstance(tensors[(n, 0, 0)].layer, InputLayer) for n in inputs):
        raise CornuFileError(f"{where}: inputs {inputs} must name InputLayers of the config.")
    in_tensors = [tensors[(n, 0, 0)] for n in inputs]

    def make() -> Model:
        return Functional(in_tensors if len(in_tensors) > 1 else in_tensors[0],
                          out_tensors if len(out_tensors) > 1 else out_tensors[0], name=name)

    return _call(f"{where}: the model cannot be assembled", make)


_MODELS: dict[str, Builder] = {"Sequential": _build_sequential,
                               "Functional": _build_functional}


def _model_classes() -> dict[str, type]:
    from cornu.models.functional import Functional
    from cornu.models.sequential import Sequential

    return {"Sequential": Sequential, "Functional": Functional}


def model_class_name(model: Model) -> str:
    """The name a file records for the model's class (only classes plan_model rebuilds)."""
    for key, cls in _model_classes().items():
        if type(model) is cls:
            return key
    raise CornuFileError(f"Cannot save a {type(model).__qualname__} as a .cornu file: cornu "
                         f"files hold {', '.join(_MODELS)} models (a subclassed model's code "
                         "cannot be rebuilt from a file). Use model.save_weights(...) and "
                         "make the model in code to load them.")


def build_model(entry: Any, custom_objects: Mapping[str, Any] | None, where: str) -> Model:
    """The model of `{"class_name": "Sequential" or "Functional", "config": {...}}`, with
    fresh weights (Model.from_config, model_from_json, clone_model)."""
    if not isinstance(entry, dict) or not isinstance(entry.get("config"), dict):
        raise CornuFileError(f"{where}: expected {{'class_name': ..., 'config': ...}}.")
    builder = _MODELS.get(entry.get("class_name")) if isinstance(
        entry.get("class_name"), str) else None
    if builder is None:
        raise CornuFileError(f"{where} names an unknown model class {entry.get('class_name')!r}."
                             f" Known: {', '.join(_MODELS)}.")
    return builder(entry["config"], custom_objects, where)


def plan_model(entry: Any, custom_objects: Mapping[str, Any] | None, where: str) -> ModelPlan:
    """The model of a file's config, built with abstract weights (see ModelPlan)."""
    from cornu import variables

    with variables.abstract_variables():
        return ModelPlan(build_model(entry, custom_objects, where))
