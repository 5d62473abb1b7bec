"""The convolution shared by Conv1D, Conv2D and Conv3D: `activation(conv(x, kernel) + bias)`.

Inputs are channels_last, (batch, *spatial, channels); the kernel is
(*kernel_size, channels // groups, filters), Keras' layout. `_conv_ops.conv` does the work
(`lax.conv_general_dilated` on accelerators, im2col on CPU: see there why).
"""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp
from jax import lax

from cornu import activations, constraints, initializers, regularizers
from cornu.layers import _args, _conv_ops
from cornu.layers.base import Layer, Shape


class BaseConv(Layer):
    rank: int = 2  # spatial axes
    _paddings: tuple[str, ...] = ("valid", "same")

    def __init__(
        self,
        filters: int,
        kernel_size: int | tuple[int, ...],
        strides: int | tuple[int, ...] = 1,
        padding: str = "valid",
        data_format: str | None = None,
        dilation_rate: int | tuple[int, ...] = 1,
        groups: int = 1,
        activation: str | None = None,
        use_bias: bool = True,
        kernel_initializer: str = "glorot_uniform",
        bias_initializer: str = "zeros",
        kernel_regularizer: Any = None,
        bias_regularizer: Any = None,
        kernel_constraint: Any = None,
        bias_constraint: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        n = self.rank
        self.filters = _args.positive_int(filters, "filters")
        self.kernel_size = _args.int_tuple(kernel_size, n, "kernel_size")
        self.strides = _args.int_tuple(strides, n, "strides")
        self.padding = _args.padding(padding, self._paddings)
        self.data_format = _args.data_format(data_format)
        self.dilation_rate = _args.int_tuple(dilation_rate, n, "dilation_rate")
        self.groups = _args.positive_int(groups, "groups")
        if self.filters % self.groups:
            raise ValueError(
                f"filters must be divisible by groups. Received: filters={filters}, "
                f"groups={groups}"
            )
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer, "kernel_initializer")
        self.bias_initializer = initializers.get(bias_initializer, "bias_initializer")
        self.kernel_regularizer = regularizers.get(kernel_regularizer, "kernel_regularizer")
        self.bias_regularizer = regularizers.get(bias_regularizer, "bias_regularizer")
        self.kernel_constraint = constraints.get(kernel_constraint, "kernel_constraint")
        self.bias_constraint = constraints.get(bias_constraint, "bias_constraint")

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        _args.check_spatial_rank(self, input_shape, self.rank)
        channels = input_shape[-1]
        if channels is None:
            raise ValueError(
                f"Layer '{self.name}' ({type(self).__name__}) needs a known channels axis "
                f"(the last). Received input shape {input_shape}."
            )
        if channels % self.groups:
            raise ValueError(
                f"Layer '{self.name}' ({type(self).__name__}): the input's {channels} "
                f"channels are not divisible by groups={self.groups}. Received input shape "
                f"{input_shape}."
            )
        spatial = _args.spatial_output_shape(
            self, input_shape, self.kernel_size, self.strides, self.dilation_rate,
            self.padding, "kernel_size")
        return (input_shape[0], *spatial, self.filters)

    def build(self, input_shape) -> None:
        self.compute_output_shape(tuple(input_shape))  # refuses shapes it cannot take
        shape = (*self.kernel_size, input_shape[-1] // self.groups, self.filters)
        self.kernel = self.add_weight(
            shape=shape, initializer=self.kernel_initializer,
            regularizer=self.kernel_regularizer, constraint=self.kernel_constraint,
            name="kernel")
        self.bias = self.add_weight(
            shape=(self.filters,), initializer=self.bias_initializer,
            regularizer=self.bias_regularizer, constraint=self.bias_constraint,
            name="bias") if self.use_bias else None

    def _pads(self, x_shape) -> list[tuple[int, int]]:
        """(low, high) padding per spatial axis, as TensorFlow/Keras pad for 'same'."""
        if self.padding == "causal":  # left-pad the time axis only
            return [((self.kernel_size[0] - 1) * self.dilation_rate[0], 0)]
        effective = [(k - 1) * d + 1 for k, d in zip(self.kernel_size, self.dilation_rate,
                                                      strict=True)]
        return lax.padtype_to_pads(x_shape[1:-1], effective, self.strides,
                                   self.padding.upper())

    def call(self, inputs):
        y = _conv_ops.conv(inputs, self.kernel.value, self.strides, self._pads(inputs.shape),
                           self.dilation_rate, self.groups)
        if self.bias is not None:
            y = y + jnp.reshape(self.bias.value, (1,) * (y.ndim - 1) + (-1,))
        return self.activation(y)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "filters": self.filters,
            "kernel_size": list(self.kernel_size),
            "strides": list(self.strides),
            "padding": self.padding,
            "data_format": self.data_format,
            "dilation_rate": list(self.dilation_rate),
            "groups": self.groups,
            "activation": activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "kernel_constraint": constraints.serialize(self.kernel_constraint),
            "bias_constraint": constraints.serialize(self.bias_constraint),
        }
