"""MultiHeadAttention: Keras 3's layer ("Attention is all you need"), with its weights.

`mha(query, value)` projects query, key (= value unless given) and value with EinsumDense
layers named query, key, value (kernels (dim, num_heads, key_dim), biases
(num_heads, key_dim)), attends per head, and projects back with attention_output (kernel
(num_heads, value_dim, dim)). Weights copied from a Keras layer give the same outputs.

On (batch, steps, dim) inputs, with value_dim == key_dim, without attention scores and
without dropout (as Keras: also in inference, where the paths differ in fully masked
rows), the attention is `jax.nn.dot_product_attention` (one fused op
that XLA lowers well, cuDNN's flash attention where JAX picks it); otherwise (scores asked
for, dropout, attention over several axes) einsum and a masked softmax, as Keras.

In a functional model the masks that the query, value and key carry (from
Embedding(mask_zero=True)) become query_mask, value_mask and key_mask, combined with
attention_mask and use_causal_mask; the output carries the query's mask. Eager arrays
carry no mask in cornu: pass query_mask=, value_mask=, key_mask= (cornu uses a query_mask
given so; Keras 3.15 reads only the mask the query tensor carries).
"""

from __future__ import annotations

import math
import string
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from cornu import constraints, initializers, random, regularizers
from cornu.layers.base import Layer, masks_hidden
from cornu.layers.einsum_dense import EinsumDense
from cornu.ops.nn import attend


def _positive(value: Any, argument: str, optional: bool = False) -> None:
    if optional and value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{argument} must be a positive integer{' or None' if optional else ''}"
                         f". Received: {argument}={value!r}")


def _projection(free: int, bound: int, out: int) -> tuple[str, str]:
    """An EinsumDense equation keeping `free` axes, contracting `bound` input axes with the
    kernel and adding `out` kernel axes, and its bias axes (the new axes)."""
    letters = string.ascii_lowercase
    kept, contracted, new = (letters[:free], letters[free:free + bound],
                             letters[free + bound:free + bound + out])
    return f"{kept}{contracted},{contracted}{new}->{kept}{new}", new


def _attention_equations(rank: int, axes: tuple[int, ...]) -> tuple[str, str]:
    """The score and combine equations for projected tensors of `rank` axes (the last two
    are heads and channels): scores are (<other axes>, heads, <query axes>, <key axes>)."""
    letters = string.ascii_lowercase
    target = letters[:rank]
    source = list(target)
    extra = iter(letters[rank:])
    for axis in axes:
        source[axis] = next(extra)
    source = "".join(source)
    batch = [i for i in range(rank - 1) if i not in axes]
    product = "".join(target[i] for i in batch) + "".join(target[i] for i in axes) + "".join(
        source[i] for i in axes)
    return f"{source},{target}->{product}", f"{product},{source}->{target}"


def _shape(value: Any) -> tuple:
    return tuple(value.shape) if hasattr(value, "shape") else np.shape(value)


