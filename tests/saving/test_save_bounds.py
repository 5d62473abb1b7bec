"""Hostile files built to cost memory or time, each loaded in a child process: refused with
a CornuFileError within seconds, the child's peak RSS (its VmHWM, from the kernel) less than
300 MB above that of a child that only imports cornu. Without the bounds, each of them
makes the child hold 1 or 2 GiB."""

from __future__ import annotations

import io
import json
import os
import re
import struct
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest
from saving_helpers import (
    MiB,
    members,
    patch_directory,
    run_child,
    trained_model,
    write_zip,
    zeros_member,
)

from cornu.saving import archive, limits
from cornu.saving.weights import write_tensors

GiB = 2**30
HEADROOM = 300 * 10**6  # bytes of peak RSS above a plain `import cornu`
SECONDS = 5.0  # for the load call, once cornu is imported

_LOAD = """
import json, sys, time
import cornu
from cornu.layers import Activation, Dense
from cornu.saving import CornuFileError, load_model

action, path = sys.argv[1], sys.argv[2]
if action == "load_weights":
    model = cornu.Sequential([Dense(4, input_shape=(3,), activation="relu"), Dense(2),
                              Activation("softmax")])
start = time.perf_counter()
try:
    load_model(path) if action == "load_model" else model.load_weights(path)
    outcome = "loaded"
except CornuFileError as exc:
    outcome = f"refused: {exc}"
print(json.dumps({"seconds": time.perf_counter() - start, "outcome": outcome}))
"""


@pytest.fixture(scope="module")
def import_rss() -> int:
    child = run_child("import cornu")
    assert child.returncode == 0, child.errors
    return child.peak_rss


@pytest.fixture(scope="module")
def good(tmp_path_factory) -> dict[str, bytes]:
    path = tmp_path_factory.mktemp("good") / "model.cornu"
    trained_model().save(path)
    return members(path)


@pytest.fixture(scope="module")
def bomb(tmp_path_factory, good) -> Path:
    """A .cornu file whose weights member is 1 GiB of zeros, deflated: about 1 MB (its
    deflate stream repeats one MiB's piece, so it is made in a moment)."""
    stream, crc = _deflated(b"", 1024)
    return _raw_member(tmp_path_factory.mktemp("bomb") / "model.cornu", good, stream,
                       crc=crc, size=GiB)


def _load(action: str, path: Path, import_rss: int) -> dict:
    child = run_child(_LOAD, action, str(path))
    assert child.returncode == 0, child.errors
    result = json.loads(child.output.strip().splitlines()[-1])
    result["extra_rss_mb"] = round((child.peak_rss - import_rss) / 10**6, 1)
    print(f"{action} {path.name}: {result['seconds']:.3f} s, peak RSS "
          f"{child.peak_rss / 10**6:.0f} MB ({result['extra_rss_mb']:+.1f} MB over import), "
          f"{result['outcome'][:160]}")
    return result


def _assert_refused_cheaply(result: dict, pattern: str) -> None:
    assert result["outcome"].startswith("refused: "), result
    assert re.search(pattern, result["outcome"]), result
    assert result["seconds"] < SECONDS, result
    assert result["extra_rss_mb"] * 10**6 < HEADROOM, result


@pytest.mark.parametrize("action", ["load_model", "load_weights"])
def test_zip_bomb_is_refused_before_it_expands(action, bomb, import_rss):
    assert bomb.stat().st_size < 2 * MiB  # ~1000x
    _assert_refused_cheaply(_load(action, bomb, import_rss),
                            r"'model\.weights\.safetensors' declares 1073741824 bytes from "
                            r"\d+ compressed ones.*zip bomb")


def _deflated(prefix: bytes, zeros: int) -> tuple[bytes, int]:
    """A raw deflate stream of `prefix` then `zeros` MiB of zeros, made in a moment (each
    flushed piece stands alone, so one MiB's piece repeated is valid); and its CRC."""
    def piece(data: bytes) -> bytes:
        compressor = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
        return compressor.compress(data) + compressor.flush(zlib.Z_FULL_FLUSH)

    crc = zlib.crc32(prefix)
    for _ in range(zeros):
        crc = zlib.crc32(bytes(MiB), crc)
    return piece(prefix) + piece(bytes(MiB)) * zeros + b"\x03\x00", crc  # + final block


def _raw_member(path: Path, good: dict[str, bytes], raw: bytes, **directory: int) -> Path:
    """A .cornu file whose weights member holds `raw`, with directory fields changed."""
    with zipfile.ZipFile(path, "w") as zf:
        for name in ("metadata.json", "config.json"):
            zf.writestr(name, good[name])
        zf.writestr("model.weights.safetensors", raw)  # stored: `raw` as it is
    patch_directory(path, "model.weights.safetensors", method=zipfile.ZIP_DEFLATED,
                    **directory)
    return path


