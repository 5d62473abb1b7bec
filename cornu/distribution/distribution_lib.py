"""Keras 3's `keras.distribution` API over JAX's own distributed runtime.

The names, arguments and meaning are Keras' (`DeviceMesh`, `TensorLayout`, `LayoutMap`,
`DataParallel`, `ModelParallel`, `set_distribution`, `distribution()`, `scope()`); what a
distribution does to arrays is decided in one place, cornu/devices.py, which the
training, evaluate and predict paths call. A distribution here is a description: a mesh
of devices (a `jax.sharding.Mesh`), the mesh axis the batch is split over, and a layout
per weight.
"""

from __future__ import annotations

import collections.abc
import contextlib
import math
import os
import re
import warnings
from collections.abc import Iterator
from typing import Any

import jax
import numpy as np
from jax.sharding import NamedSharding, PartitionSpec

from cornu import devices as _devices
from cornu.random import keys as _keys

DEFAULT_BATCH_DIM_NAME = "batch"


def list_devices(device_type: str | None = None) -> list[str]:
    """The devices of all processes as "type:id" strings ("gpu:0", "cpu:3"), of
    `device_type` ("cpu", "gpu" or "tpu"; default: the default backend's)."""
    return [f"{d.platform}:{d.id}" for d in _jax_devices(device_type)]


def get_device_count(device_type: str | None = None) -> int:
    """How many devices `list_devices(device_type)` lists."""
    return len(_jax_devices(device_type))


def _jax_devices(device_type: str | None) -> list[Any]:
    if device_type is None:
        return jax.devices()
    if not isinstance(device_type, str) or device_type.lower() not in ("cpu", "gpu", "tpu"):
        raise ValueError(f"device_type must be 'cpu', 'gpu', 'tpu' or None. Received: "
                         f"device_type={device_type!r}")
    return jax.devices(device_type.lower())


def _to_jax_device(device: Any) -> Any:
    """A jax device from a jax device or a "type:id" string (list_devices' form)."""
    if not isinstance(device, str):
        return device
    kind, _, number = device.partition(":")
    for d in jax.devices(kind.lower() if kind else None):
        if str(d.id) == number:
            return d
    raise ValueError(f"devices names a device this process does not see. Received: "
                     f"{device!r}; the devices are {list_devices()}.")


