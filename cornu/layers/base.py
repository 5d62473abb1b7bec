"""The one layer pattern every cornu layer follows.

`__init__` validates and stores config and creates no arrays; `build(input_shape)`
returns the output shape; `init(key)` returns the parameters; `call` is pure;
`get_config` / `from_config` round-trip the config. Shapes include the batch axis
as `None`, as Keras prints them.
"""

from __future__ import annotations

import math
import re
from typing import Any

import jax
import jax.numpy as jnp

from cornu import _deprecation, mixed_precision, regularizers
from cornu.layers.keras_tensor import KerasTensor

Shape = tuple[int | None, ...]
ShapeOrShapes = Shape | list[Shape]
Params = dict[str, jax.Array]

_name_counts: dict[str, int] = {}


def unique_name(base: str) -> str:
    """Keras' automatic names: dense, dense_1, dense_2, ..."""
    count = _name_counts.get(base, 0)
    _name_counts[base] = count + 1
    return base if count == 0 else f"{base}_{count}"


def reset_names() -> None:
    _name_counts.clear()


def _snake(name: str) -> str:
    """Keras' default names: Conv2D -> conv2d, MaxPooling2D -> max_pooling2d."""
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


class Layer:
    """Base class. Subclasses override `build`, `init` (if they have weights) and `call`."""

    #: names of the weights in Keras order (kernel before bias)
    weight_names: tuple[str, ...] = ()

    def __init__(
        self,
        *,
        name: str | None = None,
        input_shape: tuple[int | None, ...] | None = None,
        dtype: str | mixed_precision.DTypePolicy | None = None,
        **kwargs: Any,
    ) -> None:
        self.dtype_policy = (mixed_precision.global_policy() if dtype is None
                             else mixed_precision.get(dtype, "dtype"))
        input_dim = _deprecation.renamed(
            kwargs, "input_dim", "input_shape=(n,) or cornu.Input(shape=(n,))", type(self).__name__,
            depth=2 + sum(1 for k in type(self).__mro__[1:] if k is not Layer and k is not object
                          and "__init__" in vars(k)),
        )
        if input_dim is not None:
            if input_shape is not None:
                raise TypeError(
                    f"Got both input_dim={input_dim!r} and input_shape={input_shape!r}. "
                    "Pass input_shape only."
                )
            input_shape = (input_dim,)
        if kwargs:
            raise TypeError(
                f"{type(self).__name__} got unexpected keyword arguments: "
                f"{', '.join(sorted(kwargs))}. Check the spelling against the Keras 3 docs."
            )
        if name is not None and (not isinstance(name, str) or not name):
            raise ValueError(f"name must be a non-empty string. Received: name={name!r}")
        self.name = name or unique_name(_snake(type(self).__name__))
        self._input_shape_arg: Shape | None = None
        if input_shape is not None:
            self._input_shape_arg = _as_shape(input_shape, "input_shape")
        self.input_shape: ShapeOrShapes | None = None
        self.output_shape: Shape | None = None
        self.built = False
        self._regularizers: dict[str, regularizers.Regularizer] = {}
        self._inbound: list[KerasTensor] | None = None  # set when called on symbolic tensors

    # -- the pattern -------------------------------------------------------------------
    def compute_output_shape(self, input_shape: ShapeOrShapes) -> Shape:
        return input_shape

    def build(self, input_shape: ShapeOrShapes) -> Shape:
        """Record the input shape (a list of shapes for merge layers) and return the output
        shape (no arrays made here)."""
        if isinstance(input_shape, list) and input_shape \
                and all(isinstance(s, list | tuple) for s in input_shape):
            self.input_shape = [tuple(s) for s in input_shape]
        else:
            self.input_shape = tuple(input_shape)
        self.output_shape = tuple(self.compute_output_shape(self.input_shape))
        self.built = True
        return self.output_shape

    def init(self, key: jax.Array) -> Params:
        """Fresh parameters for the built layer."""
        return {}

    def init_state(self) -> Params:
        """Non-trainable state (moving statistics); none by default."""
        return {}

    def call(self, params: Params, x: jax.Array, *, training: bool, rng: jax.Array | None):
        raise NotImplementedError

    #: normalization layers compute in float32 under a mixed policy, as in Keras
    float32_compute = False

    @property
    def compute_dtype(self) -> str:
        return "float32" if self.float32_compute else self.dtype_policy.compute_dtype

    def _policy_cast(self, tree):
        return tree if self.float32_compute else self.dtype_policy.cast(tree)

    #: layers whose training statistics must skip the padding of a partial last batch
    #: (BatchNormalization) take `sample_mask` in `apply`
    uses_sample_mask = False

    def run(self, params, state, x, *, training: bool, rng: jax.Array | None,
            sample_mask: jax.Array | None = None):
        """`apply` in the layer's compute dtype (what models call). `sample_mask` (batch,)
        is 1 for real samples and 0 for the padding of a partial batch."""
        cast = self._policy_cast
        if self.uses_sample_mask:
            return self.apply(cast(params), state, cast(x), training=training, rng=rng,
                              sample_mask=sample_mask)
        return self.apply(cast(params), state, cast(x), training=training, rng=rng)

    def run_logits(self, params, x, *, training: bool, rng: jax.Array | None):
        """`call_logits` in the layer's compute dtype."""
        cast = self._policy_cast
        return self.call_logits(cast(params), cast(x), training=training, rng=rng)

    def apply(self, params, state, x, *, training: bool, rng: jax.Array | None):
        """(output, new_state). Stateless layers only implement `call`."""
        return self.call(params, x, training=training, rng=rng), state

    # -- the functional API: layer(tensor) -> tensor --------------------------------------
    def __call__(self, inputs: KerasTensor | list[KerasTensor]) -> KerasTensor:
        """Build the layer on a symbolic tensor (or a list, for merge layers) and return its
        output tensor: `y = Dense(10)(cornu.Input(shape=(784,)))`."""
        tensors = list(inputs) if isinstance(inputs, list | tuple) else [inputs]
        bad = [t for t in tensors if not isinstance(t, KerasTensor)]
        if bad or not tensors:
            got = type(bad[0]).__name__ if bad else "an empty list"
            raise TypeError(
                f"Layer '{self.name}' ({type(self).__name__}) can only be called on symbolic "
                f"tensors: cornu.Input(shape=...) or another layer's output. Received: {got}. "
                "To compute on arrays, put the layer in a model and use model.predict(x)."
            )
        if self._inbound is not None:
            raise NotImplementedError(
                f"Layer '{self.name}' was already called on "
                f"{[t.name for t in self._inbound]}; calling a layer a second time (sharing "
                "its weights) is not supported yet. Create a new layer for the second call."
            )
        shape = tensors[0].shape if len(tensors) == 1 else [t.shape for t in tensors]
        output_shape = self.build(shape)
        self._inbound = tensors
        return KerasTensor(output_shape, self, self.name)

    # -- penalties added to the loss (kernel_regularizer and the like) ---------------------
    def _set_regularizer(self, weight: str, identifier: Any, argument: str):
        """Validate `argument` (e.g. kernel_regularizer) and attach it to weight `weight`."""
        regularizer = regularizers.get(identifier, argument)
        if regularizer is None:
            self._regularizers.pop(weight, None)
        else:
            self._regularizers[weight] = regularizer
        return regularizer

    @property
    def has_regularization(self) -> bool:
        return bool(self._regularizers)

    def regularization(self, params: Params) -> jax.Array:
        """The sum of the layer's penalties on its params (only where has_regularization)."""
        total = jnp.zeros((), jnp.float32)
        for weight, regularizer in self._regularizers.items():
            if weight in params:
                total = total + regularizer(params[weight])
        return total

    # -- a softmax/sigmoid output feeding a cross-entropy is computed from its logits --
    @property
    def output_activation(self) -> str | None:
        """'softmax' or 'sigmoid' when this layer ends in one, for the stable loss path."""
        return None

    def call_logits(self, params: Params, x: jax.Array, *, training: bool, rng):
        """The output before `output_activation` (only where that is not None)."""
        raise NotImplementedError

    # -- bookkeeping ---------------------------------------------------------------------
    def param_shapes(self) -> dict[str, tuple[int, ...]]:
        """Shapes of the weights, derived without making arrays."""
        shapes = jax.eval_shape(self.init, jax.random.key(0))
        return {k: tuple(v.shape) for k, v in shapes.items()}

    def count_params(self) -> int:
        if not self.built:
            raise ValueError(
                f"Layer '{self.name}' is not built yet, so its parameter count is unknown. "
                "Give the first layer input_shape=... or call the model on data first."
            )
        return sum(math.prod(s) for s in self.param_shapes().values())

    def get_config(self) -> dict[str, Any]:
        config: dict[str, Any] = {"name": self.name}
        if self.dtype_policy.name != "float32":
            config["dtype"] = self.dtype_policy.name
        if self._input_shape_arg is not None:
            config["input_shape"] = list(self._input_shape_arg)
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Layer:
        config = dict(config)
        if "input_shape" in config and config["input_shape"] is not None:
            config["input_shape"] = tuple(config["input_shape"])
        return cls(**config)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name!r}>"