def test_a_member_holding_more_than_it_declares_is_read_only_as_far_as_declared(
        good, import_rss, tmp_path):
    """A valid weights member, then 1 GiB of zeros the directory does not declare."""
    weights = good["model.weights.safetensors"]
    stream, _ = _deflated(weights, 1024)
    path = _raw_member(tmp_path / "model.cornu", good, stream, crc=zlib.crc32(weights),
                       size=len(weights))
    _assert_refused_cheaply(_load("load_model", path, import_rss),
                            f"holds more than the {len(weights)} bytes its header says")


def test_a_member_declaring_more_compressed_bytes_is_bounded_while_inflating(
        good, import_rss, tmp_path):
    """The directory claims 12 MiB of compressed data (so 1 GiB is within the ratio), but
    the deflate stream is 1 MB: the ratio is checked against the bytes really inflated.
    (The member's header is valid: a 1 GiB tensor.)"""
    buffer = io.BytesIO()
    write_tensors(buffer, {"x": np.zeros(0, np.uint8)}, {})
    header = buffer.getvalue().replace(b"[0]", b"[%d]" % GiB).replace(b"0,0", b"0,%d" % GiB)
    header = struct.pack("<Q", len(header) - 8) + header[8:]
    stream, crc = _deflated(header, 1024)
    path = _raw_member(tmp_path / "model.cornu", good, stream + bytes(12 * MiB - len(stream)),
                       crc=crc, size=len(header) + GiB)
    with zipfile.ZipFile(path) as zf:  # what zipfile (and a reader trusting it) believes
        info = zf.getinfo("model.weights.safetensors")
        assert (info.file_size, info.compress_size) == (len(header) + GiB, 12 * MiB)
    _assert_refused_cheaply(_load("load_model", path, import_rss),
                            r"inflates \d+ compressed bytes to \d+ bytes, more than 100 times"
                            r".*zip bomb")


def _sparse(path: Path, head: bytes, size: int = 2 * GiB) -> Path:
    with open(path, "wb") as fp:
        fp.write(head)
        fp.truncate(size)  # a hole: no disk used, zeros when read
    return path


@pytest.mark.parametrize(("head", "pattern"), [
    (struct.pack("<Q", 16) + b'{"not": "json",', "header is not valid JSON"),
    (None, r"the tensors take \d+ bytes but 21474\d+ follow the header"),
])
def test_a_weights_file_is_judged_by_its_header_before_its_body(head, pattern, good,
                                                                 import_rss, tmp_path):
    if head is None:  # a valid header for tiny tensors, then 2 GiB
        raw = good["model.weights.safetensors"]
        head = raw[:8 + struct.unpack_from("<Q", raw)[0]]
    path = _sparse(tmp_path / "w.weights.safetensors", head)
    assert os.stat(path).st_blocks * 512 < 10 * MiB  # the body is a hole
    _assert_refused_cheaply(_load("load_weights", path, import_rss), pattern)


def test_a_stored_weights_member_is_judged_by_its_header_before_its_body(
        good, import_rss, tmp_path):
    path = tmp_path / "model.cornu"
    with zipfile.ZipFile(path, "w") as zf:
        for name in ("metadata.json", "config.json"):
            zf.writestr(name, good[name])
        zeros_member(zf, "model.weights.safetensors", GiB, zipfile.ZIP_STORED)
    _assert_refused_cheaply(_load("load_model", path, import_rss),
                            r"\(model\.weights\.safetensors\) is not a valid safetensors "
                            "file: its header is not valid JSON")


def test_a_very_repetitive_member_within_its_limit_is_read(tmp_path):
    """The ratio is not held against members up to RATIO_FREE_BYTES: the config of 4000
    similar layers deflates about 100x, and is read."""
    layer = {"input_shape": [4], "units": 8, "activation": "relu", "use_bias": True,
             "kernel_initializer": "glorot_uniform", "bias_initializer": "zeros",
             "kernel_regularizer": None, "bias_regularizer": None}
    config = json.dumps({"layers": [{"class_name": "Dense", "config": {
        "name": f"dense_{i}", **layer}} for i in range(4000)]}, indent=2).encode()
    path = tmp_path / "x.zip"
    write_zip(path, [("config.json", config)])
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo("config.json")
        assert info.file_size > 100 * info.compress_size
    assert archive.read_archive(path, {"config.json": archive.Member(limits.MAX_JSON_BYTES)}
                                ) == {"config.json": config}


