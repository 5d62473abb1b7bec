"""Dense: `activation(x @ kernel + bias)` on the last axis."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from cornu import _deprecation, activations, initializers, regularizers
from cornu.layers.base import ActivatedLayer, Params, Shape
from cornu.training import rng as global_rng


class Dense(ActivatedLayer):
    weight_names = ("kernel", "bias")

    def __init__(
        self,
        units: int | None = None,
        activation: str | None = None,
        use_bias: bool = True,
        kernel_initializer: str = "glorot_uniform",
        bias_initializer: str = "zeros",
        kernel_regularizer: Any = None,
        bias_regularizer: Any = None,
        **kwargs: Any,
    ) -> None:
        old_units = _deprecation.renamed(kwargs, "output_dim", "units", "Dense")
        units = _deprecation.pick(units, None, old_units, "output_dim", "units")
        old_init = _deprecation.renamed(kwargs, "init", "kernel_initializer", "Dense")
        kernel_initializer = _deprecation.pick(
            kernel_initializer, "glorot_uniform", old_init, "init", "kernel_initializer"
        )
        super().__init__(**kwargs)
        if isinstance(units, bool) or not isinstance(units, int) or units < 1:
            raise ValueError(f"units must be a positive integer. Received: units={units!r}")
        self.units = units
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer, "kernel_initializer")
        self.bias_initializer = initializers.get(bias_initializer, "bias_initializer")
        self.kernel_regularizer = self._set_regularizer(
            "kernel", kernel_regularizer, "kernel_regularizer")
        self.bias_regularizer = self._set_regularizer(
            "bias", bias_regularizer, "bias_regularizer")
        self._initializer_args = (kernel_initializer, bias_initializer)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        if len(input_shape) < 2 or input_shape[-1] is None:
            raise ValueError(
                f"Layer '{self.name}' (Dense) needs an input with a known last axis. "
                f"Received input shape {input_shape}."
            )
        return (*input_shape[:-1], self.units)

    def init(self, key: jax.Array) -> Params:
        k_kernel, k_bias = global_rng.split(key)
        fan_in = self.input_shape[-1]
        params = {"kernel": self.kernel_initializer(k_kernel, (fan_in, self.units), jnp.float32)}
        if self.use_bias:
            params["bias"] = self.bias_initializer(k_bias, (self.units,), jnp.float32)
        return params

    def call_logits(self, params: Params, x, *, training: bool, rng):
        return self.add_bias(params, jnp.matmul(x, params["kernel"]))

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "units": self.units,
            "activation": activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "kernel_initializer": initializers.serialize(self._initializer_args[0]),
            "bias_initializer": initializers.serialize(self._initializer_args[1]),
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
        }