def initialize(job_addresses: str | None = None, num_processes: int | None = None,
               process_id: int | None = None, *, initialization_timeout: int = 300,
               heartbeat_timeout_seconds: int = 60,
               process_timeout_seconds: float | None = 30,
               stall_timeout_seconds: float | None = 1800) -> None:
    """Join a job of several processes (`jax.distributed.initialize`); call it first,
    before any computation.

    `job_addresses`: the coordinator's "host:port" (Keras' comma-separated list of all
    the job's addresses is taken too: the first is the coordinator), `num_processes` and
    `process_id` (0 is the coordinator). Unset arguments come from the environment
    variables KERAS_DISTRIBUTION_JOB_ADDRESSES, KERAS_DISTRIBUTION_NUM_PROCESSES and
    KERAS_DISTRIBUTION_PROCESS_ID, and where those are unset too, from JAX's cluster
    detection (SLURM, Open MPI, Kubernetes, Cloud TPU).

    Bounds (cornu's additions to Keras' signature; docs/distributed.md):
    `initialization_timeout`: seconds to wait for all processes to join.
    `heartbeat_timeout_seconds`: JAX's coordination service takes a process that sent no
    heartbeat for this long for dead and terminates the others (JAX's default is 100).
    `process_timeout_seconds`: cornu's watchdog stops this process (a message on stderr,
    exit status 75) when another process of the job has given no sign of life for this
    long, or cannot be reached at exit; None turns it off.
    `stall_timeout_seconds`: the watchdog also stops this process when its main thread
    has stood at one place inside a fit, evaluate or predict this long (a collective
    waiting for a stuck process, a data source that does not answer); None: never. Make
    it longer than the longest single compile or call of the job."""
    for name, value in (("initialization_timeout", initialization_timeout),
                        ("heartbeat_timeout_seconds", heartbeat_timeout_seconds)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive whole number of seconds. "
                             f"Received: {name}={value!r}")
    for name, value in (("process_timeout_seconds", process_timeout_seconds),
                        ("stall_timeout_seconds", stall_timeout_seconds)):
        if value is not None and (isinstance(value, bool) or
                                  not isinstance(value, int | float) or value <= 0):
            raise ValueError(f"{name} must be a positive number of seconds or None. "
                             f"Received: {name}={value!r}")
    if job_addresses is None:
        job_addresses = os.environ.get("KERAS_DISTRIBUTION_JOB_ADDRESSES")
    if num_processes is None and "KERAS_DISTRIBUTION_NUM_PROCESSES" in os.environ:
        num_processes = _env_int("KERAS_DISTRIBUTION_NUM_PROCESSES")
    if process_id is None and "KERAS_DISTRIBUTION_PROCESS_ID" in os.environ:
        process_id = _env_int("KERAS_DISTRIBUTION_PROCESS_ID")
    coordinator = job_addresses.split(",")[0].strip() if job_addresses else None
    if num_processes is not None and (isinstance(num_processes, bool) or num_processes < 1):
        raise ValueError(f"num_processes must be a positive integer. Received: "
                         f"num_processes={num_processes!r}")
    if process_id is not None and num_processes is not None and \
            not 0 <= process_id < num_processes:
        raise ValueError(f"process_id must be in [0, num_processes). Received: "
                         f"process_id={process_id!r}, num_processes={num_processes!r}")
    jax.distributed.initialize(coordinator_address=coordinator,
                               num_processes=num_processes, process_id=process_id,
                               initialization_timeout=initialization_timeout,
                               heartbeat_timeout_seconds=heartbeat_timeout_seconds)
    if process_timeout_seconds is not None:
        from cornu.distribution import watchdog

        watchdog.start(process_timeout_seconds, stall_timeout_seconds)
    _agree_on_seed()


def _agree_on_seed() -> None:
    """Without `cornu.utils.set_random_seed`, each process would draw its own seed, so
    its own first weights and shuffles: process 0's seed is taken by all (as Keras
    agrees on one when a job starts). A seed set later replaces it."""
    if jax.process_count() == 1 or _keys.get_state()["seed"] is not None:
        return
    from jax.experimental import multihost_utils

    mine = np.frombuffer(os.urandom(4), np.uint32)[0]
    agreed = int(np.asarray(multihost_utils.broadcast_one_to_all(mine)))
    _keys.set_state({"seed": agreed, "counter": 0})


def _env_int(name: str) -> int:
    value = os.environ[name]
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"{name} must be a whole number. Received: {name}={value!r}") \
            from None


