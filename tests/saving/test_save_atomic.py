"""Atomic saves: a failed, interrupted or killed save leaves the earlier file loadable."""

from __future__ import annotations

import os
import random
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from saving_helpers import assert_same_weights, small_model, trained_model

import cornu.saving.api as api
from cornu.saving import CornuFileError, load_model

_PRELUDE = """
import sys, time
import numpy as np
import cornu
from cornu.layers import Dense
import cornu.saving.api as api

path = sys.argv[1]
cornu.utils.set_random_seed(0)
model = cornu.Sequential([Dense(UNITS, input_shape=(UNITS,)), Dense(10)])
model.compile(optimizer="adam", loss="mse", metrics=["mae"])
base = model.get_weights()
np.save(path + ".base.npy", np.concatenate([w.ravel() for w in base]))
"""

# saves once, then hangs in the middle of writing the second save's weights
_HANG_MID_WRITE = _PRELUDE.replace("UNITS", "64") + """
model.save(path)
model.set_weights([w + 1 for w in base])
def hang(fp, tensors, metadata):
    fp.write(b"partial weights" * 1000)
    fp.flush()
    print("WRITING", flush=True)
    time.sleep(600)
api.write_tensors = hang
model.save(path)
"""

# saves again and again, alternating between two sets of weights (~2 MB a file)
_SAVE_IN_A_LOOP = _PRELUDE.replace("UNITS", "700") + """
for i in range(10**6):
    model.set_weights([w + (i % 2) for w in base])
    model.save(path)
    print("SAVED", i, flush=True)
"""


def _start(code: str, path: Path) -> subprocess.Popen:
    env = {**os.environ, "JAX_PLATFORMS": "cpu"}
    return subprocess.Popen([sys.executable, "-c", code, str(path)], stdout=subprocess.PIPE,
                            env=env, text=True)


def _wait_for(proc: subprocess.Popen, word: str) -> None:
    line = proc.stdout.readline()
    if not line.startswith(word):
        proc.kill()
        proc.wait()
        pytest.fail(f"the saving process said {line!r} (exit code {proc.poll()})")


def _kill(proc: subprocess.Popen) -> None:
    os.kill(proc.pid, signal.SIGKILL)
    assert proc.wait(timeout=60) == -signal.SIGKILL
    proc.stdout.close()


def _offset(path: Path) -> float:
    """How far the loaded weights are from the child's initial ones (all entries agree)."""
    base = np.load(str(path) + ".base.npy")
    loaded = np.concatenate([w.ravel() for w in load_model(path).get_weights()])
    diff = np.unique(np.round(loaded - base, 4))
    assert diff.size == 1, "the file mixes two saves"
    return float(diff[0])


def test_killed_in_the_middle_of_a_save_leaves_the_earlier_file(tmp_path):
    path = tmp_path / "model.cornu"
    proc = _start(_HANG_MID_WRITE, path)
    _wait_for(proc, "WRITING")
    temporaries = list(tmp_path.glob(".model.cornu.*.tmp"))
    assert len(temporaries) == 1 and temporaries[0].stat().st_size > 0  # the save was underway
    _kill(proc)
    assert _offset(path) == 0.0  # the first save, whole


def test_killed_at_a_random_moment_of_repeated_saves(tmp_path):
    path = tmp_path / "model.cornu"
    proc = _start(_SAVE_IN_A_LOOP, path)
    _wait_for(proc, "SAVED 0")
    time.sleep(random.Random(0).uniform(0.05, 0.4))
    _kill(proc)
    assert _offset(path) in (0.0, 1.0)


@pytest.mark.parametrize("error", [OSError(28, "No space left on device"), KeyboardInterrupt()])
def test_a_failing_save_leaves_the_earlier_file_and_no_temporary(error, tmp_path, monkeypatch):
    path = tmp_path / "model.cornu"
    first = small_model()
    first.save(path)
    before = path.read_bytes()

    def fail(fp, tensors, metadata):
        fp.write(b"half")
        raise error

    monkeypatch.setattr(api, "write_tensors", fail)
    expected = CornuFileError if isinstance(error, OSError) else KeyboardInterrupt
    with pytest.raises(expected):
        trained_model().save(path)
    with pytest.raises(expected):
        trained_model().save_weights(tmp_path / "w.weights.safetensors")
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.cornu"]
    monkeypatch.undo()
    assert_same_weights(first, load_model(path))


