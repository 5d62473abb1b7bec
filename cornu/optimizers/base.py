"""The optimizer base class: Keras' config and object API over an optax transform.

`Optimizer` keeps its configuration in Python and makes an optax transform with
`transform()`; the training engine compiles that transform. For hand-written loops it
also has Keras 3's object API, on the same transform: `build(variables)` makes the
transform's state as non-trainable cornu Variables (`optimizer.variables`, with
`optimizer.iterations` counting updates), `stateless_apply` is the pure update on their
values, and `apply` / `apply_gradients` assign the Variables.
"""

from __future__ import annotations

import copy
import inspect
import json
import sys
import warnings
from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import Any, ClassVar

import jax
import jax.numpy as jnp
import numpy as np
import optax

from cornu import devices
from cornu.optimizers import _rules, schedules
from cornu.optimizers._checks import Default, number
from cornu.variables import Variable

# The optimizer classes cornu ships (catalog.py fills it): transform_key trusts their configs.
BUILTIN: dict[str, type[Optimizer]] = {}

LearningRate = float | schedules.LearningRateSchedule | Callable[..., Any]

_SCHEDULE_IS_FIXED = (
    "This optimizer was created with a `LearningRateSchedule` object (or a function) as its "
    "`learning_rate` constructor argument, hence its learning rate is not settable. If you "
    "need the learning rate to be settable, you should instantiate the optimizer with a "
    "float `learning_rate` argument."
)


def _rate_function(rate: Callable[..., Any]) -> Callable[[Any], Any]:
    """`step -> rate`. A schedule takes the step; so does a plain function taking one
    argument. A function taking none is called without it (Keras' spelling)."""
    if isinstance(rate, schedules.LearningRateSchedule):
        return rate
    try:
        inspect.signature(rate).bind(0)
    except TypeError:
        return lambda step: rate()
    except ValueError:  # no signature (a builtin): assume it takes the step
        pass
    return rate


def _learning_rate_argument(name: str, value: object) -> LearningRate:
    if isinstance(value, schedules.LearningRateSchedule) or (
            callable(value) and not isinstance(value, type)):
        return value  # type: ignore[return-value]
    return number(name, value)  # type: ignore[return-value]


def _caller_level(obj: object) -> int:
    """The warnings stacklevel of the code that made `obj`: above the __init__ frames of
    its class chain (each subclass's, however many) and the caller of this function."""
    frame, level = sys._getframe(2), 2
    while frame is not None and frame.f_code.co_name == "__init__" \
            and frame.f_locals.get("self") is obj:
        frame, level = frame.f_back, level + 1
    return level


def _value(x: Any) -> Any:
    return x.value if isinstance(x, Variable) else x


