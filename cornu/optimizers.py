"""Keras 3 optimizers as thin factories over optax.

Each class keeps Keras 3's name, argument names, defaults and update rule, and builds
an `optax.GradientTransformation` with `transform()`. Where optax's rule is Keras'
rule (SGD, RMSprop, Adagrad, Adadelta) the transform is a chain of optax building
blocks; where it is not (Adam, AdamW, Adamax, Nadam: Keras places epsilon and the
bias corrections differently) a short transform below follows Keras' `update_step`.

The learning rate lives in the optimizer state (`optax.inject_hyperparams`), so the
training loop changes it between epochs with `set_learning_rate` and nothing
recompiles. Gradient clipping (`clipnorm`, `clipvalue`, `global_clipnorm`) runs
inside the transform, before the rule, as in Keras.

Example::

    opt = get("adam")                         # or Adam(learning_rate=1e-3)
    tx = opt.transform()
    state = tx.init(params)
    updates, state = tx.update(grads, state, params)
    state = set_learning_rate(state, 1e-4)    # between epochs; no recompile

Keras 3 differences: no `weight_decay` on optimizers other than AdamW, no EMA,
loss scaling, gradient accumulation or learning-rate schedule objects (the loop sets
the rate with `set_learning_rate`). Keras 1's `lr=` works with a DeprecationWarning.
"""

from __future__ import annotations

import copy
import inspect
import json
import math
import numbers
import warnings
from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import Any, ClassVar, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from cornu import _names
from cornu.variables import Variable

__all__ = [
    "SGD",
    "Adadelta",
    "Adagrad",
    "Adam",
    "AdamW",
    "Adamax",
    "Nadam",
    "Optimizer",
    "RMSprop",
    "deserialize",
    "get",
    "get_learning_rate",
    "serialize",
    "set_learning_rate",
]


# --------------------------------------------------------------------------- checks


class _Default(float):
    """A default learning rate: a float that remembers the caller did not pass it."""


def _number(name: str, value: object, rule: str, ok: Callable[[float], bool]) -> float:
    number = isinstance(value, numbers.Real) and not isinstance(value, bool | np.bool_)
    scalar_array = isinstance(value, np.ndarray | jax.Array) and np.ndim(value) == 0
    if number or scalar_array:
        x = float(value)  # type: ignore[arg-type]
        if math.isfinite(x) and ok(x):
            return x
    raise ValueError(f"{name} must be {rule}. Received: {name}={value!r}")


def _positive(name: str, value: object) -> float:
    return _number(name, value, "a positive number", lambda x: x > 0)


def _non_negative(name: str, value: object) -> float:
    return _number(name, value, "a number >= 0", lambda x: x >= 0)


def _unit_closed(name: str, value: object) -> float:
    return _number(name, value, "a number in [0, 1], e.g. 0.9", lambda x: 0 <= x <= 1)


def _unit_open(name: str, value: object) -> float:
    return _number(name, value, "a number in [0, 1), e.g. 0.9", lambda x: 0 <= x < 1)


def _flag(name: str, value: object) -> bool:
    if isinstance(value, bool | np.bool_):
        return bool(value)
    raise ValueError(f"{name} must be True or False. Received: {name}={value!r}")


def _optional_positive(name: str, value: object) -> float | None:
    if value is None:
        return None
    return _number(name, value, "a positive number or None", lambda x: x > 0)


def _value_of(value: Any) -> Any:
    return value.value if isinstance(value, Variable) else value


# ------------------------------------------------------------------- base class


