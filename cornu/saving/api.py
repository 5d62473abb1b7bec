"""save_model / load_model / save_weights / load_weights.

A `.cornu` file is a zip holding exactly:
    metadata.json              {"format": "cornu.model", "format_version": 1, versions, date}
    config.json                {"model": {"class_name", "config"}, "compile": {...} | null}
    model.weights.safetensors  layers.{i}.params.{name}, layers.{i}.state.{name}
    optimizer.safetensors      opt_state/{path}, train_rng (only once the model has trained)
A weights file (`.weights.safetensors`) is the weights member alone, as a plain file.
Loading checks everything before it builds or changes anything.
"""

from __future__ import annotations

import datetime
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

import jax
import numpy as np

from cornu.saving import (
    archive,
    jsonio,
    keras_format,
    keras_h5,
    keras_legacy_h5,
    limits,
    registry,
    tensors,
)
from cornu.saving.errors import CornuFileError
from cornu.saving.weights import TensorFile, check_head, read_tensors, write_tensors

if TYPE_CHECKING:
    from cornu.models.model import Model

__all__ = ["FORMAT_VERSION", "load_model", "load_weights", "save_model", "save_weights"]

#: the version this cornu writes; it reads every version from 1 up to this one
FORMAT_VERSION = 1
MODEL_SUFFIX = ".cornu"
WEIGHTS_SUFFIX = ".weights.safetensors"
_METADATA, _CONFIG = "metadata.json", "config.json"
_WEIGHTS, _OPTIMIZER = "model.weights.safetensors", "optimizer.safetensors"
#: what layers whose class overrides save_own_variables write (by "<layer path>/<key>")
_OWN = "own_variables.safetensors"


def _path(filepath: Any) -> Path:
    if not isinstance(filepath, str | os.PathLike):
        raise TypeError(f"filepath must be a str or a path. Received: filepath={filepath!r} "
                        f"(of type {type(filepath).__name__})")
    return Path(filepath)


def _suffix(path: Path, suffix: str, example: str) -> None:
    if not path.name.endswith(suffix) or path.name == suffix:
        raise CornuFileError(f"The file name must end in {suffix}. Received: filepath='{path}'."
                             f" Use e.g. {example}.")


def _cornu_version() -> str:
    from cornu import __version__

    return __version__


def _versions() -> dict[str, Any]:
    created = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    return {"format_version": FORMAT_VERSION, "cornu_version": _cornu_version(),
            "jax_version": jax.__version__, "created": created}


def _check_version(version: Any, written_by: Any, where: str) -> None:
    if isinstance(version, str) and version.isdigit():
        version = int(version)
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise CornuFileError(f"{where} has no valid format_version (received {version!r}).")
    if version > FORMAT_VERSION:
        by = f", written by cornu {written_by}" if isinstance(written_by, str) else ""
        reads = "1" if FORMAT_VERSION == 1 else f"1 to {FORMAT_VERSION}"
        raise CornuFileError(
            f"{where} has format version {version}{by}; this cornu ({_cornu_version()}) reads "
            f"format version {reads}. Upgrade cornu to load it.")


def _weights_meta(model_class: str) -> dict[str, str]:
    return {"format": "cornu.weights", "model_class": model_class,
            **{k: str(v) for k, v in _versions().items()}}


def _read_weights(data: bytes, where: str) -> TensorFile:
    weights = read_tensors(data, where)
    if weights.metadata.get("format") != "cornu.weights":
        raise CornuFileError(f"{where} is a safetensors file but not cornu weights (its "
                             "metadata lacks format=cornu.weights). Save weights with "
                             "model.save_weights().")
    _check_version(weights.metadata.get("format_version"),
                   weights.metadata.get("cornu_version"), where)
    return weights


def _require_built(model: Model, action: str) -> None:
    if not model.built:
        raise CornuFileError(
            f"Cannot {action} model '{model.name}': it is not built, so it has no weights. "
            "Give the first layer input_shape=(...) (or start with cornu.Input), or call the "
            "model on data first.")


# ------------------------------------------------------------------------------ save


