"""Metrics from confusion-matrix counts at thresholds: TruePositives, FalsePositives,
TrueNegatives, FalseNegatives, Precision, Recall, AUC and the "X at Y" metrics.

A prediction counts as positive at a threshold t when y_pred > t. Labels are read as
booleans (nonzero is positive). The counts are summed with sample weights; they are the
metrics' variables, so these metrics are stateful (no `per_sample`).
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from cornu.metrics.base import EPSILON, Metric, as_array, divide_no_nan
from cornu.metrics.base import squeeze_or_expand_to_same_rank as _same_rank
from cornu.variables import Variable

Array = jax.Array

__all__ = [
    "AUC",
    "FalseNegatives",
    "FalsePositives",
    "Precision",
    "PrecisionAtRecall",
    "Recall",
    "RecallAtPrecision",
    "SensitivityAtSpecificity",
    "SpecificityAtSensitivity",
    "TrueNegatives",
    "TruePositives",
]

TRUE_POSITIVES, FALSE_POSITIVES = "tp", "fp"
TRUE_NEGATIVES, FALSE_NEGATIVES = "tn", "fn"
#: the threshold of top_k Precision/Recall: every kept prediction counts as positive
NEG_INF = -1e10


def _is_number(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, int | float | np.number)


def parse_thresholds(thresholds: Any, default: float, argument: str = "thresholds"
                     ) -> list[float]:
    """A list of thresholds, each in [0, 1]; `default` when None."""
    if thresholds is None:
        return [default]
    values = list(thresholds) if isinstance(thresholds, list | tuple | np.ndarray) \
        else [thresholds]
    if not values or not all(_is_number(t) and 0 <= t <= 1 for t in values):
        raise ValueError(f"{argument} must be a number or a list of numbers in [0, 1]. "
                         f"Received: {argument}={thresholds!r}")
    return [float(t) for t in values]


def evenly_distributed(thresholds: Any) -> bool:
    """Whether the thresholds are 0, 1/(n-1), ..., 1 (n >= 3): then the counts come from
    one bucketing of the predictions instead of a comparison per threshold."""
    n = len(thresholds)
    if n < 3:
        return False
    even = np.arange(n, dtype=np.float32) / (n - 1)
    return bool(np.allclose(np.asarray(thresholds, np.float64), even, atol=EPSILON))


def _filter_top_k(x: Array, k: int) -> Array:
    """x where it is among the k largest of its row, NEG_INF elsewhere."""
    _, indices = jax.lax.top_k(x, k)
    kept = jnp.sum(jax.nn.one_hot(indices, x.shape[-1], dtype=x.dtype), axis=-2)
    return x * kept + NEG_INF * (1 - kept)


def update_confusion_matrix_variables(
    variables: dict[str, Variable], y_true: Any, y_pred: Any, thresholds: Any, *,
    top_k: int | None = None, class_id: int | None = None, sample_weight: Any = None,
    multi_label: bool = False, label_weights: Any = None,
    thresholds_distributed_evenly: bool = False,
) -> None:
    """Add the weighted counts of this batch at each threshold to `variables` (keys 'tp',
    'fp', 'tn', 'fn'). Shapes: (thresholds,), or (thresholds, labels) with
    `multi_label`."""
    dtype = next(iter(variables.values())).dtype
    y_true = as_array(y_true).astype(dtype)
    y_pred = as_array(y_pred).astype(dtype)
    with_epsilon = bool(thresholds_distributed_evenly
                        and (thresholds[0] < 0.0 or thresholds[-1] > 1.0))
    thresholds = jnp.asarray(np.asarray(thresholds, np.float64), dtype)
    y_pred, y_true = _same_rank(y_pred, y_true)
    if sample_weight is not None:
        sample_weight = jnp.expand_dims(as_array(sample_weight).astype(dtype), -1)
        _, sample_weight = _same_rank(y_true, sample_weight, expand_rank_1=False)
    if top_k is not None:
        y_pred = _filter_top_k(y_pred, top_k)
    if class_id is not None:
        if y_pred.ndim == 1:
            raise ValueError("With class_id, y_pred must be 2D with shape (num_samples, "
                             f"num_classes). Received: y_pred.shape={y_pred.shape}")
        y_true = y_true[..., class_id, None]
        y_pred = y_pred[..., class_id, None]
    if thresholds_distributed_evenly:
        counts = _bucketed_counts(y_true, y_pred, thresholds.shape[0], multi_label,
                                  sample_weight, label_weights, with_epsilon, variables)
    else:
        counts = _compared_counts(y_true, y_pred, thresholds, multi_label, sample_weight,
                                  label_weights, variables)
    for key, value in counts.items():
        variables[key].assign(variables[key].value + value)


def _weights(sample_weight: Any, label_weights: Any, y_pred: Array, multi_label: bool,
             dtype: Any) -> Array | float:
    weights: Array | float = 1.0
    if sample_weight is not None:
        sample = jnp.broadcast_to(sample_weight.astype(y_pred.dtype), y_pred.shape)
        weights = sample if multi_label else sample.reshape(-1)
    if label_weights is not None:
        labels = jnp.broadcast_to(jnp.expand_dims(jnp.asarray(label_weights, y_pred.dtype),
                                                  0), y_pred.shape)
        labels = labels if multi_label else labels.reshape(-1)
        weights = labels if isinstance(weights, float) else weights * labels
    return weights if isinstance(weights, float) else weights.astype(dtype)


def _bucketed_counts(y_true, y_pred, num_thresholds, multi_label, sample_weight,
                     label_weights, with_epsilon, variables) -> dict[str, Array]:
    """Counts at evenly spaced thresholds: each prediction falls in one bucket; a
    threshold's count is the sum over the buckets above it."""
    weights = _weights(sample_weight, label_weights, y_pred, multi_label, y_true.dtype)
    y_pred = jnp.clip(y_pred, 0.0, 1.0)
    y_true = y_true.astype(bool).astype(y_true.dtype)
    if not multi_label:
        y_true, y_pred = y_true.reshape(-1), y_pred.reshape(-1)
    true_labels = y_true * weights
    false_labels = (1.0 - y_true) * weights
    buckets = jnp.ceil(y_pred * (num_thresholds - 1.0)) - 1
    if with_epsilon:
        buckets = jnp.maximum(buckets, 0)
    buckets = buckets.astype(jnp.int32)

    def above(data, ids):  # sum of the buckets at or above each threshold
        per_bucket = jax.ops.segment_sum(data, ids, num_segments=num_thresholds)
        return jnp.flip(jnp.cumsum(jnp.flip(per_bucket, -1), axis=-1), -1)

    if multi_label:
        tp = jax.vmap(above)(true_labels.T, buckets.T).T
        fp = jax.vmap(above)(false_labels.T, buckets.T).T
        total_true = jnp.sum(true_labels, axis=0)[None, :]
        total_false = jnp.sum(false_labels, axis=0)[None, :]
    else:
        tp, fp = above(true_labels, buckets), above(false_labels, buckets)
        total_true, total_false = jnp.sum(true_labels), jnp.sum(false_labels)
    counts = {TRUE_POSITIVES: tp, FALSE_POSITIVES: fp, TRUE_NEGATIVES: total_false - fp,
              FALSE_NEGATIVES: total_true - tp}
    return {k: v for k, v in counts.items() if k in variables}


