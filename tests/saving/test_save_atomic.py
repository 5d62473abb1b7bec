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
