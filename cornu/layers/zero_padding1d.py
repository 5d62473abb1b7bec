"""ZeroPadding1D: zeros added before and after the steps axis of (batch, steps, channels)."""

from __future__ import annotations

from cornu.layers.base_zero_padding import BaseZeroPadding


class ZeroPadding1D(BaseZeroPadding):
    """`ZeroPadding1D(padding=1)`: an int, or (before, after)."""

    rank = 1
