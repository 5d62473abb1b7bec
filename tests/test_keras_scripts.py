"""Scripts written the way Keras users write them (from Keras' developer guides), with only
their imports changed to cornu. Each runs in this process from a clean session and
asserts its own results."""

from __future__ import annotations

import runpy
from pathlib import Path

import jax
import pytest

SCRIPTS = sorted((Path(__file__).parent / "scripts").glob("*.py"))


@pytest.mark.parametrize("script", SCRIPTS, ids=[s.stem for s in SCRIPTS])
def test_keras_script_runs(script):
    # users' layers broadcast as NumPy does (the suite is strict for cornu's own code)
    with jax.numpy_rank_promotion("allow"):
        runpy.run_path(str(script), run_name="__main__")
