"""Embedding: integer indices in [0, input_dim) -> rows of an (input_dim, output_dim) table.

Indices may arrive as floats (models feed float32 arrays); they are cast to int32. An
index outside [0, input_dim) gives a row of NaN (it cannot be checked inside the
compiled program).
"""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp

from cornu import _deprecation, initializers, regularizers
from cornu.layers import _args
from cornu.layers.base import Layer, Shape


class Embedding(Layer):
    def __init__(
        self,
        input_dim: int,
        output_dim: int,
        embeddings_initializer: str = "uniform",
        embeddings_regularizer: Any = None,
        mask_zero: bool = False,
        **kwargs: Any,
    ) -> None:
        input_length = _deprecation.renamed(
            kwargs, "input_length", "input_shape=(input_length,)", "Embedding")
        if input_length is not None and "input_shape" not in kwargs:
            kwargs["input_shape"] = (input_length,)
        super().__init__(**kwargs)
        self.input_dim = _args.positive_int(input_dim, "input_dim")
        self.output_dim = _args.positive_int(output_dim, "output_dim")
        self.mask_zero = bool(mask_zero)
        self._makes_masks = self.mask_zero
        self.supports_masking = self.mask_zero  # as Keras
        self.embeddings_initializer = initializers.get(
            embeddings_initializer, "embeddings_initializer")
        self.embeddings_regularizer = regularizers.get(embeddings_regularizer,
                                                       "embeddings_regularizer")

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        if not isinstance(input_shape, tuple) or len(input_shape) < 1:
            raise ValueError(f"Layer '{self.name}' (Embedding) expects one input of "
                             f"indices. Received input shape {input_shape}.")
        return (*input_shape, self.output_dim)

    def build(self, input_shape) -> None:
        self.embeddings = self.add_weight(
            shape=(self.input_dim, self.output_dim), initializer=self.embeddings_initializer,
            regularizer=self.embeddings_regularizer, name="embeddings")

    def call(self, inputs):
        return jnp.take(self.embeddings.value, inputs.astype(jnp.int32), axis=0, mode="fill",
                        fill_value=jnp.nan)

    def compute_mask(self, inputs: Any, previous_mask: Any = None) -> Any:
        """With mask_zero=True, index 0 is padding: the steps where it stands are masked
        (False) for the layers after this one, as in Keras."""
        if not self.mask_zero:
            return None
        return jnp.asarray(inputs) != 0

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(), "input_dim": self.input_dim, "output_dim": self.output_dim,
            "embeddings_initializer": initializers.serialize(self.embeddings_initializer),
            "embeddings_regularizer": regularizers.serialize(self.embeddings_regularizer),
            "mask_zero": self.mask_zero,
        }
