"""JAX's persistent compilation cache, on by default in a private user cache folder,
so a second process finds its programs compiled. Set CORNU_COMPILATION_CACHE=0 to
leave JAX's setting alone, or to a folder to choose where it lives."""

from __future__ import annotations

import os
from pathlib import Path

import jax

from cornu import _settings


def cache_folder() -> Path | None:
    setting = os.environ.get("CORNU_COMPILATION_CACHE", "")
    if setting.strip().lower() in _settings.OFF:
        return None
    if setting and setting.strip().lower() not in _settings.ON:  # a folder
        return Path(setting).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "cornu" / "jax-compilation-cache"


def enable() -> Path | None:
    """Turn the cache on unless the user configured JAX's cache already (or opted out)."""
    if os.environ.get("JAX_COMPILATION_CACHE_DIR") or jax.config.jax_compilation_cache_dir:
        return None
    folder = cache_folder()
    if folder is None:
        return None
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError:  # a read-only home: run without the cache rather than fail
        return None
    jax.config.update("jax_compilation_cache_dir", str(folder))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
    return folder
