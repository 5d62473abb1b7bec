"""Learning-rate schedules: Keras 3's `keras.optimizers.schedules`, in jit-friendly jnp.

A schedule maps the optimizer's step count (the number of updates made so far) to a
learning rate. Pass one as an optimizer's `learning_rate`; the rate is then computed
inside the compiled update at every step, from the step count the optimizer state
holds, as Keras does (the first update uses `schedule(0)`)::

    lr = schedules.ExponentialDecay(1e-2, decay_steps=1000, decay_rate=0.9)
    model.compile(optimizer=cornu.optimizers.SGD(learning_rate=lr), loss="mse")

Each schedule computes in float32 with the operations of Keras' `__call__`, so its values
match Keras'; `__call__` branches only on the configuration, never on the step, so it
traces under `jax.jit` and `lax.scan`. `serialize` and `deserialize` know the built-in
schedules only: a config never names code to import.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import jax
import jax.numpy as jnp

from cornu import _names
from cornu.optimizers._checks import flag, name_or_default, number

__all__ = [
    "CosineDecay",
    "CosineDecayRestarts",
    "ExponentialDecay",
    "InverseTimeDecay",
    "LearningRateSchedule",
    "PiecewiseConstantDecay",
    "PolynomialDecay",
    "deserialize",
    "serialize",
]

_F32 = jnp.float32


def _float_step(step: Any) -> jax.Array:
    return jnp.asarray(step).astype(_F32)


class LearningRateSchedule:
    """Base class: `__call__(step) -> rate`; `get_config` and `from_config` for saving.

    A subclass's `__call__` receives the step count as an integer array (traced inside
    the compiled update), so it computes with `jax.numpy` and branches with
    `jnp.where`, not `if`.
    """

    def __call__(self, step: Any) -> jax.Array:
        raise NotImplementedError(
            f"Learning rate schedule '{type(self).__name__}' must override "
            "`__call__(self, step)`.")

    def get_config(self) -> dict[str, Any]:
        raise NotImplementedError(
            f"Learning rate schedule '{type(self).__name__}' must override `get_config()` "
            "in order to be serializable.")

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> LearningRateSchedule:
        return cls(**config)

    def __repr__(self) -> str:
        try:
            args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        except NotImplementedError:
            args = "..."
        return f"{type(self).__name__}({args})"


def _steps(name: str, value: object) -> int | float:
    """A positive number of steps, kept an int when given as one (as Keras' config)."""
    number(name, value, "positive")
    return int(value) if isinstance(value, int) else float(value)  # type: ignore[arg-type]


class ExponentialDecay(LearningRateSchedule):
    """`initial_learning_rate * decay_rate ** (step / decay_steps)`; `staircase=True`
    floors the exponent, so the rate drops every `decay_steps` steps."""

    def __init__(self, initial_learning_rate: float, decay_steps: int, decay_rate: float,
                 staircase: bool = False, name: str | None = "ExponentialDecay") -> None:
        self.initial_learning_rate = number("initial_learning_rate", initial_learning_rate,
                                            "non_negative")
        self.decay_steps = _steps("decay_steps", decay_steps)
        self.decay_rate = number("decay_rate", decay_rate, "non_negative")
        self.staircase = flag("staircase", staircase)
        self.name = name_or_default(name, "ExponentialDecay")

    def __call__(self, step: Any) -> jax.Array:
        p = _float_step(step) / _F32(self.decay_steps)
        if self.staircase:
            p = jnp.floor(p)
        return _F32(self.initial_learning_rate) * jnp.power(_F32(self.decay_rate), p)

    def get_config(self) -> dict[str, Any]:
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "decay_rate": self.decay_rate,
                "staircase": self.staircase, "name": self.name}


class PiecewiseConstantDecay(LearningRateSchedule):
    """`values[0]` while `step <= boundaries[0]`, `values[1]` while `step <= boundaries[1]`,
    ..., `values[-1]` after the last boundary."""

    def __init__(self, boundaries: Sequence[float], values: Sequence[float],
                 name: str | None = "PiecewiseConstant") -> None:
        if isinstance(boundaries, str | bytes) or not isinstance(boundaries, Sequence):
            raise ValueError("boundaries must be a list of increasing step numbers. "
                             f"Received: boundaries={boundaries!r}")
        if isinstance(values, str | bytes) or not isinstance(values, Sequence):
            raise ValueError("values must be a list of learning rates, one more than the "
                             f"boundaries. Received: values={values!r}")
        if len(boundaries) != len(values) - 1:
            raise ValueError(
                "The length of boundaries should be 1 less than the length of values. "
                f"Received: boundaries={list(boundaries)!r} of length {len(boundaries)}, "
                f"and values={list(values)!r} of length {len(values)}.")
        checked = [number(f"boundaries[{i}]", b, "any") for i, b in enumerate(boundaries)]
        if any(b >= c for b, c in zip(checked, checked[1:], strict=False)):  # type: ignore
            raise ValueError("boundaries must be strictly increasing. Received: "
                             f"boundaries={list(boundaries)!r}")
        self.boundaries = [b if isinstance(b, int) else float(b) for b in boundaries]
        self.values = [number(f"values[{i}]", v, "non_negative") for i, v in enumerate(values)]
        self.name = name_or_default(name, "PiecewiseConstant")

    def __call__(self, step: Any) -> jax.Array:
        step = jnp.asarray(step)
        # Keras compares in the step's dtype (boundaries cast to it)
        index = sum((step > jnp.asarray(b).astype(step.dtype)).astype(jnp.int32)
                    for b in self.boundaries)
        return jnp.asarray(self.values, _F32)[index]

    def get_config(self) -> dict[str, Any]:
        return {"boundaries": list(self.boundaries), "values": list(self.values),
                "name": self.name}


