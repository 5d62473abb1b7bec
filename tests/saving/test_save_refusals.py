"""Damaged, hostile or mismatched files: each refused with a clear CornuFileError, and
nothing changed on disk."""

from __future__ import annotations

import io
import json
import struct
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from saving_helpers import (
    edit_tensors,
    members,
    patch_directory,
    rewrite,
    snapshot,
    trained_model,
    write_zip,
)

from cornu.saving import CornuFileError, jsonio, limits, load_model

Make = Callable[[Path, Path], None]  # (good file, bad file to write)


@pytest.fixture(scope="module")
def good(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("good") / "model.cornu"
    trained_model().save(path)
    return path


def _json(data: bytes) -> dict:
    return json.loads(data)


def _config_edit(edit: Callable[[dict], None]) -> Make:
    def make(src: Path, out: Path) -> None:
        config = _json(members(src)["config.json"])
        edit(config)
        rewrite(src, out, {"config.json": json.dumps(config).encode()})
    return make


def _member(name: str, content: Callable[[bytes], bytes | None]) -> Make:
    return lambda src, out: rewrite(src, out, {name: content(members(src)[name])})


def _metadata(**changes) -> Make:
    return _member("metadata.json", lambda raw: json.dumps({**_json(raw), **changes}).encode())


def _layer(index: int, **changes) -> Make:
    def edit(config: dict) -> None:
        config["model"]["config"]["layers"][index]["config"].update(changes)
    return _config_edit(edit)


def _class_name(name: str) -> Make:
    def edit(config: dict) -> None:
        config["model"]["config"]["layers"][0]["class_name"] = name
    return _config_edit(edit)


def _tensors(member: str, edit: Callable[[dict], dict]) -> Make:
    return _member(member, lambda raw: edit_tensors(raw, edit))


def _add(name: str, content: bytes = b"x") -> Make:
    return lambda src, out: write_zip(out, [*members(src).items(), (name, content)])


def _patch_central_flag(src: Path, out: Path) -> None:
    raw = bytearray(src.read_bytes())
    at = raw.rfind(b"PK\x01\x02")  # the last central-directory entry
    raw[at + 8] |= 0x1  # "encrypted"
    out.write_bytes(bytes(raw))


def _header_claims(size: int) -> Callable[[bytes], bytes]:
    return lambda raw: struct.pack("<Q", size) + raw[8:]


def _bomb(src: Path, out: Path) -> None:  # 17 MiB of spaces deflate to a few KiB
    write_zip(out, [*[(k, v) for k, v in members(src).items() if k != "config.json"],
                    ("config.json", b" " * (17 * 2**20))])


def _ratio_bomb(src: Path, out: Path) -> None:  # a valid header, then 32 MiB of zeros: 32 KiB
    raw = members(src)["optimizer.safetensors"]
    header = raw[:8 + struct.unpack_from("<Q", raw)[0]]
    rewrite(src, out, {"optimizer.safetensors": header + bytes(32 * 2**20)})


def _overlapping(src: Path, out: Path) -> None:  # config.json's data run into the next member
    rewrite(src, out, {})
    with zipfile.ZipFile(out) as zf:
        compressed = zf.getinfo("config.json").compress_size
    patch_directory(out, "config.json", compressed=compressed + 40)


def _local_name(src: Path, out: Path) -> None:  # the local header names another member
    rewrite(src, out, {})
    raw = bytearray(out.read_bytes())
    at = raw.find(b"PK\x03\x04") + 30
    assert raw[at:at + 13] == b"metadata.json"
    raw[at:at + 13] = b"metadata.jsoo"
    out.write_bytes(bytes(raw))


def _flip_weights_byte(src: Path, out: Path) -> None:  # stored data changed, CRC not
    raw = bytearray(src.read_bytes())
    at = raw.find(b'"format":"cornu.weights"')
    assert at > 0
    raw[at + 11] ^= 0x20
    out.write_bytes(bytes(raw))


def _other_optimizer(src: Path, out: Path) -> None:
    model = trained_model("sgd")
    model.save(out)
    rewrite(out, out, {"config.json": members(src)["config.json"]})  # says adam


def _random(n: int, prefix: bytes = b"") -> Make:
    rng = np.random.default_rng(n)
    return lambda src, out: out.write_bytes(prefix + rng.bytes(n))


def _cut(end: int) -> Make:
    return lambda src, out: out.write_bytes(src.read_bytes()[:end])


def _json_member(text: bytes) -> Make:
    return lambda src, out: rewrite(src, out, {"config.json": text})


CASES: dict[str, tuple[Make, str]] = {
    # damaged containers
    "empty": (lambda src, out: out.write_bytes(b""), "empty"),
    "truncated-head": (_cut(100), "truncated"),
    "truncated-half": (lambda s, o: _cut(s.stat().st_size // 2)(s, o), "truncated"),
    "truncated-last-byte": (lambda s, o: _cut(s.stat().st_size - 1)(s, o), "truncated"),
    "random-bytes": (_random(4000), "not a cornu model file"),
    "random-after-zip-magic": (_random(4000, b"PK\x03\x04"), "not a cornu model"),
    "encrypted-member": (_patch_central_flag, "encrypted"),
    "bzip2-member": (lambda s, o: write_zip(o, members(s).items(), zipfile.ZIP_BZIP2),
                     "compression method 12"),
    # versions
    "newer-version": (_metadata(format_version=2), "format version 2.*Upgrade cornu"),
    "version-zero": (_metadata(format_version=0), "format_version"),
    "version-text": (_metadata(format_version="one"), "format_version"),
    "not-a-cornu-model": (_metadata(format="other"), "format=cornu.model"),
    "weights-newer-version": (_member("model.weights.safetensors", lambda raw: edit_tensors(
        raw, lambda t: t, {"format": "cornu.weights", "format_version": "9"})),
        "format version 9"),
    # member names
    "path-traversal": (_add("../evil.py"), "unsafe name '../evil.py'"),
    "nested-traversal": (_add("a/../../evil.py"), "unsafe name"),
    "absolute-path": (_add("/tmp/evil.py"), "unsafe name '/tmp/evil.py'"),
    "drive-path": (_add("C:\\evil.py"), "unsafe name"),
    "duplicate-member": (_add("config.json", b"{}"), "'config.json' twice"),
    "unexpected-member": (_add("payload.pkl"), "unexpected member 'payload.pkl'"),
    "missing-weights": (_member("model.weights.safetensors", lambda raw: None),
                        "'model.weights.safetensors' is missing"),
    # classes
    "unknown-class": (_class_name("Evil"),
                      "unknown layer class 'Evil'.*register_keras_serializable"),
    "dotted-class": (_class_name("os.system"), "unknown layer class 'os.system'"),
    "base-layer-class": (_class_name("Layer"), "unknown layer class 'Layer'"),
    "non-string-class": (_class_name(["Dense"]), "unknown layer class"),
    "unknown-model-class": (_config_edit(lambda c: c["model"].update(class_name="Evil")),
                            "unknown model class 'Evil'"),
    "bad-layer-config": (_layer(0, units="four"), "cannot be made from its config.*units"),
    "unknown-layer-argument": (_layer(0, payload="x"), "cannot be made.*payload"),
    "unknown-activation": (_layer(0, activation="os.system"), "cannot be made.*os.system"),
    "bad-optimizer": (_config_edit(lambda c: c["compile"]["optimizer"].update(
        class_name="Evil")), "compile settings are not valid.*Evil"),
    "bad-compile": (_config_edit(lambda c: c.update(compile=[1])), "'compile' must hold"),
    "extra-config-key": (_config_edit(lambda c: c.update(code="print(1)")), "exactly"),
    # shapes and dtypes
    "units-mismatch": (_layer(0, units=5), r"layers\.0\.params.*\(3, 4\).*\(3, 5\).*different"),
    "huge-layer": (_layer(0, units=10**9), r"\(3, 4\).*\(3, 1000000000\)"),  # before allocating
    "other-input-shape": (_layer(0, input_shape=[10**9]), "disagrees"),
    "no-bias": (_layer(0, use_bias=False), r"holds tensor 'layers\.0\.params\.bias'"),
    "kernel-shape": (_tensors("model.weights.safetensors", lambda t: {
        **t, "layers.0.params.kernel": t["layers.0.params.kernel"].T}), r"shape \(4, 3\)"),
    "kernel-dtype": (_tensors("model.weights.safetensors", lambda t: {
        **t, "layers.0.params.kernel": t["layers.0.params.kernel"].astype(np.float64)}),
        "dtype float64"),
    "missing-tensor": (_tensors("model.weights.safetensors", lambda t: {
        k: v for k, v in t.items() if k != "layers.1.params.bias"}),
        r"lacks tensor 'layers\.1\.params\.bias'"),
    "extra-tensor": (_tensors("model.weights.safetensors", lambda t: {
        **t, "layers.9.params.x": np.zeros(2, np.float32)}), r"'layers\.9\.params\.x'"),
    "optimizer-shape": (_tensors("optimizer.safetensors", lambda t: {
        k: (v[:1] if v.ndim == 1 and k.startswith("opt_state") else v)
        for k, v in t.items()}), "optimizer.safetensors.*shape"),
    "optimizer-of-another-kind": (_other_optimizer, "optimizer.safetensors.*lacks tensor"),
    "rng-dtype": (_tensors("optimizer.safetensors", lambda t: {
        **t, "train_rng": t["train_rng"].astype(np.int32)}), "uint32 key"),
    # sizes
    "zip-bomb": (_bomb, "'config.json' declares 17825792 bytes, more than its limit"),
    "compression-ratio": (_ratio_bomb, r"'optimizer.safetensors' declares \d+ bytes from \d+ "
                          "compressed ones, more than 100 times as many"),
    "overlapping-members": (_overlapping, "'config.json' declares more compressed bytes than"
                            ".*overlapping members are refused"),
    "local-name-differs": (_local_name, "'metadata.json' is named 'metadata.jsoo' in its "
                           "local header"),
    "crc-mismatch": (_flip_weights_byte, "CRC"),
    "huge-header": (_member("model.weights.safetensors", _header_claims(2**40)),
                    "header claims 1099511627776 bytes, more than the limit"),
    "header-past-end": (_member("model.weights.safetensors", _header_claims(2**20)),
                        "truncated"),
    # JSON
    "invalid-json": (_json_member(b"{"), "config.json.*not valid JSON"),
    "nan-in-json": (_json_member(b'{"model": NaN, "compile": null}'), "NaN is not allowed"),
    "duplicate-json-key": (_json_member(b'{"model": 1, "model": 2}'), "duplicate key"),
    "deep-json": (_json_member(b"[" * 100_000 + b"]" * 100_000), "not valid JSON"),
    "json-101-deep": (_json_member(b'{"model": ' + b"[" * 100 + b"]" * 100 + b', "compile": '
                                   b'null}'), "not valid JSON.*nested more than 100 deep"),
    "not-utf8": (_json_member(b"\xff\xfe{}"), "not valid JSON"),
    "json-not-object": (_json_member(b"[]"), "exactly 'model' and 'compile'"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_refused_with_a_clear_error_and_no_effect(case, good, tmp_path):
    make, pattern = CASES[case]
    folder = tmp_path / "case"
    folder.mkdir()
    bad = folder / "model.cornu"
    make(good, bad)
    before = snapshot(folder)
    with pytest.raises(CornuFileError, match=pattern) as info:
        load_model(bad)
    assert str(bad) in str(info.value)  # the error names the file
    assert isinstance(info.value, ValueError)
    assert snapshot(folder) == before


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(CornuFileError, match="no such file"):
        load_model(tmp_path / "absent.cornu")
    with pytest.raises(CornuFileError, match="not a regular file"):
        load_model(tmp_path)


def test_archive_size_is_bounded_before_reading(good, tmp_path, monkeypatch):
    monkeypatch.setattr(limits, "MAX_ARCHIVE_BYTES", good.stat().st_size - 1)
    with pytest.raises(CornuFileError, match="more than the limit"):
        load_model(good)
    monkeypatch.setattr(limits, "MAX_ARCHIVE_BYTES", 2**30)
    monkeypatch.setattr(limits, "MAX_WEIGHTS_BYTES", 100)
    with pytest.raises(CornuFileError, match="'model.weights.safetensors' declares"):
        load_model(good)


def test_directory_size_is_bounded(good, tmp_path):
    bad = tmp_path / "many.cornu"
    write_zip(bad, [*members(good).items(), *[(f"x{i}", b"") for i in range(40)]])
    with pytest.raises(CornuFileError, match="zip directory lists 44 entries"):
        load_model(bad)


def test_load_weights_refusals_leave_the_model_unchanged(good, tmp_path):
    model = trained_model("sgd")
    before = model.get_weights()
    for make, _ in (CASES["kernel-shape"], CASES["random-bytes"], CASES["newer-version"]):
        bad = tmp_path / "bad.cornu"
        make(good, bad)
        with pytest.raises(CornuFileError):
            model.load_weights(bad)
    weights = tmp_path / "w.weights.safetensors"
    for content in (b"", b"\x00" * 7, struct.pack("<Q", 2**40) + b"{}", b"junk" * 100):
        weights.write_bytes(content)
        with pytest.raises(CornuFileError, match="w.weights.safetensors"):
            model.load_weights(weights)
    buffer = io.BytesIO()
    from cornu.saving.weights import write_tensors

    write_tensors(buffer, dict(zip(["layers.0.params.kernel"], before, strict=False)), {})
    weights.write_bytes(buffer.getvalue())
    with pytest.raises(CornuFileError, match="not cornu weights"):
        model.load_weights(weights)
    for a, b in zip(before, model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_json_depth_is_bounded_when_written_as_when_read():
    deep: list = []
    for _ in range(98):
        deep = [deep]  # 99 deep
    assert jsonio.loads(jsonio.dumps({"x": deep}, "x"), "x") == {"x": deep}  # 100 deep
    with pytest.raises(CornuFileError, match="Cannot save: the config .*more than 100 deep"):
        jsonio.dumps({"x": [deep]}, "the config")
    with pytest.raises(CornuFileError, match="nested more than 100 deep"):
        jsonio.loads(b"[" * 101 + b"]" * 101, "x")