def _compared_counts(y_true, y_pred, thresholds, multi_label, sample_weight, label_weights,
                     variables) -> dict[str, Array]:
    """Counts from comparing every prediction with every threshold."""
    num_thresholds = thresholds.shape[0]
    if multi_label:  # (thresholds, samples, labels)
        predictions = y_pred[None]
        labels = y_true.astype(bool)[None]
        limits = thresholds.reshape(num_thresholds, 1, 1)
    else:  # (thresholds, samples * labels)
        predictions = y_pred.reshape(1, -1)
        labels = y_true.astype(bool).reshape(1, -1)
        limits = thresholds.reshape(num_thresholds, 1)
    pred_is_pos = predictions > limits
    shape = pred_is_pos.shape
    label_is_pos = jnp.broadcast_to(labels, shape)
    weights = None
    if sample_weight is not None:
        sample = jnp.broadcast_to(sample_weight.astype(y_pred.dtype), y_pred.shape)
        weights = jnp.broadcast_to(sample.reshape(predictions.shape), shape)
    if label_weights is not None and not multi_label:
        per_label = jnp.broadcast_to(
            jnp.expand_dims(jnp.asarray(label_weights, y_pred.dtype), 0), y_pred.shape)
        per_label = jnp.broadcast_to(per_label.reshape(predictions.shape), shape)
        weights = per_label if weights is None else weights * per_label
    dtype = next(iter(variables.values())).dtype

    def count(label, pred):
        both = label & pred
        if weights is None:
            return jnp.sum(both.astype(dtype), axis=1)
        return jnp.sum(jnp.where(both, weights.astype(dtype), jnp.zeros((), dtype)), axis=1)

    pairs = {TRUE_POSITIVES: (label_is_pos, pred_is_pos),
             FALSE_POSITIVES: (~label_is_pos, pred_is_pos),
             TRUE_NEGATIVES: (~label_is_pos, ~pred_is_pos),
             FALSE_NEGATIVES: (label_is_pos, ~pred_is_pos)}
    return {k: count(*pairs[k]) for k in variables}


