"""The separable convolution shared by SeparableConv1D and SeparableConv2D: a depthwise
convolution (each channel with its own `depth_multiplier` filters) followed by a pointwise
(kernel size 1) convolution to `filters` channels, then bias and activation.

Weights, Keras' layout and order: depthwise_kernel (*kernel_size, channels,
depth_multiplier), pointwise_kernel (*(1,) * rank, channels * depth_multiplier, filters),
bias (filters,).
"""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp

from cornu import constraints, initializers, regularizers
from cornu.layers import _args
from cornu.layers.base import Shape
from cornu.layers.base_depthwise_conv import BaseDepthwiseConv


class BaseSeparableConv(BaseDepthwiseConv):
    def __init__(self, filters: int, kernel_size: int | tuple[int, ...],
                 strides: int | tuple[int, ...] = 1, padding: str = "valid",
                 data_format: str | None = None, dilation_rate: int | tuple[int, ...] = 1,
                 depth_multiplier: int = 1, activation: Any = None, use_bias: bool = True,
                 depthwise_initializer: Any = "glorot_uniform",
                 pointwise_initializer: Any = "glorot_uniform", bias_initializer: Any = "zeros",
                 depthwise_regularizer: Any = None, pointwise_regularizer: Any = None,
                 bias_regularizer: Any = None, depthwise_constraint: Any = None,
                 pointwise_constraint: Any = None, bias_constraint: Any = None,
                 **kwargs: Any) -> None:
        super().__init__(
            kernel_size, strides=strides, padding=padding, depth_multiplier=depth_multiplier,
            data_format=data_format, dilation_rate=dilation_rate, activation=activation,
            use_bias=use_bias, depthwise_initializer=depthwise_initializer,
            bias_initializer=bias_initializer, depthwise_regularizer=depthwise_regularizer,
            bias_regularizer=bias_regularizer, depthwise_constraint=depthwise_constraint,
            bias_constraint=bias_constraint, **kwargs)
        self.filters = _args.positive_int(filters, "filters")
        self.pointwise_initializer = initializers.get(pointwise_initializer,
                                                      "pointwise_initializer")
        self.pointwise_regularizer = regularizers.get(pointwise_regularizer,
                                                      "pointwise_regularizer")
        self.pointwise_constraint = constraints.get(pointwise_constraint,
                                                    "pointwise_constraint")

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        return (*super().compute_output_shape(input_shape)[:-1], self.filters)

    def build(self, input_shape) -> None:
        self.compute_output_shape(tuple(input_shape))
        channels = input_shape[-1]
        self.depthwise_kernel = self.add_weight(
            shape=(*self.kernel_size, channels, self.depth_multiplier),
            initializer=self.depthwise_initializer, regularizer=self.depthwise_regularizer,
            constraint=self.depthwise_constraint, name="depthwise_kernel")
        self.pointwise_kernel = self.add_weight(
            shape=(*(1,) * self.rank, channels * self.depth_multiplier, self.filters),
            initializer=self.pointwise_initializer, regularizer=self.pointwise_regularizer,
            constraint=self.pointwise_constraint, name="pointwise_kernel")
        self.bias = self.add_weight(
            shape=(self.filters,), initializer=self.bias_initializer,
            regularizer=self.bias_regularizer, constraint=self.bias_constraint,
            name="bias") if self.use_bias else None

    def call(self, inputs):
        deep = self._depthwise(inputs, self.depthwise_kernel.value)
        pointwise = self.pointwise_kernel.value
        y = jnp.matmul(deep, jnp.reshape(pointwise, pointwise.shape[-2:]))
        if self.bias is not None:
            y = y + jnp.reshape(self.bias.value, (1,) * (y.ndim - 1) + (-1,))
        return self.activation(y)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "filters": self.filters,
            "pointwise_initializer": initializers.serialize(self.pointwise_initializer),
            "pointwise_regularizer": regularizers.serialize(self.pointwise_regularizer),
            "pointwise_constraint": constraints.serialize(self.pointwise_constraint),
        }