def save_model(model: Model, filepath: str | os.PathLike, overwrite: bool = True) -> None:
    """Write `model` (architecture, compile settings, weights, optimizer state) to a .cornu
    file, atomically: a crash mid-save leaves any previous file intact, and the next save
    of the same file removes the temporary file it left. A symbolic link is followed (the
    file it leads to is replaced atomically, the link stays a link); a link to nothing and
    a read-only file are refused (docs/security.md)."""
    path = _path(filepath)
    if path.name.endswith(keras_format.KERAS_SUFFIX) and path.name != keras_format.KERAS_SUFFIX:
        _require_built(model, "save")
        keras_format.write_keras_model(model, path, overwrite)
        return
    if path.suffix in (".h5", ".hdf5") and not path.name.endswith(
            keras_format.WEIGHTS_H5_SUFFIX):
        _require_built(model, "save")
        keras_legacy_h5.write_legacy_h5(model, path, overwrite)
        return
    _suffix(path, MODEL_SUFFIX, "model.save('model.cornu'), or model.save('model.keras') for "
            "Keras' format (model.save_weights('model.weights.safetensors') for weights alone)")
    _require_built(model, "save")
    class_name = registry.model_class_name(model)
    model_entry = registry.model_entry(model)
    # refuse now what load_model would refuse later: the config must rebuild these weights
    # (the model's own classes stand for the custom_objects or registration a load needs)
    plan = registry.plan_model(jsonio.parse(jsonio.dumps(model_entry, "the model config")),
                               registry.classes_of(model),
                               f"Cannot save: the config of model '{model.name}'")
    expected = tensors.expected_weights(model.layers, *model.weight_trees())
    rebuilt = tensors.expected_weights(plan.model.layers, *plan.model.weight_trees())
    if tensors.shapes(rebuilt) != tensors.shapes(expected):
        raise CornuFileError(f"Cannot save model '{model.name}': its config does not rebuild "
                             "layers with the same weights. Check the layers' get_config().")
    compile_config = model.get_compile_config()
    members: list[tuple[str, bytes | archive.Writer]] = [
        (_METADATA, jsonio.dumps({"format": "cornu.model", **_versions()}, "metadata")),
        (_CONFIG, jsonio.dumps({"model": model_entry, "compile": compile_config},
                               "the model config")),
        (_WEIGHTS, _tensor_writer(tensors.weight_tensors(*model.weight_trees()),
                                  _weights_meta(class_name))),
    ]
    own = _own_variable_tensors(model)
    if own:
        members.append((_OWN, _tensor_writer(own, {"format": "cornu.own_variables"})))
    ts = model.train_state
    optimizer = tensors.optimizer_tensors(ts.opt_state, ts.rng)
    if optimizer and compile_config is not None:
        members.append((_OPTIMIZER, _tensor_writer(
            optimizer, {"format": "cornu.optimizer", "format_version": str(FORMAT_VERSION)})))
    archive.atomic_write(path, lambda fp: archive.write_archive(fp, members),
                         overwrite=overwrite)


def _hooked_layers(model: Model) -> list[tuple[str, Any]]:
    """(path, layer) of the layers whose class overrides save_own_variables or
    load_own_variables, by the paths of Keras' weights layout."""
    if not any(keras_h5._has_hooks(layer) for layer in model._flatten_layers()):
        return []
    return keras_h5.layout_with_hooks(model)[2]


def _own_variable_tensors(model: Model) -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    for path, layer in _hooked_layers(model):
        store: dict[str, Any] = {}
        layer.save_own_variables(store)
        for key, value in store.items():
            out[f"{path}/{key}"] = np.asarray(value)
    return out


def _load_own_variables(model: Model, file: TensorFile) -> None:
    """Each hooked layer's load_own_variables, with the tensors saved under its path."""
    for path, layer in _hooked_layers(model):
        prefix = f"{path}/"
        layer.load_own_variables({name[len(prefix):]: file.array(name) for name in file.specs
                                  if name.startswith(prefix) and "/" not in name[len(prefix):]})


def _tensor_writer(values: Mapping[str, Any], metadata: Mapping[str, str]) -> archive.Writer:
    def write(fp: BinaryIO) -> None:
        write_tensors(fp, values, metadata)

    return write