def _as_shape(shape: Any, argument: str) -> Shape:
    if isinstance(shape, int):
        shape = (shape,)
    try:
        dims = tuple(shape)
    except TypeError:
        raise TypeError(
            f"{argument} must be a tuple of positive integers. Received: {argument}={shape!r}"
        ) from None
    for d in dims:
        if d is not None and (isinstance(d, bool) or not isinstance(d, int) or d < 1):
            raise ValueError(
                f"{argument} must be a tuple of positive integers (None for unknown). "
                f"Received: {argument}={shape!r}"
            )
    return dims


class ActivatedLayer(Layer):
    """A layer whose output is `activation(call_logits(x))` with an optional bias added
    to the logits (Dense, the convolutions): when the activation is softmax or sigmoid, a
    cross-entropy loss starts from the logits."""

    activation: Any

    def call(self, params: Params, x: jax.Array, *, training: bool, rng):
        return self.activation(self.call_logits(params, x, training=training, rng=rng))

    @property
    def output_activation(self) -> str | None:
        from cornu import activations

        for name in ("softmax", "sigmoid"):
            if self.activation is activations.get(name):
                return name
        return None

    @staticmethod
    def add_bias(params: Params, y: jax.Array) -> jax.Array:
        """y plus the layer's bias (when it has one) along the last axis."""
        if "bias" not in params:
            return y
        return y + jnp.reshape(params["bias"], (1,) * (y.ndim - 1) + (-1,))

