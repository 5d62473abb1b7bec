"""`keras.backend` and `keras.config` names that scripts call: the backend is JAX, the
float type float32, images channels-last. Setters accept what cornu runs and refuse the
rest with the reason (cornu computes in float32, or in a mixed policy via
cornu.mixed_precision)."""

from __future__ import annotations

from typing import Any

import jax

from cornu.layers.keras_tensor import KerasTensor


def backend() -> str:
    return "jax"


def epsilon() -> float:
    """The fuzz factor of losses and metrics (1e-7, fixed)."""
    return 1e-7


def floatx() -> str:
    return "float32"


def set_floatx(value: str) -> None:
    if value != "float32":
        raise ValueError(f"cornu computes in float32 (or a mixed policy: "
                         f"cornu.mixed_precision.set_global_policy('mixed_bfloat16')). "
                         f"Received: set_floatx({value!r})")


def image_data_format() -> str:
    return "channels_last"


def set_image_data_format(data_format: str) -> None:
    if data_format != "channels_last":
        raise ValueError("cornu's image layers take channels-last data (batch, height, width, "
                         f"channels). Received: set_image_data_format({data_format!r})")


def clear_session(free_memory: bool = True) -> None:
    """Reset automatic layer names and drop JAX's compiled-function caches."""
    from cornu.layers.base import reset_names

    reset_names()
    if free_memory:
        jax.clear_caches()


def is_keras_tensor(x: Any) -> bool:
    return isinstance(x, KerasTensor)


def standardize_dtype(dtype: Any) -> str:
    import numpy as np

    if dtype is None:
        return floatx()
    return np.dtype(getattr(dtype, "name", dtype)).name


__all__ = ["backend", "clear_session", "epsilon", "floatx", "image_data_format",
           "is_keras_tensor", "set_floatx", "set_image_data_format",
           "standardize_dtype"]