class Optimizer:
    """Base class: config in Python, update rule as an optax transform.

    Subclasses define `_default_name`, `_args()` (their own config entries) and
    `_rule(learning_rate)` (the Keras update rule, learning rate and sign included).
    """

    _default_name: ClassVar[str] = "optimizer"

    def __init__(
        self,
        learning_rate: float,
        *,
        clipnorm: float | None = None,
        clipvalue: float | None = None,
        global_clipnorm: float | None = None,
        name: str | None = None,
        lr: float | None = None,
    ) -> None:
        if lr is not None:
            if not isinstance(learning_rate, _Default):
                raise TypeError(
                    "Got both `learning_rate` and its Keras 1 spelling `lr`. Received: "
                    f"learning_rate={learning_rate!r}, lr={lr!r}. Pass `learning_rate` only."
                )
            # Point at the caller: one frame per __init__ in the class chain, plus this one.
            depth = sum("__init__" in vars(c) for c in type(self).__mro__[:-1])
            warnings.warn(
                "`lr` is deprecated; use `learning_rate`.", DeprecationWarning, stacklevel=depth + 1
            )
            learning_rate = _positive("lr", lr)
        self.learning_rate = learning_rate
        self.clipnorm = _optional_positive("clipnorm", clipnorm)
        self.clipvalue = _optional_positive("clipvalue", clipvalue)
        self.global_clipnorm = _optional_positive("global_clipnorm", global_clipnorm)
        if sum(c is not None for c in (clipnorm, clipvalue, global_clipnorm)) > 1:
            raise ValueError(
                "Only one of clipnorm, clipvalue and global_clipnorm can be set. Received: "
                f"clipnorm={clipnorm!r}, clipvalue={clipvalue!r}, "
                f"global_clipnorm={global_clipnorm!r}. Keep one of them."
            )
        if name is not None and not isinstance(name, str):
            raise ValueError(f"name must be a string or None. Received: name={name!r}")
        self.name: str = self._default_name if name is None else name

    @property
    def learning_rate(self) -> float:
        """The learning rate `transform()` starts from (a python float)."""
        return self._learning_rate

    @learning_rate.setter
    def learning_rate(self, value: float) -> None:
        self._learning_rate = _positive("learning_rate", value)

    def _args(self) -> dict[str, Any]:
        return {}

    def _rule(self, learning_rate: jax.Array) -> optax.GradientTransformation:
        raise NotImplementedError(f"{type(self).__name__} must define _rule(learning_rate).")

    def _clipping(self) -> optax.GradientTransformation | None:
        if self.clipnorm is not None:
            return _clip_by_norm_per_tensor(self.clipnorm)
        if self.global_clipnorm is not None:
            return optax.clip_by_global_norm(self.global_clipnorm)
        if self.clipvalue is not None:
            return optax.clip(self.clipvalue)
        return None

    def transform(self) -> optax.GradientTransformation:
        """The optax transform: clipping, then the Keras rule, learning rate in the state.

        `transform().init(params).hyperparams["learning_rate"]` is a float32 scalar;
        `set_learning_rate` replaces it without a recompile. Later changes to this
        object do not affect transforms already built.
        """
        frozen = copy.copy(self)
        clip = self._clipping()

        def factory(learning_rate: jax.Array) -> optax.GradientTransformation:
            rule = frozen._rule(learning_rate)
            return rule if clip is None else optax.chain(clip, rule)

        inject = optax.inject_hyperparams(factory, hyperparam_dtype=jnp.float32)
        return inject(learning_rate=self.learning_rate)

    def transform_key(self) -> Hashable | None:
        """What `transform()` is made from, but for the learning rate: optimizers with
        equal keys make transforms that differ at most in the learning rate their states
        start with (which `set_learning_rate` replaces), so programs built on one serve
        the other. None for optimizer classes defined outside cornu, or with attributes
        replaced by functions (their rule may read more than their config)."""
        if _CLASSES.get(type(self).__name__) is not type(self) or any(
                callable(v) for v in vars(self).values()):
            return None
        config = {k: v for k, v in self.get_config().items()
                  if k not in ("name", "learning_rate")}
        try:
            return type(self).__name__, json.dumps(config, sort_keys=True, allow_nan=True)
        except (TypeError, ValueError):
            return None

    def get_config(self) -> dict[str, Any]:
        """JSON-serialisable constructor arguments, `name` included."""
        return {
            "name": self.name,
            "learning_rate": self.learning_rate,
            **self._args(),
            "clipnorm": self.clipnorm,
            "clipvalue": self.clipvalue,
            "global_clipnorm": self.global_clipnorm,
        }

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Optimizer:
        """Rebuild from `get_config()`; also reads Keras 3 configs without extra options."""
        config = dict(config)
        accepted = inspect.signature(cls).parameters
        for key, inert in _KERAS_ONLY.items():
            if key in config and key not in accepted:
                value = config.pop(key)
                if not inert(value):
                    raise ValueError(
                        f"cornu's {cls.__name__} does not support the Keras option {key}. "
                        f"Received: {key}={value!r}. Remove it from the config"
                        + (" or use AdamW." if key == "weight_decay" else ".")
                    )
        return cls(**config)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"

    # -- Keras' object API, for hand-written loops and train_step overrides ----------------
    @property
    def built(self) -> bool:
        return self.__dict__.get("_slots") is not None

    @property
    def iterations(self) -> Variable:
        """How many updates this optimizer applied (fit, apply_gradients, stateless_apply
        results written back)."""
        if self.__dict__.get("_iterations") is None:
            self._iterations = Variable(np.zeros((), np.int32), dtype="int32",
                                        trainable=False, name="iteration")
        return self._iterations

    def build(self, variables: Sequence[Any]) -> None:
        """Make the optimizer's state for these variables (Keras' optimizer.build)."""
        values = [jnp.asarray(_value_of(v)) for v in variables]
        self._tx_built = self.transform()
        leaves, self._treedef = jax.tree.flatten(self._tx_built.init(values))
        self._slots = [Variable(leaf, dtype=leaf.dtype, trainable=False,
                                name=f"optimizer_state_{i}") for i, leaf in enumerate(leaves)]

    @property
    def variables(self) -> list[Variable]:
        """[iterations, *the optax state's arrays], after build()."""
        if not self.built:
            raise ValueError(f"Optimizer {self.name} is not built: call "
                             "optimizer.build(model.trainable_variables) first.")
        return [self.iterations, *self._slots]

    def stateless_apply(self, optimizer_variables: Sequence[Any], grads: Sequence[Any],
                        trainable_variables: Sequence[Any]) -> tuple[list, list]:
        """(new trainable values, new optimizer values): one update as a pure function of
        values in the orders of `trainable_variables` and `optimizer.variables`."""
        if not self.built:
            self.build(trainable_variables)
        values = [_value_of(v) for v in optimizer_variables]
        if len(values) != len(self._slots) + 1:
            raise ValueError(f"optimizer_variables must hold {len(self._slots) + 1} values (the "
                             f"order of optimizer.variables). Received {len(values)}.")
        state = jax.tree.unflatten(self._treedef, values[1:])
        params = [_value_of(v) for v in trainable_variables]
        updates, state = self._tx_built.update([_value_of(g) for g in grads], state, params)
        new_params = optax.apply_updates(params, updates)
        return list(new_params), [values[0] + 1, *jax.tree.leaves(state)]

    def apply(self, grads: Sequence[Any], trainable_variables: Sequence[Any] | None = None
              ) -> None:
        """Update the variables in place (eagerly), as Keras' optimizer.apply."""
        if trainable_variables is None:
            raise ValueError("apply needs trainable_variables (the variables the gradients "
                             "are for). Received: trainable_variables=None")
        trainable_variables = list(trainable_variables)
        if not self.built:
            self.build(trainable_variables)
        new_params, new_state = self.stateless_apply(
            [v.value for v in self.variables], list(grads), trainable_variables)
        for variable, value in zip(trainable_variables, new_params, strict=True):
            variable.assign(value)
        for variable, value in zip(self.variables, new_state, strict=True):
            variable.assign(value)

    def apply_gradients(self, grads_and_vars: Any) -> None:
        pairs = list(grads_and_vars)
        self.apply([g for g, _ in pairs], [v for _, v in pairs])

    def _sync_iterations(self, steps: int | None = None) -> None:
        """The fit engine's hook: `steps` updates were applied outside the variables."""
        if steps:
            self.iterations.assign(np.asarray(self.iterations.value) + int(steps))


