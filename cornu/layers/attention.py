"""Attention: Luong-style dot-product attention, Keras 3's `Attention`.

`Attention()([query, value])` or `([query, value, key])`, shapes (batch, Tq, dim) and
(batch, Tv, dim): scores `query @ key^T` (times a learned scalar with use_scale=True; with
score_mode='concat', `sum(tanh(query + key))`), a softmax over Tv, then `weights @ value`.
`mask=[query_mask, value_mask]` (booleans (batch, Tq), (batch, Tv)) keeps padded values out
and zeroes padded queries. In a functional model the masks the inputs carry
(Embedding(mask_zero=True)) are that list, and the output carries the query's mask.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from cornu import random
from cornu.layers.base import Layer


class Attention(Layer):
    def __init__(self, use_scale: bool = False, score_mode: str = "dot", dropout: float = 0.0,
                 seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if score_mode not in ("dot", "concat"):
            raise ValueError(f"score_mode must be 'dot' or 'concat'. Received: "
                             f"score_mode={score_mode!r}")
        if isinstance(dropout, bool) or not isinstance(dropout, int | float) \
                or not 0 <= dropout < 1:
            raise ValueError(f"dropout must be a number in [0, 1). Received: dropout={dropout!r}")
        self.use_scale = bool(use_scale)
        self.score_mode = score_mode
        self.dropout = float(dropout)
        self.seed = seed
        self.seed_generator = random.SeedGenerator(seed) if self.dropout > 0 else None

    def _check(self, inputs: Any, mask: Any = None) -> None:
        name = type(self).__name__
        if not isinstance(inputs, list | tuple) or not 2 <= len(inputs) <= 3:
            raise ValueError(f"{name} is called on a list [query, value] or [query, value, "
                             f"key]. Received: {type(inputs).__name__} inputs.")
        if mask is not None and (not isinstance(mask, list | tuple) or not 2 <= len(mask) <= 3):
            raise ValueError(f"{name}: mask must be a list [query_mask, value_mask]. "
                             f"Received: mask={mask!r}")

    def build(self, input_shape) -> None:
        self._check(input_shape)
        self.scale = self.add_weight(shape=(), initializer="ones", name="scale") \
            if self.use_scale else None
        self.concat_score_weight = self.add_weight(
            shape=(), initializer="ones", name="concat_score_weight") \
            if self.score_mode == "concat" else None

    def _scores(self, query, key):
        if self.score_mode == "dot":
            scores = jnp.matmul(query, jnp.swapaxes(key, -2, -1))
            return scores if self.scale is None else scores * self.scale.value
        pairs = query[..., :, None, :] + key[..., None, :, :]
        if self.scale is not None:
            pairs = self.scale.value * pairs
        return self.concat_score_weight.value * jnp.sum(jnp.tanh(pairs), axis=-1)

    def call(self, inputs, mask=None, training=False, return_attention_scores=False,
             use_causal_mask=False):
        self._check(inputs, mask)
        query, value = inputs[0], inputs[1]
        key = inputs[2] if len(inputs) > 2 else value
        query_mask = None if mask is None or mask[0] is None else jnp.asarray(mask[0], bool)
        value_mask = None if mask is None or mask[1] is None else jnp.asarray(mask[1], bool)
        scores = self._scores(query, key)
        keep = None if value_mask is None else value_mask[..., None, :]
        if use_causal_mask:
            tq, tv = scores.shape[-2:]
            causal = jnp.arange(tq)[:, None] >= jnp.arange(tv)[None, :]
            causal = jnp.reshape(causal, (1,) * (scores.ndim - 2) + causal.shape)
            keep = causal if keep is None else keep & causal
        if keep is not None:
            big = 65504.0 if scores.dtype == jnp.float16 else 1e9
            scores = jnp.where(keep, scores, scores - big)
        weights = jax.nn.softmax(scores, axis=-1)
        applied = weights
        if training and self.dropout > 0:
            applied = random.dropout(weights, self.dropout, seed=self.seed_generator)
        out = jnp.matmul(applied, value)
        if query_mask is not None:
            out = jnp.where(query_mask[..., None], out, jnp.zeros((), out.dtype))
        return (out, weights) if return_attention_scores else out

    def compute_mask(self, inputs: Any, previous_mask: Any = None) -> Any:
        """The query's mask (Keras' output mask): padded queries stay padded."""
        if previous_mask is None or not isinstance(previous_mask, list | tuple):
            return None
        return None if previous_mask[0] is None else jnp.asarray(previous_mask[0], bool)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "use_scale": self.use_scale,
                "score_mode": self.score_mode, "dropout": self.dropout, "seed": self.seed}