class MultiHeadAttention(Layer):
    def __init__(
        self,
        num_heads: int,
        key_dim: int,
        value_dim: int | None = None,
        dropout: float = 0.0,
        use_bias: bool = True,
        output_shape: Any = None,
        attention_axes: Any = None,
        sliding_window: int | None = None,
        flash_attention: bool | None = None,
        kernel_initializer: Any = "glorot_uniform",
        bias_initializer: Any = "zeros",
        kernel_regularizer: Any = None,
        bias_regularizer: Any = None,
        activity_regularizer: Any = None,
        kernel_constraint: Any = None,
        bias_constraint: Any = None,
        use_gate: bool = False,
        seed: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        _positive(num_heads, "num_heads")
        _positive(key_dim, "key_dim")
        _positive(value_dim, "value_dim", optional=True)
        _positive(sliding_window, "sliding_window", optional=True)
        if isinstance(dropout, bool) or not isinstance(dropout, int | float) \
                or not 0 <= dropout < 1:
            raise ValueError(f"dropout must be a number in [0, 1). Received: dropout={dropout!r}")
        if output_shape is not None:
            if isinstance(output_shape, int):
                output_shape = (output_shape,)
            if not isinstance(output_shape, list | tuple) or not output_shape:
                raise ValueError("output_shape must be an int or a tuple of ints (the output's "
                                 f"axes after batch and steps). Received: "
                                 f"output_shape={output_shape!r}")
            for d in output_shape:
                _positive(d, "output_shape")
            output_shape = tuple(output_shape)
        if isinstance(attention_axes, int):
            attention_axes = (attention_axes,)
        if attention_axes is not None:
            if not isinstance(attention_axes, list | tuple) or not attention_axes or any(
                    isinstance(a, bool) or not isinstance(a, int) for a in attention_axes):
                raise ValueError("attention_axes must be an int, a tuple of ints or None. "
                                 f"Received: attention_axes={attention_axes!r}")
            attention_axes = tuple(attention_axes)
        self.num_heads = num_heads
        self.key_dim = key_dim
        self.value_dim = value_dim or key_dim
        self.dropout = float(dropout)
        self.use_bias = bool(use_bias)
        self._output_shape = output_shape
        self.attention_axes = attention_axes
        self.sliding_window = sliding_window
        self.flash_attention = flash_attention
        self.use_gate = bool(use_gate)
        self.seed = seed
        self.kernel_initializer = initializers.get(kernel_initializer, "kernel_initializer")
        self.bias_initializer = initializers.get(bias_initializer, "bias_initializer")
        self.kernel_regularizer = regularizers.get(kernel_regularizer, "kernel_regularizer")
        self.bias_regularizer = regularizers.get(bias_regularizer, "bias_regularizer")
        self.sublayer_activity_regularizer = regularizers.get(activity_regularizer,
                                                              "activity_regularizer")
        self.kernel_constraint = constraints.get(kernel_constraint, "kernel_constraint")
        self.bias_constraint = constraints.get(bias_constraint, "bias_constraint")
        self.seed_generator = random.SeedGenerator(seed) if self.dropout > 0 else None
        self.supports_masking = True  # the output carries the query's mask, as in Keras

    # -- build: the projections, named and ordered as in Keras ------------------------------
    def _dense(self, input_shape: tuple, bound: int, out_dims: tuple, name: str,
               activation: Any = None) -> EinsumDense:
        equation, bias_axes = _projection(len(input_shape) - bound, bound, len(out_dims))

        def clone(init: Any) -> Any:  # each projection its own initializer, as in Keras
            return type(init).from_config(init.get_config()) if isinstance(
                init, initializers.Initializer) else init

        layer = EinsumDense(
            equation, output_shape=(None,) * (len(input_shape) - bound - 1) + tuple(out_dims),
            activation=activation, bias_axes=bias_axes if self.use_bias else None,
            kernel_initializer=clone(self.kernel_initializer),
            bias_initializer=clone(self.bias_initializer),
            kernel_regularizer=self.kernel_regularizer, bias_regularizer=self.bias_regularizer,
            activity_regularizer=self.sublayer_activity_regularizer,
            kernel_constraint=self.kernel_constraint, bias_constraint=self.bias_constraint,
            dtype=self.dtype_policy, name=name)
        layer.build(input_shape)
        return layer

    def build(self, query_shape, value_shape=None, key_shape=None) -> None:
        if value_shape is None and isinstance(query_shape, list) and query_shape and \
                isinstance(query_shape[0], list | tuple):  # from a saved build_config
            query_shape, value_shape, key_shape = (list(query_shape) + [None, None])[:3]
        query_shape = tuple(query_shape)
        value_shape = query_shape if value_shape is None else tuple(value_shape)
        key_shape = value_shape if key_shape is None else tuple(key_shape)
        if value_shape[1:-1] != key_shape[1:-1]:
            raise ValueError("key and value must have the same shape but for the last axis. "
                             f"Received: value shape {value_shape}, key shape {key_shape}.")
        if len(query_shape) < 3 or len(query_shape) != len(value_shape):
            raise ValueError("query and value must have the same rank, at least 3 "
                             "(batch, steps..., features). Received: query shape "
                             f"{query_shape}, value shape {value_shape}.")
        heads = (self.num_heads, self.key_dim)
        self._query_dense = self._dense(query_shape, 1, heads, "query")
        self._key_dense = self._dense(key_shape, 1, heads, "key")
        if self.use_gate:
            self._gate_dense = self._dense(query_shape, 1, (self.num_heads, self.value_dim),
                                           "gate", activation="sigmoid")
        self._value_dense = self._dense(value_shape, 1, (self.num_heads, self.value_dim),
                                        "value")
        out = self._output_shape or (query_shape[-1],)
        self._output_dense = self._dense(
            (*query_shape[:-1], self.num_heads, self.value_dim), 2, out, "attention_output")
        rank = len(query_shape) + 1
        if self.attention_axes is None:
            axes = tuple(range(1, rank - 2))
        else:
            axes = tuple(a if a >= 0 else rank - 1 + a for a in self.attention_axes)
            if any(not 1 <= a < rank - 2 for a in axes):
                raise ValueError(f"attention_axes={self.attention_axes} must name axes of the "
                                 f"query other than batch and features (rank {rank - 1}).")
        self._axes = axes
        self._score_equation, self._combine_equation = _attention_equations(rank, axes)
        self._build_shapes = [query_shape, value_shape, key_shape]

    # Keras' names of the projections (after build); Keras' .keras files hold their
    # weights under these names
    @property
    def query_dense(self) -> EinsumDense:
        return self._query_dense

    @property
    def key_dense(self) -> EinsumDense:
        return self._key_dense

    @property
    def value_dense(self) -> EinsumDense:
        return self._value_dense

    @property
    def output_dense(self) -> EinsumDense:
        return self._output_dense

    @property
    def gate_dense(self) -> EinsumDense | None:
        """The gate's projection with use_gate=True (cornu's name; Keras' is private)."""
        return getattr(self, "_gate_dense", None)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        names = ("query", "value", "key")
        args = list(args)
        for i, name in enumerate(names):  # query=, value=, key= as positional arguments
            if name in kwargs and len(args) == i:
                args.append(kwargs.pop(name))
        if len(args) < 2:
            raise TypeError(f"Layer '{self.name}' (MultiHeadAttention) is called as "
                            "layer(query, value, key=None, attention_mask=None, ...).")
        if not self.built:
            shapes = [_shape(a) for a in args[:3]]
            if len(args) < 3 and kwargs.get("key") is not None:
                shapes.append(_shape(kwargs["key"]))
            self.build(*shapes)
        return super().__call__(*args, **kwargs)

    # -- call ------------------------------------------------------------------------------
    def _mask(self, query, value, attention_mask, query_mask, value_mask, key_mask,
              causal: bool):
        """The boolean mask over (batch, query steps, key steps), or None."""
        masks = []
        if query_mask is not None:
            masks.append(jnp.asarray(query_mask).astype(bool)[..., :, None])
        for m in (value_mask, key_mask):
            if m is not None:
                masks.append(jnp.asarray(m).astype(bool)[..., None, :])
        t, s = query.shape[1], value.shape[1]
        rows, cols = jnp.arange(t)[:, None], jnp.arange(s)[None, :]
        if causal:
            masks.append((rows >= cols)[None])
        if self.sliding_window is not None:
            masks.append((jnp.abs(rows - cols) < self.sliding_window)[None])
        if attention_mask is not None:
            masks.append(jnp.asarray(attention_mask).astype(bool))
        if not masks:
            return None
        rank = max(m.ndim for m in masks)
        masks = [jnp.reshape(m, (1,) * (rank - m.ndim) + m.shape) for m in masks]
        mask = masks[0]
        for m in masks[1:]:
            mask = mask & m
        return mask

    def _expand(self, mask, rank: int):
        while mask.ndim < rank:  # add heads (and other axes) before the attention axes
            mask = jnp.expand_dims(mask, -2 * len(self._axes) - 1)
        return mask

    def call(self, query, value, key=None, attention_mask=None, return_attention_scores=False,
             training=None, use_causal_mask=False, query_mask=None, value_mask=None,
             key_mask=None):
        dtype = self.compute_dtype
        value = jnp.asarray(value, dtype)
        key = value if key is None else jnp.asarray(key, dtype)
        # Keras' choice (dropout > 0 takes the einsum path also in inference): the paths
        # differ in a fully masked row (a padded query), uniform weights there, zeros here
        fused = (query.ndim == 3 and self.value_dim == self.key_dim
                 and not return_attention_scores and self.dropout == 0)
        mask = self._mask(query, value, attention_mask, query_mask, value_mask, key_mask,
                          causal=use_causal_mask and not fused)
        with masks_hidden():  # read above (Keras takes them off the inputs here)
            gate = self._gate_dense(query) if self.use_gate else None
            q = self._query_dense(query)
            k = self._key_dense(key)
            v = self._value_dense(value)
        scale = 1.0 / math.sqrt(float(self.key_dim))
        scores = None
        if fused:
            out = attend(q, k, v, None if mask is None else self._expand(mask, 4), scale,
                         bool(use_causal_mask))
        else:
            logits = jnp.einsum(self._score_equation, k, q * jnp.asarray(scale, q.dtype))
            norm = tuple(range(logits.ndim - len(self._axes), logits.ndim))
            if mask is not None:
                mask = self._expand(mask, logits.ndim)
                big = -3e4 if logits.dtype == jnp.float16 else -1e9
                logits = jnp.where(mask, logits, jnp.asarray(big, logits.dtype))
            scores = jnp.exp(logits - jax.nn.logsumexp(logits, axis=norm, keepdims=True))
            if mask is not None:  # a fully masked row attends to nothing
                scores = jnp.where(mask, scores, jnp.zeros((), scores.dtype))
            weights = scores
            if training and self.dropout > 0:
                weights = random.dropout(scores, self.dropout, seed=self.seed_generator)
            out = jnp.einsum(self._combine_equation, weights, v)
        if gate is not None:
            out = out * gate
        out = self._output_dense(out)
        return (out, scores) if return_attention_scores else out

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "num_heads": self.num_heads,
            "key_dim": self.key_dim,
            "value_dim": self.value_dim,
            "dropout": self.dropout,
            "use_bias": self.use_bias,
            "use_gate": self.use_gate,
            "output_shape": None if self._output_shape is None else list(self._output_shape),
            "attention_axes": None if self.attention_axes is None else list(
                self.attention_axes),
            "sliding_window": self.sliding_window,
            "flash_attention": self.flash_attention,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "activity_regularizer": regularizers.serialize(self.sublayer_activity_regularizer),
            "kernel_constraint": constraints.serialize(self.kernel_constraint),
            "bias_constraint": constraints.serialize(self.bias_constraint),
            "seed": self.seed,
        }