# Keras 3 config entries cornu has no use for, and which of their values do nothing here.
_KERAS_ONLY: dict[str, Callable[[Any], bool]] = {
    "weight_decay": lambda value: not value,
    "use_ema": lambda value: not value,
    "ema_momentum": lambda value: True,
    "ema_overwrite_frequency": lambda value: True,
    "loss_scale_factor": lambda value: True,  # scales the loss, unscales the gradients
    "gradient_accumulation_steps": lambda value: value in (None, 1),
}


# ------------------------------------------------------------- Keras-exact rules


def _clip_by_norm_per_tensor(clipnorm: float) -> optax.GradientTransformation:
    """Keras `clipnorm`: each gradient g becomes g * clipnorm / max(||g||, clipnorm)."""

    def clip(g: jax.Array) -> jax.Array:
        return g * (clipnorm / jnp.maximum(jnp.sqrt(jnp.sum(g * g)), clipnorm))

    return optax.stateless_with_tree_map(lambda g, _: clip(g))


def _one_minus_pow(beta: float, t: jax.Array) -> jax.Array:
    """1 - beta**t, accurate in float32 also for beta near 1 (beta=0.999, t=1)."""
    return jnp.ones_like(t) if beta == 0 else -jnp.expm1(t * math.log(beta))


def _like(x: jax.Array, leaf: jax.Array) -> jax.Array:
    return jnp.asarray(x, dtype=leaf.dtype)


