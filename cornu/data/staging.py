"""Host memory for the compiled programs: the training arrays read where numpy put them,
and evaluate's and predict's padded batches.

XLA:CPU uses a host array in place when its data starts on a 64-byte boundary; numpy starts
large arrays 16 bytes past a page boundary (after its allocator's header), so
`jax.device_put` would copy the training data on every fit call: a second copy of the data
in memory while fit runs (70-80 ms for MNIST's 188 MB, most of it page faults). Instead fit
hands XLA the array from the 64-byte boundary before its data (`in_place`): the up to 63
bytes before it lie in the same memory page, so they can be read, and the programs never
use them (`InPlace.whole` slices them off inside the compiled program, where the slice is
fused into the gather of each batch). Nothing is copied and nothing is kept after fit
returns. Only on the CPU, for arrays of at least IN_PLACE_MIN_BYTES (smaller ones are cheap
to copy, and their place in memory varies from call to call, which would change the
program's shapes), and not with CORNU_HOST_BUFFERS=0.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import threading
from collections.abc import Callable, Hashable, Iterator, Sequence
from typing import Any

import jax
import numpy as np

from cornu import _settings, devices
from cornu.data.arrays import empty_aligned, pad_batches

#: arrays smaller than this are copied by jax.device_put (glibc serves allocations of up to
#: 32 MiB from its heap at any 16-byte offset, larger ones from fresh pages at +16 bytes)
IN_PLACE_MIN_BYTES = 16 << 20
#: what evaluate's and predict's kept buffers may hold between calls, per model: a bound
#: that does not grow with the data (issue 17: a call on larger inputs keeps nothing of
#: them); 10,000 MNIST images padded to batches (31 MB) fit
PADDED_LIMIT_BYTES = 64 << 20
_ALIGN = 64


def _enabled() -> bool:
    """Host memory used in place only on the CPU, and not with CORNU_HOST_BUFFERS=0."""
    return jax.default_backend() == "cpu" and _settings.switch("CORNU_HOST_BUFFERS", True)


@jax.tree_util.register_pytree_node_class
class InPlace:
    """A host array as XLA:CPU reads it in place: `flat`, one-dimensional, starts `offset`
    elements before the array's data (on a 64-byte boundary); `whole()` is the array of
    `shape` (inside a compiled program, a slice that the compiler fuses into its reader)."""

    def __init__(self, flat: Any, offset: int, shape: tuple[int, ...]) -> None:
        self.flat, self.offset, self.shape = flat, offset, shape

    def tree_flatten(self) -> tuple[tuple[Any], tuple[int, tuple[int, ...]]]:
        return (self.flat,), (self.offset, self.shape)

    @classmethod
    def tree_unflatten(cls, aux: tuple[int, tuple[int, ...]], children: Any) -> InPlace:
        return cls(children[0], *aux)

    def whole(self) -> Any:
        size = int(np.prod(self.shape, dtype=np.int64))
        return jax.lax.slice(self.flat, (self.offset,), (self.offset + size,)).reshape(
            self.shape)


def whole(leaf: Any) -> Any:
    """An array, or the array an InPlace stands for."""
    return leaf.whole() if isinstance(leaf, InPlace) else leaf


def is_in_place(leaf: Any) -> bool:
    return isinstance(leaf, InPlace)


def _from_boundary(array: np.ndarray) -> tuple[np.ndarray, int] | None:
    """The memory from the 64-byte boundary before `array`'s data to its end as a flat
    array of its dtype, and the elements before the data; None where that is not possible
    (not C-contiguous, or an offset that is not a whole number of elements)."""
    offset = array.ctypes.data % _ALIGN
    if not array.flags.c_contiguous or offset % array.dtype.itemsize:
        return None
    # the bytes before the data lie in its memory page (pages are 64-byte multiples)
    # (a subclass of the ctypes type: its instances take the `owner` attribute)
    memory = type("HostMemory", (ctypes.c_char * (array.nbytes + offset),), {}
                  ).from_address(array.ctypes.data - offset)
    memory.owner = array  # the flat array (and the device's use of it) keeps the data alive
    flat = np.frombuffer(memory, np.uint8).view(array.dtype)
    return flat, offset // array.dtype.itemsize


def _malloc_trim() -> Callable[[int], int] | None:
    try:
        return ctypes.CDLL(None).malloc_trim  # glibc's
    except (OSError, AttributeError):
        return None


_TRIM = _malloc_trim()


#: runs that handled less than this leave freed memory to the allocator (handing it back
#: costs a collection and, worse, the page faults of the next call that needs it: a
#: single-sample predict took 2.2 instead of 1.0 ms)
RELEASE_MIN_BYTES = 16 << 20


def release_freed(done: Any = None, nbytes: int | None = None) -> None:
    """Hand the memory a run is done with back to the system, at the end of fit, evaluate
    and predict. XLA:CPU lets go of the host arrays it read in place (padded batches,
    chunks) only when jax next collects its garbage, which it does in Python's garbage
    collection: a young-generation collection runs it. A stream's chunks are made in its
    reading thread, whose allocator arena keeps freed memory resident (tens of MB after a
    fit, until the next allocations reuse it): glibc's `malloc_trim` returns it. `done`:
    device arrays the run is done with, deleted now (their host memory goes with them).
    `nbytes`: what the run handled, where known; under RELEASE_MIN_BYTES nothing more is
    done."""
    for leaf in jax.tree.leaves(done):
        if isinstance(leaf, jax.Array):
            leaf.delete()
    if nbytes is not None and nbytes < RELEASE_MIN_BYTES:
        return
    gc.collect(0)
    if _TRIM is not None:
        _TRIM(0)


def device_put(leaves: Sequence[np.ndarray | None]) -> list[Any]:
    """fit's training arrays on the device. On the CPU, arrays of IN_PLACE_MIN_BYTES and
    more are read where they are (as InPlace where their data is not on a 64-byte
    boundary), never copied; under a distribution they are split over its devices
    (cornu/devices.py)."""
    if devices.active() is not None:
        return devices.put_batch_sharded(list(leaves))
    out: list[Any] = list(leaves)
    if _enabled():
        for i, a in enumerate(leaves):
            if a is None or a.nbytes < IN_PLACE_MIN_BYTES or a.ctypes.data % _ALIGN == 0:
                continue
            made = _from_boundary(a)
            if made is not None:
                out[i] = InPlace(made[0], made[1], a.shape)
    return devices.put(out)


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
