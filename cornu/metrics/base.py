"""The Metric base class (Keras 3's `keras.metrics.Metric`).

A metric keeps its state in variables made with `add_variable` in `__init__`;
`update_state` changes them (`self.total.assign_add(...)`) and `result` reads them:

    class BinaryTruePositives(cornu.metrics.Metric):
        def __init__(self, name="binary_true_positives", **kwargs):
            super().__init__(name=name, **kwargs)
            self.true_positives = self.add_variable(shape=(), initializer="zeros",
                                                    name="true_positives")

        def update_state(self, y_true, y_pred, sample_weight=None):
            hits = jnp.logical_and(y_true.astype(bool), y_pred.astype(bool))
            ...
            self.true_positives.assign_add(jnp.sum(hits.astype(self.dtype)))

        def result(self):
            return self.true_positives.value

The stateless API runs the same code on values instead of variables, so it can be traced
inside `jax.jit` (what a compiled training step does):

    values = metric.stateless_reset_state()                     # initial values, a list
    values = metric.stateless_update_state(values, y_true, y_pred)
    result = metric.stateless_result(values)

Each list holds one array per entry of `metric.variables`, in that order. The methods
run `update_state`/`result`/`reset_state` in a `StatelessScope` where every variable reads
the given value and `assign` records the new value, so the metric itself is unchanged.

The engine's fast path: a metric whose `per_sample` is not None (the `MeanMetricWrapper`
family: accuracies, MSE, cross-entropies, ...) is the unweighted mean over samples of
`per_sample(y_true, y_pred)`, one value per sample; the training loop sums those values
in its own reduction instead of keeping the metric's variables.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from cornu import mixed_precision
from cornu.layers.base import _snake, unique_name
from cornu.losses.base import (  # Keras' rank rule, shared with the losses
    squeeze_or_expand_to_same_rank as squeeze_or_expand_to_same_rank,
)
from cornu.variables import StatelessScope, Variable

Array = jax.Array

#: Keras' backend epsilon (probabilities are clipped to [EPSILON, 1 - EPSILON])
EPSILON = 1e-7


def standard_dtype(dtype: Any) -> str:
    """A metric's computation dtype, as Keras: None is float32; a dtype policy (or a
    policy name such as 'mixed_bfloat16') gives its compute dtype."""
    if dtype is None:
        return "float32"
    if isinstance(dtype, mixed_precision.DTypePolicy):
        return dtype.compute_dtype
    if isinstance(dtype, str) and dtype.startswith("mixed_"):
        return mixed_precision.get(dtype, "dtype").compute_dtype
    try:
        return jnp.dtype(dtype).name
    except TypeError:
        raise ValueError("dtype must be a dtype name such as 'float32' or a dtype policy. "
                         f"Received: dtype={dtype!r}") from None


class Metric:
    """Base class of every metric: state in variables, `update_state`, `result`,
    `reset_state`, and their stateless forms for compiled code.

    Subclasses create their variables in `__init__` with `self.add_variable(...)` and
    override `update_state` and `result` (and `reset_state` when zeros are not the
    initial state). Metrics held in attributes are tracked: their variables are part of
    `variables`.
    """

    #: None: the metric keeps state in variables. The MeanMetricWrapper family sets a
    #: method `per_sample(y_true, y_pred) -> (batch,)` whose unweighted mean over the
    #: samples seen is the metric's result (the training loop's fused fast path).
    per_sample = None

    def __init__(self, name: str | None = None, dtype: Any = None) -> None:
        if name is not None and (not isinstance(name, str) or not name):
            raise ValueError(f"name must be a non-empty string. Received: name={name!r}")
        object.__setattr__(self, "_variables", [])
        object.__setattr__(self, "_metrics", [])
        self.name = name or unique_name(_snake(type(self).__name__))
        self._dtype = standard_dtype(dtype)

    # -- state -------------------------------------------------------------------------
    @property
    def dtype(self) -> str:
        """The dtype of the metric's computations and result ('float32')."""
        return self._dtype

    def add_variable(self, shape: Any, initializer: Any, dtype: Any = None,
                     aggregation: str = "sum", name: str | None = None) -> Variable:
        """A new state variable (non-trainable); call it in `__init__`. `initializer` is a
        name ('zeros'), an initializer object or a callable `(shape, dtype)`."""
        self._check_super_called()
        shape = () if shape is None else tuple(shape)
        if initializer is None:
            initializer = "zeros"
        variable = Variable(initializer, shape=shape, dtype=dtype, trainable=False,
                            name=name, aggregation=aggregation, synchronization="on_read")
        variable.path = f"{self.name}/{variable.name}"
        self._variables.append(variable)
        return variable

    def add_weight(self, shape: Any = (), initializer: Any = None, dtype: Any = None,
                   name: str | None = None, aggregation: str = "sum") -> Variable:
        """Keras' older name of `add_variable` (the initializer defaults to zeros)."""
        return self.add_variable(shape=shape, initializer=initializer, dtype=dtype,
                                 aggregation=aggregation, name=name)

    @property
    def variables(self) -> list[Variable]:
        """This metric's variables, then those of the metrics it holds."""
        found = list(self._variables)
        seen = {id(v) for v in found}
        for metric in self._metrics:
            for v in metric.variables:
                if id(v) not in seen:
                    seen.add(id(v))
                    found.append(v)
        return found

    # -- what subclasses override ------------------------------------------------------
    def update_state(self, *args: Any, **kwargs: Any) -> None:
        """Accumulate statistics for the metric."""
        raise NotImplementedError(f"{type(self).__name__} does not define update_state.")

    def result(self) -> Any:
        """The current value: a scalar array (or a dict of them)."""
        raise NotImplementedError(f"{type(self).__name__} does not define result.")

    def reset_state(self) -> None:
        """Every variable back to zeros (called at the start of each epoch)."""
        for v in self.variables:
            v.assign(jnp.zeros(v.shape, v.dtype))

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """update_state(*args, **kwargs), then result()."""
        self._check_super_called()
        self.update_state(*args, **kwargs)
        return self.result()

    # -- stateless forms ---------------------------------------------------------------
    def _mapping(self, metric_variables: Sequence[Any], method: str) -> list[tuple]:
        own = self.variables
        if not isinstance(metric_variables, list | tuple) \
                or len(metric_variables) != len(own):
            got = (f"a list of {len(metric_variables)}"
                   if isinstance(metric_variables, list | tuple)
                   else type(metric_variables).__name__)
            raise ValueError(
                f"{method}: metric_variables must be a list of {len(own)} values, one per "
                f"entry of {type(self).__name__}().variables, in that order. Received: "
                f"{got}.")
        return [(v, value.value if isinstance(value, Variable) else value)
                for v, value in zip(own, metric_variables, strict=True)]

    def stateless_update_state(self, metric_variables: Sequence[Any], *args: Any,
                               **kwargs: Any) -> list[Any]:
        """`update_state(*args, **kwargs)` on the given values: the new values, a list
        matching `variables`. The metric's own variables do not change. (A metric that
        sizes its variables at its first update, such as R2Score, returns the values of
        the variables it made too.)"""
        mapping = self._mapping(metric_variables, "stateless_update_state")
        with StatelessScope(mapping, collect_losses=False) as scope:
            self.update_state(*args, **kwargs)
        values = []
        for v in self.variables:
            new = scope.get_current_value(v)
            values.append(new if new is not None else v.value)
        return values

    def stateless_result(self, metric_variables: Sequence[Any]) -> Any:
        """`result()` computed from the given values."""
        mapping = self._mapping(metric_variables, "stateless_result")
        with StatelessScope(mapping, collect_losses=False):
            # a variable returned as the result is read here, where it holds the values
            return jax.tree.map(lambda r: r.value if isinstance(r, Variable) else r,
                                self.result(), is_leaf=lambda r: isinstance(r, Variable))

    def stateless_reset_state(self) -> list[Any]:
        """The values `reset_state()` gives, a list matching `variables` (the initial
        state an epoch starts from). The metric's own variables do not change."""
        with StatelessScope(collect_losses=False) as scope:
            self.reset_state()
        values = []
        for v in self.variables:
            new = scope.get_current_value(v)
            values.append(new if new is not None else v.value)
        return values

    # -- config ------------------------------------------------------------------------
    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "dtype": self.dtype}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Metric:
        return cls(**config)

    # -- bookkeeping -------------------------------------------------------------------
    def __setattr__(self, name: str, value: Any) -> None:
        # metrics and variables held in attributes (or in lists of them) are tracked
        if "_variables" in self.__dict__ and not name.startswith("__"):
            items = value if isinstance(value, list | tuple) else (value,)
            for item in items:
                if isinstance(item, Metric) and item is not self \
                        and all(m is not item for m in self._metrics):
                    self._metrics.append(item)
                elif isinstance(item, Variable) \
                        and all(v is not item for v in self._variables):
                    self._variables.append(item)
        object.__setattr__(self, name, value)

    def _check_super_called(self) -> None:
        if "_variables" not in self.__dict__:
            raise RuntimeError(f"{type(self).__name__}: you forgot to call "
                               "super().__init__() in __init__. Call it first.")

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name}>"

    __str__ = __repr__


# -- helpers shared by the metric modules ----------------------------------------------
def as_array(x: Any, dtype: Any = None) -> Array:
    if isinstance(x, Variable):
        x = x.value
    if dtype is None:
        if isinstance(x, jax.Array):
            return x
        x = np.asarray(x)
        if x.dtype == np.float64:
            x = x.astype(np.float32)
        return jnp.asarray(x)
    return jnp.asarray(x, dtype=dtype)


def divide_no_nan(x: Any, y: Any) -> Array:
    """x / y, and 0 where y is 0."""
    x, y = jnp.asarray(x), jnp.asarray(y)
    safe = jnp.where(y == 0, jnp.ones_like(y), y)
    return jnp.where(y == 0, jnp.zeros_like(x / safe), x / safe)


def floatx(values: Array) -> Array:
    return values.astype(jnp.float32)
