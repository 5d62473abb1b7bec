"""Drops entries at the start and end of each spatial axis of channels_last inputs: the
shared part of Cropping1D, Cropping2D and Cropping3D."""

from __future__ import annotations

from typing import Any

from cornu.layers import _args
from cornu.layers.base import Layer, Shape


class BaseCropping(Layer):
    rank: int = 2  # spatial axes

    def __init__(self, cropping: Any, data_format: str | None = None, **kwargs: Any) -> None:
        if self.rank == 1 and data_format is not None:  # as Keras: 1-D takes no data_format
            raise TypeError(f"{type(self).__name__} got an unexpected keyword argument "
                            f"data_format. Received: data_format={data_format!r}")
        super().__init__(**kwargs)
        crops = _args.pairs(cropping, self.rank, "cropping")
        # as Keras: one (start, end) pair for 1-D, a pair per axis otherwise
        self.cropping = crops[0] if self.rank == 1 else crops
        self.data_format = _args.data_format(data_format)

    def _pairs(self) -> tuple[tuple[int, int], ...]:
        return (self.cropping,) if self.rank == 1 else self.cropping

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        _args.check_spatial_rank(self, tuple(input_shape), self.rank)
        spatial = input_shape[1:-1]
        if any(d is not None and sum(c) >= d for d, c in zip(spatial, self._pairs(),
                                                             strict=True)):
            raise ValueError(
                f"Layer '{self.name}' ({type(self).__name__}): cropping={self.cropping} leaves "
                f"nothing of the input's spatial size {tuple(spatial)}. Received input shape "
                f"{tuple(input_shape)}. Crop less.")
        cropped = [None if d is None else d - sum(c)
                   for d, c in zip(spatial, self._pairs(), strict=True)]
        return (input_shape[0], *cropped, input_shape[-1])

    def build(self, input_shape) -> None:
        self.compute_output_shape(tuple(input_shape))

    def call(self, inputs):
        kept = tuple(slice(start, n - end) for n, (start, end)
                     in zip(inputs.shape[1:-1], self._pairs(), strict=True))
        return inputs[(slice(None), *kept)]

    def get_config(self) -> dict[str, Any]:
        if self.rank == 1:  # Keras' Cropping1D has no data_format
            return {**super().get_config(), "cropping": list(self.cropping)}
        return {**super().get_config(), "cropping": [list(c) for c in self.cropping],
                "data_format": self.data_format}