def _require_params(params: optax.Params | None, who: str) -> optax.Params:
    if params is None:
        raise ValueError(
            f"{who} applies weight decay, so it needs the parameters: "
            "call update(grads, state, params). Received: params=None"
        )
    return params


class _AdamState(NamedTuple):
    count: jax.Array
    m: optax.Updates
    v: optax.Updates
    v_max: optax.Updates  # () unless amsgrad


def _keras_adam(
    learning_rate: jax.Array,
    beta_1: float,
    beta_2: float,
    epsilon: float,
    amsgrad: bool,
    weight_decay: float = 0.0,
) -> optax.GradientTransformation:
    """Keras 3 Adam/AdamW: w -= lr*w*wd; w -= lr*sqrt(1-b2^t)/(1-b1^t) * m/(sqrt(v)+eps)."""

    def init(params: optax.Params) -> _AdamState:
        zeros = optax.tree.zeros_like(params)
        return _AdamState(jnp.zeros([], jnp.int32), zeros, zeros, zeros if amsgrad else ())

    def update(
        grads: optax.Updates, state: _AdamState, params: optax.Params | None = None
    ) -> tuple[optax.Updates, _AdamState]:
        count = optax.safe_increment(state.count)
        t = count.astype(jnp.float32)
        m = jax.tree.map(lambda m, g: m + (g - m) * (1 - beta_1), state.m, grads)
        v = jax.tree.map(lambda v, g: v + (g * g - v) * (1 - beta_2), state.v, grads)
        v_max = jax.tree.map(jnp.maximum, state.v_max, v) if amsgrad else ()
        alpha = learning_rate * jnp.sqrt(_one_minus_pow(beta_2, t)) / _one_minus_pow(beta_1, t)
        updates = jax.tree.map(
            lambda m, v: -_like(alpha, m) * m / (jnp.sqrt(v) + epsilon),
            m,
            v_max if amsgrad else v,
        )
        if weight_decay:
            decay = learning_rate * weight_decay
            params = _require_params(params, "AdamW")
            updates = jax.tree.map(lambda u, p: u - _like(decay, p) * p, updates, params)
        return updates, _AdamState(count, m, v, v_max)

    return optax.GradientTransformation(init, update)


class _AdamaxState(NamedTuple):
    count: jax.Array
    m: optax.Updates
    u: optax.Updates


def _keras_adamax(
    learning_rate: jax.Array, beta_1: float, beta_2: float, epsilon: float
) -> optax.GradientTransformation:
    """Keras 3 Adamax: u = max(b2*u, |g|); w -= lr/(1-b1^t) * m/(u+eps)."""

    def init(params: optax.Params) -> _AdamaxState:
        zeros = optax.tree.zeros_like(params)
        return _AdamaxState(jnp.zeros([], jnp.int32), zeros, zeros)

    def update(
        grads: optax.Updates, state: _AdamaxState, params: optax.Params | None = None
    ) -> tuple[optax.Updates, _AdamaxState]:
        count = optax.safe_increment(state.count)
        m = jax.tree.map(lambda m, g: m + (g - m) * (1 - beta_1), state.m, grads)
        u = jax.tree.map(lambda u, g: jnp.maximum(beta_2 * u, jnp.abs(g)), state.u, grads)
        step = learning_rate / _one_minus_pow(beta_1, count.astype(jnp.float32))
        updates = jax.tree.map(lambda m, u: -_like(step, m) * m / (u + epsilon), m, u)
        return updates, _AdamaxState(count, m, u)

    return optax.GradientTransformation(init, update)


