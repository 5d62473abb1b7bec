"""Keras 3 files: `.keras` archives and `.weights.h5` weights files, written and read.

A `.keras` file is a zip holding
    metadata.json     {"keras_version", "date_saved"}
    config.json       the model in Keras' form (keras_config.py)
    model.weights.h5  the weights, and the optimizer's variables, in Keras' HDF5 layout
                      (keras_h5.py)
    assets/layers/<name>/vocabulary.txt   an adapted lookup layer's vocabulary, one token a
                      line (Keras' save_assets; read, each bounded by
                      limits.MAX_VOCABULARY_BYTES; cornu writes the vocabulary into the
                      layer's config instead, which Keras reads too)
A `.weights.h5` file is the HDF5 layout alone, as a plain file.

A file is read under the archive limits of `.cornu` files; the model is planned with
abstract weights from its translated config, and the HDF5 file checked against it
before any array is made.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from cornu.saving import archive, jsonio, limits, registry
from cornu.saving.errors import CornuFileError
from cornu.saving.keras_config import (
    cornu_compile,
    cornu_model,
    is_graph_model,
    keras_config,
    require_graph_model,
)
from cornu.saving.keras_h5 import (
    HDF5_SIGNATURE,
    _unique,
    check_h5_head,
    h5_bytes,
    load_hooked_variables,
    optimizer_variables,
    restore_optimizer,
    snake_case,
    weights_bound,
    weights_from_h5,
)

if TYPE_CHECKING:
    from pathlib import Path

    from cornu.models.model import Model

__all__ = ["HDF5_SIGNATURE", "KERAS_SUFFIX", "WEIGHTS_H5_SUFFIX", "check_h5_head",
           "is_keras_archive", "read_keras_archive", "read_keras_model", "read_weights_h5",
           "restore_optimizer", "write_keras_model", "write_weights_h5"]

KERAS_SUFFIX = ".keras"
WEIGHTS_H5_SUFFIX = ".weights.h5"
METADATA, CONFIG, WEIGHTS = "metadata.json", "config.json", "model.weights.h5"
#: the Keras release whose file format this module writes
KERAS_FORMAT_VERSION = "3.15.0"


def write_keras_model(model: Model, path: Path, overwrite: bool) -> None:
    """`model` as a Keras 3 .keras file (written atomically, as .cornu files are)."""
    from cornu import __version__

    config = keras_config(model)
    optimizer = optimizer_variables(model)
    weights = h5_bytes(model, *(optimizer if optimizer is not None else (None, "")))
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d@%H:%M:%S")
    members: list[tuple[str, bytes | archive.Writer]] = [
        (METADATA, jsonio.dumps({"keras_version": KERAS_FORMAT_VERSION, "date_saved": now,
                                 "cornu_version": __version__}, "metadata")),
        (CONFIG, jsonio.dumps(config, "the model config")),
        (WEIGHTS, weights),
    ]
    archive.atomic_write(path, lambda fp: archive.write_archive(fp, members),
                         overwrite=overwrite)


def write_weights_h5(model: Model, path: Path, overwrite: bool) -> None:
    """Keras' save_weights(): the HDF5 layout alone, the optimizer's variables included
    when they map to Keras' (as Keras writes them for a compiled model)."""
    require_graph_model(model, "save the weights of")
    optimizer = optimizer_variables(model)
    data = h5_bytes(model, *(optimizer if optimizer is not None else (None, "")))
    archive.atomic_write(path, lambda fp: fp.write(data), overwrite=overwrite)


def is_keras_archive(path: Path) -> bool:
    """Whether `path` is a zip whose members are those of a Keras archive."""
    return {CONFIG, WEIGHTS} <= set(archive.member_names(path))


#: the asset members cornu reads: lookup layers' vocabularies
_ASSET = re.compile(r"assets/(layers/[a-z0-9_]{1,200}/){1,8}(_lookup_layer/)?vocabulary\.txt")


