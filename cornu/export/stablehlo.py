"""format="stablehlo": the inference forward as a serialized `jax.export.Exported`, with a
symbolic batch size, in a file that jax alone loads and runs.

The file is one line of JSON (the header: the format, the jax and jaxlib versions that
made it, the calling convention version, the platforms, the inputs' and outputs' names,
shapes and dtypes), a newline, then the bytes of `Exported.serialize()`. With jax alone:

    header, payload = pathlib.Path("net.stablehlo").read_bytes().split(b"\\n", 1)
    exported = jax.export.deserialize(bytearray(payload))
    y = exported.call(x)

The weights are constants inside the module, so the file is all a runtime needs.
`load` checks the header before deserializing: jax runs serialized modules of the calling
convention versions it supports (`jax.export.minimum_supported_calling_convention_version`
to `maximum_...`); a file outside that window is refused with a message that says so.
"""

from __future__ import annotations

import datetime
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, BinaryIO

import jax
import numpy as np

from cornu.export import _common
from cornu.saving import archive
from cornu.saving.errors import CornuFileError

FORMAT = "cornu-stablehlo"
FORMAT_VERSION = 1
#: the header line is read with this bound before anything else
MAX_HEADER_BYTES = 1 << 20


def export(model: Any, path: Any, *, verbose: bool,
           platforms: Sequence[str] | None = None) -> dict[str, Any]:
    target = _common.check_file_target(path)
    specs = _common.input_specs(model)
    outputs = _common.output_specs(model, specs)
    fn, weights = _common.forward(model)
    shapes = _symbolic_shapes(specs)
    args = [jax.ShapeDtypeStruct(shape, s.dtype) for shape, s in zip(shapes, specs, strict=True)]

    def serve(*xs):
        outs = fn(weights, *xs)
        return outs[0] if len(outs) == 1 else outs

    kwargs = {} if platforms is None else {"platforms": tuple(platforms)}
    try:
        exported = jax.export.export(jax.jit(serve), **kwargs)(*args)
    except Exception as exc:
        raise _common.trace_error(model, "stablehlo", exc) from exc
    header = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "jax_version": jax.__version__,
        "jaxlib_version": _jaxlib_version(),
        "calling_convention_version": exported.calling_convention_version,
        "platforms": list(exported.platforms),
        "created": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "model": model.name,
        "inputs": [s.as_json() for s in specs],
        "outputs": [s.as_json() for s in outputs],
    }

    def write(fp: BinaryIO) -> None:
        fp.write(json.dumps(header, sort_keys=True).encode("utf-8") + b"\n")
        fp.write(_payload(exported))

    archive.atomic_write(target, write, overwrite=True)
    return {"inputs": specs, "outputs": outputs}


def _payload(exported: Any) -> bytes:
    return bytes(exported.serialize())


def _symbolic_shapes(specs: list[_common.TensorSpec]) -> list[tuple]:
    """The inputs' shapes with jax symbolic dimensions (one scope for all of them)."""
    named = _common.dim_names(specs)
    symbols = sorted({d for shape in named for d in shape if isinstance(d, str)},
                     key=lambda n: (n != "batch", n))
    dims = dict(zip(symbols, jax.export.symbolic_shape(", ".join(symbols)), strict=True))
    return [tuple(dims[d] if isinstance(d, str) else d for d in shape) for shape in named]


def _jaxlib_version() -> str:
    import jaxlib

    return getattr(jaxlib, "__version__", "unknown")


class StableHLOModel:
    """A loaded .stablehlo export: `header` (what the file records), `exported` (the
    `jax.export.Exported`), and calling it runs the model on arrays (batch of any size)."""

    def __init__(self, header: dict[str, Any], exported: Any) -> None:
        self.header = header
        self.exported = exported

    @property
    def input_names(self) -> list[str]:
        return [s["name"] for s in self.header["inputs"]]

    @property
    def output_names(self) -> list[str]:
        return [s["name"] for s in self.header["outputs"]]

    def __call__(self, *inputs: Any) -> Any:
        xs = [np.asarray(x, spec["dtype"]) for x, spec in
              zip(inputs, self.header["inputs"], strict=True)]
        return self.exported.call(*xs)


def read_header(path: Any) -> tuple[dict[str, Any], int]:
    """(header, offset of the serialized module) of a .stablehlo file, checked."""
    path = Path(os.fspath(path))
    try:
        with open(path, "rb") as fp:
            line = fp.readline(MAX_HEADER_BYTES + 1)
    except OSError as exc:
        raise CornuFileError(f"Cannot read '{path}': {exc}") from exc
    if not line.endswith(b"\n") or not line.startswith(b"{"):
        raise CornuFileError(f"'{path}' is not a StableHLO export of cornu: it does not start "
                             "with a JSON header line (model.export(path, "
                             "format='stablehlo') writes one).")
    try:
        header = json.loads(line)
    except ValueError as exc:
        raise CornuFileError(f"'{path}': the header line is not valid JSON ({exc}).") from exc
    found = header.get("format") if isinstance(header, dict) else None
    if found != FORMAT:
        raise CornuFileError(f"'{path}' is not a StableHLO export of cornu: its header has "
                             f"format={found!r}, expected {FORMAT!r}.")
    if header.get("format_version") != FORMAT_VERSION:
        raise CornuFileError(f"'{path}' has format_version={header.get('format_version')!r}; "
                             f"this cornu reads version {FORMAT_VERSION}.")
    check_compatible(header, path)
    return header, len(line)


def check_compatible(header: dict[str, Any], where: Any) -> None:
    """Refuse a module whose calling convention version this jax does not run."""
    version = header.get("calling_convention_version")
    low = jax.export.minimum_supported_calling_convention_version
    high = jax.export.maximum_supported_calling_convention_version
    made_by = f"jax {header.get('jax_version', '(unknown)')}"
    if not isinstance(version, int) or isinstance(version, bool) or not low <= version <= high:
        side = ("newer than" if isinstance(version, int) and version > high
                else "older than")
        raise CornuFileError(
            f"'{where}' was exported by {made_by} with calling convention version "
            f"{version!r}, {side} what this jax {jax.__version__} runs (versions {low} to "
            f"{high}): the file is outside jax's serialization compatibility window (jax "
            "loads exports up to about 6 months older and 3 weeks newer than itself). "
            f"Export the model again with this jax, or load the file with {made_by}.")


def load(path: Any) -> StableHLOModel:
    """Load a file written by `model.export(path, format="stablehlo")`, with jax only."""
    header, offset = read_header(path)
    with open(path, "rb") as fp:
        fp.seek(offset)
        payload = bytearray(fp.read())
    try:
        exported = jax.export.deserialize(payload)
    except Exception as exc:
        raise CornuFileError(
            f"'{path}': jax {jax.__version__} cannot deserialize the module exported by jax "
            f"{header.get('jax_version')} ({type(exc).__name__}: {exc}). A file from a newer "
            "jax may be outside jax's compatibility window; export it again with this jax."
        ) from exc
    if exported.calling_convention_version != header["calling_convention_version"]:
        check_compatible({**header, "calling_convention_version":
                          exported.calling_convention_version}, path)
    return StableHLOModel(header, exported)