@pytest.mark.parametrize("units", [10**9, 10**12])
def test_huge_layers_in_a_config_are_refused_before_anything_is_allocated(
        units, good, import_rss, tmp_path):
    """config.json claims a Dense layer of `units` units (a 12 GB or 12 TB kernel) over a
    weights member of the real, tiny model: the model is planned with abstract weights, so
    the mismatch is found from shapes alone (once, this allocated 4 GB and took 11 s, or
    ended in numpy's MemoryError)."""
    config = json.loads(good["config.json"])
    config["model"]["config"]["layers"][0]["config"]["units"] = units
    path = tmp_path / "model.cornu"
    write_zip(path, [(name, json.dumps(config).encode() if name == "config.json" else raw)
                     for name, raw in good.items()])
    _assert_refused_cheaply(_load("load_model", path, import_rss),
                            rf"'layers\.0\.params\.kernel' has shape \(3, 4\), but the weight "
                            rf"'kernel' of layer '[^']+' \(Dense\) has shape \(3, {units}\)")


def _h5_files(tmp_path: Path) -> dict[str, Path]:
    """The _LOAD child's model as Keras 3 weights (.weights.h5) and as a legacy whole-model
    .h5 file, each valid."""
    import cornu
    from cornu.layers import Activation, Dense

    model = cornu.Sequential([Dense(4, input_shape=(3,), activation="relu"), Dense(2),
                              Activation("softmax")])
    model.compile(optimizer="adam", loss="categorical_crossentropy")
    files = {"weights": tmp_path / "w.weights.h5", "legacy": tmp_path / "m.h5"}
    model.save_weights(files["weights"])
    model.save(files["legacy"])
    return files


def _wrong_kernel(path: Path) -> None:
    """The first kernel's dataset replaced by one of another shape."""
    import h5py

    with h5py.File(path, "a") as f:
        found = []
        f.visititems(lambda name, obj: found.append(name) if isinstance(obj, h5py.Dataset)
                     and obj.shape == (3, 4) else None)
        del f[found[0]]
        f.create_dataset(found[0], data=np.zeros((5, 7), np.float32))


@pytest.mark.parametrize("kind", ["weights", "legacy"])
@pytest.mark.parametrize("broken", [False, True], ids=["valid", "wrong-shape"])
def test_an_hdf5_file_is_read_only_where_it_is_asked(kind, broken, import_rss, tmp_path):
    """A Keras .weights.h5 or legacy .h5 file followed by 2 GiB: HDF5 is read where its
    structure points (the trailing bytes, or a dataset of the wrong shape, are never read),
    so the file loads, or is refused, without reading its body (once, the whole file was
    read into memory, twice, before anything was looked at)."""
    path = _h5_files(tmp_path)[kind]
    if broken:
        _wrong_kernel(path)
    with open(path, "r+b") as fp:
        fp.truncate(2 * GiB)  # a hole after the HDF5 data: libhdf5 ignores what follows
    assert os.stat(path).st_blocks * 512 < 10 * MiB
    result = _load("load_weights", path, import_rss)
    if broken:
        _assert_refused_cheaply(result, r"shape \(5, 7\)")
    else:
        assert result["outcome"] == "loaded", result
        assert result["seconds"] < SECONDS and result["extra_rss_mb"] * 10**6 < HEADROOM


@pytest.fixture(scope="module")
def keras_padded(tmp_path_factory) -> Path:
    """A .keras file of the _LOAD child's model whose model.weights.h5 is the real one
    followed by 1 GiB of zeros, stored (libhdf5 would ignore the tail)."""
    import cornu
    from cornu.layers import Activation, Dense

    tmp_path = tmp_path_factory.mktemp("keras_padded")

    model = cornu.Sequential([Dense(4, input_shape=(3,), activation="relu"), Dense(2),
                              Activation("softmax")])
    model.compile(optimizer="adam", loss="categorical_crossentropy")
    model.save(tmp_path / "small.keras")
    with zipfile.ZipFile(tmp_path / "small.keras") as zf:
        parts = {name: zf.read(name) for name in zf.namelist()}
    path = tmp_path / "model.keras"
    with zipfile.ZipFile(path, "w") as zf:
        for name, raw in parts.items():
            if name != "model.weights.h5":
                zf.writestr(name, raw)
        info = zipfile.ZipInfo("model.weights.h5")
        with zf.open(info, "w", force_zip64=True) as out:
            out.write(parts["model.weights.h5"])
            for _ in range(1024):
                out.write(bytes(MiB))
    return path


@pytest.mark.parametrize("action", ["load_model", "load_weights"])
def test_a_keras_weights_member_is_bounded_by_the_model(action, keras_padded, import_rss):
    """The weights member may hold no more than the model planned from config.json can
    need, checked before it is read (once, the whole member was read into memory, then
    copied: +1.1 GB and 4 s, and the file loaded)."""
    _assert_refused_cheaply(_load(action, keras_padded, import_rss),
                            r"member 'model\.weights\.h5' declares \d+ bytes, more than its "
                            r"limit of \d+ \(the most the model's weights can need\)")