# -- counts at thresholds ---------------------------------------------------------------
class _ConfusionMatrixConditionCount(Metric):
    _condition = TRUE_POSITIVES

    def __init__(self, thresholds: Any = None, name: str | None = None,
                 dtype: Any = None) -> None:
        super().__init__(name=name, dtype=dtype)
        self.init_thresholds = thresholds
        self.thresholds = parse_thresholds(thresholds, 0.5)
        self._thresholds_distributed_evenly = evenly_distributed(self.thresholds)
        self.accumulator = self.add_variable(shape=(len(self.thresholds),),
                                             initializer="zeros", name="accumulator")

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        update_confusion_matrix_variables(
            {self._condition: self.accumulator}, y_true, y_pred, self.thresholds,
            thresholds_distributed_evenly=self._thresholds_distributed_evenly,
            sample_weight=sample_weight)

    def result(self) -> Array:
        value = self.accumulator.value
        return value[0] if len(self.thresholds) == 1 else value

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "thresholds": self.init_thresholds}


class TruePositives(_ConfusionMatrixConditionCount):
    """The weighted count of positive labels predicted positive (y_pred > threshold);
    one count per threshold when `thresholds` is a list."""

    _condition = TRUE_POSITIVES


class FalsePositives(_ConfusionMatrixConditionCount):
    """The weighted count of negative labels predicted positive (y_pred > threshold)."""

    _condition = FALSE_POSITIVES


class TrueNegatives(_ConfusionMatrixConditionCount):
    """The weighted count of negative labels predicted negative (y_pred <= threshold)."""

    _condition = TRUE_NEGATIVES


class FalseNegatives(_ConfusionMatrixConditionCount):
    """The weighted count of positive labels predicted negative (y_pred <= threshold)."""

    _condition = FALSE_NEGATIVES


# -- precision and recall ----------------------------------------------------------------
def _check_top_k(top_k: Any) -> None:
    if top_k is not None and (isinstance(top_k, bool) or not isinstance(top_k, int)
                              or top_k < 1):
        raise ValueError(f"top_k must be a positive integer or None. Received: top_k={top_k!r}")


def _check_class_id(class_id: Any) -> None:
    if class_id is not None and (isinstance(class_id, bool) or not isinstance(class_id, int)
                                 or class_id < 0):
        raise ValueError("class_id must be a non-negative integer or None. Received: "
                         f"class_id={class_id!r}")


