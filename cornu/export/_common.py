"""What every export format needs: the model's inputs and outputs by name, its inference
forward as a pure function of the weights, the optional packages, and atomic writes."""

from __future__ import annotations

import contextlib
import importlib
import os
import re
import secrets
import shutil
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from cornu.layers import _conv_ops
from cornu.saving import archive
from cornu.saving.errors import CornuFileError

#: format -> (the extra that installs what it needs, the packages it imports)
EXTRAS = {
    "onnx": ("export-onnx", ("jax2onnx", "onnxruntime")),
    "tf_saved_model": ("export-tf", ("tensorflow",)),
}


def require(format: str, module: str) -> Any:
    """Import `module` for `format`, or say which extra installs it."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        extra, _ = EXTRAS[format]
        raise ImportError(
            f"model.export(format={format!r}) needs the package '{module}', which is not "
            f"installed. Install it with: pip install 'cornu[{extra}]'") from exc


@dataclass(frozen=True)
class TensorSpec:
    """One input or output: its name, shape (None: any size; the first axis is the
    batch) and dtype name."""

    name: str
    shape: tuple[int | None, ...]
    dtype: str

    def as_json(self) -> dict[str, Any]:
        return {"name": self.name, "shape": list(self.shape), "dtype": self.dtype}

    def describe(self) -> str:
        return f"{self.name} {self.shape} {self.dtype}"


_NAME = re.compile(r"[^A-Za-z0-9_.]")
_SYMBOL = re.compile(r"[^A-Za-z0-9_]")  # jax's symbolic dimension names


def _clean(name: str, taken: set[str], fallback: str) -> str:
    """A name serving runtimes accept (TF signature keys, ONNX value names), unique."""
    name = _NAME.sub("_", name) or fallback
    if not name[0].isalpha():
        name = f"{fallback}_{name}"
    base, k = name, 1
    while name in taken:
        name, k = f"{base}_{k}", k + 1
    taken.add(name)
    return name


def _dtype_name(dtype: Any) -> str:
    return np.dtype("float32" if dtype is None else dtype).name


def input_specs(model: Any) -> list[TensorSpec]:
    """The model's inputs, in the order its call takes them."""
    if not model.built:
        raise ValueError(
            f"Model '{model.name}' is not built yet, so its inputs are unknown and it cannot "
            "be exported. Give the first layer an input shape (or start with "
            "cornu.Input(shape=...)), or call the model on data first.")
    shapes = model._expected_input_shapes()
    names = model._input_names()
    dtypes = model._input_dtypes()
    if shapes is None:
        raise ValueError(f"Model '{model.name}' has no recorded input shape; call it on data "
                         "once before exporting.")
    if len(names) != len(shapes):
        names = [f"input_{i}" for i in range(len(shapes))]
        dtypes = [None] * len(shapes)
    taken: set[str] = set()
    return [TensorSpec(_clean(str(n), taken, "input"), (None, *tuple(s)[1:]), _dtype_name(d))
            for n, s, d in zip(names, shapes, dtypes, strict=True)]


def _output_list(model: Any, out: Any) -> list[Any]:
    if isinstance(out, Mapping):
        return [out[name] for name in model.output_names]
    if isinstance(out, list | tuple):
        return list(out)
    return [out]


def _as_served(o: Any) -> Any:
    # as predict: floating outputs in float32 whatever the compute dtype
    return o.astype(jnp.float32) if jnp.issubdtype(o.dtype, jnp.floating) else o


def forward(model: Any) -> tuple[Callable[..., tuple], tuple[list, list]]:
    """(fn(weights, *inputs) -> tuple of outputs, weights): the model in inference mode
    (training=False) as a pure function of its weights (trainable, non-trainable values)."""

    def fn(weights, *xs):
        trainable, others = weights
        x = xs[0] if len(xs) == 1 else list(xs)
        with _conv_ops.native_convolution():
            out, _ = model.stateless_call(list(trainable), list(others), x, training=False)
        return tuple(_as_served(o) for o in _output_list(model, out))

    weights = ([v.value for v in model.trainable_variables],
               [v.value for v in model.non_trainable_variables])
    return fn, weights


def output_specs(model: Any, specs: list[TensorSpec]) -> list[TensorSpec]:
    """The outputs' names (the model's output names), shapes and dtypes, found by tracing
    the forward with the batch size 2 (reported as None)."""
    fn, weights = forward(model)
    args = [jax.ShapeDtypeStruct(tuple(2 if d is None else d for d in s.shape), s.dtype)
            for s in specs]
    try:
        outs = jax.eval_shape(lambda *xs: fn(weights, *xs), *args)
    except Exception as exc:
        raise trace_error(model, None, exc) from exc
    names = list(model.output_names)
    if len(names) != len(outs):
        names = [f"output_{i}" for i in range(len(outs))]
    taken: set[str] = set()
    return [TensorSpec(_clean(str(n), taken, "output"), (None, *o.shape[1:]), o.dtype.name)
            for n, o in zip(names, outs, strict=True)]