class Optimizer:
    """Base class: config in Python, update rule as an optax transform.

    Subclasses define `_default_name`, `_args()` (their own config entries) and
    `_rule(learning_rate)` (the Keras update rule, learning rate and sign included).

    `learning_rate` is a positive float, a `schedules.LearningRateSchedule`, or a function
    of the step count (`step -> rate`, jnp code); with the latter two the rate is computed
    inside the compiled update at every step.
    """

    _default_name: ClassVar[str] = "optimizer"

    def __init__(
        self,
        learning_rate: LearningRate,
        *,
        clipnorm: float | None = None,
        clipvalue: float | None = None,
        global_clipnorm: float | None = None,
        name: str | None = None,
        lr: float | None = None,
    ) -> None:
        if lr is not None:
            if not isinstance(learning_rate, Default):
                raise TypeError(
                    "Got both `learning_rate` and its Keras 1 spelling `lr`. Received: "
                    f"learning_rate={learning_rate!r}, lr={lr!r}. Pass `learning_rate` only."
                )
            warnings.warn("`lr` is deprecated; use `learning_rate`.", DeprecationWarning,
                          stacklevel=_caller_level(self))
            learning_rate = number("lr", lr)  # type: ignore[assignment]
        self._learning_rate: LearningRate = _learning_rate_argument(
            "learning_rate", learning_rate)
        self.clipnorm = number("clipnorm", clipnorm, optional=True)
        self.clipvalue = number("clipvalue", clipvalue, optional=True)
        self.global_clipnorm = number("global_clipnorm", global_clipnorm, optional=True)
        if sum(c is not None for c in (clipnorm, clipvalue, global_clipnorm)) > 1:
            raise ValueError(
                "Only one of clipnorm, clipvalue and global_clipnorm can be set. Received: "
                f"clipnorm={clipnorm!r}, clipvalue={clipvalue!r}, "
                f"global_clipnorm={global_clipnorm!r}. Keep one of them."
            )
        if name is not None and not isinstance(name, str):
            raise ValueError(f"name must be a string or None. Received: name={name!r}")
        self.name: str = self._default_name if name is None else name
        # Keras' object API (build, variables, stateless_apply, apply); see build()
        self.built = False
        self._iterations: Variable | None = None
        self._variables: list[Variable] = []
        self._trainable_variables: list[Any] = []
        self._learning_rate_variable: Variable | None = None
        self._built_transform: optax.GradientTransformation | None = None
        self._treedef: Any = None

    # -- learning rate --------------------------------------------------------------------
    @property
    def learning_rate(self) -> float:
        """The current learning rate, a python float: the float this optimizer was given,
        or with a schedule its value at `iterations` (the rate of the next update)."""
        rate = self._learning_rate
        if isinstance(rate, float):
            return rate
        return float(_rate_function(rate)(self.iterations.value))

    @learning_rate.setter
    def learning_rate(self, value: LearningRate) -> None:
        value = _learning_rate_argument("learning_rate", value)
        was_float = isinstance(self._learning_rate, float)
        if not isinstance(value, float):
            if self.built:
                raise TypeError(
                    f"{self.name} is built: its state and update were made for its learning "
                    f"rate {self._learning_rate!r}. Received: learning_rate={value!r}. Make a "
                    "new optimizer with the schedule (before compile or build).")
            self._learning_rate = value
            return
        if not was_float:
            raise TypeError(_SCHEDULE_IS_FIXED)
        self._learning_rate = value
        if self._learning_rate_variable is not None:
            self._learning_rate_variable.assign(np.float32(value))

    @property
    def _scheduled(self) -> bool:
        """Whether the learning rate is a schedule (or function) of the step count: the
        update computes it, so it cannot be set (fit, callbacks and backups leave it)."""
        return not isinstance(self._learning_rate, float)

    def _args(self) -> dict[str, Any]:
        return {}

    def _rule(self, learning_rate: jax.Array) -> optax.GradientTransformation:
        raise NotImplementedError(f"{type(self).__name__} must define _rule(learning_rate).")

    def _clipping(self) -> optax.GradientTransformation | None:
        if self.clipnorm is not None:
            return _rules.clip_by_norm_per_tensor(self.clipnorm)
        if self.global_clipnorm is not None:
            return optax.clip_by_global_norm(self.global_clipnorm)
        if self.clipvalue is not None:
            return optax.clip(self.clipvalue)
        return None

    def transform(self) -> optax.GradientTransformation:
        """The optax transform: clipping, then the Keras rule, learning rate in the state.

        With a float learning rate, `transform().init(params).hyperparams["learning_rate"]`
        is a float32 scalar that `set_learning_rate` replaces without a recompile. With a
        schedule (or function) the update computes the rate from the state's step count
        (`ScheduledState`). Later changes to this object do not affect transforms already
        built.
        """
        frozen = copy.copy(self)
        clip = self._clipping()

        def factory(learning_rate: jax.Array) -> optax.GradientTransformation:
            rule = frozen._rule(learning_rate)
            return rule if clip is None else optax.chain(clip, rule)

        rate = self._learning_rate
        return _rules.inject_learning_rate(
            factory, rate if isinstance(rate, float) else _rate_function(rate))

    def transform_key(self) -> Hashable | None:
        """What `transform()` is made from, but for a float learning rate: optimizers with
        equal keys make transforms that differ at most in the learning rate their states
        start with (which `set_learning_rate` replaces), so programs built on one serve
        the other. A built-in schedule is part of the key. None for optimizer classes
        defined outside cornu, for a learning rate that is a function or another schedule
        class, or with attributes replaced by functions (their rule may read more than
        their config)."""
        rate = self._learning_rate
        if BUILTIN.get(type(self).__name__) is not type(self) or any(
                callable(v) for k, v in vars(self).items() if k != "_learning_rate"):
            return None
        if not isinstance(rate, float) and not schedules.is_builtin(rate):
            return None
        skip = ("name", "learning_rate") if isinstance(rate, float) else ("name",)
        config = {k: v for k, v in self.get_config().items() if k not in skip}
        try:
            return type(self).__name__, json.dumps(config, sort_keys=True, allow_nan=True)
        except (TypeError, ValueError):
            return None

    # -- config ---------------------------------------------------------------------------
    def get_config(self) -> dict[str, Any]:
        """Constructor arguments, `name` included; JSON-serialisable when the learning
        rate is a float (as is) or a built-in schedule (as `schedules.serialize` gives it).
        Another schedule or a function stays the object itself (`serialize` refuses it)."""
        rate = self._learning_rate
        if schedules.is_builtin(rate):
            rate = schedules.serialize(rate)  # type: ignore[arg-type]
        return {
            "name": self.name,
            "learning_rate": rate,
            **self._args(),
            "clipnorm": self.clipnorm,
            "clipvalue": self.clipvalue,
            "global_clipnorm": self.global_clipnorm,
        }

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Optimizer:
        """Rebuild from `get_config()`; also reads Keras 3 configs without extra options
        (a learning-rate schedule among them, if it is one of cornu's built-ins)."""
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
        if isinstance(config.get("learning_rate"), Mapping):
            config["learning_rate"] = schedules.deserialize(config["learning_rate"])
        return cls(**config)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"

    # -- Keras' object API: variables, build, stateless_apply, apply -----------------------
    @property
    def iterations(self) -> Variable:
        """The number of updates made, an int32 Variable (Keras' `optimizer.iterations`).

        `apply` and the values `stateless_apply` returns advance it; after `model.fit`
        the engine sets it with `_sync_iterations`."""
        if self._iterations is None:
            self._iterations = Variable(np.int32(0), dtype="int32", trainable=False,
                                        name="iteration")
        return self._iterations

    @property
    def variables(self) -> list[Variable]:
        """The optimizer's state as Variables, in the order `stateless_apply` takes their
        values: the leaves of `transform().init(params)`, `iterations` first. Empty
        before `build`."""
        return list(self._variables)

    def build(self, variables: Sequence[Any]) -> None:
        """Make the optimizer's state for these trainable variables (cornu Variables, or
        arrays for `stateless_apply` only), as non-trainable Variables.

        The step count starts at the current `iterations`; building again starts the
        other state afresh."""
        variables = list(variables)
        values = [jnp.asarray(_value(v)) for v in variables]
        tx = self.transform()
        state = tx.init(values)
        leaves, treedef = jax.tree_util.tree_flatten_with_path(state)
        made: list[Variable] = []
        self._learning_rate_variable = None
        for path, leaf in leaves:
            keys = [_key_name(k) for k in path]
            if keys == ["count"]:
                made.append(self.iterations)
                continue
            variable = Variable(leaf, dtype=leaf.dtype, trainable=False,
                                name=_slot_name(keys, variables))
            if keys == ["hyperparams", "learning_rate"] and isinstance(
                    self._learning_rate, float):
                self._learning_rate_variable = variable
            made.append(variable)
        self._variables = made
        self._trainable_variables = variables
        self._built_transform, self._treedef = tx, treedef
        self.built = True

    def stateless_apply(self, optimizer_variables: Sequence[Any], grads: Sequence[Any],
                        trainable_variables: Sequence[Any]) -> tuple[list[Any], list[Any]]:
        """One update as a pure function of values, for `jax.jit` loops (Keras' API):
        `(new trainable values, new optimizer values)` from the values of
        `optimizer.variables`, the gradients and the values of the variables `build`
        was given (each list in that order). The same transform as `model.fit`'s, so the
        same numbers; the variables' constraints apply after the update."""
        if not self.built:
            raise ValueError(
                f"To call `stateless_apply`, {type(self).__name__} must be built (i.e. its "
                "variables must have been created). You can build it via "
                "`optimizer.build(trainable_variables)`.")
        optimizer_variables, grads = list(optimizer_variables), list(grads)
        trainable_variables = list(trainable_variables)
        expected = len(self._trainable_variables)
        if len(optimizer_variables) != len(self._variables):
            raise ValueError(
                "optimizer_variables must hold one value per entry of optimizer.variables "
                f"({len(self._variables)}). Received {len(optimizer_variables)} values.")
        if len(trainable_variables) != expected or len(grads) != expected:
            raise ValueError(
                "grads and trainable_variables must hold one entry per variable the "
                f"optimizer was built with ({expected}). Received {len(grads)} gradients "
                f"and {len(trainable_variables)} values.")
        missing = [i for i, g in enumerate(grads) if g is None]
        if missing:
            raise ValueError(
                f"grads[{missing[0]}] is None: every variable the optimizer was built with "
                "needs a gradient. Build the optimizer on the variables you train.")
        assert self._built_transform is not None
        state = jax.tree.unflatten(self._treedef, [_value(v) for v in optimizer_variables])
        params = [_value(v) for v in trainable_variables]
        updates, state = self._built_transform.update([_value(g) for g in grads], state, params)
        new = optax.apply_updates(params, updates)
        for i, variable in enumerate(self._trainable_variables):
            constraint = getattr(variable, "constraint", None)
            if constraint is not None:
                new[i] = constraint(new[i])
        return list(new), jax.tree.leaves(state)

    def apply(self, grads: Sequence[Any], trainable_variables: Sequence[Any] | None = None
              ) -> None:
        """Update the variables with the gradients (eagerly, or inside a StatelessScope):
        builds the optimizer on `trainable_variables` the first time; later calls take
        the same variables, in any order, or none (then `grads` follow the built order)."""
        grads = list(grads)
        if not grads:
            return
        if trainable_variables is None:
            if not self.built:
                raise ValueError(
                    "When passing `grads` without `variables`, the optimizer must already be "
                    "built on a list of variables. Call `optimizer.build(trainable_variables)` "
                    "first.")
            ordered = grads
        else:
            variables = list(trainable_variables)
            if len(variables) != len(grads):
                raise ValueError(f"apply received {len(grads)} gradients for "
                                 f"{len(variables)} variables; pass one gradient per variable.")
            if not self.built:
                self.build(variables)
            ordered = self._in_built_order(grads, variables)
        if not all(isinstance(v, Variable) for v in self._trainable_variables):
            raise ValueError("apply assigns Variables, but this optimizer was built from "
                             "arrays: use stateless_apply, or build it on cornu Variables.")
        new_values, new_state = self.stateless_apply(
            [v.value for v in self._variables], ordered,
            [v.value for v in self._trainable_variables])
        for variable, value in zip(self._trainable_variables, new_values, strict=True):
            variable.assign(value)
        for variable, value in zip(self._variables, new_state, strict=True):
            variable.assign(value)

    def apply_gradients(self, grads_and_vars: Sequence[tuple[Any, Any]]) -> Variable:
        """`apply` for `[(gradient, variable), ...]`; returns `iterations` (as Keras)."""
        pairs = list(grads_and_vars)
        if pairs:
            grads, variables = zip(*pairs, strict=True)
            self.apply(list(grads), list(variables))
        return self.iterations

    def _in_built_order(self, grads: list[Any], variables: list[Any]) -> list[Any]:
        index = {id(v): i for i, v in enumerate(self._trainable_variables)}
        ordered: list[Any] = [None] * len(self._trainable_variables)
        for grad, variable in zip(grads, variables, strict=True):
            i = index.get(id(variable))
            if i is None:
                raise ValueError(
                    f"Unknown variable: {variable!r}. This optimizer can only be called for "
                    "the variables it was originally built with. When working with a new "
                    "set of variables, you should recreate a new optimizer instance.")
            ordered[i] = grad
        if any(g is None for g in ordered):
            raise ValueError(
                f"apply needs a gradient for each of the {len(ordered)} variables the "
                f"optimizer was built with. Received {len(grads)}.")
        return ordered

    def _sync_iterations(self, count: Any = None) -> None:
        """Engine hook: bring `iterations` up to date after `model.fit`.

        `count`: the fit's optimizer state made by `transform()` (its step count is read,
        one small host transfer: fit calls this once, at its end), an int or a scalar
        array (the number of updates made), or None when the updates were written into
        `variables` already (the step protocol's fit), which leaves `iterations` as it
        is. Only the count changes; a built optimizer's other Variables keep their
        values."""
        if count is None:
            return
        if hasattr(count, "hyperparams"):
            count = count.count
        self.iterations.assign(np.int32(int(np.asarray(jax.device_get(count)))))


