"""compile's `metrics` and `weighted_metrics` as one metric, the way Keras 3 lists them in
`model.metrics` (its `CompileMetrics`, named "compile_metrics").

A training step written as in Keras' guides loops over `model.metrics` and calls
`metric.stateless_update_state(values, y, y_pred, sample_weight=sample_weight)` on each:
this metric splits the targets and predictions per output and hands `sample_weight` to
compile's `weighted_metrics` only, so `metrics` stay unweighted, as in Keras. Its result
is a dict of the metrics' results under their log names (the output's name first for a
model with several outputs).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from cornu.metrics.base import Metric


class CompileMetrics(Metric):
    """The compiled metrics of a model: per output, the unweighted ones and the weighted
    ones; `output_names` are the outputs' log prefixes ('' for a single output)."""

    def __init__(self, unweighted: Sequence[Sequence[Metric]],
                 weighted: Sequence[Sequence[Metric]], output_names: Sequence[str],
                 names: Sequence[str]) -> None:
        super().__init__(name="compile_metrics")
        # not attributes that track (the variables are listed below, in Keras' order)
        object.__setattr__(self, "_unweighted", [tuple(m) for m in unweighted])
        object.__setattr__(self, "_weighted", [tuple(m) for m in weighted])
        object.__setattr__(self, "_prefixes", list(output_names))
        object.__setattr__(self, "_names", list(names))  # the outputs, for dict targets

    @property
    def metrics(self) -> list[Metric]:
        """The metrics, all unweighted ones first (in output order), then the weighted."""
        return [m for group in (*self._unweighted, *self._weighted) for m in group]

    @property
    def variables(self) -> list:
        found, seen = [], set()
        for metric in self.metrics:
            for v in metric.variables:
                if id(v) not in seen:
                    seen.add(id(v))
                    found.append(v)
        return found

    def _split(self, value: Any) -> list:
        n = len(self._names)
        if isinstance(value, dict):
            missing = [name for name in self._names if name not in value]
            if missing:
                raise ValueError(f"A dict of targets or predictions must hold every output: "
                                 f"{missing} are missing. The outputs are {self._names}.")
            return [value[name] for name in self._names]
        if n > 1 and isinstance(value, list | tuple):
            if len(value) != n:
                raise ValueError(f"Expected {n} targets or predictions, one per output "
                                 f"({self._names}). Received {len(value)}.")
            return list(value)
        return [value] * n if n > 1 and value is None else [value]

    def _split_weights(self, sample_weight: Any) -> list:
        n = len(self._names)
        if sample_weight is None:
            return [None] * n
        if isinstance(sample_weight, dict):
            return [sample_weight.get(name) for name in self._names]
        if isinstance(sample_weight, list | tuple):
            if len(sample_weight) == n:
                return list(sample_weight)
            return [sample_weight[0]] * n  # Keras: the first, for every output
        return [sample_weight] * n

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        ys, preds = self._split(y_true), self._split(y_pred)
        for group, yk, pk in zip(self._unweighted, ys, preds, strict=True):
            for metric in group:
                metric.update_state(yk, pk)
        for group, yk, pk, wk in zip(self._weighted, ys, preds,
                                     self._split_weights(sample_weight), strict=True):
            for metric in group:
                metric.update_state(yk, pk, sample_weight=wk)

    def reset_state(self) -> None:
        for metric in self.metrics:
            metric.reset_state()

    def result(self) -> dict[str, Any]:
        results: dict[str, Any] = {}
        for groups in (self._unweighted, self._weighted):
            for prefix, group in zip(self._prefixes, groups, strict=True):
                for metric in group:
                    value = metric.result()
                    named = metric.name if not prefix or metric.name.startswith(
                        f"{prefix}_") else f"{prefix}_{metric.name}"
                    if isinstance(value, dict):
                        results.update(value)
                    else:
                        results[named] = value
        return results

    def get_config(self) -> dict[str, Any]:
        raise NotImplementedError("compile_metrics is made by compile(); save the model's "
                                  "compile settings instead (model.get_compile_config()).")
