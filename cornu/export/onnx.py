"""format="onnx": the inference forward converted by jax2onnx, with a symbolic batch
size ('batch'), inputs and outputs named as the model names them.

jax2onnx converts jax primitives one by one; when it has no conversion for one, the error
says which primitive and which of the model's layers computes it (found from the source
location jax records for every operation)."""

from __future__ import annotations

import inspect
import os
import sys
from typing import Any, BinaryIO

import jax

from cornu.export import _common
from cornu.saving import archive


def export(model: Any, path: Any, *, verbose: bool, opset_version: int | None = None
           ) -> dict[str, Any]:
    jax2onnx = _common.require("onnx", "jax2onnx")
    target = _common.check_file_target(path)
    specs = _common.input_specs(model)
    outputs = _common.output_specs(model, specs)
    fn, weights = _common.forward(model)

    def serve(*xs):
        outs = fn(weights, *xs)
        return outs[0] if len(outs) == 1 else outs

    args = [jax.ShapeDtypeStruct(shape, s.dtype)
            for shape, s in zip(_common.dim_names(specs), specs, strict=True)]
    kwargs: dict[str, Any] = {"input_names": [s.name for s in specs],
                              "output_names": [s.name for s in outputs],
                              "return_mode": "proto", "model_name": model.name}
    if opset_version is not None:
        kwargs["opset"] = opset_version
    try:
        proto = jax2onnx.to_onnx(serve, inputs=args, **kwargs)
    except Exception as exc:
        raise ValueError(_unconverted(model, serve, args, exc)) from exc

    def write(fp: BinaryIO) -> None:
        fp.write(_serialize(proto))

    archive.atomic_write(target, write, overwrite=True)
    return {"inputs": specs, "outputs": outputs}


def _serialize(proto: Any) -> bytes:
    return proto.SerializeToString()


def _unconverted(model: Any, fn: Any, args: list, exc: Exception) -> str:
    """The error message: the primitive jax2onnx stopped at and the layer computing it."""
    message = f"{type(exc).__name__}: {exc}".strip()
    where = _failing_layer(model, fn, args, exc)
    return (f"jax2onnx could not convert model '{model.name}' to ONNX{where}. jax2onnx said: "
            f"{message.splitlines()[0] if message else type(exc).__name__}. Export it with "
            "format='stablehlo' or 'tf_saved_model' instead, or replace that layer.")


def _failing_layer(model: Any, fn: Any, args: list, exc: Exception) -> str:
    """' at the jax op P of layer 'name' (Class)', or '' when it cannot tell: the equation
    jax2onnx was lowering when it failed (`eqn` in its frames), else the first equation
    whose primitive its message names."""
    files = _layer_files(model)
    eqn = _equation_in_traceback(exc)
    if eqn is not None:
        return _describe(eqn, files)
    text = str(exc)
    try:
        jaxpr = jax.make_jaxpr(fn)(*[jax.ShapeDtypeStruct(
            tuple(2 if isinstance(d, str) else d for d in a.shape), a.dtype) for a in args])
    except Exception:
        return ""
    for eqn in _equations(jaxpr.jaxpr):
        if eqn.primitive.name in text:
            return _describe(eqn, files)
    return ""


def _describe(eqn: Any, files: dict[str, list]) -> str:
    op = f" at the jax op '{eqn.primitive.name}'"
    layers = _layers_of(eqn, files)
    if layers:
        described = ", ".join(f"'{layer.name}' ({type(layer).__name__})" for layer in layers)
        return f"{op} of layer {described}"
    return op


def _equation_in_traceback(exc: BaseException) -> Any:
    """The innermost jaxpr equation a frame of the error's traceback was handling."""
    found = None
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        tb = exc.__traceback__
        while tb is not None:
            eqn = tb.tb_frame.f_locals.get("eqn")
            if hasattr(eqn, "primitive") and hasattr(eqn, "source_info"):
                found = eqn
            tb = tb.tb_next
        if found is not None:
            return found
        exc = exc.__cause__ or exc.__context__
    return None


def _equations(jaxpr: Any):
    for eqn in jaxpr.eqns:
        yield eqn
        for value in eqn.params.values():
            for sub in value if isinstance(value, list | tuple) else [value]:
                inner = getattr(sub, "jaxpr", None)
                if inner is not None and hasattr(inner, "eqns"):
                    yield from _equations(inner)
                elif hasattr(sub, "eqns"):
                    yield from _equations(sub)


def _layer_files(model: Any) -> dict[str, list]:
    """source file -> the model's layers whose class (or a base class short of Layer) is
    defined there."""
    from cornu.layers.base import Layer

    files: dict[str, list] = {}
    for layer in _common.all_layers(model):
        for cls in type(layer).__mro__:
            if cls is Layer or not issubclass(cls, Layer):
                break
            module = sys.modules.get(cls.__module__)
            try:
                file = inspect.getsourcefile(cls) or getattr(module, "__file__", None)
            except TypeError:
                file = None
            if file:
                entry = files.setdefault(os.path.realpath(file), [])
                if layer not in entry:
                    entry.append(layer)
    return files


def _layers_of(eqn: Any, files: dict[str, list]) -> list:
    traceback = getattr(eqn.source_info, "traceback", None)
    frames = getattr(traceback, "frames", None) or []
    for frame in frames:  # innermost first
        layers = files.get(os.path.realpath(frame.file_name))
        if layers:
            return layers
    return []
