"""`cornu convert IN OUT`: a model file into another format.

IN is read by its contents (a .keras or .cornu zip, a Keras 2 / legacy .h5 file), never
by its name. OUT's format comes from its name, or from --format:

    .keras               Keras 3 archive              model.save("m.keras")
    .h5, .hdf5           Keras' legacy HDF5 file      model.save("m.h5")
    .cornu               cornu's own file             model.save("m.cornu")
    .stablehlo           StableHLO (jax.export)       model.export(OUT, format="stablehlo")
    .onnx                ONNX                         model.export(OUT, format="onnx")
    a folder             TF SavedModel                model.export(OUT, format="tf_saved_model")
"""

from __future__ import annotations

import argparse
from pathlib import Path

from cornu.cli.errors import CliError

__all__ = ["EXPORT_FORMATS", "FILE_FORMATS", "add_arguments", "output_format", "run"]

#: formats written by model.save, by OUT's ending
FILE_FORMATS = {".keras": "keras", ".h5": "h5", ".hdf5": "h5", ".cornu": "cornu"}
#: formats written by model.export, by OUT's ending ("" : a folder)
EXPORT_FORMATS = {".stablehlo": "stablehlo", ".onnx": "onnx", "": "tf_saved_model"}
_ALL = ("keras", "h5", "cornu", "stablehlo", "onnx", "tf_saved_model")

EPILOG = """\
formats, by OUT's name:
  .keras              Keras 3 archive (Keras 3 loads it: keras.models.load_model)
  .h5, .hdf5          Keras' legacy HDF5 model file (Keras 2 style)
  .cornu              cornu's own model file
  .stablehlo          StableHLO program (model.export, format="stablehlo")
  .onnx               ONNX model (model.export, format="onnx")
  a folder (no dot)   TensorFlow SavedModel (model.export, format="tf_saved_model")
IN is recognised by its contents (.keras, .cornu, .h5), whatever it is called.
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = EPILOG
    parser.add_argument("input", type=Path, metavar="IN",
                        help="a model file: .keras, .h5 (Keras 2 or legacy) or .cornu")
    parser.add_argument("output", type=Path, metavar="OUT",
                        help="where to write; its name picks the format (see below)")
    parser.add_argument("--format", choices=_ALL, default=None,
                        help="the output format: an export format whatever OUT is "
                             "called; a file format (keras, h5, cornu) needs OUT's ending")
    parser.add_argument("--force", action="store_true",
                        help="replace OUT if it exists")
    parser.add_argument("--no-compile", dest="compile", action="store_false",
                        help="leave out the compile settings and optimizer state")


def output_format(path: Path, given: str | None) -> str:
    """The format to write `path` in: `given`, else by the name's ending."""
    if given is not None:
        return given
    name = path.name.lower()
    if name.endswith(".weights.h5"):
        raise CliError(f"OUT '{path}' names a weights file; convert writes whole models. "
                       "Use .keras, .h5 or .cornu (or model.save_weights in Python).")
    suffix = path.suffix.lower()
    if suffix in FILE_FORMATS:
        return FILE_FORMATS[suffix]
    if suffix in EXPORT_FORMATS:
        return EXPORT_FORMATS[suffix]
    if suffix == "":
        return EXPORT_FORMATS[""]
    known = ", ".join([*FILE_FORMATS, *[s for s in EXPORT_FORMATS if s]])
    raise CliError(f"OUT '{path}' ends in {suffix!r}, which names no format cornu writes. "
                   f"Use one of {known}, a folder for a TF SavedModel, or --format.")


def run(args: argparse.Namespace) -> int:
    from cornu.saving import load_model

    source, target = args.input, args.output
    fmt = output_format(target, args.format)
    if not source.exists():
        raise CliError(f"IN '{source}' does not exist.")
    if not source.is_file():
        raise CliError(f"IN '{source}' is not a file.")
    if target.exists() or target.is_symlink():
        if not args.force:
            raise CliError(f"OUT '{target}' exists; pass --force to replace it.")
        if target.is_dir() and fmt in ("keras", "h5", "cornu"):
            raise CliError(f"OUT '{target}' is a folder; give a file name.")
    if target.resolve() == source.resolve():
        raise CliError("IN and OUT are the same file.")
    model = load_model(source, compile=args.compile)
    if fmt in ("keras", "h5", "cornu"):
        model.save(_named(target, fmt), overwrite=True)
    else:
        export = getattr(model, "export", None)
        if export is None:
            raise CliError(f"this cornu has no Model.export, so it cannot write {fmt}.")
        export(str(target), format=fmt)
    print(f"Wrote {target} ({fmt}) from {source}")
    return 0


def _named(target: Path, fmt: str) -> Path:
    """model.save picks the format by the name: with --format, the name must agree."""
    ending = {"keras": (".keras",), "h5": (".h5", ".hdf5"), "cornu": (".cornu",)}[fmt]
    if target.suffix.lower() not in ending:
        raise CliError(f"--format {fmt} writes files ending in {' or '.join(ending)}; OUT "
                       f"'{target}' does not. Rename OUT.")
    return target