def test_permissions_follow_the_umask_and_the_replaced_file(tmp_path):
    path = tmp_path / "model.cornu"
    old = os.umask(0o022)
    try:
        small_model().save(path)
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    path.chmod(0o600)
    small_model().save(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_missing_folder_is_refused(tmp_path):
    with pytest.raises(CornuFileError, match="does not exist"):
        small_model().save(tmp_path / "absent" / "model.cornu")
    with pytest.raises(CornuFileError, match="is a folder"):
        (tmp_path / "dir.cornu").mkdir()
        small_model().save(tmp_path / "dir.cornu")
    assert [p.name for p in tmp_path.iterdir()] == ["dir.cornu"]


def _age(path: Path, seconds: float = 3600) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then), follow_symlinks=False)


def test_the_next_save_removes_the_temporary_file_of_a_killed_save_and_nothing_else(tmp_path):
    path = tmp_path / "model.cornu"
    proc = _start(_HANG_MID_WRITE, path)
    _wait_for(proc, "WRITING")
    [live] = tmp_path.glob(".model.cornu.*.tmp")
    _age(live)  # as if that writer had been at it for an hour: it is alive, so it stays
    elsewhere = tmp_path / "elsewhere"
    elsewhere.write_bytes(b"not a temporary")
    kept = {
        ".other.cornu.0123456789ab.tmp": b"another target's",
        ".model.cornu.bak.0123456789ab.tmp": b"the target model.cornu.bak's",
        ".model.cornu.0123456789ab.tmp.keep": b"not named as a temporary",
        "model.cornu.0123456789ab.tmp": b"not hidden",
        ".model.cornu.012345678.tmp": b"not 12 hex digits",
    }
    for name, content in kept.items():
        (tmp_path / name).write_bytes(content)
        _age(tmp_path / name)
    link = tmp_path / ".model.cornu.aaaaaaaaaaaa.tmp"  # named so, but a link: never followed
    link.symlink_to(elsewhere)
    _age(link)
    young = tmp_path / ".model.cornu.bbbbbbbbbbbb.tmp"  # just made: its writer may not
    young.write_bytes(b"young")                       # have locked it yet
    small_model().save(path)
    assert live.exists() and young.exists()
    _kill(proc)
    stale = tmp_path / ".model.cornu.cccccccccccc.tmp"  # unlocked and old: left by a kill
    stale.write_bytes(b"stale")
    _age(stale)
    small_model().save_weights(tmp_path / "w.weights.safetensors")  # another target
    assert live.exists() and stale.exists()
    small_model().save(path)
    assert not live.exists() and not stale.exists()
    assert young.exists() and link.is_symlink() and elsewhere.read_bytes() == b"not a temporary"
    for name, content in kept.items():
        assert (tmp_path / name).read_bytes() == content
    load_model(path)


def test_saving_onto_a_symbolic_link_writes_its_target_atomically(tmp_path):
    real = tmp_path / "real" / "model.cornu"
    real.parent.mkdir()
    small_model().save(real)
    link = tmp_path / "link.cornu"
    link.symlink_to(real)
    chained = tmp_path / "chained.cornu"
    chained.symlink_to(link)
    model = trained_model()
    model.save(chained)
    assert link.is_symlink() and chained.is_symlink() and chained.resolve() == real
    assert_same_weights(model, load_model(real))
    assert sorted(p.name for p in tmp_path.rglob("*")) == [
        "chained.cornu", "link.cornu", "model.cornu", "real"]  # no temporary anywhere
    weights = tmp_path / "real" / "w.weights.safetensors"
    small_model().save_weights(weights)
    (tmp_path / "w.weights.safetensors").symlink_to(weights)
    model.save_weights(tmp_path / "w.weights.safetensors")
    assert (tmp_path / "w.weights.safetensors").is_symlink()
    fresh = small_model()
    fresh.load_weights(weights)
    assert_same_weights(model, fresh)


def test_a_link_to_nothing_is_refused_and_left_alone(tmp_path):
    dangling = tmp_path / "dangling.cornu"
    dangling.symlink_to(tmp_path / "absent" / "model.cornu")
    loop = tmp_path / "loop.cornu"
    loop.symlink_to(loop)
    for path in (dangling, loop):
        with pytest.raises(CornuFileError, match="symbolic link to .*which does not exist"):
            small_model().save(path)
        assert path.is_symlink()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dangling.cornu", "loop.cornu"]


def test_a_read_only_file_is_not_replaced(tmp_path):
    path = tmp_path / "model.cornu"
    small_model().save(path)
    path.chmod(0o444)
    before = path.read_bytes()
    link = tmp_path / "link.cornu"
    link.symlink_to(path)
    for target in (path, link):
        with pytest.raises(CornuFileError, match="read-only.*chmod u\\+w"):
            trained_model().save(target)
    assert path.read_bytes() == before and stat.S_IMODE(path.stat().st_mode) == 0o444
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.cornu", "model.cornu"]
    path.chmod(0o644)
    trained_model().save(link)
    assert path.read_bytes() != before