class DeviceMesh:
    """Devices arranged in a named grid (a `jax.sharding.Mesh`): `shape` (e.g. (8,) for
    data parallelism, (2, 4) for data x model), `axis_names` one per axis, `devices`
    (default: `list_devices()`)."""

    def __init__(self, shape: Any, axis_names: Any, devices: Any = None) -> None:
        if not shape or not axis_names:
            raise ValueError(f"shape and axis_names cannot be empty. Received: "
                             f"shape={shape!r}, axis_names={axis_names!r}")
        shape, axis_names = tuple(int(s) for s in shape), tuple(axis_names)
        if len(shape) != len(axis_names):
            raise ValueError(f"shape and axis_names must have the same length. Received: "
                             f"shape={shape}, axis_names={axis_names}")
        if len(set(axis_names)) != len(axis_names):
            raise ValueError(f"axis_names must be distinct. Received: axis_names={axis_names}")
        devices = np.array(list_devices() if devices is None else devices, dtype=object)
        if math.prod(shape) != devices.size:
            raise ValueError(
                f"shape must hold as many devices as given. Received: shape={shape} "
                f"({math.prod(shape)} devices) for {devices.size} devices; e.g. "
                f"shape=({devices.size},).")
        self._shape, self._axis_names = shape, axis_names
        self._devices = devices.reshape(shape)

    @property
    def shape(self) -> tuple[int, ...]:
        return self._shape

    @property
    def axis_names(self) -> tuple[str, ...]:
        return self._axis_names

    @property
    def devices(self) -> np.ndarray:
        return self._devices

    @property
    def backend_mesh(self) -> jax.sharding.Mesh:
        """The jax Mesh (made once)."""
        mesh = self.__dict__.get("_backend_mesh")
        if mesh is None:
            grid = np.vectorize(_to_jax_device, otypes=[object])(self._devices)
            mesh = self._backend_mesh = jax.sharding.Mesh(grid, self._axis_names)
        return mesh

    def __repr__(self) -> str:
        return f"<DeviceMesh shape={self.shape}, axis_names={self.axis_names}>"


class TensorLayout:
    """How an array lies on a mesh: one mesh axis name (or None: whole) per dimension, as
    a `jax.sharding.NamedSharding`."""

    def __init__(self, axes: Any, device_mesh: DeviceMesh | None = None) -> None:
        self._axes = tuple(axes)
        self._device_mesh = device_mesh
        self._validate_axes()

    @property
    def axes(self) -> tuple[str | None, ...]:
        return self._axes

    @property
    def device_mesh(self) -> DeviceMesh | None:
        return self._device_mesh

    @device_mesh.setter
    def device_mesh(self, device_mesh: DeviceMesh) -> None:
        if self._device_mesh is not None:
            raise ValueError(f"This layout already has a device mesh, "
                             f"{self._device_mesh!r}; make a new TensorLayout instead.")
        self._device_mesh = device_mesh
        self._validate_axes()

    @property
    def backend_layout(self) -> NamedSharding:
        if self._device_mesh is None:
            raise ValueError(f"TensorLayout(axes={self._axes}) has no device mesh yet; "
                             "give device_mesh= or put it in a LayoutMap.")
        return NamedSharding(self._device_mesh.backend_mesh, PartitionSpec(*self._axes))

    def _validate_axes(self) -> None:
        if self._device_mesh is None:
            return
        unknown = set(self._axes) - {None} - set(self._device_mesh.axis_names)
        if unknown:
            raise ValueError(f"axes must name axes of the device mesh "
                             f"{self._device_mesh.axis_names} (or None). Received: "
                             f"axes={self._axes}")

    def __repr__(self) -> str:
        return f"<TensorLayout axes={self.axes}, device_mesh={self.device_mesh}>"


