"""The code of docs/custom.md and docs/data.md runs, block after block, as written."""

from __future__ import annotations

import re
from pathlib import Path

import jax

DOC = Path(__file__).resolve().parent.parent / "docs" / "custom.md"


def test_custom_md_code_runs():
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)
    assert len(blocks) >= 6
    namespace: dict = {"__name__": "custom_md"}
    with jax.numpy_rank_promotion("allow"):  # user code broadcasts as NumPy does
        for i, block in enumerate(blocks):
            exec(compile(block, f"{DOC.name} block {i + 1}", "exec"), namespace)  # noqa: S102


def test_data_md_code_runs():
    doc = DOC.parent / "data.md"
    blocks = re.findall(r"```python\n(.*?)```", doc.read_text(), flags=re.S)
    assert blocks
    namespace: dict = {"__name__": "data_md"}
    for i, block in enumerate(blocks):
        exec(compile(block, f"{doc.name} block {i + 1}", "exec"), namespace)  # noqa: S102
