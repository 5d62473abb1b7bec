"""TimeDistributed: the same layer applied to every time step of (batch, time, ...) inputs.

The steps run as one call of the inner layer on (batch * time, ...) inputs, then the
result is shaped back; for layers without batch statistics (Dense, Conv2D, Dropout, ...)
this is what Keras' step loop computes. (BatchNormalization in training sees the batch
statistics of all steps together, where Keras takes them step by step.)
"""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp

from cornu.layers import _nested
from cornu.layers.base import Layer, _call_arguments, masks_hidden


class TimeDistributed(Layer):
    def __init__(self, layer: Layer, **kwargs: Any) -> None:
        if not isinstance(layer, Layer):
            raise ValueError(f"layer must be a cornu layer. Received: layer={layer!r}")
        super().__init__(**kwargs)
        self.layer = layer
        # Keras: the time steps' mask goes to the inner layer (when its call takes one) and
        # on to the output unchanged
        self.supports_masking = True

    def _step_shape(self, input_shape) -> tuple:
        if not isinstance(input_shape, tuple | list) or len(input_shape) < 3:
            raise ValueError(f"Layer '{self.name}' (TimeDistributed) takes inputs of at least "
                             f"3 axes (batch, time, ...). Received input shape {input_shape}.")
        return (input_shape[0], *input_shape[2:])

    def build(self, input_shape) -> None:
        step = self._step_shape(input_shape)
        if not self.layer.built:
            self.layer.build(step)
            object.__setattr__(self.layer, "built", True)

    def compute_output_shape(self, input_shape):
        out = self.layer.compute_output_shape(self._step_shape(input_shape))
        return (out[0], input_shape[1], *out[1:])

    def call(self, inputs, training=None, mask=None):
        batch, steps = inputs.shape[0], inputs.shape[1]
        kwargs = {"training": training}
        if mask is not None:
            if getattr(mask, "ndim", 0) < 2 or tuple(mask.shape[:2]) != (batch, steps):
                raise ValueError(
                    f"The mask passed to TimeDistributed '{self.name}' must have shape "
                    f"(batch, timesteps, ...) = ({batch}, {steps}, ...). Received a mask of "
                    f"shape {tuple(getattr(mask, 'shape', ()))}.")
            if "mask" in _call_arguments(type(self.layer)):
                kwargs["mask"] = jnp.reshape(mask, (batch * steps, *mask.shape[2:]))
        with masks_hidden():  # as Keras: the layer is given the mask, no warning
            y = self.layer(jnp.reshape(inputs, (batch * steps, *inputs.shape[2:])), **kwargs)
        return jnp.reshape(y, (batch, steps, *y.shape[1:]))

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "layer": _nested.serialize(self.layer)}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> TimeDistributed:
        config = dict(config)
        if "input_shape" in config and config["input_shape"] is not None:
            config["input_shape"] = tuple(config["input_shape"])
        return cls(_nested.deserialize(config.pop("layer", None), "layer"), **config)