class _PrecisionRecall(Metric):
    _other = FALSE_POSITIVES
    _other_name = "false_positives"

    def __init__(self, thresholds: Any = None, top_k: int | None = None,
                 class_id: int | None = None, name: str | None = None,
                 dtype: Any = None) -> None:
        super().__init__(name=name, dtype=dtype)
        _check_top_k(top_k)
        _check_class_id(class_id)
        self.init_thresholds = thresholds
        self.top_k = top_k
        self.class_id = class_id
        self.thresholds = parse_thresholds(thresholds, 0.5 if top_k is None else NEG_INF)
        self._thresholds_distributed_evenly = evenly_distributed(self.thresholds)
        shape = (len(self.thresholds),)
        self.true_positives = self.add_variable(shape=shape, initializer="zeros",
                                                name="true_positives")
        setattr(self, self._other_name, self.add_variable(
            shape=shape, initializer="zeros", name=self._other_name))

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        update_confusion_matrix_variables(
            {TRUE_POSITIVES: self.true_positives,
             self._other: getattr(self, self._other_name)},
            y_true, y_pred, self.thresholds,
            thresholds_distributed_evenly=self._thresholds_distributed_evenly,
            top_k=self.top_k, class_id=self.class_id, sample_weight=sample_weight)

    def result(self) -> Array:
        tp = self.true_positives.value
        value = divide_no_nan(tp, tp + getattr(self, self._other_name).value)
        return value[0] if len(self.thresholds) == 1 else value

    def reset_state(self) -> None:
        zeros = jnp.zeros((len(self.thresholds),))
        self.true_positives.assign(zeros)
        getattr(self, self._other_name).assign(zeros)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "thresholds": self.init_thresholds,
                "top_k": self.top_k, "class_id": self.class_id}


class Precision(_PrecisionRecall):
    """true_positives / (true_positives + false_positives) at each threshold (0.5 by
    default). `top_k`: only the k largest predictions of a sample can be positive;
    `class_id`: the precision of that one class."""

    _other, _other_name = FALSE_POSITIVES, "false_positives"


class Recall(_PrecisionRecall):
    """true_positives / (true_positives + false_negatives) at each threshold (0.5 by
    default); `top_k` and `class_id` as in Precision."""

    _other, _other_name = FALSE_NEGATIVES, "false_negatives"


# -- one rate at a constraint on another ---------------------------------------------------
def _num_thresholds(value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise ValueError(f"num_thresholds must be an integer > {minimum - 1}. Received: "
                         f"num_thresholds={value!r}")
    return int(value)


def _fraction(value: Any, argument: str) -> float:
    if not _is_number(value) or not 0 <= value <= 1:
        raise ValueError(f"{argument} must be a number in the range [0, 1]. Received: "
                         f"{argument}={value!r}")
    return value


class SensitivitySpecificityBase(Metric):
    """Counts at `num_thresholds` evenly spaced thresholds in [0, 1], for the metrics
    that give the best value of one rate where another meets a constraint."""

    def __init__(self, value: float, num_thresholds: int = 200, class_id: int | None = None,
                 name: str | None = None, dtype: Any = None) -> None:
        super().__init__(name=name, dtype=dtype)
        num_thresholds = _num_thresholds(num_thresholds, 1)
        _check_class_id(class_id)
        self.value = value
        self.class_id = class_id
        if num_thresholds == 1:
            self.thresholds = [0.5]
            self._thresholds_distributed_evenly = False
        else:
            inner = [(i + 1) * 1.0 / (num_thresholds - 1) for i in range(num_thresholds - 2)]
            self.thresholds = [0.0, *inner, 1.0]
            self._thresholds_distributed_evenly = True
        shape = (len(self.thresholds),)
        self.true_positives = self.add_variable(shape=shape, initializer="zeros",
                                                name="true_positives")
        self.false_positives = self.add_variable(shape=shape, initializer="zeros",
                                                 name="false_positives")
        self.true_negatives = self.add_variable(shape=shape, initializer="zeros",
                                                name="true_negatives")
        self.false_negatives = self.add_variable(shape=shape, initializer="zeros",
                                                 name="false_negatives")

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        update_confusion_matrix_variables(
            {TRUE_POSITIVES: self.true_positives, TRUE_NEGATIVES: self.true_negatives,
             FALSE_POSITIVES: self.false_positives, FALSE_NEGATIVES: self.false_negatives},
            y_true, y_pred, self.thresholds,
            thresholds_distributed_evenly=self._thresholds_distributed_evenly,
            class_id=self.class_id, sample_weight=sample_weight)

    def reset_state(self) -> None:
        zeros = jnp.zeros((len(self.thresholds),))
        for v in (self.true_positives, self.false_positives, self.true_negatives,
                  self.false_negatives):
            v.assign(zeros)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "class_id": self.class_id}

    def _rates(self) -> dict[str, Array]:
        tp, fp = self.true_positives.value, self.false_positives.value
        tn, fn = self.true_negatives.value, self.false_negatives.value
        return {"sensitivity": divide_no_nan(tp, tp + fn),
                "specificity": divide_no_nan(tn, tn + fp),
                "precision": divide_no_nan(tp, tp + fp)}

    def _max_under_constraint(self, constrained: Array, dependent: Array) -> Array:
        """The largest `dependent` where `constrained` >= the metric's value (0 if none)."""
        feasible = constrained >= self.value
        return jnp.max(jnp.where(feasible, dependent, jnp.zeros_like(dependent)), initial=0.0)


