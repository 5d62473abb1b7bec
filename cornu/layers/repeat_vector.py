"""RepeatVector: (batch, features) -> (batch, n, features), the input repeated n times."""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp

from cornu.layers import _args
from cornu.layers.base import Layer, Shape


class RepeatVector(Layer):
    def __init__(self, n: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.n = _args.positive_int(n, "n")

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        if len(input_shape) != 2:
            raise ValueError(
                f"Layer '{self.name}' (RepeatVector) expects inputs of rank 2, (batch, "
                f"features). Received input shape {tuple(input_shape)}; Flatten() first, "
                "or use Reshape.")
        return (input_shape[0], self.n, input_shape[1])

    def build(self, input_shape) -> None:
        self.compute_output_shape(tuple(input_shape))

    def call(self, inputs):
        return jnp.repeat(inputs[:, None, :], self.n, axis=1)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "n": self.n}