# Keras 3 config entries cornu has no use for, and which of their values do nothing here.
_KERAS_ONLY: dict[str, Callable[[Any], bool]] = {
    "weight_decay": lambda value: not value,
    "use_ema": lambda value: not value,
    "ema_momentum": lambda value: True,
    "ema_overwrite_frequency": lambda value: True,
    "loss_scale_factor": lambda value: True,  # scales the loss, unscales the gradients
    "gradient_accumulation_steps": lambda value: value in (None, 1),
}


# Keras' slot names for optax's (the Variable names say what each slot holds)
_SLOT_NAMES = {"trace": "momentum", "m": "momentum", "mu": "average_gradient",
               "nu": "velocity", "v": "velocity", "v_max": "velocity_hat", "u": "norm",
               "sum_of_squares": "accumulator", "e_g": "accumulated_grad",
               "e_x": "accumulated_delta_var"}


def _key_name(key: Any) -> str:
    for attribute in ("name", "key", "idx"):  # GetAttrKey, DictKey, SequenceKey
        if hasattr(key, attribute):
            return str(getattr(key, attribute))
    return str(key)


def _slot_name(keys: list[str], variables: list[Any]) -> str:
    """`dense_kernel_momentum` for a slot of variable `dense/kernel`, else the state path
    (`inner_state_u_product`, `learning_rate`)."""
    if len(keys) >= 2 and keys[-1].isdigit() and int(keys[-1]) < len(variables):
        owner = variables[int(keys[-1])]
        owner_name = getattr(owner, "path", None) or f"variable_{keys[-1]}"
        slot = _SLOT_NAMES.get(keys[-2], keys[-2])
        return f"{owner_name.replace('/', '_')}_{slot}"
    if keys[:1] == ["hyperparams"]:
        keys = keys[1:]
    return "_".join(keys) or "state"


