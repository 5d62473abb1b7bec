"""Host buffers that let later fit calls hand their training arrays to XLA:CPU without a copy.

XLA:CPU uses a host array in place when its data starts on a 64-byte boundary; numpy aligns
large arrays to 16 bytes, so `jax.device_put` copies the training pixels on every fit call
into memory the system has to provide afresh (70-80 ms for MNIST's 188 MB on this project's
machine, most of it page faults). A model keeps aligned buffers of its training arrays'
shapes between fit calls: a later call copies the (possibly changed) arrays into them (about
15 ms for MNIST) and XLA reads them in place. The buffers are made and touched by a
background thread while the first call trains (its compilation leaves a core idle), so the
first call pays nothing more. Only on the CPU, and only up to `LIMIT_BYTES` of arrays: the
buffers stay allocated while the model lives.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

import jax
import numpy as np

from cornu.data.arrays import empty_aligned, is_aligned

LIMIT_BYTES = 1 << 30

Signature = tuple[tuple[tuple[int, ...], str], ...]


class HostStaging:
    """Aligned host buffers for one model's training arrays, reused between fit calls."""

    def __init__(self) -> None:
        self._buffers: tuple[Signature, list[np.ndarray]] | None = None
        self._worker: threading.Thread | None = None

    def device_put(self, leaves: Sequence[np.ndarray | None],
                   wait: Callable[[], None]) -> list[jax.Array | None]:
        """The arrays on the device. `wait` blocks until no earlier program reads the
        buffers any more (they are overwritten here)."""
        staged = [a is not None and not is_aligned(a) for a in leaves]
        signature = tuple((a.shape, a.dtype.str) for a, s in zip(leaves, staged, strict=True)
                          if s)
        size = sum(a.nbytes for a, s in zip(leaves, staged, strict=True) if s)
        if not signature or size > LIMIT_BYTES or jax.default_backend() != "cpu":
            return jax.device_put(list(leaves))
        if self._worker is not None:
            self._worker.join()
            self._worker = None
        if self._buffers is None or self._buffers[0] != signature:
            self._buffers = None  # the old ones go before new ones are made
            self._worker = threading.Thread(target=self._make, args=(signature,), daemon=True)
            self._worker.start()
            return jax.device_put(list(leaves))
        wait()
        buffers = iter(self._buffers[1])
        out = []
        for array, stage in zip(leaves, staged, strict=True):
            if stage:
                buffer = next(buffers)
                np.copyto(buffer, array)
                array = buffer
            out.append(array)
        return jax.device_put(out)

    def _make(self, signature: Signature) -> None:
        buffers = []
        for shape, dtype in signature:
            buffer = empty_aligned(shape, np.dtype(dtype))
            buffer.fill(0)  # the system provides the pages now, not in the next fit call
            buffers.append(buffer)
        self._buffers = (signature, buffers)
