"""Fixtures for the data set loaders: an isolated environment and fixture folders."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("KERAS_BACKEND", "jax")  # before anything imports keras

from cornu.data.datasets import _cache

UNREACHABLE = "http://127.0.0.1:9/"
NAMES = ("mnist", "fashion-mnist", "cifar10", "cifar100", "imdb", "reuters",
         "boston_housing", "california_housing")


class DataFolder:
    """A tmp CORNU_DATA: `put(name, file, bytes)` writes `<root>/<name>/<file>`."""

    def __init__(self, root: Path):
        self.root = root

    def put(self, name: str, file_name: str, data: bytes) -> Path:
        folder = self.root / name
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / file_name
        path.write_bytes(data)
        return path


@pytest.fixture
def datasets_env(monkeypatch, tmp_path) -> DataFolder:
    """CORNU_DATA is a fresh tmp folder; no user cache, no clone copy, no network."""
    monkeypatch.setenv("CORNU_DATA", str(tmp_path / "data"))
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setenv("CORNU_CACHE_DIR", str(tmp_path / "cache"))
    for name in NAMES:
        monkeypatch.setenv(_cache.mirror_variable(name), UNREACHABLE)
    monkeypatch.setattr(_cache, "PACKAGE_DIR", tmp_path / "site-packages" / "cornu")
    return DataFolder(tmp_path / "data")