class _NadamState(NamedTuple):
    count: jax.Array
    m: optax.Updates
    v: optax.Updates
    u_product: jax.Array  # product of the momentum schedule u_1 ... u_t


def _keras_nadam(
    learning_rate: jax.Array, beta_1: float, beta_2: float, epsilon: float
) -> optax.GradientTransformation:
    """Keras 3 Nadam, with the momentum schedule u_t = b1 * (1 - 0.5 * 0.96^t)."""

    def init(params: optax.Params) -> _NadamState:
        zeros = optax.tree.zeros_like(params)
        return _NadamState(jnp.zeros([], jnp.int32), zeros, zeros, jnp.ones([], jnp.float32))

    def update(
        grads: optax.Updates, state: _NadamState, params: optax.Params | None = None
    ) -> tuple[optax.Updates, _NadamState]:
        count = optax.safe_increment(state.count)
        t = count.astype(jnp.float32)
        u_t = beta_1 * (1 - 0.5 * 0.96**t)
        u_next = beta_1 * (1 - 0.5 * 0.96 ** (t + 1))
        u_product = state.u_product * u_t
        u_product_next = u_product * u_next
        v_correction = _one_minus_pow(beta_2, t)
        m = jax.tree.map(lambda m, g: m + (g - m) * (1 - beta_1), state.m, grads)
        v = jax.tree.map(lambda v, g: v + (g * g - v) * (1 - beta_2), state.v, grads)

        def step(m: jax.Array, v: jax.Array, g: jax.Array) -> jax.Array:
            m_hat = (
                _like(u_next / (1 - u_product_next), m) * m
                + _like((1 - u_t) / (1 - u_product), g) * g
            )
            v_hat = v / _like(v_correction, v)
            return -_like(learning_rate, m) * m_hat / (jnp.sqrt(v_hat) + epsilon)

        updates = jax.tree.map(step, m, v, grads)
        return updates, _NadamState(count, m, v, u_product)

    return optax.GradientTransformation(init, update)


# ------------------------------------------------------------------- optimizers


class SGD(Optimizer):
    """Gradient descent, with optional (Nesterov) momentum, as in Keras 3.

    `velocity = momentum * velocity - learning_rate * g`, then `w += velocity`
    (Nesterov: `w += momentum * velocity - learning_rate * g`). The learning rate
    sits inside the velocity, as in Keras, also when it changes during training.
    """

    _default_name = "SGD"

    def __init__(
        self,
        learning_rate: float = _Default(0.01),
        momentum: float = 0.0,
        nesterov: bool = False,
        *,
        clipnorm: float | None = None,
        clipvalue: float | None = None,
        global_clipnorm: float | None = None,
        name: str | None = None,
        lr: float | None = None,
    ) -> None:
        super().__init__(
            learning_rate,
            clipnorm=clipnorm,
            clipvalue=clipvalue,
            global_clipnorm=global_clipnorm,
            name=name,
            lr=lr,
        )
        self.momentum = _unit_closed("momentum", momentum)
        self.nesterov = _flag("nesterov", nesterov)

    def _args(self) -> dict[str, Any]:
        return {"momentum": self.momentum, "nesterov": self.nesterov}

    def _rule(self, learning_rate: jax.Array) -> optax.GradientTransformation:
        # optax.trace after the learning-rate scale holds exactly Keras' velocity.
        steps = [optax.scale_by_learning_rate(learning_rate)]
        if self.momentum:
            steps.append(optax.trace(decay=self.momentum, nesterov=self.nesterov))
        return optax.chain(*steps)


