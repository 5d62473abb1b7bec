"""`make demo`'s program on a machine without network: a fresh clone trains from the
MNIST copy it ships; a pip-installed cornu says where to put the files, no traceback.

Each test runs examples/hello_world.py in a subprocess with CORNU_DATA unset, HOME an
empty folder and the network disabled by a sitecustomize.py on PYTHONPATH (connect and
name lookups raise); an audit hook records which MNIST files the process opened.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
DEMO = REPO / "examples" / "hello_world.py"
NAMES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
         "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
REFUSED = "network disabled for this test"

SITECUSTOMIZE = f'''
import atexit, os, socket, sys

def _refuse(*args, **kwargs):
    raise OSError({REFUSED!r})

socket.socket.connect = _refuse
socket.socket.connect_ex = _refuse
socket.create_connection = _refuse
socket.getaddrinfo = _refuse

_opened = []

def _hook(event, args):
    if event == "socket.connect":
        raise OSError({REFUSED!r})
    if event == "open" and isinstance(args[0], (str, os.PathLike)):
        path = os.fspath(args[0])
        if "-ubyte" in str(path):
            _opened.append(os.path.abspath(path))

sys.addaudithook(_hook)

@atexit.register
def _write_log():
    with open(os.environ["CORNU_TEST_OPEN_LOG"], "w") as log:
        log.write("\\n".join(_opened))
'''


def _offline_env(tmp_path: Path, *pythonpath: Path) -> dict[str, str]:
    site = tmp_path / "sitecustomize"
    site.mkdir()
    (site / "sitecustomize.py").write_text(SITECUSTOMIZE)
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items()
           if k not in ("CORNU_DATA", "CORNU_CACHE_DIR", "XDG_CACHE_HOME",
                        "CORNU_MNIST_MIRROR", "PYTHONPATH", "PYTHONSTARTUP")}
    env.update(
        HOME=str(home),
        PYTHONPATH=os.pathsep.join(str(p) for p in (site, *pythonpath)),
        CORNU_TEST_OPEN_LOG=str(tmp_path / "opened.txt"),
        CORNU_DEMO_EPOCHS="1",
        CORNU_DEMO_ROWS="3000",
    )
    return env


def _run_demo(tmp_path: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    work = tmp_path / "cwd"  # not the repository: the clone is found from the package
    work.mkdir()
    return subprocess.run([sys.executable, str(DEMO)], cwd=work, env=env,
                          capture_output=True, text=True, timeout=300)


def _opened(tmp_path: Path) -> set[Path]:
    log = (tmp_path / "opened.txt").read_text()
    return {Path(line) for line in log.splitlines() if line}


def test_the_network_is_really_off(tmp_path):
    env = _offline_env(tmp_path)
    code = ("import urllib.request\n"
            "urllib.request.urlopen('https://storage.googleapis.com/', timeout=5)")
    result = subprocess.run([sys.executable, "-c", code], env=env, cwd=tmp_path,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode != 0 and REFUSED in result.stderr


def test_demo_trains_offline_from_the_clones_copy(tmp_path):
    if not all((REPO / "data" / "mnist" / f"{name}.gz").is_file() for name in NAMES):
        pytest.skip("the repository's data/mnist/ copy is missing")
    env = _offline_env(tmp_path, REPO)  # cornu imported from this clone
    result = _run_demo(tmp_path, env)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert "Epoch 1/1" in result.stdout
    accuracy = float(re.search(r"Accuracy of Testing Set: ([0-9.]+)", result.stdout)[1])
    assert accuracy > 0.5  # chance is 0.1; 1 epoch on 3,000 rows gives about 0.65
    # it read the four files from the clone's data/mnist/, and nothing else
    assert _opened(tmp_path) == {REPO / "data" / "mnist" / f"{name}.gz" for name in NAMES}
    assert not (tmp_path / "home" / ".cache" / "cornu" / "datasets").exists()  # no download


def test_installed_cornu_offline_says_where_to_put_the_files(tmp_path):
    """cornu copied into a site-packages-like folder (no pyproject.toml nor data/ beside
    it, as after `pip install`): the demo exits 1 with one paragraph, no traceback."""
    site = tmp_path / "site-packages"
    shutil.copytree(REPO / "cornu", site / "cornu",
                    ignore=shutil.ignore_patterns("__pycache__"))
    env = _offline_env(tmp_path, site)
    result = _run_demo(tmp_path, env)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    *downloads, message = result.stderr.strip().splitlines()
    assert all(line.startswith("cornu: downloading https://") for line in downloads)
    assert message.startswith("hello_world.py: MNIST is not on this machine")
    cache = tmp_path / "home" / ".cache" / "cornu" / "datasets" / "mnist"
    assert f"in {cache}, or set CORNU_DATA to a folder that holds mnist/" in message
    assert REFUSED in message
    for name in NAMES:
        assert name in message
    # only the download's temporary files were opened, and none was left behind
    assert {path.parent for path in _opened(tmp_path)} == {cache}
    assert all(path.name.endswith(".part") for path in _opened(tmp_path))
    assert list(cache.iterdir()) == []