# ------------------------------------------------------------ the transform's state


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

    The jitted training step takes the new value as data, so nothing recompiles. A state
    whose rate follows a schedule (`ScheduledState`) comes back unchanged: each update
    computes its rate from the step count.
    """
    hyperparams = _hyperparams(opt_state)
    if isinstance(opt_state, _rules.ScheduledState):
        return opt_state
    old = jnp.asarray(hyperparams["learning_rate"])
    # made on the host: a jnp.full would compile a small program in the first epoch
    new = devices.put_like(np.full(old.shape, number("learning_rate", value), old.dtype), old)
    return opt_state._replace(hyperparams={**hyperparams, "learning_rate": new})


def get_learning_rate(opt_state: Any) -> float:
    """The learning rate held in `opt_state`, as a python float (with a schedule: the
    rate of the last update, `schedule(0)` before the first)."""
    return float(_hyperparams(opt_state)["learning_rate"])


def set_iterations(opt_state: Any, count: int) -> Any:
    """A copy of `opt_state` whose step count is `count` (made on the host, so nothing
    compiles): fit starts a new state at `optimizer.iterations`, so that a schedule goes
    on from there, as the optimizer's own update would."""
    _hyperparams(opt_state)
    old = jnp.asarray(opt_state.count)
    return opt_state._replace(count=devices.put_like(np.asarray(count, old.dtype), old))


def get_iterations(opt_state: Any) -> int:
    """The number of updates made with `opt_state` (its step count), as a python int."""
    _hyperparams(opt_state)
    return int(jax.device_get(opt_state.count))