class RMSprop(Optimizer):
    """RMSprop as in Keras 3: `w -= lr * g / sqrt(v + epsilon)`, epsilon inside the sqrt.

    `centered=True` uses `v - mean(g)^2`; `momentum > 0` accumulates the steps.
    """

    _default_name = "rmsprop"

    def __init__(
        self,
        learning_rate: float = _Default(0.001),
        rho: float = 0.9,
        momentum: float = 0.0,
        epsilon: float = 1e-7,
        centered: bool = False,
        *,
        clipnorm: float | None = None,
        clipvalue: float | None = None,
        global_clipnorm: float | None = None,
        name: str | None = None,
        lr: float | None = None,
    ) -> None:
        super().__init__(
            learning_rate,
            clipnorm=clipnorm,
            clipvalue=clipvalue,
            global_clipnorm=global_clipnorm,
            name=name,
            lr=lr,
        )
        self.rho = _unit_open("rho", rho)
        self.momentum = _unit_closed("momentum", momentum)
        self.epsilon = _non_negative("epsilon", epsilon)
        self.centered = _flag("centered", centered)

    def _args(self) -> dict[str, Any]:
        return {
            "rho": self.rho,
            "momentum": self.momentum,
            "epsilon": self.epsilon,
            "centered": self.centered,
        }

    def _rule(self, learning_rate: jax.Array) -> optax.GradientTransformation:
        scale = optax.scale_by_stddev if self.centered else optax.scale_by_rms
        steps = [
            scale(decay=self.rho, eps=self.epsilon, eps_in_sqrt=True),
            optax.scale_by_learning_rate(learning_rate),
        ]
        if self.momentum:
            steps.append(optax.trace(decay=self.momentum))
        return optax.chain(*steps)


class Adagrad(Optimizer):
    """Adagrad as in Keras 3: `acc += g^2; w -= lr * g / sqrt(acc + epsilon)`."""

    _default_name = "adagrad"

    def __init__(
        self,
        learning_rate: float = _Default(0.001),
        initial_accumulator_value: float = 0.1,
        epsilon: float = 1e-7,
        *,
        clipnorm: float | None = None,
        clipvalue: float | None = None,
        global_clipnorm: float | None = None,
        name: str | None = None,
        lr: float | None = None,
    ) -> None:
        super().__init__(
            learning_rate,
            clipnorm=clipnorm,
            clipvalue=clipvalue,
            global_clipnorm=global_clipnorm,
            name=name,
            lr=lr,
        )
        self.initial_accumulator_value = _non_negative(
            "initial_accumulator_value", initial_accumulator_value
        )
        self.epsilon = _non_negative("epsilon", epsilon)

    def _args(self) -> dict[str, Any]:
        return {
            "initial_accumulator_value": self.initial_accumulator_value,
            "epsilon": self.epsilon,
        }

    def _rule(self, learning_rate: jax.Array) -> optax.GradientTransformation:
        return optax.chain(
            optax.scale_by_rss(self.initial_accumulator_value, eps=self.epsilon),
            optax.scale_by_learning_rate(learning_rate),
        )


class Adadelta(Optimizer):
    """Adadelta as in Keras 3 (epsilon inside both square roots), scaled by the rate."""

    _default_name = "adadelta"

    def __init__(
        self,
        learning_rate: float = _Default(0.001),
        rho: float = 0.95,
        epsilon: float = 1e-7,
        *,
        clipnorm: float | None = None,
        clipvalue: float | None = None,
        global_clipnorm: float | None = None,
        name: str | None = None,
        lr: float | None = None,
    ) -> None:
        super().__init__(
            learning_rate,
            clipnorm=clipnorm,
            clipvalue=clipvalue,
            global_clipnorm=global_clipnorm,
            name=name,
            lr=lr,
        )
        self.rho = _unit_open("rho", rho)
        self.epsilon = _non_negative("epsilon", epsilon)

    def _args(self) -> dict[str, Any]:
        return {"rho": self.rho, "epsilon": self.epsilon}

    def _rule(self, learning_rate: jax.Array) -> optax.GradientTransformation:
        return optax.chain(
            optax.scale_by_adadelta(rho=self.rho, eps=self.epsilon),
            optax.scale_by_learning_rate(learning_rate),
        )


