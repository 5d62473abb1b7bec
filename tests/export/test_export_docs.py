"""The code of docs/interop.md's Export section runs as written; its StableHLO block runs
with jax alone (importing cornu fails there)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import jax
import pytest

DOC = Path(__file__).resolve().parents[2] / "docs" / "interop.md"


def _blocks() -> list[str]:
    section = DOC.read_text().split("\n## Export\n", 1)[1]
    return re.findall(r"```python\n(.*?)```", section, flags=re.S)


@pytest.mark.slow  # import tensorflow, the first jax2onnx conversion: about a minute
def test_export_section_runs(tmp_path, monkeypatch):
    pytest.importorskip("jax2onnx", reason="needs the extra: pip install 'cornu[export-onnx]'")
    pytest.importorskip("tensorflow", reason="needs the extra: pip install 'cornu[export-tf]'")
    blocks = _blocks()
    assert len(blocks) == 5
    monkeypatch.chdir(tmp_path)
    namespace: dict = {"__name__": "interop_md"}
    with jax.numpy_rank_promotion("allow"):
        for i, block in enumerate(blocks):
            exec(compile(block, f"{DOC.name} export block {i + 1}", "exec"), namespace)  # noqa: S102
    assert namespace["y"].shape == (5, 10)
    # the jax-only block, in a process where cornu cannot be imported
    (jax_only,) = [b for b in blocks if "jax.export.deserialize" in b]
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run(
        [sys.executable, "-c", "import sys\nsys.modules['cornu'] = None\n" + jax_only +
         "assert y.shape == (3, 10)\n"],
        capture_output=True, text=True, cwd=tmp_path, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "'pixels'" in done.stdout
