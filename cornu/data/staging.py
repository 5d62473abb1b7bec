"""Host memory for the compiled programs: fit's, evaluate's and predict's arrays read where
numpy put them.

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

evaluate and predict read their arrays the same way, batch by batch (`Batches`): the whole
batches from the caller's array, the last, partial batch from a copy of its rows padded to
a batch, so they hold no padded copy of the data either.
"""

from __future__ import annotations

import ctypes
import gc
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from cornu import _settings, devices
from cornu.data.arrays import empty_aligned, pad_batches

#: arrays smaller than this are copied by jax.device_put (glibc serves allocations of up to
#: 32 MiB from its heap at any 16-byte offset, larger ones from fresh pages at +16 bytes)
IN_PLACE_MIN_BYTES = 16 << 20
_ALIGN = 64
#: on an accelerator, host arrays of at least twice this go over in pieces of about this
#: size, joined on the device: one `jax.device_put` of predict's 31 MB took 6.95 ms on an
#: H200, the same rows as eight pieces 2.63 ms with the join (benchmarks/gpu_probe.py put;
#: copying into the transfer buffers overlaps the transfers of the pieces before)
PIECE_BYTES = 4 << 20
#: ...and only up to this size: fit's 188 MB of MNIST images in 47 such pieces took
#: longer than as one (a fit call's work before its first step 0.07 -> 0.13 s on the same
#: H200), and the join holds the pieces and the whole array at once on the device
PIECES_MAX_BYTES = 64 << 20


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
    boundary), never copied; on an accelerator large ones go over in pieces
    (`put_in_pieces`); under a distribution they are split over its devices
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
    if jax.default_backend() == "cpu":
        return devices.put(out)
    return put_in_pieces(out)


@jax.jit
def _join(pieces: list[Any]) -> Any:
    return jnp.concatenate(pieces)


