"""Each entry of the spatial axes of channels_last inputs repeated by whole factors
('nearest'): the shared part of UpSampling1D, UpSampling2D and UpSampling3D."""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp

from cornu.layers import _args
from cornu.layers.base import Layer, Shape


class BaseUpSampling(Layer):
    rank: int = 2  # spatial axes

    def __init__(self, size: Any, data_format: str | None = None, **kwargs: Any) -> None:
        if self.rank == 1 and data_format is not None:  # as Keras: 1-D takes no data_format
            raise TypeError(f"{type(self).__name__} got an unexpected keyword argument "
                            f"data_format. Received: data_format={data_format!r}")
        super().__init__(**kwargs)
        if self.rank == 1:  # as Keras: UpSampling1D's size is an int
            self.size = _args.positive_int(size, "size")
        else:
            self.size = _args.int_tuple(size, self.rank, "size")
        self.data_format = _args.data_format(data_format)

    def _factors(self) -> tuple[int, ...]:
        return (self.size,) if self.rank == 1 else self.size

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        _args.check_spatial_rank(self, tuple(input_shape), self.rank)
        spatial = [None if d is None else d * s
                   for d, s in zip(input_shape[1:-1], self._factors(), strict=True)]
        return (input_shape[0], *spatial, input_shape[-1])

    def build(self, input_shape) -> None:
        self.compute_output_shape(tuple(input_shape))

    def call(self, inputs):
        for axis, factor in enumerate(self._factors(), start=1):
            if factor > 1:
                inputs = jnp.repeat(inputs, factor, axis=axis)
        return inputs

    def get_config(self) -> dict[str, Any]:
        if self.rank == 1:  # Keras' UpSampling1D has no data_format
            return {**super().get_config(), "size": self.size}
        return {**super().get_config(), "size": list(self.size),
                "data_format": self.data_format}