def dim_names(specs: list[TensorSpec]) -> list[tuple[str | int, ...]]:
    """Per input, its shape with a name for every unknown size: 'batch' for the first axis
    (shared by all inputs), '<input>_<axis>' for the others."""
    return [tuple("batch" if i == 0 else (d if d is not None else f"{_SYMBOL.sub('_', s.name)}_{i}")
                  for i, d in enumerate(s.shape)) for s in specs]


def check_file_target(path: Any) -> Path:
    path = Path(os.fspath(path))
    if path.is_dir():
        raise CornuFileError(f"Cannot export to '{path}': it is a folder. Give a file name.")
    if not path.parent.is_dir():
        raise CornuFileError(f"Cannot export to '{path}': the folder '{path.parent}' does not "
                             "exist. Create it first.")
    return path


@contextlib.contextmanager
def atomic_folder(path: Any) -> Iterator[Path]:
    """A temporary folder beside `path` to write into; when the block ends without an
    error it replaces `path` (an earlier export there is removed), else it is removed and
    `path` is left as it was. A symbolic link is followed: the folder it leads to is
    replaced, the link stays a link."""
    path = Path(os.fspath(path))
    if path.is_symlink():  # as for files: write where the link leads, the link stays
        target = Path(os.path.realpath(path))
        if not target.exists():
            raise CornuFileError(
                f"Cannot export to '{path}': it is a symbolic link to '{target}', which does "
                "not exist (or the links loop). cornu writes through a link only to an "
                "existing folder: create it or remove the link.")
        path = target
    parent = path.parent
    if not parent.is_dir():
        raise CornuFileError(f"Cannot export to '{path}': the folder '{parent}' does not "
                             "exist. Create it first.")
    if path.exists() and not path.is_dir():
        raise CornuFileError(f"Cannot export to '{path}': a file of that name exists, and a "
                             "SavedModel is a folder. Remove it or choose another name.")
    if path.is_dir() and any(path.iterdir()) and not (path / "saved_model.pb").exists():
        raise CornuFileError(f"Cannot export to '{path}': the folder holds files that are not "
                             "a SavedModel, and cornu does not delete them. Choose an empty "
                             "or new folder.")
    archive.remove_stale_folders(path)  # of exports that were killed (docs/security.md)
    tmp = parent / f".{path.name}.{secrets.token_hex(6)}.tmp"
    tmp.mkdir()
    lock = archive.lock_folder(tmp)  # held until the folder is in place: never stale
    try:
        try:
            yield tmp
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        old = None
        if path.exists():
            old = parent / f".{path.name}.{secrets.token_hex(6)}.old"
            os.replace(path, old)
        os.replace(tmp, path)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    finally:
        if lock is not None:
            os.close(lock)


def all_layers(model: Any) -> list:
    """The model's layers, and the layers of the models and layers it holds."""
    found, stack = [], list(model.layers)
    while stack:
        layer = stack.pop(0)
        if any(layer is f for f in found):
            continue
        found.append(layer)
        stack.extend(getattr(layer, "layers", None) or [])
    return found


def layer_in_traceback(model: Any, exc: BaseException) -> Any:
    """The innermost of the model's layers whose method the error passed through."""
    ids = {id(layer) for layer in all_layers(model)}
    found, tb = None, exc.__traceback__
    while tb is not None:
        owner = tb.tb_frame.f_locals.get("self")
        if id(owner) in ids:
            found = owner
        tb = tb.tb_next
    return found


def trace_error(model: Any, format: str | None, exc: Exception) -> ValueError:
    """The error for a forward that jax could not trace for export."""
    layer = layer_in_traceback(model, exc)
    where = f" in layer '{layer.name}' ({type(layer).__name__})" if layer is not None else ""
    first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    symbolic = type(exc).__name__ == "InconclusiveDimensionOperation" or \
        "symbolic dimension" in first.lower() or "_DimExpr" in first
    hint = (" The export's batch size is symbolic (any size): a layer that needs it as a "
            "number (int(x.shape[0]), NumPy arrays of the batch size) cannot be exported; "
            "compute with ops.shape(x) and jax.numpy instead." if symbolic else "")
    fmt = "" if format is None else f" (format={format!r})"
    return ValueError(f"Cannot export model '{model.name}'{fmt}: tracing its forward "
                      f"failed{where}: {type(exc).__name__}: {first}{hint}")