class Adam(Optimizer):
    """Adam as in Keras 3: epsilon outside a bias-corrected square root.

    `w -= lr * sqrt(1 - b2^t) / (1 - b1^t) * m / (sqrt(v) + epsilon)`; `amsgrad=True`
    uses the running maximum of `v`. (optax.adam adds epsilon to the corrected
    `sqrt(v_hat)`, a slightly different rule.)
    """

    _default_name = "adam"

    def __init__(
        self,
        learning_rate: float = _Default(0.001),
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-7,
        amsgrad: bool = False,
        *,
        clipnorm: float | None = None,
        clipvalue: float | None = None,
        global_clipnorm: float | None = None,
        name: str | None = None,
        lr: float | None = None,
    ) -> None:
        super().__init__(
            learning_rate,
            clipnorm=clipnorm,
            clipvalue=clipvalue,
            global_clipnorm=global_clipnorm,
            name=name,
            lr=lr,
        )
        self.beta_1 = _unit_open("beta_1", beta_1)
        self.beta_2 = _unit_open("beta_2", beta_2)
        self.epsilon = _non_negative("epsilon", epsilon)
        self.amsgrad = _flag("amsgrad", amsgrad)

    def _args(self) -> dict[str, Any]:
        return {
            "beta_1": self.beta_1,
            "beta_2": self.beta_2,
            "epsilon": self.epsilon,
            "amsgrad": self.amsgrad,
        }

    def _rule(self, learning_rate: jax.Array) -> optax.GradientTransformation:
        return _keras_adam(learning_rate, self.beta_1, self.beta_2, self.epsilon, self.amsgrad)


class AdamW(Adam):
    """Adam with Keras 3's decoupled weight decay: `w -= lr * weight_decay * w` first.

    The update needs the parameters: `tx.update(grads, state, params)`.
    """

    _default_name = "adamw"

    def __init__(
        self,
        learning_rate: float = _Default(0.001),
        weight_decay: float = 0.004,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-7,
        amsgrad: bool = False,
        *,
        clipnorm: float | None = None,
        clipvalue: float | None = None,
        global_clipnorm: float | None = None,
        name: str | None = None,
        lr: float | None = None,
    ) -> None:
        super().__init__(
            learning_rate,
            beta_1,
            beta_2,
            epsilon,
            amsgrad,
            clipnorm=clipnorm,
            clipvalue=clipvalue,
            global_clipnorm=global_clipnorm,
            name=name,
            lr=lr,
        )
        self.weight_decay = _non_negative("weight_decay", weight_decay)

    def _args(self) -> dict[str, Any]:
        return {"weight_decay": self.weight_decay, **super()._args()}

    def _rule(self, learning_rate: jax.Array) -> optax.GradientTransformation:
        return _keras_adam(
            learning_rate,
            self.beta_1,
            self.beta_2,
            self.epsilon,
            self.amsgrad,
            weight_decay=self.weight_decay,
        )