def save_weights(model: Model, filepath: str | os.PathLike, overwrite: bool = True) -> None:
    """Write the weights alone to a `.weights.safetensors` file, atomically (links and
    read-only files as save_model)."""
    path = _path(filepath)
    _require_built(model, "save the weights of")
    if path.name.endswith(keras_format.WEIGHTS_H5_SUFFIX) and \
            path.name != keras_format.WEIGHTS_H5_SUFFIX:
        keras_format.write_weights_h5(model, path, overwrite)
        return
    _suffix(path, WEIGHTS_SUFFIX, "model.save_weights('model.weights.safetensors'), or "
            "model.save_weights('model.weights.h5') for Keras' format")
    values = tensors.weight_tensors(*model.weight_trees())
    meta = _weights_meta(type(model).__name__)
    archive.atomic_write(path, _tensor_writer(values, meta), overwrite=overwrite)


# ------------------------------------------------------------------------------ load


def _read_model_file(path: Path) -> dict[str, bytes]:
    """The members of a .cornu file whose metadata says it is one this cornu reads."""
    members = archive.read_archive(path, {
        _METADATA: archive.Member(limits.MAX_JSON_BYTES),
        _CONFIG: archive.Member(limits.MAX_JSON_BYTES),
        _WEIGHTS: archive.Member(limits.MAX_WEIGHTS_BYTES, head=check_head),
        _OPTIMIZER: archive.Member(limits.MAX_WEIGHTS_BYTES, required=False, head=check_head),
        _OWN: archive.Member(limits.MAX_WEIGHTS_BYTES, required=False, head=check_head),
    })
    where = f"'{path}' ({_METADATA})"
    metadata = jsonio.loads(members[_METADATA], where)
    if not isinstance(metadata, dict) or metadata.get("format") != "cornu.model":
        raise CornuFileError(f"{where} does not say format=cornu.model: not a cornu model file.")
    _check_version(metadata.get("format_version"), metadata.get("cornu_version"), where)
    return members


def load_model(filepath: str | os.PathLike, custom_objects: Mapping[str, Any] | None = None,
               compile: bool = True) -> Model:
    """The model saved in a .cornu file: same predictions, and (compile=True) training
    continues as the saved model's would. Refuses, with a CornuFileError naming what is
    wrong, anything that is not exactly such a file; every check runs before the model
    is made."""
    path = _path(filepath)
    kind = _kind(path)
    if kind == "hdf5":
        return _load_legacy_model(path, custom_objects, compile)
    if path.name.endswith(".safetensors"):
        raise CornuFileError(f"'{path}' is a weights file, not a model file. Make the model "
                             "in code, then call model.load_weights(filepath).")
    if kind == "keras":
        return _load_keras_model(path, custom_objects, compile)
    members = _read_model_file(path)
    where = f"'{path}' ({_CONFIG})"
    config = jsonio.loads(members[_CONFIG], where)
    if not isinstance(config, dict) or set(config) != {"model", "compile"}:
        raise CornuFileError(f"{where} must hold exactly 'model' and 'compile'.")
    in_weights, in_optimizer = f"'{path}' ({_WEIGHTS})", f"'{path}' ({_OPTIMIZER})"
    weights = _read_weights(members[_WEIGHTS], in_weights)
    optimizer_file = None
    if _OPTIMIZER in members:
        optimizer_file = read_tensors(members[_OPTIMIZER], in_optimizer)
        if optimizer_file.metadata.get("format") != "cornu.optimizer":
            raise CornuFileError(f"{in_optimizer}: its metadata lacks format=cornu.optimizer.")
    # the model is built with abstract weights (shapes only, no arrays yet), so a config
    # claiming huge layers is refused cheaply
    plan = registry.plan_model(config["model"], custom_objects, where)
    model = plan.model
    expected = tensors.expected_weights(model.layers, *model.weight_trees())
    tensors.check(weights, expected, in_weights)
    settings = None
    if compile and config["compile"] is not None:
        settings = _compile_settings(config["compile"], where, custom_objects)
        if optimizer_file is not None:  # check the optimizer state against its shapes
            template = _call(where, jax.eval_shape, settings["optimizer"].transform().init,
                             model.train_state.params)
            tensors.restore_optimizer(optimizer_file, template, in_optimizer, arrays=False)
    model.set_weight_trees(*tensors.take_weights(weights, expected, len(expected_entries(model)),
                                                 in_weights))
    if _OWN in members:
        _load_own_variables(model, read_tensors(members[_OWN], f"'{path}' ({_OWN})"))
    if settings is not None:
        _call(where, model.compile, **settings)
        if optimizer_file is not None:
            engine = model._require_compiled("load_model")
            ts = model.train_state
            opt_state, rng = tensors.restore_optimizer(
                optimizer_file, jax.eval_shape(engine.tx.init, ts.params), in_optimizer)
            model.train_state = ts._replace(opt_state=opt_state, rng=rng)
            if opt_state is not None:  # the updates the saved model had made
                model.optimizer._sync_iterations(opt_state)
    return model


