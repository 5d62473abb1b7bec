"""The code of docs/custom.md and docs/data.md runs, block after block, as written."""

from __future__ import annotations

import re
from pathlib import Path

import jax
import pytest

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


@pytest.mark.slow  # reads the real MNIST
def test_tutorial_md_blocks_run_in_order_as_pasted(tmp_path, monkeypatch):
    """Every ```python block of docs/tutorial.md, in order, in one namespace, as a reader
    pastes them into one Python session (in an empty folder: the pictures it draws land
    there). Only the training is shortened: fit sees 2,000 samples for one epoch."""
    import warnings

    from cornu.models import Model

    data = DOC.parent.parent / "data"
    if not (data / "mnist").is_dir():
        pytest.skip("the repository's data/mnist/ copy is missing")
    monkeypatch.setenv("CORNU_DATA", str(data))
    monkeypatch.chdir(tmp_path)
    fit = Model.fit

    def short_fit(self, x=None, y=None, **kwargs):
        kwargs.pop("nb_epoch", None)
        kwargs.update(epochs=1, verbose=0)
        return fit(self, x[:2000], y[:2000], **kwargs)

    monkeypatch.setattr(Model, "fit", short_fit)
    doc = DOC.parent / "tutorial.md"
    blocks = re.findall(r"```python\n(.*?)```", doc.read_text(), flags=re.S)
    assert len(blocks) >= 5
    namespace: dict = {"__name__": "tutorial_md"}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for i, block in enumerate(blocks):
            exec(compile(block, f"{doc.name} block {i + 1}", "exec"), namespace)  # noqa: S102
    # the only warnings: the lecture's Keras 1 spellings, each naming the new one
    assert caught and all(issubclass(w.category, DeprecationWarning) and "Keras 1" in
                          str(w.message) for w in caught), [str(w.message) for w in caught]
    assert {p.name for p in tmp_path.iterdir()} == {
        "mnist_0.png", "mnist_1.png", "mnist_2.png", "mnist_3.png", "seven.jpg"}


def test_readme_names_only_folders_a_clone_has():
    """Every repository path the README names (`docs/...`, `examples/...`, `data/...`)
    exists in the clone; the others are made by cornu or make (runs/, .venv/, the
    user's cache), none is one of a particular development machine."""
    root = DOC.parent.parent
    readme = (root / "README.md").read_text()
    made = ("runs/", ".venv/", "~/", "$CORNU_DATA/")
    named = set(re.findall(r"(?<![\w/~$.-])([\w.~$-]+/[\w./-]*\w/?)", readme))
    paths = {p for p in named if "/" in p and not any(p.startswith(m) for m in made)
             and re.match(r"^(docs|examples|data|benchmarks|cornu|tests)/", p)}
    assert {"docs/tutorial.md", "examples/hello_world.py", "data/mnist/"} <= paths
    missing = sorted(p for p in paths if not (root / p).exists())
    assert not missing, f"README.md names paths a clone does not have: {missing}"
    assert "/work/" not in readme and "/home/" not in readme