class _AdamLike(Optimizer):
    """Shared constructor of Adamax and Nadam: learning_rate, beta_1, beta_2, epsilon."""

    def __init__(
        self,
        learning_rate: float = _Default(0.001),
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-7,
        *,
        clipnorm: float | None = None,
        clipvalue: float | None = None,
        global_clipnorm: float | None = None,
        name: str | None = None,
        lr: float | None = None,
    ) -> None:
        super().__init__(
            learning_rate,
            clipnorm=clipnorm,
            clipvalue=clipvalue,
            global_clipnorm=global_clipnorm,
            name=name,
            lr=lr,
        )
        self.beta_1 = _unit_open("beta_1", beta_1)
        self.beta_2 = _unit_open("beta_2", beta_2)
        self.epsilon = _non_negative("epsilon", epsilon)

    def _args(self) -> dict[str, Any]:
        return {"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon}


class Adamax(_AdamLike):
    """Adamax as in Keras 3: `u = max(b2*u, |g|); w -= lr/(1-b1^t) * m/(u+epsilon)`."""

    _default_name = "adamax"

    def _rule(self, learning_rate: jax.Array) -> optax.GradientTransformation:
        return _keras_adamax(learning_rate, self.beta_1, self.beta_2, self.epsilon)


class Nadam(_AdamLike):
    """Nadam as in Keras 3 (Dozat's momentum schedule u_t = b1 * (1 - 0.5 * 0.96^t))."""

    _default_name = "nadam"

    def _rule(self, learning_rate: jax.Array) -> optax.GradientTransformation:
        return _keras_nadam(learning_rate, self.beta_1, self.beta_2, self.epsilon)


# ------------------------------------------------------------ state and lookup


def _hyperparams(opt_state: Any) -> Mapping[str, Any]:
    hyperparams = getattr(opt_state, "hyperparams", None)
    if not isinstance(hyperparams, Mapping) or "learning_rate" not in hyperparams:
        raise TypeError(
            "opt_state must be the state made by Optimizer.transform().init(params), "
            "which holds hyperparams['learning_rate']. "
            f"Received: opt_state of type {type(opt_state).__name__}"
        )
    return hyperparams


def set_learning_rate(opt_state: Any, value: float) -> Any:
    """A copy of `opt_state` with the learning rate replaced (same dtype and shape).

    The jitted training step takes the new value as data, so nothing recompiles.
    """
    hyperparams = _hyperparams(opt_state)
    old = jnp.asarray(hyperparams["learning_rate"])
    # made on the host: a jnp.full would compile a small program in the first epoch
    new = jax.device_put(np.full(old.shape, _positive("learning_rate", value), old.dtype))
    return opt_state._replace(hyperparams={**hyperparams, "learning_rate": new})


def get_learning_rate(opt_state: Any) -> float:
    """The learning rate held in `opt_state`, as a python float."""
    return float(_hyperparams(opt_state)["learning_rate"])


_CLASSES: dict[str, type[Optimizer]] = {
    cls.__name__: cls for cls in (SGD, RMSprop, Adagrad, Adadelta, Adam, AdamW, Adamax, Nadam)
}
# Class names, then the lowercase names (listed last, so error messages show them).
_TABLE: dict[str, type[Optimizer]] = {
    **_CLASSES,
    **{cls._default_name.lower(): cls for cls in _CLASSES.values()},
}


def get(identifier: str | Optimizer | Mapping[str, Any]) -> Optimizer:
    """An optimizer from a name ("adam", "RMS prop"), a `serialize` dict, or an instance.

    A name gives a new optimizer with Keras' defaults; an instance comes back as is.
    """
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, str):
        return _names.lookup("optimizer", "optimizer", identifier, _TABLE)()
    if isinstance(identifier, Mapping):
        return deserialize(identifier)
    raise TypeError(
        "optimizer must be a name such as 'adam' or an optimizer object such as "
        f"cornu.optimizers.Adam(learning_rate=1e-3). Received: optimizer={identifier!r} "
        f"(of type {type(identifier).__name__})"
    )


def serialize(opt: Optimizer) -> dict[str, Any]:
    """`{"class_name": "Adam", "config": {...}}`, JSON-serialisable."""
    if not isinstance(opt, Optimizer):
        raise TypeError(
            f"serialize needs a cornu optimizer. Received: opt={opt!r} "
            f"(of type {type(opt).__name__})"
        )
    return {"class_name": type(opt).__name__, "config": opt.get_config()}


def deserialize(config: Mapping[str, Any]) -> Optimizer:
    """Inverse of `serialize`; knows only this module's optimizer classes."""
    if not isinstance(config, Mapping) or "class_name" not in config:
        raise ValueError(
            'deserialize needs a dict like {"class_name": "Adam", "config": {...}}. '
            f"Received: config={config!r}"
        )
    class_name = config["class_name"]
    by_norm = {_names.normalize(name): cls for name, cls in _CLASSES.items()}
    cls = by_norm.get(_names.normalize(class_name)) if isinstance(class_name, str) else None
    if cls is None:
        raise ValueError(
            f"Unknown optimizer class: class_name={class_name!r}. "
            f"Known classes: {', '.join(sorted(_CLASSES))}."
        )
    return cls.from_config(config.get("config") or {})