def _call(where: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
    """fn(...), its complaints about the saved compile settings as a CornuFileError."""
    try:
        return fn(*args, **kwargs)
    except (TypeError, ValueError, KeyError) as exc:
        raise CornuFileError(f"{where}: the compile settings are not valid ({exc}). Load with "
                             "compile=False to get the model without them.") from exc


def _compile_settings(config: Any, where: str,
                      custom_objects: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """compile()'s arguments, made from the saved names and configs: cornu's own classes,
    and users' classes and functions registered or passed in custom_objects. loss, metrics
    and loss_weights may be one value, a list per output or a dict."""
    from cornu import losses, optimizers
    from cornu import metrics as metrics_module

    custom = registry.custom_lookup(custom_objects)

    def bad() -> CornuFileError:
        return CornuFileError(f"{where}: 'compile' must hold optimizer, loss and metrics "
                              "(names or metric configs, per output as a list or a dict), "
                              "and may hold loss_weights.")

    def per_output(value: Any, leaf: Any) -> Any:
        if isinstance(value, dict):
            if not all(isinstance(k, str) for k in value):
                raise bad()
            return {k: leaf(v) for k, v in value.items()}
        if isinstance(value, list) and value and all(
                isinstance(v, dict | list | str) for v in value) and leaf is not metric_list:
            return [leaf(v) for v in value]
        return leaf(value)

    def loss(value: Any) -> Any:
        if not (isinstance(value, str) or isinstance(value, dict) and (
                "name" in value or "class_name" in value)):
            raise bad()
        made = _call(where, losses.deserialize, value, custom)
        return value if isinstance(value, str) else made  # a name stays a name, as Keras

    def metric_list(value: Any) -> list[Any]:
        """Names, and {'class_name', 'config'} dicts of cornu's metric classes."""
        if not isinstance(value, list) or not all(
                isinstance(m, str) or (isinstance(m, dict) and "class_name" in m)
                for m in value):
            raise bad()
        return [m if isinstance(m, str) else _call(where, metrics_module.deserialize, m)
                for m in value]

    def weight(value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise bad()
        return float(value)

    if not isinstance(config, dict) or not {"optimizer", "loss", "metrics"} <= set(config) \
            or not set(config) <= {"optimizer", "loss", "metrics", "loss_weights",
                                   "weighted_metrics"}:
        raise bad()

    def metric_spec(metrics: Any) -> Any:
        if isinstance(metrics, dict):
            return {k: metric_list(v) for k, v in metrics.items() if isinstance(k, str)}
        if isinstance(metrics, list) and metrics and all(isinstance(m, list) for m in metrics):
            return [metric_list(m) for m in metrics]
        return metric_list(metrics)

    metrics = metric_spec(config["metrics"])
    settings = {"optimizer": _call(where, optimizers.deserialize, config["optimizer"]),
                "loss": loss(config["loss"]) if isinstance(config["loss"], dict) and (
                    "name" in config["loss"] or "class_name" in config["loss"])
                else per_output(config["loss"], loss),
                "metrics": metrics}
    if config.get("weighted_metrics") is not None:
        settings["weighted_metrics"] = metric_spec(config["weighted_metrics"])
    if config.get("loss_weights") is not None:
        lw = config["loss_weights"]
        settings["loss_weights"] = ({k: weight(v) for k, v in lw.items()} if isinstance(lw, dict)
                                    else [weight(v) for v in lw] if isinstance(lw, list)
                                    else weight(lw))
    return settings


def load_weights(model: Model, filepath: str | os.PathLike, skip_mismatch: bool = False,
                 *, by_name: bool = False) -> None:
    """Set `model`'s weights from a `.weights.safetensors` file, a `.cornu` model file, or
    Keras' `.keras`, `.weights.h5` and legacy `.h5` files. Every tensor must match the
    model's architecture; on any error the model is unchanged. `by_name` and
    `skip_mismatch` apply to legacy `.h5` files, as in Keras."""
    path = _path(filepath)
    _require_built(model, "load weights into")
    kind = _kind(path)
    if (by_name or skip_mismatch) and kind != "hdf5":
        raise CornuFileError(f"by_name and skip_mismatch apply to legacy .h5 files only, as "
                             f"in Keras. Received: by_name={by_name}, "
                             f"skip_mismatch={skip_mismatch} for '{path}'.")
    if kind in ("hdf5", "keras"):
        if kind == "hdf5":
            data = archive.check_file(path, limits.MAX_WEIGHTS_BYTES, "an HDF5 weights file",
                                      head=keras_format.check_h5_head)  # read in place
            where = f"'{path}'"
            if keras_legacy_h5.is_legacy_file(data, where):
                keras_legacy_h5.load_legacy_weights(model, data, where, by_name=by_name,
                                                    skip_mismatch=skip_mismatch)
                return
            if by_name or skip_mismatch:
                raise CornuFileError(f"{where} is a Keras 3 weights file; by_name and "
                                     "skip_mismatch apply to legacy .h5 files only.")
        else:
            data = keras_format.read_keras_archive(path, model, others=False)[
                keras_format.WEIGHTS]
            where = f"'{path}' ({keras_format.WEIGHTS})"
        keras_format.read_weights_h5(model, data, where)
        return
    if kind == "cornu":
        members = _read_model_file(path)
        data, where = members[_WEIGHTS], f"'{path}' ({_WEIGHTS})"
    else:
        data = archive.read_file(path, limits.MAX_WEIGHTS_BYTES + limits.MAX_HEADER_BYTES + 8,
                                 "a cornu weights file", head=check_head)
        where = f"'{path}'"
    weights = _read_weights(data, where)
    expected = tensors.expected_weights(model.layers, *model.weight_trees())
    model.set_weight_trees(*tensors.take_weights(weights, expected, len(expected_entries(model)),
                                                 where))


def _kind(path: Path) -> str:
    """What the file is, by its first bytes (and a zip by its members): "hdf5", "keras",
    "cornu" (any other zip, or a missing file named .cornu/.keras), "other"."""
    head = b""
    if path.is_file():  # else the reader says what is wrong (missing, a folder, ...)
        try:
            with open(path, "rb") as fp:
                head = fp.read(len(keras_format.HDF5_SIGNATURE))
        except OSError as exc:
            raise CornuFileError(f"Cannot load '{path}': {exc}") from exc
    if head == keras_format.HDF5_SIGNATURE:
        return "hdf5"
    if head.startswith(b"PK\x03\x04"):
        return "keras" if keras_format.is_keras_archive(path) else "cornu"
    if path.name.endswith((MODEL_SUFFIX, keras_format.KERAS_SUFFIX)):
        return "cornu"  # read_archive says what is wrong with it
    return "other"


def _load_keras_model(path: Path, custom_objects: Mapping[str, Any] | None,
                      compile: bool) -> Model:
    made = keras_format.read_keras_model(path, custom_objects)
    if compile and made.compile is not None:
        where = f"'{path}' ({keras_format.CONFIG})"
        settings = _compile_settings(made.compile, where, custom_objects)
        _call(where, made.model.compile, **settings)
        keras_format.restore_optimizer(made.model, made.weights,
                                       f"'{path}' ({keras_format.WEIGHTS})")
    return made.model


def _load_legacy_model(path: Path, custom_objects: Mapping[str, Any] | None,
                       compile: bool) -> Model:
    """A Keras 2 (or Keras 3 legacy) whole-model .h5 file."""
    where = f"'{path}'"
    data = archive.check_file(path, limits.MAX_WEIGHTS_BYTES + limits.MAX_JSON_BYTES,
                              "an HDF5 model file", head=keras_format.check_h5_head)
    made = keras_legacy_h5.read_legacy_model(data, where, custom_objects, compile)
    with made.file:
        if made.compile is not None:
            settings = _compile_settings(made.compile, where, custom_objects)
            _call(where, made.model.compile, **settings)
            if made.optimizer and keras_legacy_h5.is_keras2_optimizer(made.optimizer):
                keras_legacy_h5.restore_keras2_optimizer(made.model, made.optimizer,
                                                         made.weight_names or {}, where)
            elif made.optimizer:
                keras_h5.restore_optimizer_datasets(made.model, made.optimizer, where)
    return made.model


def expected_entries(model: Model) -> list:
    """The weight trees' entries (one per layer, and one for the model's own weights)."""
    return model.weight_trees()[0]