class SensitivityAtSpecificity(SensitivitySpecificityBase):
    """The best sensitivity (recall) where the specificity is >= `specificity`."""

    def __init__(self, specificity: float, num_thresholds: int = 200,
                 class_id: int | None = None, name: str | None = None,
                 dtype: Any = None) -> None:
        self.specificity = _fraction(specificity, "specificity")
        self.num_thresholds = num_thresholds
        super().__init__(specificity, num_thresholds=num_thresholds, class_id=class_id,
                         name=name, dtype=dtype)

    def result(self) -> Array:
        rates = self._rates()
        return self._max_under_constraint(rates["specificity"], rates["sensitivity"])

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "num_thresholds": self.num_thresholds,
                "specificity": self.specificity}


class SpecificityAtSensitivity(SensitivitySpecificityBase):
    """The best specificity where the sensitivity (recall) is >= `sensitivity`."""

    def __init__(self, sensitivity: float, num_thresholds: int = 200,
                 class_id: int | None = None, name: str | None = None,
                 dtype: Any = None) -> None:
        self.sensitivity = _fraction(sensitivity, "sensitivity")
        self.num_thresholds = num_thresholds
        super().__init__(sensitivity, num_thresholds=num_thresholds, class_id=class_id,
                         name=name, dtype=dtype)

    def result(self) -> Array:
        rates = self._rates()
        return self._max_under_constraint(rates["sensitivity"], rates["specificity"])

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "num_thresholds": self.num_thresholds,
                "sensitivity": self.sensitivity}


class PrecisionAtRecall(SensitivitySpecificityBase):
    """The best precision where the recall is >= `recall`."""

    def __init__(self, recall: float, num_thresholds: int = 200, class_id: int | None = None,
                 name: str | None = None, dtype: Any = None) -> None:
        self.recall = _fraction(recall, "recall")
        self.num_thresholds = num_thresholds
        super().__init__(value=recall, num_thresholds=num_thresholds, class_id=class_id,
                         name=name, dtype=dtype)

    def result(self) -> Array:
        rates = self._rates()
        return self._max_under_constraint(rates["sensitivity"], rates["precision"])

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "num_thresholds": self.num_thresholds,
                "recall": self.recall}


class RecallAtPrecision(SensitivitySpecificityBase):
    """The best recall where the precision is >= `precision`."""

    def __init__(self, precision: float, num_thresholds: int = 200,
                 class_id: int | None = None, name: str | None = None,
                 dtype: Any = None) -> None:
        self.precision = _fraction(precision, "precision")
        self.num_thresholds = num_thresholds
        super().__init__(value=precision, num_thresholds=num_thresholds, class_id=class_id,
                         name=name, dtype=dtype)

    def result(self) -> Array:
        rates = self._rates()
        return self._max_under_constraint(rates["precision"], rates["sensitivity"])

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "num_thresholds": self.num_thresholds,
                "precision": self.precision}


# -- area under the curve ------------------------------------------------------------------
_CURVES = ("ROC", "PR", "PRGAIN")
_SUMMATIONS = ("interpolation", "majoring", "minoring")


