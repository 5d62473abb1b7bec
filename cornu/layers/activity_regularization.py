"""ActivityRegularization: the identity, which adds l1 * sum(|x|) + l2 * sum(x ** 2) of its
output, divided by the batch size, to the training loss (Layer's activity_regularizer with
an L1L2 regularizer, as Keras)."""

from __future__ import annotations

from typing import Any

from cornu import regularizers
from cornu.layers.base import Layer


class ActivityRegularization(Layer):
    supports_masking = True

    def __init__(self, l1: float = 0.0, l2: float = 0.0, **kwargs: Any) -> None:
        if "activity_regularizer" in kwargs:
            raise TypeError("ActivityRegularization takes l1 and l2, not activity_regularizer. "
                            f"Received: activity_regularizer={kwargs['activity_regularizer']!r}")
        penalty = regularizers.L1L2(l1=l1, l2=l2)
        super().__init__(activity_regularizer=penalty, **kwargs)
        self.l1, self.l2 = penalty.l1, penalty.l2

    def call(self, inputs):
        return inputs

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.pop("activity_regularizer", None)
        return {**config, "l1": self.l1, "l2": self.l2}
