"""Host buffers that let later fit calls hand their training arrays to XLA:CPU without a
copy.

XLA:CPU uses a host array in place when its data starts on a 64-byte boundary; numpy aligns
large arrays to 16 bytes, so `jax.device_put` copies the training pixels on every fit call
into memory the system has to provide afresh (70-80 ms for MNIST's 188 MB on this project's
machine, most of it page faults). A model keeps aligned buffers of its training arrays'
shapes between fit calls: a later call copies the (possibly changed) arrays into them (about
15 ms for MNIST) and XLA reads them in place. The buffers are made and touched by a
background thread during the second call with the same shapes, so a model trained by one
fit call pays nothing (a thread started in the first call made that call ~0.1 s slower
in some runs: it competes with the compilation for the cores). Only on the CPU, only up
to `LIMIT_BYTES` of arrays, and not with CORNU_HOST_BUFFERS=0: the buffers stay allocated
while the model lives. Should making them fail for lack of memory, every later call
copies as the first one did. evaluate and predict keep nothing: their padded batches live
for the call only (issue 17: no copy of their inputs outlives them).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

import jax
import numpy as np

from cornu import _settings
from cornu.data.arrays import empty_aligned, is_aligned

LIMIT_BYTES = 1 << 30


def _enabled() -> bool:
    """Kept buffers only on the CPU, and not with CORNU_HOST_BUFFERS=0."""
    return jax.default_backend() == "cpu" and _settings.switch("CORNU_HOST_BUFFERS", True)

Signature = tuple[tuple[tuple[int, ...], str] | None, ...]


class HostStaging:
    """Aligned host buffers for one model's training arrays, reused between fit calls.

    The buffers are keyed by the arrays' positions and shapes, not by their alignment: a
    fresh array each call (`fit(x / 255, ...)` in a loop, or cornu's own label copies)
    starts on a 64-byte boundary in some calls and not in others."""

    def __init__(self) -> None:
        self._seen: Signature | None = None  # the shapes of the last call
        self._buffers: dict[int, np.ndarray] = {}  # position -> buffer, for _seen
        self._worker: threading.Thread | None = None
        self._failed = False

    def __deepcopy__(self, memo: dict) -> HostStaging:
        return HostStaging()  # a copied model makes buffers of its own when it trains

    def device_put(self, leaves: Sequence[np.ndarray | None],
                   wait: Callable[[], None]) -> list[jax.Array | None]:
        """The arrays on the device. `wait` blocks until the programs of the previous fit
        call are done (fit waits for the model's weights, which each of its programs
        writes): the buffers are overwritten here."""
        if self._worker is not None:
            self._worker.join()
            self._worker = None
        signature = tuple(None if a is None else (a.shape, a.dtype.str) for a in leaves)
        unaligned = [i for i, a in enumerate(leaves) if a is not None and not is_aligned(a)]
        if signature != self._seen:
            self._seen, self._buffers = signature, {}  # the old buffers go
            self._failed = False  # other shapes may fit where these did not
            return jax.device_put(list(leaves))  # a first call with these shapes
        if not unaligned or self._failed or not _enabled():
            return jax.device_put(list(leaves))
        missing = [i for i in unaligned if i not in self._buffers]
        size = sum(b.nbytes for b in self._buffers.values()) + sum(
            leaves[i].nbytes for i in missing)
        if missing and size <= LIMIT_BYTES:  # made while this call trains, used once made
            self._worker = threading.Thread(
                target=self._make, args=({i: signature[i] for i in missing},), daemon=True)
            self._worker.start()
        out = list(leaves)
        if any(i in self._buffers for i in unaligned):
            wait()
            for i in unaligned:
                if i in self._buffers:
                    np.copyto(self._buffers[i], leaves[i])
                    out[i] = self._buffers[i]
        return jax.device_put(out)

    def _make(self, wanted: dict[int, tuple[tuple[int, ...], str]]) -> None:
        made = {}
        try:
            for i, (shape, dtype) in wanted.items():
                buffer = empty_aligned(shape, np.dtype(dtype))
                buffer.fill(0)  # the system provides the pages now, not in a fit call
                made[i] = buffer
        except Exception:  # MemoryError above all: later calls copy as the first did
            self._failed = True
            return
        self._buffers = {**self._buffers, **made}