def put_in_pieces(leaves: Sequence[Any], piece_bytes: int = PIECE_BYTES) -> list[Any]:
    """`jax.device_put` of each leaf, those of 2 * piece_bytes to PIECES_MAX_BYTES sent as
    pieces of rows (all pieces in one call) and joined on the device."""
    cuts: dict[int, list[np.ndarray]] = {}
    for i, a in enumerate(leaves):
        if (isinstance(a, np.ndarray) and a.ndim
                and 2 * piece_bytes <= a.nbytes <= PIECES_MAX_BYTES):
            cuts[i] = np.array_split(a, min(a.shape[0], -(-a.nbytes // piece_bytes)))
    placed = jax.device_put([cuts.get(i, a) for i, a in enumerate(leaves)])
    return [_join(p) if i in cuts else p for i, p in enumerate(placed)]


@jax.tree_util.register_pytree_node_class
class Batches:
    """An array of n rows as a compiled program reads it, batch by batch of `size` rows
    (`batch_at`), without a padded copy of it: `rows`, its whole batches (its first
    n // size * size rows, on the CPU read in place where they are large: InPlace), and
    `tail`, the rows of the last, partial batch padded with zeros to a batch (a copy of
    less than one batch), or None where n is a multiple of `size`."""

    def __init__(self, rows: Any, tail: Any, size: int) -> None:
        self.rows, self.tail, self.size = rows, tail, size

    def tree_flatten(self) -> tuple[tuple[Any, Any], int]:
        return (self.rows, self.tail), self.size

    @classmethod
    def tree_unflatten(cls, size: int, children: Any) -> Batches:
        return cls(*children, size)

    @property
    def steps(self) -> int:
        return self.rows.shape[0] // self.size + (self.tail is not None)

    def batch(self, i: Any) -> Any:
        """Whole batch `i` (a traced step number below rows' batches), inside a compiled
        program. The slice that drops InPlace's leading elements is fused into the
        batch's read: the program holds one batch, never a copy of the rows."""
        return jax.lax.dynamic_slice_in_dim(whole(self.rows), i * self.size, self.size)


def _is_batches(leaf: Any) -> bool:
    return isinstance(leaf, Batches)


def batch_at(tree: Any, i: Any) -> Any:
    """Inside a compiled program: batch `i` of each leaf of `tree`, a Batches (one of its
    whole batches) or a (steps, batch, ...) array (a stream's chunk, or batches padded for
    a distribution)."""
    return jax.tree.map(lambda a: a.batch(i) if isinstance(a, Batches)
                        else jax.lax.dynamic_index_in_dim(a, i, keepdims=False),
                        tree, is_leaf=_is_batches)


def steps_of(tree: Any) -> int:
    """The number of batches in `tree` (see batch_at)."""
    leaf = jax.tree.leaves(tree, is_leaf=_is_batches)[0]
    return leaf.steps if isinstance(leaf, Batches) else leaf.shape[0]


def scan_batches(step: Callable[[Any, Any, Any], tuple[Any, Any]], carry: Any,
                 tree: Any) -> tuple[Any, Any]:
    """Inside a compiled program: `step(carry, i, batch) -> (carry, out)` over every batch
    of `tree` (see batch_at), the outs stacked, as `lax.scan`. A Batches' padded last batch
    is stepped once after the loop, so that the loop reads whole batches straight from
    the rows (a choice between the rows and the last batch in every step cost evaluate
    and predict at batch 32 up to a fifth of their time)."""
    leaves = jax.tree.leaves(tree, is_leaf=_is_batches)
    steps = steps_of(tree)
    tailed = any(isinstance(a, Batches) and a.tail is not None for a in leaves)
    looped = steps - 1 if tailed else steps
    outs = None
    if looped:
        carry, outs = jax.lax.scan(lambda c, i: step(c, i, batch_at(tree, i)), carry,
                                   jnp.arange(looped, dtype=jnp.int32))
    if not tailed:
        return carry, outs
    last = jax.tree.map(lambda a: whole(a.tail) if isinstance(a, Batches) else a[looped],
                        tree, is_leaf=_is_batches)
    carry, out = step(carry, jnp.int32(looped), last)
    if outs is None:
        return carry, jax.tree.map(lambda o: o[None], out)
    return carry, jax.tree.map(lambda a, o: jnp.concatenate([a, o[None]]), outs, out)


def put_batches(leaves: Sequence[np.ndarray | None], batch_size: int) -> list[Any]:
    """evaluate's and predict's arrays (n rows each, or None) on the device as batches of
    `batch_size` (see batch_at): Batches, read as fit reads its arrays (`device_put`: not
    copied on the CPU where they are large), only the last, partial batch copied and
    padded. Under a distribution, (steps, batch, ...) padded copies instead, the batch
    axis split over the devices (devices.py)."""
    if devices.active() is not None:
        return devices.put_batch_sharded(
            [None if a is None else pad_batches(a, batch_size) for a in leaves], axis=1)
    n = next(a for a in leaves if a is not None).shape[0]
    full = n // batch_size * batch_size
    placed = device_put([*(None if a is None else a[:full] for a in leaves),
                         *(None if a is None or full == n else _padded_tail(a[full:], batch_size)
                           for a in leaves)])  # one call: a call costs more than a small copy
    return [None if a is None else Batches(r, t, batch_size)
            for a, r, t in zip(leaves, placed[:len(leaves)], placed[len(leaves):],
                               strict=True)]


def _padded_tail(rows: np.ndarray, batch_size: int) -> np.ndarray:
    """The last rows padded with zeros to a batch, on a 64-byte boundary: where a plain
    allocation's offset varied from call to call (a large tail read in place as InPlace at
    16, 32 or 48 bytes, or not), each new offset traced predict's program again."""
    tail = empty_aligned((batch_size, *rows.shape[1:]), rows.dtype)
    tail[:rows.shape[0]] = rows
    tail[rows.shape[0]:] = 0
    return tail