def read_keras_archive(path: Path, model: Model | None = None, *, weights: bool = True,
                       others: bool = True) -> dict[str, bytearray]:
    """The members of a .keras file: `weights` (model.weights.h5), `others` (the JSON
    members and assets). With `model`, the weights member may hold no more than that
    model can need (keras_h5.weights_bound), checked before it is read."""
    limit, bound = limits.MAX_WEIGHTS_BYTES, None
    if model is not None:
        needed = weights_bound(model)
        if needed < limit:
            limit, bound = needed, "the most the model's weights can need"
    members = {
        METADATA: archive.Member(limits.MAX_JSON_BYTES, read=others),
        CONFIG: archive.Member(limits.MAX_JSON_BYTES, read=others),
        WEIGHTS: archive.Member(limit, head=check_h5_head, read=weights, bound=bound),
    }
    for name in archive.member_names(path):
        if _ASSET.fullmatch(name):
            members[name] = archive.Member(limits.MAX_VOCABULARY_BYTES, required=False,
                                           read=others)
    return archive.read_archive(path, members)


def _load_assets(model: Model, members: Mapping[str, bytearray], where: str,
                 prefix: str = "") -> None:
    """Give each lookup layer the vocabulary Keras wrote as its asset (the layers are
    named in the archive as in the HDF5 layout: layers/<snake_case class name, unique>)."""
    used: dict[str, int] = {}
    for layer in model.layers:
        path = f"{prefix}layers/{_unique(snake_case(type(layer).__name__), used)}"
        if is_graph_model(layer):
            _load_assets(layer, members, where, path + "/")
            continue
        data = members.get(f"assets/{path}/vocabulary.txt")
        if data is None or not hasattr(layer, "load_vocabulary_asset"):
            continue
        try:
            layer.load_vocabulary_asset(bytes(data).decode("utf-8"))
        except (ValueError, UnicodeDecodeError) as exc:
            raise CornuFileError(f"{where}: the vocabulary of layer '{layer.name}' "
                                 f"(assets/{path}/vocabulary.txt) is not valid: {exc}"[:1000]
                                 ) from exc


@dataclass
class KerasModelFile:
    model: Model
    compile: dict[str, Any] | None
    weights: bytearray  # model.weights.h5, for the optimizer's variables


def read_keras_model(path: Path, custom_objects: Mapping[str, Any] | None) -> KerasModelFile:
    """The model of a Keras .keras file, weights set; compile settings not yet applied."""
    members = read_keras_archive(path, weights=False)  # the weights once the model is known
    where = f"'{path}' ({CONFIG})"
    metadata = jsonio.loads(members[METADATA], f"'{path}' ({METADATA})")
    if not isinstance(metadata, dict) or not str(metadata.get("keras_version", "")
                                                     ).startswith("3"):
        raise CornuFileError(f"'{path}' ({METADATA}) does not name a Keras 3 version: not a "
                             "Keras 3 .keras file.")
    config = jsonio.loads(members[CONFIG], where)
    if not isinstance(config, dict):
        raise CornuFileError(f"{where} must hold a model config.")
    entry = cornu_model(config, custom_objects, where)
    plan = registry.plan_model(entry, custom_objects, where)
    require_graph_model(plan.model, "load")
    members[WEIGHTS] = read_keras_archive(path, plan.model, others=False)[WEIGHTS]
    params, state = weights_from_h5(plan.model, members[WEIGHTS], f"'{path}' ({WEIGHTS})")
    plan.model.set_weight_trees(params, state)
    load_hooked_variables(plan.model, members[WEIGHTS], f"'{path}' ({WEIGHTS})")
    _load_assets(plan.model, members, f"'{path}'")
    return KerasModelFile(plan.model, cornu_compile(config.get("compile_config"), where),
                          members[WEIGHTS])


def read_weights_h5(model: Model, data: Any, where: str) -> None:
    require_graph_model(model, "load the weights of")
    model.set_weight_trees(*weights_from_h5(model, data, where))
    load_hooked_variables(model, data, where)
