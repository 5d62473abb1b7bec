"""Normalization: shift and scale inputs by a mean and variance per position of `axis`,
learned by `adapt(data)` before training or given as `mean` and `variance`, as Keras 3:

    y = (x - mean) / max(sqrt(variance), 1e-7)      (invert=True: x * ... + mean)

`adapt` reads arrays whole, or any source of batches (a PyDataset, a generator, an
iterable) batch by batch, combining each batch's mean and variance, so memory follows the
batch. The statistics are non-trainable weights (mean, variance, and count, which Keras
keeps for its weight layout and leaves at 0), saved with the model.
"""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp
import numpy as np

from cornu.layers.base import Layer, Shape

_EPSILON = 1e-7  # Keras' backend epsilon


class Normalization(Layer):
    supports_masking = True  # hands the input's mask on, as Keras
    def __init__(self, axis: int | tuple[int, ...] | list[int] | None = -1, mean: Any = None,
                 variance: Any = None, invert: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if axis is None:
            axes: tuple = ()
        elif isinstance(axis, int) and not isinstance(axis, bool):
            axes = (axis,)
        else:
            try:
                axes = tuple(axis)
            except TypeError:
                axes = ("?",)
            if any(isinstance(a, bool) or not isinstance(a, int) for a in axes):
                raise ValueError("axis must be an integer, a list of integers or None. "
                                 f"Received: axis={axis!r}")
        self.axis = axes
        if (mean is None) != (variance is None):
            raise ValueError("When setting values directly, both mean and variance must be "
                             f"set. Received: mean={mean!r} and variance={variance!r}")
        if mean is not None and np.shape(mean) != np.shape(variance):
            raise ValueError("mean and variance must have the same shape. Received: mean "
                             f"shape {np.shape(mean)} and variance shape {np.shape(variance)}")
        if mean is not None and len(np.shape(mean)) > len(axes):
            raise ValueError(f"The rank of mean must be at most the number of axes "
                             f"({len(axes)}). Received: mean shape {np.shape(mean)} for "
                             f"axis={axis!r}")
        self.input_mean = None if mean is None else np.asarray(mean, np.float32)
        self.input_variance = None if variance is None else np.asarray(variance, np.float32)
        self.invert = bool(invert)

    def build(self, input_shape: Shape) -> None:
        rank = len(input_shape)
        if any(not -rank <= a < rank for a in self.axis):
            raise ValueError(f"Layer '{self.name}' (Normalization): axis={list(self.axis)} must "
                             f"be in [-{rank}, {rank}) for inputs of shape {input_shape}.")
        self._keep = tuple(sorted(a % rank for a in self.axis))
        if any(input_shape[d] is None for d in self._keep):
            raise ValueError(f"Layer '{self.name}' (Normalization) needs known sizes on the "
                             f"kept axes {list(self._keep)}. Received input shape "
                             f"{input_shape}.")
        self._reduce = tuple(d for d in range(rank) if d not in self._keep)
        self._broadcast = tuple(input_shape[d] if d in self._keep else 1 for d in range(rank))
        stats_shape = tuple(input_shape[d] for d in self._keep)
        self._build_input_shape = tuple(input_shape)
        if self.input_mean is None:
            self.adapt_mean = self.add_weight(shape=stats_shape, initializer="zeros",
                                              trainable=False, name="mean")
            self.adapt_variance = self.add_weight(shape=stats_shape, initializer="ones",
                                                  trainable=False, name="variance")
            self.count = self.add_weight(shape=(), initializer="zeros", dtype="int32",
                                         trainable=False, name="count")

    def _given(self, value: np.ndarray) -> np.ndarray:
        """A given mean or variance in the broadcast shape (trailing kept axes)."""
        if value.ndim == 0:
            return np.broadcast_to(value, self._broadcast)
        expanded = [1] * len(self._broadcast)
        for i in range(1, value.ndim + 1):
            expanded[self._keep[-i]] = value.shape[-i]
        return np.broadcast_to(value.reshape(expanded), self._broadcast)

    def _statistics(self) -> tuple[Any, Any]:
        if self.input_mean is not None:
            return (jnp.asarray(self._given(self.input_mean)),
                    jnp.asarray(self._given(self.input_variance)))
        return (jnp.reshape(self.adapt_mean.value, self._broadcast),
                jnp.reshape(self.adapt_variance.value, self._broadcast))

    @property
    def mean(self) -> Any:
        """The mean in the inputs' broadcast shape (after adapt or as given), as Keras."""
        return self._statistics()[0] if self.built else None

    @property
    def variance(self) -> Any:
        return self._statistics()[1] if self.built else None

    def call(self, inputs: Any) -> Any:
        mean, variance = self._statistics()
        dtype = inputs.dtype if jnp.issubdtype(inputs.dtype, jnp.floating) else jnp.float32
        inputs = inputs.astype(dtype)
        scale = jnp.maximum(jnp.sqrt(variance), _EPSILON).astype(dtype)
        if self.invert:
            return mean.astype(dtype) + inputs * scale
        return (inputs - mean.astype(dtype)) / scale

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        return input_shape

    def adapt(self, data: Any, batch_size: Any = None, steps: int | None = None) -> None:
        """Learn the mean and variance of `data`: an array, or a source of batches (a
        PyDataset, a generator or an iterable of arrays or (x, ...) tuples)."""
        if self.input_mean is not None:
            raise ValueError(f"Layer '{self.name}' (Normalization) was given mean and variance; "
                             "adapt() learns them only when they are not given.")
        if isinstance(data, np.ndarray) or hasattr(data, "__array__") and not isinstance(
                data, list | tuple):
            batches: Any = [np.asarray(data, np.float32)]
        elif isinstance(data, list | tuple) and data and all(
                isinstance(d, int | float) for d in np.ravel(np.asarray(data, object))):
            batches = [np.asarray(data, np.float32)]
        else:
            batches = data
        total = 0
        mean = variance = None
        for i, batch in enumerate(batches):
            if steps is not None and i >= steps:
                break
            if isinstance(batch, tuple | list) and not isinstance(batch, np.ndarray):
                batch = batch[0]  # (x, y) batches: the inputs
            batch = np.asarray(batch, np.float64)
            if not self.built:
                self._maybe_build_from_shape(batch.shape)
            self._check_shape(batch.shape)
            n = int(np.prod([batch.shape[d] for d in self._reduce])) if self._reduce else 1
            if n == 0:
                continue
            b_mean = batch.mean(axis=self._reduce)
            b_var = batch.var(axis=self._reduce)
            if mean is None:
                mean, variance, total = b_mean, b_var, n
                continue
            # combine two groups' means and variances (the parallel algorithm)
            new_total = total + n
            delta = b_mean - mean
            mean = mean + delta * (n / new_total)
            variance = (variance * total + b_var * n + delta ** 2 * (total * n / new_total)
                        ) / new_total
            total = new_total
        if mean is None:
            raise ValueError(f"adapt() of layer '{self.name}' received no data (an empty array "
                             "or source of batches). Pass the training inputs.")
        self.adapt_mean.assign(np.asarray(mean, np.float32))
        self.adapt_variance.assign(np.asarray(variance, np.float32))

    def _maybe_build_from_shape(self, shape: tuple) -> None:
        self.build(tuple(shape))
        object.__setattr__(self, "built", True)

    def _check_shape(self, shape: tuple) -> None:
        if len(shape) != len(self._build_input_shape) or any(
                shape[d] != self._build_input_shape[d] for d in self._keep):
            raise ValueError(f"Layer '{self.name}' (Normalization) was built for inputs of "
                             f"shape {self._build_input_shape}; adapt() received data of "
                             f"shape {shape}.")

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        mean = None if self.input_mean is None else self.input_mean.tolist()
        variance = None if self.input_variance is None else self.input_variance.tolist()
        return {**config, "axis": list(self.axis), "invert": self.invert, "mean": mean,
                "variance": variance}
