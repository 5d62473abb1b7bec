"""Placement: where the arrays of fit, evaluate and predict live, and how the compiled
programs split them over devices.

Everything the training, evaluate and predict paths send to a device goes through this
module, which reads the active distribution (`cornu.distribution.set_distribution` or a
distribution's `scope()`). With none (the default) every function here is the plain
`jax.device_put` of one device and adds no sharding annotation, so the one-device path
is exactly what it was before distributions existed.

With a distribution (`DataParallel`, `ModelParallel`), arrays are placed on its device
mesh as `jax.sharding.NamedSharding`s:
- batch data (`put_batch_sharded`): the batch axis split over the mesh's batch axis, the
  other axes whole; an axis that does not divide over the devices is padded with zeros
  (padded samples have mask 0, padded indices point at sample 0, as a one-device partial
  batch), so any batch size works;
- weights (`put_variable`, `shard_params`): as the distribution's layout for the
  variable's path (replicated for DataParallel, a LayoutMap's layout for ModelParallel);
- everything else (optimizer slots of replicated weights, keys, loss sums, counters):
  replicated (`put_replicated`).
The jitted programs get the shardings of their arguments (`shardings_of`) as in and out
shardings and constrain each step's batch (`constrain_batch`); XLA adds the collectives.

Streams (training/fit_stream.py) pad each stacked batch to a multiple of
`batch_multiple()` (masked), put a chunk with `put_chunk` and its row order and sums
with `put_batch_sharded(..., axis=1)` and `put_replicated`.

Weights loaded or created (variables.py, initializers, saving/) are made on the default
device as before and placed when a fit, evaluate or predict starts under a distribution
(`Model._place_weights`).

This module imports nothing of cornu: the distribution objects are read through the
attributes Keras' API gives them (`device_mesh.backend_mesh`, `batch_dim_name`,
`get_variable_layout(variable).axes`).
"""

from __future__ import annotations

import contextlib
import hashlib
import sys
from collections.abc import Iterator, Mapping
from typing import Any

import jax
import numpy as np
from jax.sharding import NamedSharding, PartitionSpec

#: the active distribution (None: one device); set through cornu.distribution
_ACTIVE: Any = None


def active() -> Any:
    """The active distribution, or None for one device."""
    return _ACTIVE


def set_active(distribution: Any) -> Any:
    """Make `distribution` (or None) the active one; returns the previous one."""
    global _ACTIVE
    previous, _ACTIVE = _ACTIVE, distribution
    return previous


def mesh(distribution: Any = None) -> jax.sharding.Mesh:
    """The jax Mesh of `distribution` (default: the active one, which must be set)."""
    return (distribution or _ACTIVE).device_mesh.backend_mesh


def replicated(distribution: Any = None) -> NamedSharding:
    """A whole copy on every device of the mesh."""
    return NamedSharding(mesh(distribution), PartitionSpec())


def data_devices(distribution: Any = None) -> int:
    """How many ways the batch axis is split (1 without a distribution)."""
    distribution = distribution or _ACTIVE
    if distribution is None:
        return 1
    return int(mesh(distribution).shape[distribution.batch_dim_name])


def batch_sharding(ndim: int, axis: int = 0, distribution: Any = None) -> NamedSharding:
    """Axis `axis` of an `ndim`-dimensional array split over the mesh's batch axis."""
    distribution = distribution or _ACTIVE
    spec: list[str | None] = [None] * ndim
    spec[axis] = distribution.batch_dim_name
    return NamedSharding(mesh(distribution), PartitionSpec(*spec))


# -- placing -------------------------------------------------------------------------------
def put(tree: Any) -> Any:
    """Values every device needs whole: `jax.device_put` on one device, replicated over
    the mesh with a distribution."""
    if _ACTIVE is None:
        return jax.device_put(tree)
    return put_replicated(tree)


def put_replicated(tree: Any) -> Any:
    """A whole copy of each array on every device of the active mesh (one device: plain
    `jax.device_put`)."""
    if _ACTIVE is None:
        return jax.device_put(tree)
    whole = replicated()
    if jax.process_count() == 1:
        return jax.device_put(tree, whole)
    return jax.tree.map(lambda a: _put_global(a, whole), tree)


