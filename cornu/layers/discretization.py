"""Discretization: numbers into bins by boundaries, given (`bin_boundaries`) or learned
as quantiles by `adapt` (`num_bins`, to within `epsilon`), as Keras 3.

A value x goes to bin i where boundaries[i-1] <= x < boundaries[i] (numpy.digitize);
`output_mode` "int" gives the bin ids, "one_hot"/"multi_hot"/"count" encode them with
len(bin_boundaries) + 1 entries. The bins are computed in the compiled step
(searchsorted); `adapt` keeps Keras' mergeable quantile summary, so a source of batches
gives the boundaries Keras gives for the same batches. The boundaries are config,
saved with the model.
"""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp
import numpy as np

from cornu.layers._preprocessing import adapt_batches
from cornu.layers.base import Layer, Shape
from cornu.layers.category_encoding import encode_categorical

_MODES = ("int", "one_hot", "multi_hot", "count")


class Discretization(Layer):
    def __init__(self, bin_boundaries: Any = None, num_bins: int | None = None,
                 epsilon: float = 0.01, output_mode: str = "int", sparse: bool = False,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if sparse:
            raise ValueError("sparse=True is not supported: cornu's outputs are dense "
                             "arrays. Received: sparse=True")
        if output_mode not in _MODES:
            raise ValueError(f"output_mode must be one of {list(_MODES)}. Received: "
                             f"output_mode={output_mode!r}")
        if num_bins is not None and (isinstance(num_bins, bool) or not isinstance(
                num_bins, int | np.integer) or num_bins < 0):
            raise ValueError("num_bins must be an integer >= 0. Received: "
                             f"num_bins={num_bins!r}")
        if num_bins is not None and bin_boundaries is not None:
            raise ValueError("Both num_bins and bin_boundaries should not be set. Received: "
                             f"num_bins={num_bins} and bin_boundaries={bin_boundaries!r}")
        if num_bins is None and bin_boundaries is None:
            raise ValueError("You need to set either num_bins or bin_boundaries.")
        if not isinstance(epsilon, int | float) or isinstance(epsilon, bool) or not (
                0 < epsilon < 1):
            raise ValueError("epsilon must be a number in (0, 1). Received: "
                             f"epsilon={epsilon!r}")
        if bin_boundaries is not None:
            bounds = np.asarray(bin_boundaries, np.float64)
            if bounds.ndim != 1 or np.any(np.diff(bounds) < 0) or not np.all(
                    np.isfinite(bounds)):
                raise ValueError("bin_boundaries must be a sorted list of finite numbers. "
                                 f"Received: bin_boundaries={bin_boundaries!r}")
            bin_boundaries = [float(b) for b in bounds]
        self.bin_boundaries = bin_boundaries
        self.num_bins = None if num_bins is None else int(num_bins)
        self.epsilon = float(epsilon)
        self.output_mode = output_mode
        self.sparse = False
        self._summary = None if bin_boundaries else np.zeros((2, 0), np.float32)

    # -- adapt: Keras' quantile summary (values, weights), merged batch by batch ----------
    def adapt(self, data: Any, batch_size: Any = None, steps: int | None = None) -> None:
        """Learn `num_bins` quantile boundaries from `data` (an array, or a source of
        batches: generator, PyDataset, iterable)."""
        if self.num_bins is None:
            raise ValueError(f"Cannot adapt layer '{self.name}' (Discretization): it was "
                             "given bin_boundaries. Pass num_bins instead to learn them.")
        summary = np.zeros((2, 0), np.float32)
        seen = False
        for batch in adapt_batches(data, steps, self):
            values = np.asarray(batch, np.float32).reshape(-1)
            if values.size == 0:
                continue
            summary = _merge(_summarize(values, self.epsilon), summary, self.epsilon)
            seen = True
        if not seen:
            raise ValueError(f"adapt() of layer '{self.name}' received no data (an empty "
                             "array or source of batches). Pass the training inputs.")
        self._summary = summary
        self.bin_boundaries = [float(b) for b in _compress(summary, 1.0 / self.num_bins
                                                           )[0, :-1]]

    # -- call -----------------------------------------------------------------------------
    @property
    def _depth(self) -> int:
        if self.bin_boundaries is not None:
            return len(self.bin_boundaries) + 1
        return self.num_bins or 0

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        shape = tuple(input_shape)
        if self.output_mode == "int":
            return shape
        depth = self._depth
        if self.output_mode == "one_hot":
            if len(shape) > 1 and shape[-1] == 1:
                return (*shape[:-1], depth)
            return (*shape, depth)
        if len(shape) >= 2:
            return (shape[0], *shape[2:], depth)
        return (depth,)

    def call(self, inputs: Any) -> Any:
        if self.bin_boundaries is None:
            raise ValueError(f"Layer '{self.name}' (Discretization) has no bin boundaries: "
                             "pass bin_boundaries when creating it, or call adapt(data) "
                             "before using it.")
        x = jnp.asarray(inputs)
        if not jnp.issubdtype(x.dtype, jnp.floating):
            x = x.astype(jnp.float32)
        bounds = jnp.asarray(self.bin_boundaries, x.dtype)
        bins = jnp.searchsorted(bounds, x, side="right").astype(jnp.int32)
        if self.output_mode == "int":
            return bins
        return encode_categorical(bins, self._depth, self.output_mode, self.compute_dtype)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.pop("trainable", None)  # as Keras, whose Discretization takes no `trainable`
        return {**config, "bin_boundaries": self.bin_boundaries, "num_bins": self.num_bins,
                "epsilon": self.epsilon, "output_mode": self.output_mode,
                "sparse": self.sparse}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Discretization:
        config = dict(config)
        if config.get("bin_boundaries") is not None and config.get("num_bins") is not None:
            bounds = config.pop("bin_boundaries")  # learned by adapt: set after creation
            layer = cls(**config)
            layer.bin_boundaries = [float(b) for b in bounds]
            return layer
        return super().from_config(config)


def _summarize(values: np.ndarray, epsilon: float) -> np.ndarray:
    """About 1/epsilon evenly spaced order statistics of `values`, each weighing the
    number of values it stands for."""
    values = np.sort(values)
    step = max(values.size / (1.0 / epsilon), 1)
    picked = values[int(step - 1)::int(step)]
    return np.stack([picked, np.full_like(picked, step)])


def _merge(first: np.ndarray, second: np.ndarray, epsilon: float) -> np.ndarray:
    merged = np.concatenate((first, second), axis=1)
    merged = np.take(merged, np.argsort(merged[0]), axis=1)
    return _compress(merged, epsilon)


def _compress(summary: np.ndarray, epsilon: float) -> np.ndarray:
    """The summary at the cumulative-weight fractions epsilon, 2 epsilon, ..., 1
    (interpolated), when it holds more points than that."""
    if summary.shape[1] * epsilon < 1:
        return summary
    fractions = epsilon + np.arange(0.0, 1.0, epsilon)
    cumulative = summary[1].cumsum()
    at = cumulative / cumulative[-1]
    values = np.interp(fractions, at, summary[0])
    cumulative = np.interp(fractions, at, cumulative)
    weights = cumulative - np.concatenate(([0.0], cumulative[:-1]))
    return np.stack((values, weights)).astype(np.float32)
