"""The transposed convolution shared by Conv1DTranspose, Conv2DTranspose and
Conv3DTranspose: the gradient of a convolution with respect to its input, used to upsample
("deconvolution").

The kernel is (*kernel_size, filters, channels), Keras' layout. Output length per spatial
axis, as Keras: 'valid' (n - 1) * stride + max(k, stride), 'same' n * stride, where k is
the dilated kernel size; with `output_padding` p, 'valid' gives (n - 1) * stride + k + p
and 'same' (n - 1) * stride + k % 2 + p.
"""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp

from cornu.layers import _args
from cornu.layers.base import Shape
from cornu.layers.base_conv import BaseConv
from cornu.ops import nn


class BaseConvTranspose(BaseConv):
    def __init__(self, filters: int, kernel_size: int | tuple[int, ...],
                 strides: int | tuple[int, ...] = 1, padding: str = "valid",
                 output_padding: int | tuple[int, ...] | None = None,
                 data_format: str | None = None, dilation_rate: int | tuple[int, ...] = 1,
                 **kwargs: Any) -> None:
        if "groups" in kwargs:
            raise TypeError(f"{type(self).__name__} has no groups argument (as in Keras). "
                            f"Received: groups={kwargs['groups']!r}")
        super().__init__(filters, kernel_size, strides=strides, padding=padding,
                         data_format=data_format, dilation_rate=dilation_rate, **kwargs)
        if output_padding is not None:
            items = (output_padding,) * self.rank if isinstance(output_padding, int) \
                else output_padding
            if not isinstance(items, list | tuple) or len(items) != self.rank or any(
                    isinstance(p, bool) or not isinstance(p, int) or p < 0 for p in items):
                raise ValueError(
                    f"output_padding must be None, an int >= 0 or a tuple of {self.rank} of "
                    f"them. Received: output_padding={output_padding!r}")
            output_padding = tuple(items)
            if any(p >= s for p, s in zip(output_padding, self.strides, strict=True)):
                raise ValueError(
                    "output_padding must be smaller than strides on every axis. Received: "
                    f"output_padding={output_padding}, strides={self.strides}")
        self.output_padding = output_padding
        if max(self.strides) > 1 and max(self.dilation_rate) > 1:
            raise ValueError(
                "strides > 1 together with dilation_rate > 1 is not supported (as in Keras). "
                f"Received: strides={self.strides}, dilation_rate={self.dilation_rate}")

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        _args.check_spatial_rank(self, input_shape, self.rank)
        if input_shape[-1] is None:
            raise ValueError(
                f"Layer '{self.name}' ({type(self).__name__}) needs a known channels axis "
                f"(the last). Received input shape {input_shape}.")
        out = []
        extra = self.output_padding or (None,) * self.rank
        for n, k, s, d, p in zip(input_shape[1:-1], self.kernel_size, self.strides,
                                 self.dilation_rate, extra, strict=True):
            k = (k - 1) * d + 1
            if n is None:
                out.append(None)
            elif self.padding == "valid":
                out.append((n - 1) * s + k + (max(k, s) - k if p is None else p))
            else:
                out.append(n * s if p is None else (n - 1) * s + k % 2 + p)
        return (input_shape[0], *out, self.filters)

    def build(self, input_shape) -> None:
        self.compute_output_shape(tuple(input_shape))
        self.kernel = self.add_weight(
            shape=(*self.kernel_size, self.filters, input_shape[-1]),
            initializer=self.kernel_initializer, regularizer=self.kernel_regularizer,
            constraint=self.kernel_constraint, name="kernel")
        self.bias = self.add_weight(
            shape=(self.filters,), initializer=self.bias_initializer,
            regularizer=self.bias_regularizer, constraint=self.bias_constraint,
            name="bias") if self.use_bias else None

    def call(self, inputs):
        y = nn.conv_transpose(inputs, self.kernel.value, self.strides, self.padding,
                              self.output_padding, dilation_rate=self.dilation_rate)
        if self.bias is not None:
            y = y + jnp.reshape(self.bias.value, (1,) * (y.ndim - 1) + (-1,))
        return self.activation(y)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        del config["groups"]
        config["output_padding"] = None if self.output_padding is None \
            else list(self.output_padding)
        return config
