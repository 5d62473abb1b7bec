"""AdditiveAttention: Bahdanau-style attention, Keras 3's `AdditiveAttention`.

As `Attention`, with scores `sum(scale * tanh(query + key), axis=-1)` (scale: a learned
vector of the feature size when use_scale=True, the default).
"""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp

from cornu.layers.attention import Attention


class AdditiveAttention(Attention):
    def __init__(self, use_scale: bool = True, dropout: float = 0.0, **kwargs: Any) -> None:
        kwargs.pop("score_mode", None)
        super().__init__(use_scale=use_scale, dropout=dropout, **kwargs)

    def build(self, input_shape) -> None:
        self._check(input_shape)
        self.scale = self.add_weight(shape=(input_shape[0][-1],), initializer="glorot_uniform",
                                     name="scale") if self.use_scale else None
        self.concat_score_weight = None

    def _scores(self, query, key):
        pairs = jnp.tanh(query[..., :, None, :] + key[..., None, :, :])
        if self.scale is not None:
            pairs = jnp.reshape(self.scale.value, (1,) * (pairs.ndim - 1) + (-1,)) * pairs
        return jnp.sum(pairs, axis=-1)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        del config["score_mode"]
        return config
