"""FBetaScore and F1Score: the F-score of each class from weighted counts of true
positives, false positives and false negatives, as Keras 3 defines them.

Predictions are positive above `threshold`, or, with threshold None, where they reach the
row's maximum (one class per sample). `average` None gives one score per class; "micro"
pools the counts; "macro" averages the classes' scores; "weighted" weighs them by the
number of true samples of each class. The per-class variables are made when the number of
classes is known: at the first update, or when compile() builds the metric for the
model's output.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from cornu.metrics.base import EPSILON, Metric, as_array

Array = jax.Array

__all__ = ["F1Score", "FBetaScore"]

_AVERAGES = (None, "micro", "macro", "weighted")


class FBetaScore(Metric):
    def __init__(self, average: str | None = None, beta: float = 1.0,
                 threshold: float | None = None, name: str = "fbeta_score",
                 dtype: Any = None) -> None:
        super().__init__(name=name, dtype=dtype)
        if average not in _AVERAGES:
            raise ValueError("average must be one of None, 'micro', 'macro', 'weighted'. "
                             f"Received: average={average!r}")
        if isinstance(beta, bool) or not isinstance(beta, float) or beta <= 0.0:
            raise ValueError(f"beta must be a float > 0 (e.g. 1.0). Received: beta={beta!r}")
        if threshold is not None and (isinstance(threshold, bool) or not isinstance(
                threshold, float) or not 0.0 < threshold <= 1.0):
            raise ValueError("threshold must be None or a float in (0, 1]. Received: "
                             f"threshold={threshold!r}")
        self.average, self.beta, self.threshold = average, beta, threshold
        self.axis = None if average == "micro" else 0
        self._built = False

    def _build(self, y_true_shape: tuple, y_pred_shape: tuple) -> None:
        if len(y_pred_shape) != 2 or len(y_true_shape) != 2 or y_pred_shape[-1] is None:
            raise ValueError(
                f"{type(self).__name__} expects 2D inputs of shape (batch_size, output_dim) "
                f"with output_dim known. Received input shapes: y_pred.shape={y_pred_shape} "
                f"and y_true.shape={y_true_shape}.")
        shape = () if self.average == "micro" else (int(y_pred_shape[-1]),)
        for name in ("true_positives", "false_positives", "false_negatives",
                     "intermediate_weights"):
            setattr(self, name, self.add_variable(shape=shape, initializer="zeros",
                                                  dtype=self.dtype, name=name))
        self._built = True

    def build_for_output(self, output_shape: tuple) -> None:
        """Make the variables for a model output of this shape (compile's hook)."""
        if not self._built and len(output_shape) == 2 and output_shape[-1] is not None:
            self._build(tuple(output_shape), tuple(output_shape))

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        y_true = as_array(y_true, self.dtype)
        y_pred = as_array(y_pred, self.dtype)
        if not self._built:
            self._build(y_true.shape, y_pred.shape)
        if self.threshold is None:
            top = jnp.max(y_pred, axis=-1, keepdims=True)
            positive = jnp.logical_and(y_pred >= top, jnp.abs(y_pred) > 1e-9)
        else:
            positive = y_pred > self.threshold
        y_pred = positive.astype(self.dtype)

        def total(values: Array) -> Array:
            if sample_weight is not None:
                values = values * jnp.expand_dims(as_array(sample_weight, self.dtype), 1)
            return jnp.sum(values, axis=self.axis)

        self.true_positives.assign(self.true_positives.value + total(y_pred * y_true))
        self.false_positives.assign(self.false_positives.value
                                    + total(y_pred * (1 - y_true)))
        self.false_negatives.assign(self.false_negatives.value
                                    + total((1 - y_pred) * y_true))
        self.intermediate_weights.assign(self.intermediate_weights.value + total(y_true))

    def result(self) -> Array:
        if not self._built:
            raise ValueError(f"{type(self).__name__} has seen no data yet: call update_state "
                             "first.")
        tp = self.true_positives.value
        precision = tp / (tp + self.false_positives.value + EPSILON)
        recall = tp / (tp + self.false_negatives.value + EPSILON)
        b2 = self.beta ** 2
        score = (1 + b2) * (precision * recall) / (b2 * precision + recall + EPSILON)
        if self.average == "weighted":
            weights = self.intermediate_weights.value
            return jnp.sum(score * weights / (jnp.sum(weights) + EPSILON))
        if self.average is not None:
            return jnp.mean(score)
        return score

    def reset_state(self) -> None:
        if self._built:
            super().reset_state()

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "dtype": self.dtype, "average": self.average,
                "beta": self.beta, "threshold": self.threshold}


class F1Score(FBetaScore):
    def __init__(self, average: str | None = None, threshold: float | None = None,
                 name: str = "f1_score", dtype: Any = None) -> None:
        super().__init__(average=average, beta=1.0, threshold=threshold, name=name,
                         dtype=dtype)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        del config["beta"]
        return config