class Distribution:
    """What a distribution is to cornu: a device mesh, the mesh axis the batch is split
    over (`batch_dim_name`), and a layout per variable."""

    def __init__(self, device_mesh: DeviceMesh, batch_dim_name: str | None = None,
                 auto_shard_dataset: bool = True) -> None:
        if not isinstance(device_mesh, DeviceMesh):
            raise ValueError(f"device_mesh must be a DeviceMesh. Received: "
                             f"device_mesh={device_mesh!r}")
        if batch_dim_name is not None and batch_dim_name not in device_mesh.axis_names:
            raise ValueError(f"batch_dim_name must be an axis of the device mesh "
                             f"{device_mesh.axis_names}. Received: "
                             f"batch_dim_name={batch_dim_name!r}")
        self._device_mesh = device_mesh
        self._batch_dim_name = batch_dim_name
        self._auto_shard_dataset = auto_shard_dataset
        self._num_processes = jax.process_count()
        self._process_id = jax.process_index()

    @property
    def device_mesh(self) -> DeviceMesh:
        return self._device_mesh

    @property
    def batch_dim_name(self) -> str | None:
        return self._batch_dim_name

    @property
    def num_processes(self) -> int:
        return self._num_processes

    @property
    def num_model_replicas(self) -> int:
        raise NotImplementedError

    @property
    def data_shard_id(self) -> int:
        """Which part of the data this process reads."""
        replicas = self.num_model_replicas
        if replicas >= self.num_processes:
            return self._process_id
        return self._process_id // (self.num_processes // replicas)

    @property
    def auto_shard_dataset(self) -> bool:
        return self._auto_shard_dataset

    @auto_shard_dataset.setter
    def auto_shard_dataset(self, value: bool) -> None:
        self._auto_shard_dataset = bool(value)

    def get_data_layout(self, data_shape: Any) -> TensorLayout:
        """Batch data: the first axis split over the batch axis."""
        axes: list[str | None] = [None] * len(data_shape)
        axes[0] = self._batch_dim_name
        return TensorLayout(axes, self._device_mesh)

    def get_variable_layout(self, variable: Any) -> TensorLayout:
        raise NotImplementedError

    def get_tensor_layout(self, path: str) -> TensorLayout | None:
        return None

    @contextlib.contextmanager
    def scope(self) -> Iterator[Distribution]:
        """`with distribution.scope():` makes it the active one inside the block."""
        previous = _devices.set_active(self)
        try:
            yield self
        finally:
            _devices.set_active(previous)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} device_mesh={self.device_mesh}>"


def _variable_layout(variable: Any, mesh: DeviceMesh) -> TensorLayout:
    own = getattr(variable, "_layout", None)
    if own is not None:
        return own
    return TensorLayout([None] * len(variable.shape), mesh)


class DataParallel(Distribution):
    """Each batch split over all devices (or the first axis of `device_mesh`, or
    `devices`), every weight replicated; the gradients are summed over the devices by
    the all-reduce XLA adds to the one compiled program."""

    def __init__(self, device_mesh: DeviceMesh | None = None, devices: Any = None,
                 auto_shard_dataset: bool = True) -> None:
        if device_mesh is not None:
            if not isinstance(device_mesh, DeviceMesh):
                raise ValueError(f"device_mesh must be a DeviceMesh. Received: "
                                 f"device_mesh={device_mesh!r}")
            if len(device_mesh.shape) != 1:
                warnings.warn(f"DataParallel expects a 1D mesh. Received: a mesh of shape "
                              f"{device_mesh.shape}; its first axis "
                              f"'{device_mesh.axis_names[0]}' splits the batch.",
                              stacklevel=2)
        else:
            found = np.array(list_devices() if devices is None or len(devices) == 0
                             else devices, dtype=object).ravel()
            device_mesh = DeviceMesh((found.size,), (DEFAULT_BATCH_DIM_NAME,), found)
        super().__init__(device_mesh, device_mesh.axis_names[0], auto_shard_dataset)

    #: fit's steps split each batch with jax.shard_map (training/loop.py, where the model
    #: allows: distribution/split.py), each device its rows and one psum of the gradients;
    #: on two CPU devices an LSTM's gradient took 17.8 ms that way against 25.1 ms when
    #: XLA's partitioner split the same program (docs/performance.md, session 11)
    _split_by_shard_map = True

    @property
    def num_model_replicas(self) -> int:
        return int(self.device_mesh.devices.size)

    def get_variable_layout(self, variable: Any) -> TensorLayout:
        return _variable_layout(variable, self.device_mesh)


