"""Shared pieces of the saving tests: small models, archive surgery, disk snapshots."""

from __future__ import annotations

import io
import os
import struct
import subprocess
import sys
import warnings
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

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


# ------------------------------------------------------------------ hostile files, children

MiB = 2**20


@dataclass(frozen=True)
class Child:
    output: str  # stdout
    errors: str  # stderr
    returncode: int
    peak_rss: int  # bytes: the child's VmHWM


# Printed last by every child: the high-water mark of its own memory. (ru_maxrss of a child,
# from wait4 or RUSAGE_CHILDREN, is useless here: Linux carries the parent's resident size
# over fork and exec into it, so every child of a test process "peaks" at that size.)
_PEAK = """
import atexit as _atexit

def _print_peak():
    with open("/proc/self/status") as status:
        kib = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
    print(f"PEAK_RSS {kib * 1024}", flush=True)

_atexit.register(_print_peak)
"""


def run_child(code: str, *args: str, timeout: float = 120) -> Child:
    """Run `code` in a fresh Python on JAX's CPU: its output, exit code and peak RSS (the
    kernel's VmHWM of the child's own memory, read from /proc as it exits)."""
    if not Path("/proc/self/status").exists():
        pytest.skip("measuring a child's peak memory needs /proc (Linux)")
    root = str(Path(__file__).resolve().parents[2])  # this checkout's cornu, not another
    path = os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH", "")) if p)
    env = {**os.environ, "JAX_PLATFORMS": "cpu", "PYTHONPATH": path}
    proc = subprocess.run([sys.executable, "-c", _PEAK + code, *args], capture_output=True,
                          env=env, text=True, timeout=timeout)
    lines = proc.stdout.splitlines()
    peaks = [int(line.split()[1]) for line in lines if line.startswith("PEAK_RSS ")]
    assert peaks, f"the child printed no peak (exit code {proc.returncode}): {proc.stderr}"
    output = "\n".join(line for line in lines if not line.startswith("PEAK_RSS "))
    return Child(output, proc.stderr, proc.returncode, peaks[-1])


def zeros_member(zf: zipfile.ZipFile, name: str, size: int, compress: int) -> None:
    """Add member `name`: `size` zero bytes, written a MiB at a time (never held whole)."""
    info = zipfile.ZipInfo(name)
    info.compress_type = compress
    chunk = bytes(MiB)
    with zf.open(info, "w", force_zip64=True) as out:
        for _ in range(size // MiB):
            out.write(chunk)
        out.write(bytes(size % MiB))


def patch_directory(path: Path, name: str, **fields: int) -> None:
    """Rewrite fields of member `name`'s central-directory entry in place: method, crc,
    compressed, size (what readers that trust the directory believe)."""
    offsets = {"method": (10, "<H"), "crc": (16, "<I"), "compressed": (20, "<I"),
               "size": (24, "<I")}
    raw = bytearray(path.read_bytes())
    at = -1
    while True:
        at = raw.find(b"PK\x01\x02", at + 1)
        assert at >= 0, f"no directory entry for {name}"
        length = struct.unpack_from("<H", raw, at + 28)[0]
        if raw[at + 46:at + 46 + length] == name.encode():
            break
    for field, value in fields.items():
        offset, fmt = offsets[field]
        struct.pack_into(fmt, raw, at + offset, value)
    path.write_bytes(bytes(raw))
