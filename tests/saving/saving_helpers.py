"""Shared pieces of the saving tests: small models, archive surgery, disk snapshots."""

from __future__ import annotations

import io
import warnings
import zipfile
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np

import cornu
from cornu.layers import Activation, Dense
from cornu.saving.weights import read_tensors, write_tensors

MEMBERS = ("metadata.json", "config.json", "model.weights.safetensors", "optimizer.safetensors")


def data(n: int = 40, features: int = 3, classes: int = 2, seed: int = 0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, features)).astype(np.float32)
    y = np.eye(classes, dtype=np.float32)[rng.integers(0, classes, n)]
    return x, y


def small_model(optimizer: object = "adam", compile: bool = True) -> cornu.Sequential:
    model = cornu.Sequential([Dense(4, input_shape=(3,), activation="relu"), Dense(2),
                              Activation("softmax")])
    if compile:
        model.compile(optimizer=optimizer, loss="categorical_crossentropy",
                      metrics=["accuracy"])
    return model


def trained_model(optimizer: object = "adam", epochs: int = 2) -> cornu.Sequential:
    cornu.utils.set_random_seed(0)
    model = small_model(optimizer)
    x, y = data()
    model.fit(x, y, batch_size=16, epochs=epochs, verbose=0)
    return model


def assert_same_weights(a: cornu.Model, b: cornu.Model) -> None:
    wa, wb = a.get_weights(), b.get_weights()
    assert len(wa) == len(wb)
    for x, y in zip(wa, wb, strict=True):
        assert x.dtype == y.dtype
        np.testing.assert_array_equal(x, y)


def members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        return {info.filename: zf.read(info) for info in zf.infolist()}


def write_zip(path: Path, entries: Iterable[tuple[str, bytes]],
              compress: int = zipfile.ZIP_DEFLATED) -> None:
    """A zip exactly as listed (duplicates and odd names included)."""
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns on duplicate names
        with zipfile.ZipFile(buffer, "w", compression=compress) as zf:
            for name, content in entries:
                zf.writestr(name, content)
    path.write_bytes(buffer.getvalue())


def rewrite(path: Path, out: Path, changes: dict[str, bytes | None]) -> None:
    """Copy the archive at `path` to `out` with members replaced (None: removed)."""
    old = members(path)
    entries = [(k, changes.get(k, v)) for k, v in old.items() if changes.get(k, v) is not None]
    entries += [(k, v) for k, v in changes.items() if k not in old and v is not None]
    write_zip(out, entries)


def edit_tensors(raw: bytes, edit: Callable[[dict[str, np.ndarray]], dict[str, np.ndarray]],
                 metadata: dict[str, str] | None = None) -> bytes:
    parsed = read_tensors(raw, "test")
    values = edit({name: parsed.array(name) for name in parsed.specs})
    buffer = io.BytesIO()
    write_tensors(buffer, values, parsed.metadata if metadata is None else metadata)
    return buffer.getvalue()


def snapshot(folder: Path) -> dict[str, tuple[bytes, int]]:
    """Every file under `folder` (and its parent's listing): contents and mtime."""
    files = {str(p.relative_to(folder)): (p.read_bytes(), p.stat().st_mtime_ns)
             for p in sorted(folder.rglob("*")) if p.is_file()}
    files["<parent listing>"] = (repr(sorted(x.name for x in folder.parent.iterdir())).encode(),
                                 0)
    return files
