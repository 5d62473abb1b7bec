"""Helpers shared by the commands: MNIST as the models want it, epoch timing, the device."""

from __future__ import annotations

import os
import platform
import time
from pathlib import Path

import numpy as np

from cornu.callbacks import Callback
from cornu.cli.errors import CliError

TRAIN_SAMPLES = 60_000  # the full MNIST training set


def load_mnist(limit: int | None = None):
    """((x_train, y_train), (x_test, y_test)): pictures (N, 28, 28) float32 in [0, 1]
    and integer labels; the training set cut to its first `limit` samples."""
    from cornu.data.datasets import DatasetUnavailableError
    from cornu.datasets import mnist

    try:
        (x_train, y_train), (x_test, y_test) = mnist.load_data()
    except DatasetUnavailableError as exc:
        raise CliError(str(exc)) from None
    except ValueError as exc:  # a damaged file (bad checksum, not IDX)
        raise CliError(f"MNIST: {exc}") from None
    if limit is not None:
        x_train, y_train = x_train[:limit], y_train[:limit]
    return ((x_train.astype(np.float32) / 255, y_train),
            (x_test.astype(np.float32) / 255, y_test))


def check_out_folder(out: Path, force: bool) -> None:
    """Refuse an --out that is a file, or a folder that already holds files (an earlier
    run's), unless --force; an empty folder is fine."""
    if out.exists() and not out.is_dir():
        raise CliError(f"--out {out}: is a file, not a folder; give a folder's name")
    if out.is_dir() and not force:
        held = sorted(p.name for p in out.iterdir())
        if held:
            shown = ", ".join(held[:3]) + (", ..." if len(held) > 3 else "")
            raise CliError(f"--out {out}: the folder already holds files ({shown}); give a "
                           "new folder, leave --out out for a new one under runs/, or add "
                           "--force to write over them")


def one_hot(labels: np.ndarray, classes: int = 10) -> np.ndarray:
    from cornu.utils import to_categorical

    return to_categorical(labels, classes)


class EpochTimer(Callback):
    """Wall-clock seconds of each epoch (training plus its validation), in order."""

    def __init__(self) -> None:
        super().__init__()
        self.seconds: list[float] = []
        self._start = 0.0

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self._start)


def steady(seconds: list[float]) -> float | None:
    """The mean of the epochs after the first (which includes compilation), or None."""
    return sum(seconds[1:]) / (len(seconds) - 1) if len(seconds) > 1 else None


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def device_info() -> dict[str, str | int | None]:
    """What ran the numbers: JAX's first device, the CPU, the number of cores."""
    import jax

    device = jax.devices()[0]
    kind = getattr(device, "device_kind", "") or device.platform
    name = _cpu_name() if device.platform == "cpu" else kind
    return {"device": f"{device.platform} ({name})", "jax_version": jax.__version__,
            "cpu": _cpu_name(), "cpu_count": os.cpu_count()}
