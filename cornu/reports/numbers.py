"""Numbers as people write them in a report: thousands separators, and shares that
never round to 100% (or 0%) unless they are exactly that.

    count(60000) -> '60,000'      ratio(0.99996) -> '0.99996'     percent(0.996) -> '99.6%'
"""

from __future__ import annotations

import math

__all__ = ["count", "percent", "ratio", "seconds"]

DASH = "–"  # a missing value


def count(value: int | None) -> str:
    """An integer with thousands separators: 1135 -> '1,135'."""
    return DASH if value is None else f"{int(value):,}"


def _share(value: float, digits: int, scale: float, suffix: str, most: int) -> str:
    """`value * scale` with at least `digits` decimals, and more (up to `most`) when
    fewer would turn a value below 1 into 1 or a value above 0 into 0."""
    if value is None or not math.isfinite(value):
        return DASH if value is None else str(value)
    top = scale
    for d in range(digits, most + 1):
        text = f"{value * scale:.{d}f}"
        shown = float(text)
        if not ((shown >= top and value < 1) or (shown == 0 and value > 0)):
            return text + suffix
    # still 100 (or 0) with `most` decimals: say which side of it the value is
    if value > 0.5:
        return f">{scale - 10.0 ** -most:.{most}f}{suffix}"
    return f"<{10.0 ** -most:.{most}f}{suffix}"


def ratio(value: float | None, digits: int = 4) -> str:
    """A share or a loss with `digits` decimals: 0.98264 -> '0.9826', 0.99996 ->
    '0.99996' (not '1.0000')."""
    return _share(value, digits, 1.0, "", digits + 4)


def percent(value: float | None, digits: int = 0) -> str:
    """A probability as a percentage: 0.42 -> '42%', 0.996 -> '99.6%' (not '100%'),
    1.0 -> '100%'."""
    return _share(value, digits, 100.0, "%", digits + 4)


def seconds(value: float | None) -> str:
    """Seconds with three decimals below 100 s, one above, and thousands separators."""
    if value is None:
        return DASH
    return f"{value:,.3f}" if value < 100 else f"{value:,.1f}"