class AUC(Metric):
    """The area under the ROC curve (or the precision-recall curve, curve='PR'),
    approximated from counts at `num_thresholds` thresholds in [0, 1].

    summation_method: 'interpolation' (trapezoids; for PR, the interpolation of Davis &
    Goadrich 2006), 'minoring' or 'majoring' (rectangles below / above the curve).
    `thresholds`: the inner thresholds to use instead (0 - 1e-7 and 1 + 1e-7 are added).
    `multi_label`: y_pred is (batch, labels); one curve per label, the AUCs averaged
    (weighted by `label_weights`). Otherwise every element is one prediction, and
    `label_weights` weights the labels' counts. `from_logits`: apply a sigmoid first.
    """

    def __init__(self, num_thresholds: int = 200, curve: str = "ROC",
                 summation_method: str = "interpolation", name: str | None = None,
                 dtype: Any = None, thresholds: Any = None, multi_label: bool = False,
                 num_labels: int | None = None, label_weights: Any = None,
                 from_logits: bool = False) -> None:
        curve_key = str(getattr(curve, "value", curve))
        if curve_key.upper() not in _CURVES:
            raise ValueError(f"curve must be one of {list(_CURVES)}. Received: curve={curve!r}")
        summation_key = str(getattr(summation_method, "value", summation_method))
        if summation_key.lower() not in _SUMMATIONS:
            raise ValueError(f"summation_method must be one of {list(_SUMMATIONS)}. "
                             f"Received: summation_method={summation_method!r}")
        self._init_from_thresholds = thresholds is not None
        if thresholds is not None:
            inner = sorted(parse_thresholds(thresholds, 0.5))
            self.num_thresholds = len(inner) + 2
            self._thresholds_distributed_evenly = evenly_distributed([0.0, *inner, 1.0])
        else:
            self.num_thresholds = _num_thresholds(num_thresholds, 2)
            inner = [(i + 1) * 1.0 / (self.num_thresholds - 1)
                     for i in range(self.num_thresholds - 2)]
            self._thresholds_distributed_evenly = True
        # end points just outside [0, 1], for floating-point imprecision
        self._thresholds = np.array([0.0 - EPSILON, *inner, 1.0 + EPSILON])
        self.curve = curve_key.upper()
        self.summation_method = summation_key.lower()
        super().__init__(name=name, dtype=dtype)
        self.multi_label = bool(multi_label)
        if num_labels is not None and (isinstance(num_labels, bool)
                                       or not isinstance(num_labels, int) or num_labels < 1):
            raise ValueError("num_labels must be a positive integer or None. Received: "
                             f"num_labels={num_labels!r}")
        self.num_labels = num_labels
        self.label_weights = (None if label_weights is None
                              else jnp.asarray(np.asarray(label_weights), self.dtype))
        self._from_logits = bool(from_logits)
        self._built = False
        if self.multi_label:
            if num_labels:
                self._build((None, num_labels))
        else:
            if num_labels:
                raise ValueError("num_labels is needed only when multi_label is True. "
                                 f"Received: num_labels={num_labels!r}")
            self._build(None)

    @property
    def thresholds(self) -> list[float]:
        """The thresholds, end points included."""
        return list(self._thresholds)

    def _build(self, shape: tuple | None) -> None:
        if self.multi_label:
            if len(shape) != 2:
                raise ValueError("With multi_label=True, y_pred must have rank 2. Received: "
                                 f"y_pred.shape={tuple(shape)}")
            self._num_labels = shape[1]
            variable_shape = (self.num_thresholds, self._num_labels)
        else:
            variable_shape = (self.num_thresholds,)
        self._build_input_shape = shape
        self.true_positives = self.add_variable(shape=variable_shape, initializer="zeros",
                                                name="true_positives")
        self.false_positives = self.add_variable(shape=variable_shape, initializer="zeros",
                                                 name="false_positives")
        self.true_negatives = self.add_variable(shape=variable_shape, initializer="zeros",
                                                name="true_negatives")
        self.false_negatives = self.add_variable(shape=variable_shape, initializer="zeros",
                                                 name="false_negatives")
        self._built = True

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        y_pred = as_array(y_pred)
        if not self._built:
            self._build(y_pred.shape)
        if self._from_logits:
            y_pred = jax.nn.sigmoid(y_pred)
        update_confusion_matrix_variables(
            {TRUE_POSITIVES: self.true_positives, TRUE_NEGATIVES: self.true_negatives,
             FALSE_POSITIVES: self.false_positives, FALSE_NEGATIVES: self.false_negatives},
            y_true, y_pred, self._thresholds,
            thresholds_distributed_evenly=self._thresholds_distributed_evenly,
            sample_weight=sample_weight, multi_label=self.multi_label,
            label_weights=None if self.multi_label else self.label_weights)

    def _by_label(self, terms: Array) -> Array:
        if not self.multi_label:
            return jnp.sum(terms)
        by_label = jnp.sum(terms, axis=0)
        if self.label_weights is None:
            return jnp.mean(by_label)
        return divide_no_nan(jnp.sum(by_label * self.label_weights),
                             jnp.sum(self.label_weights))

    def interpolate_pr_auc(self) -> Array:
        """The PR AUC by Davis & Goadrich's interpolation: precision is integrated over
        recall piecewise, assuming the positives grow linearly between thresholds."""
        tp, fp, fn = (self.true_positives.value, self.false_positives.value,
                      self.false_negatives.value)
        n = self.num_thresholds
        dtp = tp[: n - 1] - tp[1:]
        p = tp + fp
        dp = p[: n - 1] - p[1:]
        slope = divide_no_nan(dtp, jnp.maximum(dp, 0))
        intercept = tp[1:] - slope * p[1:]
        ratio = jnp.where((p[: n - 1] > 0) & (p[1:] > 0),
                          divide_no_nan(p[: n - 1], jnp.maximum(p[1:], 0)),
                          jnp.ones_like(p[1:]))
        increments = divide_no_nan(slope * (dtp + intercept * jnp.log(ratio)),
                                   jnp.maximum(tp[1:] + fn[1:], 0))
        return self._by_label(increments)

    def result(self) -> Array:
        if not self._built:
            raise ValueError("AUC(multi_label=True) without num_labels has seen no data "
                             "yet: call update_state first.")
        if self.curve == "PR" and self.summation_method == "interpolation":
            return self.interpolate_pr_auc()
        tp, fp = self.true_positives.value, self.false_positives.value
        tn, fn = self.true_negatives.value, self.false_negatives.value
        recall = divide_no_nan(tp, tp + fn)
        if self.curve == "ROC":
            x, y = divide_no_nan(fp, fp + tn), recall
        elif self.curve == "PR":
            x, y = recall, divide_no_nan(tp, tp + fp)
        else:  # PRGAIN
            scaling = divide_no_nan(tp + fn, tn + fp)
            recall_gain = 1.0 - scaling * divide_no_nan(fn, tp)
            precision_gain = 1.0 - scaling * divide_no_nan(fp, tp)
            recall_gain = jnp.where(tp == 0.0, 0.0, recall_gain)
            precision_gain = jnp.where(tp == 0.0, 1.0, precision_gain)
            x, y = jnp.maximum(recall_gain, 0.0), precision_gain
        n = self.num_thresholds
        if self.summation_method == "interpolation":
            heights = (y[: n - 1] + y[1:]) / 2.0
        elif self.summation_method == "minoring":
            heights = jnp.minimum(y[: n - 1], y[1:])
        else:
            heights = jnp.maximum(y[: n - 1], y[1:])
        return self._by_label((x[: n - 1] - x[1:]) * heights)

    def reset_state(self) -> None:
        if self._built:
            for v in (self.true_positives, self.false_positives, self.true_negatives,
                      self.false_negatives):
                v.assign(jnp.zeros(v.shape, v.dtype))

    def get_config(self) -> dict[str, Any]:
        config = {**super().get_config(), "num_thresholds": self.num_thresholds,
                  "curve": self.curve, "summation_method": self.summation_method,
                  "multi_label": self.multi_label, "num_labels": self.num_labels,
                  "label_weights": (None if self.label_weights is None
                                    else np.asarray(self.label_weights).tolist()),
                  "from_logits": self._from_logits}
        if self._init_from_thresholds:
            config["thresholds"] = [float(t) for t in self.thresholds[1:-1]]
        return config