def put_like(value: Any, like: jax.Array) -> jax.Array:
    """`value` placed as `like` is (a new learning rate beside the optimizer state it
    replaces; one device: plain `jax.device_put`, uncommitted as before)."""
    if _ACTIVE is None:
        return jax.device_put(value)
    return _put_global(value, like.sharding)


def pad_axis(array: np.ndarray, axis: int, multiple: int) -> np.ndarray:
    """`array` with zeros appended along `axis` up to a multiple of `multiple`."""
    size = array.shape[axis]
    extra = -size % multiple
    if not extra:
        return array
    widths = [(0, 0)] * array.ndim
    widths[axis] = (0, extra)
    return np.pad(array, widths)


def put_batch_sharded(tree: Any, axis: int = 0) -> Any:
    """Batch data: axis `axis` of each array split over the mesh's batch axis (padded
    with zeros to a multiple of the number of data devices). One device: plain
    `jax.device_put` of the arrays as they are.

    Where each process passes its own rows (`per_process()`), the arrays are this
    process's part: padded to a multiple of its own data devices, and the global array
    is the processes' parts side by side along `axis` (in the order of the processes'
    devices on the mesh)."""
    if _ACTIVE is None:
        return jax.device_put(tree)
    if per_process():
        ways = batch_multiple()

        def place(a):
            a = pad_axis(np.asarray(a), axis, ways)
            return jax.make_array_from_process_local_data(batch_sharding(a.ndim, axis), a)

        return jax.tree.map(place, tree)
    ways = data_devices()

    def place(a):
        a = pad_axis(np.asarray(a), axis, ways)
        return _put_global(a, batch_sharding(a.ndim, axis))

    return jax.tree.map(place, tree)


def _put_global(value: Any, sharding: Any) -> jax.Array:
    """A host value that every process holds whole, placed as `sharding`: each process
    puts only its own devices' parts. (jax.device_put would first gather the whole value
    from every process to check that they agree: the whole data set once per fit, and
    every chunk of a stream, over the network.) One process: jax.device_put."""
    if jax.process_count() == 1 or isinstance(value, jax.Array):
        return jax.device_put(value, sharding)
    value = np.asarray(value)
    return jax.make_array_from_callback(value.shape, sharding, lambda index: value[index])


# -- several processes, each with its own rows -------------------------------------------------
#: whose rows the arrays of the running fit/evaluate/predict are (`whose_rows`): True
#: each process's own, False the whole data on every process, None: not decided (the
#: distribution's auto_shard_dataset says)
_OWN_ROWS: bool | None = None
#: the last decision this process reported (a line is printed when it changes)
_SAID: bool | None = None

#: rows of each array whose bytes go into a fingerprint (first, last, middle and
#: strided ones), and the most elements of each row hashed
FINGERPRINT_ROWS = 16
FINGERPRINT_ROW_ELEMENTS = 1 << 18


def per_process(distribution: Any = None) -> bool:
    """Whether each process passes its own rows: in a job of several processes, where
    the distribution has `auto_shard_dataset=False` (Keras' flag for data already split
    over the processes), or where the running call's arrays differ between the processes
    (`whose_rows`). Then `batch_size` counts this process's rows, and a step's global
    batch is the processes' batches side by side. Otherwise every process passes the
    same, whole data and `batch_size` is the global batch."""
    distribution = distribution or _ACTIVE
    if distribution is None or jax.process_count() == 1:
        return False
    if not getattr(distribution, "auto_shard_dataset", True):
        return True
    return bool(_OWN_ROWS)


