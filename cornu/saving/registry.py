"""Which classes a file may name, and how a model is rebuilt from its config.

Only classes found here are ever built: the layers `cornu.layers` exports (looked up
at each call, so new layers are known as soon as they are exported), the layers
registered with `@register_layer`, and those passed as `custom_objects`. Nothing is
imported by a name read from a file.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar, overload

from cornu import _registration
from cornu.layers.base import Layer
from cornu.saving.errors import CornuFileError

if TYPE_CHECKING:
    from cornu.models.model import Model

__all__ = [
    "ModelPlan", "build_model", "class_entry", "class_name_of", "classes_of", "custom_lookup",
    "find_object", "layer_class", "model_class_name", "model_entry", "plan_model",
    "register_keras_serializable", "register_layer", "registered_name",
]

L = TypeVar("L", bound=type[Layer])
Builder = Callable[[Mapping[str, Any], Mapping[str, Any] | None, str], "Model"]
#: Keras' global custom objects: registered name -> class or function
_GLOBAL = _registration.GLOBAL_CUSTOM_OBJECTS
#: modules whose classes a file may name by class name alone (cornu's own, or Keras')
_OWN_MODULES = ("cornu", "keras")


def _builtin() -> dict[str, type[Layer]]:
    import cornu.layers

    found = {}
    for name in cornu.layers.__all__:
        obj = getattr(cornu.layers, name, None)
        if isinstance(obj, type) and issubclass(obj, Layer) and obj is not Layer:
            found[name] = obj
    from cornu.layers.op_layer import OpLayer  # cornu.ops on symbolic tensors

    found.setdefault("OpLayer", OpLayer)
    return found


def _is_layer_class(obj: Any) -> bool:
    return isinstance(obj, type) and issubclass(obj, Layer)


def _custom_layers() -> dict[str, type[Layer]]:
    return {k: v for k, v in _GLOBAL.items() if isinstance(k, str) and _is_layer_class(v)}


def _store(key: str, obj: Any) -> None:
    old = _GLOBAL.get(key)
    same = old is obj or old is not None and (
        getattr(old, "__module__", None), getattr(old, "__qualname__", None)) == (
        getattr(obj, "__module__", None), getattr(obj, "__qualname__", None))
    if old is not None and not same:  # not a notebook cell run again
        what = "A layer" if _is_layer_class(obj) else "An object"
        raise ValueError(f"{what} is already registered as '{key}' ({old.__module__}."
                         f"{old.__qualname__}). Pass a different package or name to tell "
                         "them apart.")
    if old is not None:
        _registration.GLOBAL_CUSTOM_NAMES.pop(old, None)
    _GLOBAL[key] = obj
    _registration.GLOBAL_CUSTOM_NAMES[obj] = key


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
        if not _is_layer_class(layer_cls):
            raise TypeError("register_layer decorates a subclass of cornu.layers.Layer. "
                            f"Received: {layer_cls!r}")
        key = layer_cls.__name__ if name is None else name
        if not isinstance(key, str) or not key:
            raise ValueError(f"name must be a non-empty string. Received: name={key!r}")
        if key in _builtin():
            raise ValueError(f"'{key}' is a built-in cornu layer; register {layer_cls.__name__}"
                             " under another name, e.g. register_layer(name='my_pkg>Dense').")
        _store(key, layer_cls)
        return layer_cls

    return register if cls is None else register(cls)


def register_keras_serializable(package: str = "Custom", name: str | None = None):
    """Keras' decorator: files record the class or function as 'package>name' (name: its
    own name), and load_model finds it there. Layers, models, losses, metrics and
    functions (activations, losses) may be registered."""
    if isinstance(package, type):  # used without parentheses
        return register_keras_serializable()(package)
    if not isinstance(package, str) or not package or ">" in package:
        raise ValueError(f"package must be a non-empty string without '>'. Received: "
                         f"package={package!r}")

    def register(obj: Any) -> Any:
        key = f"{package}>{name or obj.__name__}"
        if _is_layer_class(obj):
            return register_layer(obj, name=key)
        if isinstance(obj, type) and not hasattr(obj, "get_config"):
            raise ValueError("Cannot register a class that does not have a get_config() "
                             f"method. Received: {obj!r}")
        if not callable(obj):
            raise TypeError(f"register_keras_serializable decorates a class or a function. "
                            f"Received: {obj!r}")
        _store(key, obj)
        return obj

    return register


def _known(custom_objects: Mapping[str, Any] | None) -> dict[str, type[Layer]]:
    _check_custom(custom_objects)
    known = {**_custom_layers(), **_builtin()}
    for key, obj in {**_registration.scope_objects(), **(custom_objects or {})}.items():
        if _is_layer_class(obj):  # losses, metrics: elsewhere
            known[key] = obj
    return known


def _check_custom(custom_objects: Any) -> None:
    if custom_objects is not None and not isinstance(custom_objects, Mapping):
        raise TypeError("custom_objects must be a dict {'Name': Class}. Received: "
                        f"custom_objects={custom_objects!r}")


def registered_name(obj: Any) -> str | None:
    """The key a registered class (or an instance's class) was registered under."""
    key = _registration.registered_key(obj)
    if key is None and not isinstance(obj, type) and not _is_function(obj):
        key = _registration.registered_key(type(obj))
    return key


def _is_function(obj: Any) -> bool:
    return callable(obj) and hasattr(obj, "__name__") and not hasattr(obj, "get_config")


def custom_lookup(custom_objects: Mapping[str, Any] | None) -> dict[str, Any]:
    """The objects a file may name besides cornu's own: the registered ones (by their
    registered name and by their class name), those of the active custom_object_scope,
    and those passed in custom_objects, which take precedence."""
    table: dict[str, Any] = {}
    for key, obj in _GLOBAL.items():
        if isinstance(key, str):
            table.setdefault(key.split(">")[-1], obj)
            table[key] = obj
    for key, obj in {**_registration.scope_objects(), **(custom_objects or {})}.items():
        table[key] = obj
        if isinstance(key, str):
            table[key.split(">")[-1]] = obj
    return table


def find_object(class_name: Any, custom_objects: Mapping[str, Any] | None) -> Any:
    """A registered, scoped or passed (custom_objects) class or function by the name a
    file records, or None. Nothing is imported by that name."""
    return _registration.lookup(class_name, custom_objects)


def _own_module(module: Any) -> bool:
    return module is None or isinstance(module, str) and (
        module in _OWN_MODULES or module.startswith(tuple(m + "." for m in _OWN_MODULES)))


def _fix(class_name: Any, kind: str) -> str:
    short = class_name.split(">")[-1] if isinstance(class_name, str) else "Name"
    short = short if short.isidentifier() else "Name"
    return (f"A custom {kind} must be known before loading: pass "
            f"custom_objects={{'{short}': {short}}} to load_model (or load within "
            "cornu.saving.custom_object_scope), or decorate its class with "
            "@cornu.saving.register_keras_serializable().")


def layer_class(class_name: Any, custom_objects: Mapping[str, Any] | None = None,
                where: str = "the file", registered: Any = None,
                module: Any = None) -> type[Layer]:
    """The class a config names, or a CornuFileError that names it and the fix. The
    registered name (Keras' `registered_name`) and then the class name are looked up in
    custom_objects, the active custom_object_scope and the registered classes; then, for
    classes of cornu's (or Keras') own modules, among cornu's layers."""
    known = _known(custom_objects)
    names = [n for n in (registered, class_name) if isinstance(n, str) and n]
    found = _registration.lookup(names, custom_objects)
    if _is_layer_class(found):
        return found
    if isinstance(class_name, str) and _own_module(module):
        if class_name in known:
            return known[class_name]
    described = repr(class_name) if module is None or not isinstance(module, str) else \
        f"{class_name!r} (module {module!r})"
    if isinstance(registered, str) and registered != class_name:
        described += f", registered as {registered!r},"
    raise CornuFileError(
        f"{where} names an unknown layer class {described} which is neither one of cornu's "
        f"layers nor registered nor in custom_objects. {_fix(class_name, 'layer')} Known: "
        f"{', '.join(sorted(known))}.")


_MODEL_CLASSES = ("Sequential", "Functional")


def class_entry(layer: Layer) -> dict[str, Any]:
    """What a file records for `layer`'s class: the class name of cornu's own layers, and
    for any other class, Keras' module, class_name and registered_name (its registered
    name, else the class name: loading needs it registered or in custom_objects)."""
    cls = type(layer)
    for key, known in {**_builtin(), **_model_classes()}.items():
        if known is cls:
            return {"class_name": key}
    key = _registration.registered_key(cls)
    if key is not None and ">" not in key:  # register_layer(name=...) without a package
        return {"class_name": key}
    return {"module": cls.__module__, "class_name": cls.__name__,
            "registered_name": key or cls.__name__}


def class_name_of(layer: Layer) -> str:
    """The name a file records for `layer`'s class (its registered name, if any)."""
    entry = class_entry(layer)
    return entry.get("registered_name") or entry["class_name"]


def classes_of(model: Layer) -> dict[str, type]:
    """The classes of `model` and its layers (nested ones too), by the names a config
    records: what loading the model in this process would take as custom_objects."""
    found: dict[str, type] = {}
    for layer in model._flatten_layers(include_self=True):
        entry = class_entry(layer)
        for key in (entry["class_name"], entry.get("registered_name")):
            if key is not None:
                found.setdefault(key, type(layer))
        for value in vars(layer).values():  # functions it holds (activations): by name
            if inspect.isfunction(value):
                found.setdefault(_registration.registered_key(value) or value.__name__, value)
    return found


def name_classes(config: dict[str, Any], model: Model) -> None:
    """Put the class names into a model config's layer entries (nested models' configs
    too), in Keras' order: module, class_name, config, registered_name, then the rest."""
    for i, (entry, layer) in enumerate(zip(config["layers"], model.layers, strict=True)):
        names = class_entry(layer)
        rest = {k: v for k, v in entry.items() if k not in ("class_name", "config", "module",
                                                             "registered_name")}
        config["layers"][i] = entry = {
            **({"module": names["module"]} if "module" in names else {}),
            "class_name": names["class_name"], "config": entry["config"],
            **({"registered_name": names["registered_name"]}
               if "registered_name" in names else {}),
            **rest}
        build = custom_build_config(layer)
        if build is not None:  # what the layer's build_from_config takes
            entry["build_config"] = build
        if entry["class_name"] in _MODEL_CLASSES and "module" not in entry:
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
    if class_name in _MODEL_CLASSES and _own_module(entry.get("module")):
        return _MODELS[class_name](entry["config"], custom_objects, here)
    cls = layer_class(class_name, custom_objects, here, entry.get("registered_name"),
                      entry.get("module"))
    if _is_model_class(cls) and "build_config" in entry:
        return _build_subclassed(cls, entry, custom_objects, here)
    layer = _call(f"{here} ({class_name}) cannot be made from its config", cls.from_config,
                  dict(entry["config"]))
    if not isinstance(layer, Layer):
        raise CornuFileError(f"{here}: from_config did not return a layer.")
    rebuild(layer, entry, f"{here} ({class_name})")
    return layer


def custom_build_config(layer: Any) -> dict[str, Any] | None:
    """The build_config of a layer whose class overrides get_build_config (None for the
    others: their input shapes are recorded as usual)."""
    from cornu.layers.base import Layer

    if type(layer).get_build_config is Layer.get_build_config:
        return None
    config = layer.get_build_config()
    if config is not None and not isinstance(config, dict):
        raise CornuFileError(f"Layer '{layer.name}': get_build_config() must return a dict "
                             f"or None. Received: {config!r}"[:500])
    return config


def rebuild(layer: Any, entry: Mapping[str, Any], where: str) -> None:
    """Keras' build_from_config for a layer whose class overrides it: it builds the layer
    (with whatever its build takes) before a model calls it."""
    from cornu.layers.base import Layer

    build = entry.get("build_config")
    if layer.built or not isinstance(build, dict) or \
            type(layer).build_from_config is Layer.build_from_config:
        return
    _call(f"{where} cannot be built from its build_config", layer.build_from_config,
          dict(build))
    object.__setattr__(layer, "built", True)


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

    dtype = config.get("input_dtype")
    if dtype not in (None, "string"):
        raise CornuFileError(f"{where}: input_dtype must be 'string' where given. Received: "
                             f"{dtype!r}"[:500])

    def make() -> Model:
        return Sequential([Input(shape=tuple(input_shape), dtype=dtype), *layers], name=name)

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
        structures = entry.get("call_args")
        if structures is not None and (not isinstance(structures, list) or len(structures)
                                       != len(calls) or "inbound_nodes" not in entry):
            raise CornuFileError(f"{here} ('{layer.name}'): call_args must list one entry per "
                                 "call of inbound_nodes.")
        structures = structures or [None] * len(calls)
        pending.append((layer, [(c, single, _call_structure(s, here)) for c, s in
                                zip(calls, structures, strict=True)]))
    done: dict[str, int] = {}
    while pending:
        progressed = False
        for layer, calls in list(pending):
            node = done.get(layer.name, 0)
            refs, single, structure = calls[node]
            if not all(tuple(r) in tensors for r in refs + (structure or (None, []))[1]):
                continue
            problem = f"{where}, layer '{layer.name}' cannot be called on its inputs"
            if structure is not None:
                args, kwargs = _fill(structure[0], tensors)
                out = _call(problem, lambda a=args, k=kwargs, f=layer: f(*a, **k))
            else:
                args = [tensors[tuple(r)] for r in refs]
                arg = args[0] if (single if single is not None else len(args) == 1) else args
                out = _call(problem, layer, arg)
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


def _call_structure(value: Any, where: str) -> tuple[Any, list[list]] | None:
    """A call_args entry checked: ((args, kwargs) with tensor references as ("ref", [..])
    tuples, the references), or None for a call on the listed inputs."""
    if value is None:
        return None
    refs: list[list] = []

    def read(v: Any, depth: int) -> Any:
        if depth > 8:
            raise CornuFileError(f"{where}: call_args are nested too deeply.")
        if isinstance(v, dict) and v.get("class_name") == "__keras_tensor__":
            history = v.get("config", {}).get("keras_history") \
                if isinstance(v.get("config"), dict) else None
            if not _ref(history):
                raise CornuFileError(f"{where}: a tensor in call_args needs keras_history "
                                     "[layer name, node, tensor].")
            refs.append(history)
            return ("ref", tuple(history))
        if isinstance(v, dict) and v.get("class_name") == "__ellipsis__":
            return Ellipsis
        if isinstance(v, dict) and v.get("class_name") == "__slice__":
            parts = v.get("config") if isinstance(v.get("config"), dict) else {}
            bounds = [parts.get(k) for k in ("start", "stop", "step")]
            if not all(b is None or isinstance(b, int) and not isinstance(b, bool)
                       for b in bounds):
                raise CornuFileError(f"{where}: a slice in call_args holds integers or "
                                     f"null. Received: {v!r}"[:300])
            return slice(*bounds)
        if isinstance(v, list):
            return [read(x, depth + 1) for x in v]
        if isinstance(v, dict):
            return {k: read(x, depth + 1) for k, x in v.items()}
        if v is None or isinstance(v, bool | int | float | str):
            return v
        raise CornuFileError(f"{where}: call_args hold an unexpected value {v!r}"[:300])

    if not isinstance(value, dict) or set(value) != {"args", "kwargs"} or not isinstance(
            value["args"], list) or not isinstance(value["kwargs"], dict):
        raise CornuFileError(f"{where}: each call_args entry is null or "
                             '{"args": [...], "kwargs": {...}}.')
    return (read(value["args"], 0), read(value["kwargs"], 0)), refs


def _fill(structure: Any, tensors: Mapping[tuple, Any]) -> Any:
    """The call's arguments with the references replaced by the tensors made so far."""
    if isinstance(structure, tuple) and structure and structure[0] == "ref":
        return tensors[structure[1]]
    if isinstance(structure, tuple):
        return tuple(_fill(v, tensors) for v in structure)
    if isinstance(structure, list):
        return [_fill(v, tensors) for v in structure]
    if isinstance(structure, dict):
        return {k: _fill(v, tensors) for k, v in structure.items()}
    return structure


_MODELS: dict[str, Builder] = {"Sequential": _build_sequential,
                               "Functional": _build_functional}


def _model_classes() -> dict[str, type]:
    from cornu.models.functional import Functional
    from cornu.models.sequential import Sequential

    return {"Sequential": Sequential, "Functional": Functional}


def _is_model_class(obj: Any) -> bool:
    from cornu.models.model import Model

    return isinstance(obj, type) and issubclass(obj, Model)


def _is_subclassed(model: Any) -> bool:
    """A model whose class is neither Sequential nor Functional (nor made from them)."""
    from cornu.models.functional import Functional
    from cornu.models.sequential import Sequential

    return not isinstance(model, Functional | Sequential)


def model_class_name(model: Model) -> str:
    """The name a file records for the model's class (only classes plan_model rebuilds)."""
    for key, cls in _model_classes().items():
        if type(model) is cls:
            return key
    if _is_subclassed(model):
        return class_name_of(model)
    raise CornuFileError(f"Cannot save a {type(model).__qualname__} as a .cornu file: it is a "
                         "subclass of Sequential or of a functional Model, which cornu files "
                         "do not hold yet. Use model.save_weights(...) and make the model in "
                         "code to load them.")


def _shapes_config(shapes: Any) -> Any:
    """Build shapes as JSON: lists, the batch axis unknown (None)."""
    if isinstance(shapes, tuple | list) and all(
            d is None or isinstance(d, int) for d in shapes):
        return [None, *(None if d is None else int(d) for d in list(shapes)[1:])] \
            if shapes else []
    if isinstance(shapes, tuple | list):
        return [_shapes_config(s) for s in shapes]
    if isinstance(shapes, dict):
        return {str(k): _shapes_config(v) for k, v in shapes.items()}
    raise CornuFileError(f"Cannot save: the model's input shapes {shapes!r} are not shapes.")


def _shapes_from_config(value: Any, where: str, depth: int = 0) -> Any:
    """A build_config's input_shape as the model's build takes it (tuples), checked."""
    def dim(d: Any) -> bool:
        return d is None or isinstance(d, int) and not isinstance(d, bool) and 0 < d < 2**31

    if depth > 8:
        raise CornuFileError(f"{where}: build_config input_shape is nested too deeply.")
    if isinstance(value, list) and len(value) <= 64 and all(dim(d) for d in value):
        return tuple(value)
    if isinstance(value, list) and 0 < len(value) <= 1024:
        return [_shapes_from_config(v, where, depth + 1) for v in value]
    if isinstance(value, dict) and 0 < len(value) <= 1024 and all(
            isinstance(k, str) for k in value):
        return {k: _shapes_from_config(v, where, depth + 1) for k, v in value.items()}
    raise CornuFileError(f"{where}: build_config input_shape must be a shape (a list of "
                         f"positive integers or null), or a list or dict of them. Received: "
                         f"{value!r}"[:2000])


def model_entry(model: Model) -> dict[str, Any]:
    """What a file (or to_json) records for a model: {"class_name", "config"} with its
    layers' classes named, for Sequential and functional models; for a subclassed model,
    Keras' form {"module", "class_name", "config", "registered_name", "build_config"}: its
    get_config(), and the input shapes that build it again."""
    class_name = model_class_name(model)
    try:
        config = model.get_config()
    except NotImplementedError as exc:
        raise CornuFileError(f"Cannot save model '{model.name}': {exc}") from exc
    if not isinstance(config, dict):
        raise CornuFileError(f"Cannot save model '{model.name}': its get_config() returned "
                             f"a {type(config).__name__}, not a dict.")
    if not _is_subclassed(model):
        registry_config = dict(config)
        name_classes(registry_config, model)
        return {"class_name": class_name, "config": registry_config}
    names = class_entry(model)
    entry = {"module": names.get("module", type(model).__module__),
             "class_name": names["class_name"], "config": config,
             "registered_name": names.get("registered_name", names["class_name"])}
    shapes = model._build_shapes
    if shapes is not None:
        entry["build_config"] = {"input_shape": _shapes_config(shapes)}
    return entry


def _build_subclassed(cls: type, entry: Mapping[str, Any],
                      custom_objects: Mapping[str, Any] | None, where: str) -> Model:
    """A subclassed model, as Keras rebuilds one: `cls.from_config(config)` (its own
    classmethod, with custom_objects in scope), then `build(input_shape)` on the saved
    input shapes, which creates its weights."""
    from cornu.models.model import Model

    name = entry.get("class_name")
    build = entry.get("build_config")
    shapes = None
    if build is not None:
        if not isinstance(build, dict) or "input_shape" not in build:
            raise CornuFileError(f"{where} ({name}): build_config must hold input_shape.")
        shapes = _shapes_from_config(build["input_shape"], f"{where} ({name})")
    with _registration.custom_object_scope(dict(custom_objects or {})):
        model = _call(f"{where} ({name}) cannot be made from its config", cls.from_config,
                      dict(entry["config"]))
        if not isinstance(model, Model):
            raise CornuFileError(f"{where}: {name}.from_config did not return a model.")
        if shapes is not None and not model.built:
            _call(f"{where} ({name}) cannot be built on input shape {shapes}", model.build,
                  shapes)
            object.__setattr__(model, "built", True)
    return model


def build_model(entry: Any, custom_objects: Mapping[str, Any] | None, where: str) -> Model:
    """The model of `{"class_name": ..., "config": {...}}` with fresh weights (load_model,
    Model.from_config, model_from_json, clone_model): Sequential and functional graphs
    layer by layer; a subclassed model from its class, which must be registered or in
    custom_objects (or the active custom_object_scope)."""
    _check_custom(custom_objects)
    if not isinstance(entry, dict) or not isinstance(entry.get("config"), dict):
        raise CornuFileError(f"{where}: expected {{'class_name': ..., 'config': ...}}.")
    class_name = entry.get("class_name")
    with _registration.custom_object_scope(dict(custom_objects or {})):
        if isinstance(class_name, str) and class_name in _MODELS and \
                _own_module(entry.get("module")):
            return _MODELS[class_name](entry["config"], custom_objects, where)
        names = [n for n in (entry.get("registered_name"), class_name)
                 if isinstance(n, str) and n]
        cls = _registration.lookup(names, custom_objects)
        if _is_model_class(cls) and not issubclass(cls, tuple(_model_classes().values())):
            return _build_subclassed(cls, entry, custom_objects, where)
    known = sorted({*_MODELS, *(k for k, v in custom_lookup(custom_objects).items()
                                if _is_model_class(v))})
    module = entry.get("module")
    described = repr(class_name) if not isinstance(module, str) else \
        f"{class_name!r} (module {module!r})"
    raise CornuFileError(f"{where} names an unknown model class {described}: it is neither "
                         f"Sequential nor Functional, nor a registered model class, nor in "
                         f"custom_objects. {_fix(class_name, 'model')} Known: "
                         f"{', '.join(known)}.")


def plan_model(entry: Any, custom_objects: Mapping[str, Any] | None, where: str) -> ModelPlan:
    """The model of a file's config, built with abstract weights (see ModelPlan)."""
    from cornu import variables

    with variables.abstract_variables():
        return ModelPlan(build_model(entry, custom_objects, where))