class PolynomialDecay(LearningRateSchedule):
    """From `initial_learning_rate` to `end_learning_rate` in `decay_steps` steps along
    `(1 - step / decay_steps) ** power`; `cycle=True` restarts from the next multiple of
    `decay_steps` instead of staying at the end rate."""

    def __init__(self, initial_learning_rate: float, decay_steps: int,
                 end_learning_rate: float = 0.0001, power: float = 1.0, cycle: bool = False,
                 name: str | None = "PolynomialDecay") -> None:
        self.initial_learning_rate = number("initial_learning_rate", initial_learning_rate,
                                            "non_negative")
        self.decay_steps = _steps("decay_steps", decay_steps)
        self.end_learning_rate = number("end_learning_rate", end_learning_rate,
                                        "non_negative")
        self.power = number("power", power, "any")
        self.cycle = flag("cycle", cycle)
        self.name = name_or_default(name, "PolynomialDecay")

    def __call__(self, step: Any) -> jax.Array:
        initial, end = _F32(self.initial_learning_rate), _F32(self.end_learning_rate)
        s, decay_steps = _float_step(step), _F32(self.decay_steps)
        if self.cycle:
            multiplier = jnp.where(s == 0, _F32(1.0), jnp.ceil(s / decay_steps))
            decay_steps = decay_steps * multiplier
        else:
            s = jnp.minimum(s, decay_steps)
        # p <= 1, but a compiled division may round it above 1 (a fractional power of a
        # negative number is nan): clip at 0
        remaining = jnp.maximum(1 - s / decay_steps, _F32(0))
        return (initial - end) * jnp.power(remaining, _F32(self.power)) + end

    def get_config(self) -> dict[str, Any]:
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "end_learning_rate": self.end_learning_rate,
                "power": self.power, "cycle": self.cycle, "name": self.name}


class InverseTimeDecay(LearningRateSchedule):
    """`initial_learning_rate / (1 + decay_rate * step / decay_steps)`; `staircase=True`
    floors `step / decay_steps`."""

    def __init__(self, initial_learning_rate: float, decay_steps: int, decay_rate: float,
                 staircase: bool = False, name: str | None = "InverseTimeDecay") -> None:
        self.initial_learning_rate = number("initial_learning_rate", initial_learning_rate,
                                            "non_negative")
        self.decay_steps = _steps("decay_steps", decay_steps)
        self.decay_rate = number("decay_rate", decay_rate, "non_negative")
        self.staircase = flag("staircase", staircase)
        self.name = name_or_default(name, "InverseTimeDecay")

    def __call__(self, step: Any) -> jax.Array:
        p = _float_step(step) / _F32(self.decay_steps)
        if self.staircase:
            p = jnp.floor(p)
        return _F32(self.initial_learning_rate) / (_F32(1) + _F32(self.decay_rate) * p)

    def get_config(self) -> dict[str, Any]:
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "decay_rate": self.decay_rate,
                "staircase": self.staircase, "name": self.name}


def _cosine(fraction: jax.Array, alpha: float) -> jax.Array:
    """(1 - alpha) * 0.5 * (1 + cos(pi * fraction)) + alpha, as Keras computes it."""
    return (1 - alpha) * (0.5 * (1.0 + jnp.cos(_F32(math.pi) * fraction))) + alpha


class CosineDecay(LearningRateSchedule):
    """Cosine decay from the rate to `alpha` times it over `decay_steps` steps, after an
    optional linear warmup from `initial_learning_rate` to `warmup_target` over
    `warmup_steps` steps (then the cosine starts from `warmup_target`)."""

    def __init__(self, initial_learning_rate: float, decay_steps: int, alpha: float = 0.0,
                 name: str | None = "CosineDecay", warmup_target: float | None = None,
                 warmup_steps: int = 0) -> None:
        self.initial_learning_rate = number("initial_learning_rate", initial_learning_rate,
                                            "non_negative")
        self.decay_steps = _steps("decay_steps", decay_steps)
        self.alpha = number("alpha", alpha, "non_negative")
        self.name = name_or_default(name, "CosineDecay")
        self.warmup_target = number("warmup_target", warmup_target, "non_negative",
                                    optional=True)
        number("warmup_steps", warmup_steps, "non_negative")
        self.warmup_steps = warmup_steps if isinstance(warmup_steps, int) \
            else float(warmup_steps)  # type: ignore[arg-type]

    def _decay(self, s: jax.Array, decay_from: jax.Array) -> jax.Array:
        return decay_from * _cosine(s / _F32(self.decay_steps), self.alpha)

    def __call__(self, step: Any) -> jax.Array:
        s, decay_steps = _float_step(step), _F32(self.decay_steps)
        initial = _F32(self.initial_learning_rate)
        if self.warmup_target is None:
            return self._decay(jnp.minimum(s, decay_steps), initial)
        target, warmup_steps = _F32(self.warmup_target), _F32(self.warmup_steps)
        s = jnp.minimum(s, decay_steps + warmup_steps)
        decayed = self._decay(s - warmup_steps, target)
        if not self.warmup_steps:
            return decayed
        warmed = (target - initial) * (s / warmup_steps) + initial
        return jnp.where(s < warmup_steps, warmed, decayed)

    def get_config(self) -> dict[str, Any]:
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "alpha": self.alpha, "name": self.name,
                "warmup_target": self.warmup_target, "warmup_steps": self.warmup_steps}


