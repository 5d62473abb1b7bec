"""UpSampling3D: volumes (batch, depth, height, width, channels) enlarged by whole factors
`size`, each entry repeated."""

from __future__ import annotations

from typing import Any

from cornu.layers.base_up_sampling import BaseUpSampling


class UpSampling3D(BaseUpSampling):
    rank = 3

    def __init__(self, size: int | tuple[int, int, int] = (2, 2, 2),
                 data_format: str | None = None, **kwargs: Any) -> None:
        super().__init__(size, data_format, **kwargs)
