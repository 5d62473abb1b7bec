"""The lecture's Keras 1 spellings: they keep working and warn with the new name."""

from __future__ import annotations

import warnings
from typing import Any


def renamed(kwargs: dict[str, Any], old: str, new: str, where: str, depth: int = 1) -> Any:
    """Pop `old` from kwargs, warn, and return its value (or None when absent).

    `depth` counts the cornu frames between the user's call and this function."""
    if old not in kwargs:
        return None
    warnings.warn(
        f"`{old}` is the Keras 1 spelling in {where}; use `{new}` instead.",
        DeprecationWarning,
        stacklevel=2 + depth,
    )
    return kwargs.pop(old)


def pick(value: Any, default: Any, old_value: Any, old: str, new: str) -> Any:
    """Choose between the new argument and its old spelling; both given is an error."""
    if old_value is None:
        return value
    if value is not default:
        raise TypeError(
            f"Got both `{new}` and its old spelling `{old}`. Received: {new}={value!r}, "
            f"{old}={old_value!r}. Pass `{new}` only."
        )
    return old_value