class CosineDecayRestarts(LearningRateSchedule):
    """Cosine decay with warm restarts (SGDR): the i-th period lasts
    `first_decay_steps * t_mul**i` steps and starts from `initial_learning_rate *
    m_mul**i`; each decays to `alpha` times its start."""

    def __init__(self, initial_learning_rate: float, first_decay_steps: int,
                 t_mul: float = 2.0, m_mul: float = 1.0, alpha: float = 0.0,
                 name: str | None = "SGDRDecay") -> None:
        self.initial_learning_rate = number("initial_learning_rate", initial_learning_rate,
                                            "non_negative")
        self.first_decay_steps = _steps("first_decay_steps", first_decay_steps)
        self._t_mul = number("t_mul", t_mul, "positive")
        self._m_mul = number("m_mul", m_mul, "non_negative")
        self.alpha = number("alpha", alpha, "non_negative")
        self.name = name_or_default(name, "SGDRDecay")

    def __call__(self, step: Any) -> jax.Array:
        fraction = _float_step(step) / _F32(self.first_decay_steps)
        t_mul = _F32(self._t_mul)
        if self._t_mul == 1.0:
            restart = jnp.floor(fraction)
            fraction = fraction - restart
        else:
            restart = jnp.floor(jnp.log(1.0 - fraction * (1.0 - t_mul)) / jnp.log(t_mul))
            done = (1.0 - jnp.power(t_mul, restart)) / (1.0 - t_mul)
            fraction = (fraction - done) / jnp.power(t_mul, restart)
        m_factor = jnp.power(_F32(self._m_mul), restart)
        cosine = 0.5 * m_factor * (1.0 + jnp.cos(_F32(math.pi) * fraction))
        return _F32(self.initial_learning_rate) * ((1 - self.alpha) * cosine + self.alpha)

    def get_config(self) -> dict[str, Any]:
        return {"initial_learning_rate": self.initial_learning_rate,
                "first_decay_steps": self.first_decay_steps, "t_mul": self._t_mul,
                "m_mul": self._m_mul, "alpha": self.alpha, "name": self.name}


_BUILTIN: dict[str, type[LearningRateSchedule]] = {cls.__name__: cls for cls in (
    ExponentialDecay, PiecewiseConstantDecay, PolynomialDecay, InverseTimeDecay, CosineDecay,
    CosineDecayRestarts)}


def is_builtin(schedule: object) -> bool:
    """Whether `schedule` is an instance of one of the classes above (not a subclass)."""
    return _BUILTIN.get(type(schedule).__name__) is type(schedule)


def serialize(schedule: LearningRateSchedule) -> dict[str, Any]:
    """`{"class_name": "ExponentialDecay", "config": {...}}`, JSON-serialisable; built-in
    schedules only (a file must not name code to import)."""
    if not is_builtin(schedule):
        raise ValueError(
            "serialize knows cornu's built-in schedules only "
            f"({', '.join(sorted(_BUILTIN))}). Received: schedule={schedule!r}. Pass your "
            "schedule object to the optimizer again after loading.")
    return {"class_name": type(schedule).__name__, "config": schedule.get_config()}


def deserialize(config: Mapping[str, Any]) -> LearningRateSchedule:
    """Inverse of `serialize`; also reads Keras 3's form (with `module` and
    `registered_name`), but only for the built-in schedule classes."""
    if not isinstance(config, Mapping) or not isinstance(config.get("class_name"), str):
        raise ValueError('deserialize needs a dict like {"class_name": "ExponentialDecay", '
                         f'"config": {{...}}}}. Received: config={config!r}')
    class_name = config["class_name"]
    by_norm = {_names.normalize(name): cls for name, cls in _BUILTIN.items()}
    cls = by_norm.get(_names.normalize(class_name))
    if cls is None or config.get("registered_name") not in (None, class_name):
        raise ValueError(f"Unknown learning rate schedule: class_name={class_name!r}. "
                         f"Known schedules: {', '.join(sorted(_BUILTIN))}.")
    inner = config.get("config") or {}
    if not isinstance(inner, Mapping):
        raise ValueError(f"The config of {class_name} must be a dict. Received: {inner!r}")
    return cls.from_config(dict(inner))