def fingerprint(tree: Any) -> np.ndarray | None:
    """A small summary of in-memory data (an array, a list/tuple/dict of them, None):
    its first array's row count and a 128-bit hash of every array's shape, dtype and
    a bounded sample of its rows (the first, last and middle rows and strided ones,
    `FINGERPRINT_ROWS` in all, at most `FINGERPRINT_ROW_ELEMENTS` elements of each), as 5
    uint32 words. Reads a bounded part of the data whatever its size (a memmap's
    sampled rows only). None where the data is not arrays (a generator, a PyDataset,
    grain, ...) or is an array already split over the processes."""
    digest = hashlib.blake2b(digest_size=16)
    rows = None
    leaves: list = []

    def walk(node):
        if node is None:
            return True
        if isinstance(node, Mapping):
            return all(walk(node[k]) for k in sorted(node, key=str))
        if isinstance(node, list | tuple):
            return all(walk(v) for v in node)
        if isinstance(node, jax.Array):
            if not node.is_fully_addressable:
                return False
        elif not (isinstance(node, np.ndarray | int | float | complex | bool | np.generic)
                  or hasattr(node, "__array__")):
            return False
        leaves.append(node)
        return True

    if not walk(tree):
        return None
    for leaf in leaves:
        array = leaf if isinstance(leaf, np.ndarray | jax.Array) else np.asarray(leaf)
        digest.update(f"{tuple(array.shape)} {array.dtype};".encode())
        if not array.ndim:
            digest.update(np.asarray(array).tobytes())
            continue
        n = array.shape[0]
        rows = n if rows is None else rows
        picks = np.unique(np.r_[np.linspace(0, n - 1, min(n, FINGERPRINT_ROWS)).astype(int),
                                n // 2]) if n else []
        for i in picks:  # one row at a time: a memmap reads only these rows
            row = np.asarray(array[int(i)]).reshape(-1)[:FINGERPRINT_ROW_ELEMENTS]
            digest.update(np.ascontiguousarray(row).tobytes())
    words = np.frombuffer(digest.digest(), np.uint32)
    return np.r_[np.uint32(min(rows or 0, 2**32 - 1)), words].astype(np.uint32)


def decide_rows(prints: np.ndarray) -> bool:
    """From the fingerprints of all processes (one row each: the training data's 5
    words, then the validation data's 5), whether each process passes its own rows
    (True: they differ) or all pass the same whole data (False). Training data the same
    everywhere but validation data that differ is refused: it cannot be both."""
    prints = np.asarray(prints).reshape(len(prints), 2, -1)
    train_same = bool((prints[:, 0] == prints[0, 0]).all())
    val_same = bool((prints[:, 1] == prints[0, 1]).all())
    if train_same and not val_same:
        raise ValueError(
            "The processes pass the same training data (taken as the whole data on every "
            "process) but different validation_data. Received: validation rows by process: "
            f"{prints[:, 1, 0].tolist()}. Pass the same validation data on every process, "
            "or, where each process passes its own rows, say so with "
            "DataParallel(auto_shard_dataset=False).")
    return not train_same


@contextlib.contextmanager
def whose_rows(data: Any, validation: Any = None) -> Iterator[None]:
    """Decide, once for a fit/evaluate/predict call, whose rows its in-memory arrays are
    (`per_process()` reads the decision until the call ends). Only in a job of several
    processes whose distribution keeps `auto_shard_dataset=True` (the default): every
    process computes `fingerprint` of its `data` (x, y, sample weights) and
    `validation` (fit's validation_data), and the processes exchange them (one small
    all-gather); identical everywhere: the whole data on every process, as before;
    different: each process's own rows, as auto_shard_dataset=False. Process 0 prints a
    line on stderr when the decision differs from its previous one. Data that are not
    arrays (streams) are left to the flag, without an exchange."""
    global _OWN_ROWS, _SAID
    distribution = _ACTIVE
    if (distribution is None or jax.process_count() == 1
            or not getattr(distribution, "auto_shard_dataset", True)):
        yield
        return
    own = None
    mine = fingerprint(data)
    if mine is not None:
        theirs = fingerprint(validation)
        theirs = np.zeros_like(mine) if theirs is None else theirs
        from jax.experimental import multihost_utils

        prints = np.asarray(multihost_utils.process_allgather(np.r_[mine, theirs]))
        own = decide_rows(prints)
        if own != _SAID and jax.process_index() == 0:
            _say(own, prints[:, 0].tolist())
        _SAID = own
    previous, _OWN_ROWS = _OWN_ROWS, own
    try:
        yield
    finally:
        _OWN_ROWS = previous


def _say(own: bool, rows: list[int]) -> None:
    """The line that reports a decision of `whose_rows` (stderr, process 0)."""
    processes = len(rows)
    if own:
        text = (f"the {processes} processes pass different arrays (rows by process: {rows}):"
                " each process's arrays are taken as its own rows (batch_size counts them;"
                f" a step's global batch is batch_size x {processes}). To force this, pass "
                "DataParallel(auto_shard_dataset=False); for the whole data on every "
                "process, pass the same arrays everywhere.")
    else:
        text = (f"the {processes} processes pass the same arrays ({rows[0]} rows each): "
                "taken as the whole data on every process (batch_size is the global "
                "batch). Where each process passes its own rows, pass different ones, or "
                "force it with DataParallel(auto_shard_dataset=False).")
    sys.stderr.write(f"cornu.distribution: {text}\n")
    sys.stderr.flush()


def global_rows(rows: int) -> np.ndarray:
    """Where this process's `rows` rows (a multiple of `batch_multiple()`) land in a
    global array put with `put_batch_sharded(..., axis=0)`: their global indices, in
    order (0..rows-1 unless each process passes its own rows)."""
    if not per_process():
        return np.arange(rows)
    ways, local = data_devices(), batch_multiple()
    total, per_device = rows * ways // local, rows // local
    spans = batch_sharding(1).addressable_devices_indices_map((total,)).values()
    starts = sorted({span[0].start or 0 for span in spans})
    return np.concatenate([np.arange(s, s + per_device) for s in starts])


def local_part(array: Any, axis: int) -> np.ndarray:
    """This process's rows of a global array split along `axis` (the outputs of its own
    rows, where each process passes its own); else the whole array (`to_host`)."""
    if not per_process():
        return to_host(array)
    shards = {s.index[axis].start or 0: s for s in array.addressable_shards}
    return np.concatenate([np.asarray(shards[k].data) for k in sorted(shards)], axis=axis)


def all_equal(value: int, what: str) -> None:
    """Check that every process of a per-process job has the same `value` (its number
    of rows or batches: the processes take their steps together, so a process with
    fewer would leave the others waiting)."""
    if not per_process():
        return
    from jax.experimental import multihost_utils

    values = np.asarray(multihost_utils.process_allgather(np.int64(value))).ravel().tolist()
    if len(set(values)) > 1:
        raise ValueError(
            f"Each process must pass as many {what} as the others when each passes its "
            f"own rows (auto_shard_dataset=False, or arrays that differ between the "
            f"processes). Received: {what} by process: {values}. Give every process an "
            "equal part of the data (drop or repeat a few rows), or, for the whole data on "
            "every process, the same arrays.")


def put_chunk(rows: Any, mask: Any, rows_axis: int = 0) -> tuple[Any, Any]:
    """A stream's chunk of steps (training/fit_stream.py): `rows` (x, y, sample weights
    of K * batch rows stacked, rows_axis=0; or as (K, batch, ...) blocks, rows_axis=1)
    and its (K, batch) mask, the batch axis split over the mesh's batch axis (the stream
    pads each batch to a multiple of `batch_multiple()` first). One device: plain
    `jax.device_put` of both, as before distributions existed."""
    if _ACTIVE is None:
        return tuple(jax.device_put((rows, mask)))
    return put_batch_sharded(rows, axis=rows_axis), put_batch_sharded(mask, axis=1)


def batch_multiple() -> int:
    """The multiple a stream pads each batch's rows to, so that it splits evenly over the
    devices (1 on one device; this process's share of them where each process passes
    its own rows)."""
    if per_process():
        return max(1, data_devices() // jax.process_count())
    return data_devices()


def get(tree: Any) -> Any:
    """Arrays of `tree` as numpy (`jax.device_get` where each process holds them whole;
    arrays split over several processes are gathered from all of them first, so every
    process must call it)."""
    if all(getattr(a, "is_fully_addressable", True) or a.is_fully_replicated
           for a in jax.tree.leaves(tree)):
        return jax.device_get(tree)
    return jax.tree.map(to_host, tree)


def writes_files() -> bool:
    """Whether this process writes the job's files (saved models and weights,
    ModelCheckpoint, BackupAndRestore, CSVLogger): the only process, or process 0 of a
    job of several. Every process gathers what is written (a collective where weights
    are split over processes); the others then skip the write, so that no two processes
    write one file."""
    return jax.process_count() == 1 or jax.process_index() == 0


def get_local(tree: Any, axis: int) -> Any:
    """As `get`, but where each process passes its own rows, only this process's rows
    (split along `axis`) of each array."""
    if not per_process():
        return get(tree)
    return jax.tree.map(lambda a: local_part(a, axis), tree)


def variable_sharding(variable: Any, distribution: Any = None) -> NamedSharding:
    """The sharding of a weight: the distribution's layout for its path."""
    distribution = distribution or _ACTIVE
    layout = distribution.get_variable_layout(variable)
    axes = tuple(layout.axes) if layout is not None else ()
    if len(axes) not in (0, len(variable.shape)):
        raise ValueError(
            f"The layout of variable '{variable.path}' names {len(axes)} axes, but the "
            f"variable has shape {tuple(variable.shape)}. Received: layout axes={axes}. "
            "Give one axis name (or None) per dimension of the variable.")
    spec = PartitionSpec(*axes)
    mesh_ = mesh(distribution)
    for size, name in zip(variable.shape, axes, strict=False):
        if name is not None and size % mesh_.shape[name]:
            raise ValueError(
                f"Variable '{variable.path}' of shape {tuple(variable.shape)} cannot be "
                f"split over mesh axis '{name}' of {mesh_.shape[name]} devices: a "
                f"dimension of {size} does not divide. Received: layout axes={axes}. "
                "Choose a layout (or mesh shape) whose axes divide the dimensions.")
    return NamedSharding(mesh_, spec)


def put_variable(value: jax.Array, variable: Any) -> jax.Array:
    """A weight's value placed by the active distribution (one device: unchanged)."""
    if _ACTIVE is None:
        return value
    sharding = variable_sharding(variable)
    if (isinstance(value, jax.Array) and value.committed
            and value.sharding.is_equivalent_to(sharding, value.ndim)):
        return value  # placed already (a replicated P() is P(None, None))
    # (an uncommitted array on a one-device mesh's device is placed too: the programs'
    # outputs are committed, and jit compiles again when that changes between calls)
    return jax.device_put(value, canonical(sharding))  # spelled as the programs return it


def shard_params(trees: Any, variables: Any) -> Any:
    """Per-entry dicts of weight values placed as the distribution lays out the matching
    variables (`variables`: the same structure holding the Variables, whose `path` a
    LayoutMap matches). One device: the trees unchanged."""
    if _ACTIVE is None:
        return trees
    return [{k: put_variable(tree[k], entry[k]) for k in tree}
            for tree, entry in zip(trees, variables, strict=True)]


def on_mesh(tree: Any) -> Any:
    """Arrays of `tree` that are not on the active mesh's devices, replicated there (an
    optimizer state or key made on one device); arrays already on the mesh keep their
    sharding. One device: unchanged."""
    if _ACTIVE is None:
        return tree
    devices = set(mesh().devices.flat)

    def place(a):
        if isinstance(a, jax.Array) and a.committed and set(a.sharding.device_set) == devices:
            return a
        return jax.device_put(a, replicated())

    return jax.tree.map(place, tree)


def to_host(array: Any) -> np.ndarray:
    """An array's value as numpy; one split over the devices of several processes is
    gathered from all of them first (every process must call this)."""
    if isinstance(array, jax.Array) and not array.is_fully_addressable:
        from jax.experimental import multihost_utils

        return np.asarray(multihost_utils.process_allgather(array, tiled=True))
    return np.asarray(array)


# -- what the compiled programs need ----------------------------------------------------------
def shardings_of(tree: Any) -> Any:
    """The sharding of each array of `tree` (for jit's in and out shardings); host values
    (numpy, numbers) are replicated."""
    whole = replicated()
    return jax.tree.map(lambda a: canonical(a.sharding) if isinstance(a, jax.Array)
                        else whole, tree)


def canonical(sharding: Any) -> Any:
    """One spelling per placement (a replicated array is P() or P(None, None) depending
    on where it was made; trailing Nones dropped), so that a program keyed by its
    arguments' shardings is not compiled again for another spelling."""
    if not isinstance(sharding, NamedSharding):
        return sharding
    axes = list(sharding.spec)
    while axes and axes[-1] is None:
        axes.pop()
    if len(axes) == len(sharding.spec):
        return sharding
    return NamedSharding(sharding.mesh, PartitionSpec(*axes), memory_kind=sharding.memory_kind)


def constrain_batch(tree: Any, axis: int = 0) -> Any:
    """Inside a compiled program: the batch split over the mesh's batch axis. One
    device: the values unchanged, no annotation."""
    if _ACTIVE is None:
        return tree
    return jax.tree.map(lambda a: jax.lax.with_sharding_constraint(
        a, batch_sharding(a.ndim, axis)), tree)