class ModelParallel(Distribution):
    """Weights laid out by `layout_map` (regex keys matched against variable paths such
    as "dense/kernel"; unmatched ones are replicated), the batch split over
    `batch_dim_name` (default: the mesh's first axis)."""

    def __init__(self, *, layout_map: LayoutMap | None = None,
                 batch_dim_name: str | None = None, auto_shard_dataset: bool = True,
                 **kwargs: Any) -> None:
        kwargs.pop("device_mesh", None)  # Keras' older signature; the map's mesh is used
        if kwargs:
            raise TypeError(f"ModelParallel got unexpected keyword arguments: "
                            f"{', '.join(sorted(kwargs))}.")
        if not isinstance(layout_map, LayoutMap):
            raise ValueError(f"layout_map must be a LayoutMap. Received: "
                             f"layout_map={layout_map!r}")
        mesh = layout_map.device_mesh
        super().__init__(mesh, batch_dim_name or mesh.axis_names[0], auto_shard_dataset)
        self._layout_map = layout_map

    @property
    def num_model_replicas(self) -> int:
        return self.device_mesh.shape[self.device_mesh.axis_names.index(self.batch_dim_name)]

    def get_variable_layout(self, variable: Any) -> TensorLayout:
        own = getattr(variable, "_layout", None)
        if own is not None:
            return own
        layout = self._layout_map[variable.path]
        return layout if layout is not None else _variable_layout(variable, self.device_mesh)

    def get_tensor_layout(self, path: str) -> TensorLayout | None:
        return self._layout_map[path]


class LayoutMap(collections.abc.MutableMapping):
    """{regex: TensorLayout} for variable paths. A lookup takes the exact key, else the one
    key that `re.fullmatch`es the path (several: an error; none: None). A tuple of axis
    names stands for a TensorLayout on this map's mesh."""

    def __init__(self, device_mesh: DeviceMesh) -> None:
        self._layouts: dict[str, TensorLayout] = {}
        self._device_mesh = device_mesh

    def __getitem__(self, key: str) -> TensorLayout | None:
        if key in self._layouts:
            return self._layouts[key]
        matches = [pattern for pattern in self._layouts if re.fullmatch(pattern, key)]
        if len(matches) > 1:
            raise ValueError(f"Path '{key}' matches several keys of the LayoutMap: "
                             f"{matches}. Make each path match at most one key.")
        return self._layouts[matches[0]] if matches else None

    def __setitem__(self, key: str, layout: Any) -> None:
        if key in self._layouts:
            raise ValueError(f"LayoutMap already holds {key!r} (as {self._layouts[key]}). "
                             "Use each key once (del it first to replace it).")
        if isinstance(layout, tuple | list):
            layout = TensorLayout(layout)
        if not isinstance(layout, TensorLayout):
            raise ValueError(f"A LayoutMap value must be a TensorLayout or a tuple of axis "
                             f"names. Received: layout_map[{key!r}]={layout!r}")
        if layout.device_mesh is None and self._device_mesh is not None:
            layout.device_mesh = self._device_mesh
        self._layouts[key] = layout

    def __delitem__(self, key: str) -> None:
        del self._layouts[key]

    def __len__(self) -> int:
        return len(self._layouts)

    def __iter__(self) -> Iterator[str]:
        return iter(self._layouts)

    @property
    def device_mesh(self) -> DeviceMesh:
        return self._device_mesh


def distribute_tensor(tensor: Any, layout: TensorLayout) -> Any:
    """`tensor` laid out as `layout`: placed there (an array), or constrained to it
    inside a compiled program (a traced value)."""
    sharding = layout.backend_layout if isinstance(layout, TensorLayout) else layout
    if isinstance(tensor, jax.core.Tracer):
        return jax.lax.with_sharding_constraint(tensor, sharding)
    return jax.device_put(tensor, sharding)


def distribution() -> Distribution | None:
    """The active distribution (None: one device)."""
    return _devices.active()


def set_distribution(value: Distribution | None) -> None:
    """Make `value` the active distribution (None: back to one device)."""
    if value is not None and not isinstance(value, Distribution):
        raise ValueError(f"set_distribution takes a Distribution (DataParallel, "
                         f"ModelParallel) or None. Received: value={value!r}")
    _devices.set_active(value)
