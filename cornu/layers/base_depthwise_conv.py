"""The depthwise convolution shared by DepthwiseConv1D and DepthwiseConv2D: each input
channel convolved with its own `depth_multiplier` filters, giving channels *
depth_multiplier outputs (no mixing across channels).

The kernel is (*kernel_size, channels, depth_multiplier), Keras' layout; output channel
c * depth_multiplier + m is channel c's m-th filter. It runs as a grouped convolution
(groups = channels) through `_conv_ops.conv`, as Conv1D and Conv2D do.
"""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp
from jax import lax

from cornu import activations, constraints, initializers, regularizers
from cornu.layers import _args, _conv_ops
from cornu.layers.base import Layer, Shape


class BaseDepthwiseConv(Layer):
    rank: int = 2  # spatial axes

    def __init__(self, kernel_size: int | tuple[int, ...], strides: int | tuple[int, ...] = 1,
                 padding: str = "valid", depth_multiplier: int = 1,
                 data_format: str | None = None, dilation_rate: int | tuple[int, ...] = 1,
                 activation: Any = None, use_bias: bool = True,
                 depthwise_initializer: Any = "glorot_uniform", bias_initializer: Any = "zeros",
                 depthwise_regularizer: Any = None, bias_regularizer: Any = None,
                 depthwise_constraint: Any = None, bias_constraint: Any = None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        n = self.rank
        self.kernel_size = _args.int_tuple(kernel_size, n, "kernel_size")
        self.strides = _args.int_tuple(strides, n, "strides")
        self.padding = _args.padding(padding)
        self.depth_multiplier = _args.positive_int(depth_multiplier, "depth_multiplier")
        self.data_format = _args.data_format(data_format)
        self.dilation_rate = _args.int_tuple(dilation_rate, n, "dilation_rate")
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.depthwise_initializer = initializers.get(depthwise_initializer,
                                                      "depthwise_initializer")
        self.bias_initializer = initializers.get(bias_initializer, "bias_initializer")
        self.depthwise_regularizer = regularizers.get(depthwise_regularizer,
                                                      "depthwise_regularizer")
        self.bias_regularizer = regularizers.get(bias_regularizer, "bias_regularizer")
        self.depthwise_constraint = constraints.get(depthwise_constraint,
                                                    "depthwise_constraint")
        self.bias_constraint = constraints.get(bias_constraint, "bias_constraint")

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        _args.check_spatial_rank(self, input_shape, self.rank)
        if input_shape[-1] is None:
            raise ValueError(
                f"Layer '{self.name}' ({type(self).__name__}) needs a known channels axis "
                f"(the last). Received input shape {input_shape}.")
        spatial = _args.spatial_output_shape(
            self, input_shape, self.kernel_size, self.strides, self.dilation_rate,
            self.padding, "kernel_size")
        return (input_shape[0], *spatial, input_shape[-1] * self.depth_multiplier)

    def build(self, input_shape) -> None:
        out = self.compute_output_shape(tuple(input_shape))
        self.kernel = self.add_weight(
            shape=(*self.kernel_size, input_shape[-1], self.depth_multiplier),
            initializer=self.depthwise_initializer, regularizer=self.depthwise_regularizer,
            constraint=self.depthwise_constraint, name="kernel")
        self.bias = self.add_weight(
            shape=(out[-1],), initializer=self.bias_initializer,
            regularizer=self.bias_regularizer, constraint=self.bias_constraint,
            name="bias") if self.use_bias else None

    def _depthwise(self, inputs, kernel):
        effective = [(k - 1) * d + 1 for k, d in zip(self.kernel_size, self.dilation_rate,
                                                      strict=True)]
        pads = lax.padtype_to_pads(inputs.shape[1:-1], effective, self.strides,
                                   self.padding.upper())
        channels = inputs.shape[-1]
        grouped = jnp.reshape(kernel, (*self.kernel_size, 1, channels * kernel.shape[-1]))
        return _conv_ops.conv(inputs, grouped, self.strides, pads, self.dilation_rate,
                              channels)

    def call(self, inputs):
        y = self._depthwise(inputs, self.kernel.value)
        if self.bias is not None:
            y = y + jnp.reshape(self.bias.value, (1,) * (y.ndim - 1) + (-1,))
        return self.activation(y)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "kernel_size": list(self.kernel_size),
            "strides": list(self.strides),
            "padding": self.padding,
            "depth_multiplier": self.depth_multiplier,
            "data_format": self.data_format,
            "dilation_rate": list(self.dilation_rate),
            "activation": activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "depthwise_initializer": initializers.serialize(self.depthwise_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "depthwise_regularizer": regularizers.serialize(self.depthwise_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "depthwise_constraint": constraints.serialize(self.depthwise_constraint),
            "bias_constraint": constraints.serialize(self.bias_constraint),
        }
