"""The CPU's cores as several XLA devices, set up at `import cornu` (before JAX's backend
starts), so that fit can split a recurrent model's batches over them
(training/loop.py, `Engine.auto_splits`).

On one CPU device XLA runs a recurrent layer's loop of small matrix products in one
thread, the second core helping only inside each product; with the batch split over two
CPU devices each device runs its rows' loop in its own thread (docs/performance.md,
sessions 11 and 12). It is opt-in: on this project's shared 2-core machine the split was
1.31x faster than one device on a quiet moment and up to 2x slower when other work took a
core (the devices wait for each other at every step's sum). With CORNU_CPU_DEVICES=N
(N >= 2), or `auto` for `min(cores, DEFAULT_CAP)`, cornu asks JAX for that many CPU
devices when:

- the CPU is the platform (JAX_PLATFORMS / jax_platforms is unset or starts with "cpu",
  and where it is unset no GPU or TPU plugin of JAX is installed);
- JAX's backend has not started yet (a program that used JAX before importing cornu keeps
  its devices);
- the user set neither `jax_num_cpu_devices` (JAX_NUM_CPU_DEVICES) nor XLA's
  `--xla_force_host_platform_device_count`;
- (unset, 1, off, 0, false or no: nothing is made.)

Every array is still made on the first device, and everything but the training steps of
recurrent models runs there, as before: the other devices are used only by fit's split
steps, and by a distribution the user sets (`DataParallel()` lists all devices).
"""

from __future__ import annotations

import importlib.util
import os
import warnings

#: most CPU devices made from the cores by default (measured: 2, on a 2-core machine)
DEFAULT_CAP = 2

#: the number of CPU devices cornu made at import (None: it made none)
MADE: int | None = None

_OFF = {"0", "1", "off", "false", "no"}
_ACCELERATOR_PLUGINS = ("jax_cuda12_plugin", "jax_cuda13_plugin", "jax_rocm60_plugin",
                        "jax_rocm7_plugin", "libtpu")


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def wanted() -> int | None:
    """How many CPU devices to make (None: leave JAX's default), from the environment and
    JAX's configuration; starts nothing."""
    import jax
    from jax._src import xla_bridge

    setting = os.environ.get("CORNU_CPU_DEVICES", "").strip().lower()
    if not setting or setting in _OFF:  # opt-in: see the module's docstring
        return None
    count = None
    if setting != "auto":
        try:
            count = int(setting)
        except ValueError:
            warnings.warn(f"CORNU_CPU_DEVICES must be a whole number of devices, or 1/off. "
                          f"Received: CORNU_CPU_DEVICES={setting!r}; cornu makes no extra "
                          "CPU devices.", stacklevel=3)
            return None
        if count < 2:
            return None
    if xla_bridge.backends_are_initialized():
        return None
    platforms = os.environ.get("JAX_PLATFORMS") or jax.config.jax_platforms or ""
    if platforms:
        if platforms.split(",")[0].strip().lower() != "cpu":
            return None
    elif any(importlib.util.find_spec(name) is not None for name in _ACCELERATOR_PLUGINS):
        return None
    if jax.config.jax_num_cpu_devices not in (-1, None):
        return None
    if "xla_force_host_platform_device_count" in os.environ.get("XLA_FLAGS", ""):
        return None
    if count is None:
        count = min(_cores(), DEFAULT_CAP)
    return count if count >= 2 else None


def setup() -> int | None:
    """Make the CPU's cores devices where `wanted()` says so; returns the count made."""
    global MADE
    count = wanted()
    if count is not None:
        import jax

        jax.config.update("jax_num_cpu_devices", count)
        MADE = count
    return MADE


setup()  # at import: `import cornu` imports this module before any other of cornu's
