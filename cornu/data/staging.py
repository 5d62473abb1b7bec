"""Host buffers that let later fit, evaluate and predict calls hand their arrays to XLA:CPU
without a copy.

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
copies as the first one did.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Hashable, Iterator, Sequence

import jax
import numpy as np

from cornu import _settings, devices
from cornu.data.arrays import empty_aligned, is_aligned, pad_batches

LIMIT_BYTES = 1 << 30
#: what evaluate's and predict's kept buffers may hold between calls, per model: a bound
#: that does not grow with the data (issue 17: a call on larger inputs keeps nothing of
#: them); 10,000 MNIST images padded to batches (31 MB) fit
PADDED_LIMIT_BYTES = 64 << 20


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
        writes): the buffers are overwritten here. Under a distribution the arrays are
        split over its devices instead (cornu/devices.py), without kept buffers."""
        if devices.active() is not None:
            return devices.put_batch_sharded(list(leaves))
        if self._worker is not None:
            self._worker.join()
            self._worker = None
        signature = tuple(None if a is None else (a.shape, a.dtype.str) for a in leaves)
        unaligned = [i for i, a in enumerate(leaves) if a is not None and not is_aligned(a)]
        if signature != self._seen:
            self._seen, self._buffers = signature, {}  # the old buffers go
            self._failed = False  # other shapes may fit where these did not
            return devices.put(list(leaves))  # a first call with these shapes
        if not unaligned or self._failed or not _enabled():
            return devices.put(list(leaves))
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
        return devices.put(out)

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


class PaddedBuffers:
    """Aligned buffers for evaluate's and predict's padded batches, kept between calls.

    `pad_batches` writes each call's (n, ...) array into a (steps, batch, ...) buffer that
    XLA:CPU reads in place; a fresh buffer per call cost 2 ms when memory had just been
    freed and 17-60 ms when the system had to provide fresh pages (predict of 10,000 MNIST
    images at batch 1000 on this project's machine). One call at a time uses the kept
    buffers (`lease`); a call made while another holds them (another thread) pads into
    fresh ones. Up to PADDED_LIMIT_BYTES in all (larger inputs pad into fresh buffers that
    go with the call); on a GPU, or with CORNU_HOST_BUFFERS=0, every call
pads into fresh buffers."""

    def __init__(self) -> None:
        self._kept: dict[Hashable, np.ndarray] = {}
        self._lock = threading.Lock()

    def __deepcopy__(self, memo: dict) -> PaddedBuffers:
        return PaddedBuffers()

    @contextlib.contextmanager
    def lease(self) -> Iterator[Callable[[Hashable, np.ndarray, int], np.ndarray]]:
        """A `pad(key, array, batch_size)` function for the duration of one call, whose
        results must be read back before the block ends."""
        owned = _enabled() and self._lock.acquire(blocking=False)
        try:
            yield self._pad if owned else fresh_batches
        finally:
            if owned:
                self._lock.release()

    def _pad(self, key: Hashable, array: np.ndarray, batch_size: int) -> np.ndarray:
        shape = (-(-array.shape[0] // batch_size) * batch_size, *array.shape[1:])
        buffer = self._kept.pop(key, None)
        if buffer is None or buffer.shape != shape or buffer.dtype != array.dtype:
            buffer = None  # the old one goes before a new one is made
            kept = sum(b.nbytes for b in self._kept.values())
            nbytes = int(np.prod(shape, dtype=np.int64)) * array.dtype.itemsize
            if kept + nbytes > PADDED_LIMIT_BYTES:
                return fresh_batches(key, array, batch_size)
            buffer = empty_aligned(shape, array.dtype)
        self._kept[key] = buffer
        return pad_batches(array, batch_size, out=buffer)


def fresh_batches(key: Hashable, array: np.ndarray, batch_size: int) -> np.ndarray:
    """`pad` without kept buffers: a new aligned buffer per call."""
    return pad_batches(array, batch_size)
