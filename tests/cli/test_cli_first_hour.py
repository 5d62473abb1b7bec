"""The command line's first hour (issue 19): run folders are not overwritten, a closed
pipe ends quietly, and the messages share one style."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from cli_helpers import run_cli

import cornu
from cornu.cli import common
from cornu.cli.errors import CliError

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("command", [["mnist"], ["experiment", "batch-size"]])
def test_out_folder_with_a_run_is_refused_naming_force(tmp_path, monkeypatch, command):
    loaded = []

    def no_data(limit=None):
        loaded.append(limit)
        raise CliError("stop here: the data would load now")

    monkeypatch.setattr(common, "load_mnist", no_data)
    run = tmp_path / "run"
    run.mkdir()
    (run / "metrics.json").write_text("{}")
    code, stdout, stderr = run_cli(*command, "--out", run)
    assert code == 1 and stdout == ""
    assert stderr == (f"cornu: error: --out {run}: the folder already holds files "
                      "(metrics.json); give a new folder, leave --out out for a new one "
                      "under runs/, or add --force to write over them\n")
    assert loaded == []  # refused before anything is loaded or trained
    assert (run / "metrics.json").read_text() == "{}"
    code, _, stderr = run_cli(*command, "--out", run, "--force")
    assert code == 1 and "stop here" in stderr and loaded == [None]
    empty = tmp_path / "empty"
    empty.mkdir()
    code, _, stderr = run_cli(*command, "--out", empty)
    assert "stop here" in stderr  # an empty folder is fine
    (tmp_path / "file").write_text("x")
    code, _, stderr = run_cli(*command, "--out", tmp_path / "file")
    assert stderr.startswith(f"cornu: error: --out {tmp_path / 'file'}: is a file")


def test_summary_into_a_closed_pipe_ends_quietly(tmp_path):
    model = cornu.Sequential([cornu.layers.Dense(3, input_shape=(4,))])
    model.save(tmp_path / "model.cornu")
    env = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONWARNINGS": "ignore"}
    # `cornu summary model.cornu | true`: the reader is gone before cornu writes
    read, write = os.pipe()
    os.close(read)
    with os.fdopen(write, "wb") as closed:
        done = subprocess.run([sys.executable, "-m", "cornu.cli", "summary",
                               str(tmp_path / "model.cornu")], stdout=closed,
                              stderr=subprocess.PIPE, text=True, env=env, timeout=120)
    assert done.stderr == ""
    assert done.returncode == 141  # as a program stopped by SIGPIPE


def test_messages_share_one_style():
    """Every message the commands print themselves: `cornu: error:` or `cornu: note:` on
    stderr, the rest sentences on stdout."""
    sources = "".join(p.read_text() for p in (REPO / "cornu" / "cli").glob("*.py"))
    sources += (REPO / "cornu" / "reports" / "run_report.py").read_text()
    prints = 0
    for line in sources.splitlines():
        if 'print(f"cornu: ' in line or "print(\"cornu: " in line:
            assert "file=sys.stderr" in line, line
            prints += 1
    assert prints >= 4


def test_usage_errors_say_what_was_received():
    for argv, words in ((["mnist", "--epochs", "0"],
                         "argument --epochs: must be a positive integer. Received: '0'"),
                        (["mnist", "--validation-split", "1"],
                         "argument --validation-split: must be a number from 0 up to (not "
                         "including) 1. Received: '1'"),
                        (["experiment", "batch-size", "--sizes", "1,x"],
                         "argument --sizes: must be positive integers separated by commas, "
                         "e.g. 1,10,100. Received: '1,x'")):
        code, _, stderr = run_cli(*argv)
        assert code == 2 and stderr.strip().endswith(words), stderr
