"""Argument checks shared by the optimizers and the schedules: one helper, `number`.

Each error names the argument, repeats the value and says what to pass instead:
`decay_steps must be a positive number. Received: decay_steps=0`.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from typing import Any

import jax
import numpy as np

RULES: dict[str, tuple[str, Callable[[float], bool]]] = {
    "positive": ("a positive number", lambda x: x > 0),
    "non_negative": ("a number >= 0", lambda x: x >= 0),
    "unit_closed": ("a number in [0, 1], e.g. 0.9", lambda x: 0 <= x <= 1),
    "unit_open": ("a number in [0, 1), e.g. 0.9", lambda x: 0 <= x < 1),
    "any": ("a finite number", lambda x: True),
}


class Default(float):
    """A default learning rate: a float that remembers the caller did not pass it."""


def number(name: str, value: object, rule: str = "positive", *, optional: bool = False
           ) -> float | None:
    """`value` as a float, checked against RULES[rule]; None passes when `optional`."""
    if optional and value is None:
        return None
    text, ok = RULES[rule]
    is_number = isinstance(value, numbers.Real) and not isinstance(value, bool | np.bool_)
    scalar_array = isinstance(value, np.ndarray | jax.Array) and np.ndim(value) == 0
    if is_number or scalar_array:
        x = float(value)  # type: ignore[arg-type]
        if math.isfinite(x) and ok(x):
            return x
    rule_text = f"{text} or None" if optional else text
    raise ValueError(f"{name} must be {rule_text}. Received: {name}={value!r}")


def flag(name: str, value: object) -> bool:
    if isinstance(value, bool | np.bool_):
        return bool(value)
    raise ValueError(f"{name} must be True or False. Received: {name}={value!r}")


def name_or_default(value: object, default: str) -> str:
    if value is None:
        return default
    if not isinstance(value, str):
        raise ValueError(f"name must be a string or None. Received: name={value!r}")
    return value


def check(name: str, value: object, rule: str) -> Any:
    """`flag` for rule "flag", else `number` with that rule (a key of RULES)."""
    return flag(name, value) if rule == "flag" else number(name, value, rule)
