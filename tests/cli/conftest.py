"""Fixtures for the command-line tests: MNIST's folder, and one trained run shared by
the tests that read it (one epoch on the full training set: ~15 s on 2 CPU cores)."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_helpers import run_cli

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def mnist_folder() -> Path:
    """The folder holding mnist/: the copy shipped in the repository (data/)."""
    folder = REPO / "data"
    if not (folder / "mnist").is_dir():
        pytest.skip(f"MNIST not found: the repository's copy {folder / 'mnist'} is missing")
    return folder


@pytest.fixture
def mnist_env(mnist_folder, monkeypatch) -> Path:
    monkeypatch.setenv("CORNU_DATA", str(mnist_folder))
    return mnist_folder


@pytest.fixture(scope="session")
def trained_run(mnist_folder, tmp_path_factory) -> tuple[Path, str]:
    """(run folder, stdout) of `cornu mnist --epochs 1 --batch-size 32 --seed 0`."""
    from cornu.utils import clear_session

    out = tmp_path_factory.mktemp("cli") / "run"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CORNU_DATA", str(mnist_folder))
        clear_session()
        code, stdout, stderr = run_cli("mnist", "--epochs", "1", "--batch-size", "32",
                                       "--seed", "0", "--out", out)
    assert code == 0, stderr
    return out, stdout
