"""Export a model for serving: `model.export(path, format=...)` (Keras 3's method).

Formats (one module each): "tf_saved_model" (TensorFlow SavedModel, for TF Serving;
needs `pip install 'cornu[export-tf]'`), "onnx" (ONNX via jax2onnx, for ONNX Runtime;
`pip install 'cornu[export-onnx]'`), "stablehlo" (a serialized `jax.export.Exported`,
runnable with jax alone; `load_stablehlo` reads it back). Every export is the model's
inference forward (training=False) with a batch of any size; docs/interop.md has the
deployment commands."""

from __future__ import annotations

from typing import Any

from cornu.export._common import TensorSpec
from cornu.export.stablehlo import StableHLOModel
from cornu.export.stablehlo import load as load_stablehlo

__all__ = ["FORMATS", "StableHLOModel", "TensorSpec", "export_model", "load_stablehlo"]

#: the format names, as Keras 3 spells those it has
FORMATS = ("tf_saved_model", "onnx", "stablehlo")


def export_model(model: Any, filepath: Any, format: str = "tf_saved_model",
                 verbose: bool | None = None, **kwargs: Any) -> None:
    """Write `model`'s inference forward to `filepath` in `format`; see `Model.export`."""
    if not isinstance(format, str) or format not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(repr(f) for f in FORMATS)}. "
                         f"Received: format={format!r}")
    verbose = True if verbose is None else bool(verbose)
    if format == "stablehlo":
        from cornu.export import stablehlo as writer
        allowed = {"platforms"}
    elif format == "onnx":
        from cornu.export import onnx as writer  # type: ignore[no-redef]
        allowed = {"opset_version"}
    else:
        from cornu.export import tf_saved_model as writer  # type: ignore[no-redef]
        allowed = set()
    unknown = sorted(set(kwargs) - allowed)
    if unknown:
        raise TypeError(f"model.export(format={format!r}) got unexpected keyword arguments: "
                        f"{', '.join(unknown)}" + (f" (it takes {', '.join(sorted(allowed))})"
                                                   if allowed else "") + ".")
    if filepath is None or str(filepath) == "":
        raise ValueError(f"filepath must name the file or folder to write. Received: "
                         f"filepath={filepath!r}")
    saved = writer.export(model, filepath, verbose=verbose, **kwargs)
    if verbose:
        inputs = ", ".join(s.describe() for s in saved["inputs"])
        outputs = ", ".join(s.describe() for s in saved["outputs"])
        print(f"Saved artifact at '{filepath}' (format={format!r}). Inputs: {inputs}. "
              f"Outputs: {outputs}.")
