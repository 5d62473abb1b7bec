"""model.export's arguments: the format names, the path, the optional packages."""

from __future__ import annotations

import sys

import pytest
from export_helpers import lecture_net

import cornu
from cornu.saving import CornuFileError


def test_bad_format_lists_the_formats(tmp_path):
    with pytest.raises(ValueError, match="format must be one of 'tf_saved_model', 'onnx', "
                       "'stablehlo'. Received: format='pt'"):
        lecture_net().export(tmp_path / "m", format="pt")


@pytest.mark.parametrize("format", ["stablehlo", "onnx"])
def test_missing_folder_is_refused(tmp_path, format):
    pytest.importorskip("jax2onnx") if format == "onnx" else None
    with pytest.raises(CornuFileError, match="does not exist"):
        lecture_net().export(tmp_path / "no" / "such" / "m.bin", format=format, verbose=False)


def test_folder_as_file_is_refused(tmp_path):
    with pytest.raises(CornuFileError, match="it is a folder"):
        lecture_net().export(tmp_path, format="stablehlo", verbose=False)


def test_empty_path_is_refused():
    with pytest.raises(ValueError, match="filepath must name"):
        lecture_net().export("", format="stablehlo")


def test_unbuilt_model_is_refused(tmp_path):
    model = cornu.Sequential([cornu.layers.Dense(2)])
    with pytest.raises(ValueError, match="not built yet"):
        model.export(tmp_path / "m.stablehlo", format="stablehlo")


def test_unknown_keyword_is_refused(tmp_path):
    with pytest.raises(TypeError, match="unexpected keyword arguments: opset"):
        lecture_net().export(tmp_path / "m.stablehlo", format="stablehlo", opset=3)


@pytest.mark.parametrize("format, module, extra", [
    ("onnx", "jax2onnx", "export-onnx"), ("tf_saved_model", "tensorflow", "export-tf")])
def test_missing_package_names_the_extra(tmp_path, monkeypatch, format, module, extra):
    monkeypatch.setitem(sys.modules, module, None)  # import fails as if not installed
    with pytest.raises(ImportError, match=rf"pip install 'cornu\[{extra}\]'"):
        lecture_net().export(tmp_path / "m", format=format)
    assert list(tmp_path.iterdir()) == []


_HANG_IN_FOLDER = """
import sys, time
from pathlib import Path
from cornu.export._common import atomic_folder
with atomic_folder(Path(sys.argv[1])) as tmp:
    (tmp / "saved_model.pb").write_bytes(b"half")
    print("WRITING", flush=True)
    time.sleep(600)
"""


def test_a_killed_savedmodel_export_leaves_nothing_after_the_next(tmp_path):
    """A SavedModel is written into `.NAME.<hex>.tmp` and renamed into place (an earlier
    one moved to `.NAME.<hex>.old` first): folders a killed export left are removed by the
    next export of the same target, a live exporter's (it holds a flock on its folder)
    and other targets' are kept."""
    import os
    import subprocess
    import time
    from pathlib import Path

    from cornu.export._common import atomic_folder

    def age(path, seconds=3600):
        then = time.time() - seconds
        os.utime(path, (then, then), follow_symlinks=False)

    def hang(target):
        root = str(Path(__file__).resolve().parents[2])
        env = {**os.environ, "PYTHONPATH": root, "JAX_PLATFORMS": "cpu"}
        proc = subprocess.Popen([sys.executable, "-c", _HANG_IN_FOLDER, str(target)],
                                stdout=subprocess.PIPE, text=True, env=env)
        assert proc.stdout.readline().strip() == "WRITING"
        return proc

    path = tmp_path / "served"
    killed = hang(path)
    killed.kill()
    killed.communicate()
    [stale] = tmp_path.glob(".served.*.tmp")
    age(stale)
    old = tmp_path / ".served.0123456789ab.old"  # killed between its two renames
    (old / "variables").mkdir(parents=True)
    age(old)
    live = hang(path)
    try:
        [live_folder] = set(tmp_path.glob(".served.*.tmp")) - {stale}
        age(live_folder)
        kept = [tmp_path / ".other.0123456789ab.tmp", tmp_path / ".served.0123456789ab.tmp.x"]
        for folder in kept:
            folder.mkdir()
            age(folder)
        young = tmp_path / ".served.bbbbbbbbbbbb.tmp"
        young.mkdir()
        elsewhere = tmp_path / "elsewhere"
        elsewhere.mkdir()
        link = tmp_path / ".served.aaaaaaaaaaaa.tmp"
        link.symlink_to(elsewhere)
        age(link)
        with atomic_folder(path) as tmp:
            (tmp / "saved_model.pb").write_bytes(b"whole")
        assert not stale.exists() and not old.exists()
        assert live_folder.exists() and young.exists() and link.is_symlink()
        assert elsewhere.is_dir() and all(folder.is_dir() for folder in kept)
        assert (path / "saved_model.pb").read_bytes() == b"whole"
    finally:
        live.kill()
        live.communicate()


def test_a_savedmodel_export_onto_a_link_writes_where_it_leads(tmp_path):
    """The link stays a link (once, it was renamed aside as the 'old' export and left
    there for ever, a real folder in its place); a link to nothing is refused."""
    from cornu.export._common import atomic_folder

    real = tmp_path / "versions" / "1"
    real.mkdir(parents=True)
    (real / "saved_model.pb").write_bytes(b"first")
    link = tmp_path / "served"
    link.symlink_to(real)
    with atomic_folder(link) as tmp:
        (tmp / "saved_model.pb").write_bytes(b"second")
    assert link.is_symlink() and (real / "saved_model.pb").read_bytes() == b"second"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["served", "versions"]
    assert [p.name for p in real.parent.iterdir()] == ["1"]
    dangling = tmp_path / "nothing"
    dangling.symlink_to(tmp_path / "missing")
    with pytest.raises(CornuFileError, match="symbolic link to .* which does not exist"):
        with atomic_folder(dangling):
            pass
    assert dangling.is_symlink()
