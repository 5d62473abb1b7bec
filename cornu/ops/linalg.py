"""The linear-algebra ops of `keras.ops` (keras/src/ops/linalg.py). All of them work on the
last two axes and batch over the others."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import jax.scipy.linalg as jsl

from cornu.ops.core import convert_to_tensor
from cornu.ops.numpy import _float

Array = jax.Array


def _matrices(x: Any, name: str = "x") -> Array:
    x = convert_to_tensor(x)
    if x.ndim < 2:
        raise ValueError(f"{name} must have rank >= 2 (matrices). Received: {name}.shape="
                         f"{x.shape}")
    return _float(x)


def norm(x: Any, ord: Any = None, axis: Any = None, keepdims: bool = False) -> Array:
    """The vector norm (for one axis, or all of a 1-D `x`) or matrix norm (for two axes,
    or all of a 2-D `x`), as `np.linalg.norm`; integers give float32."""
    axis = tuple(axis) if isinstance(axis, list) else axis
    return jnp.linalg.norm(_float(convert_to_tensor(x)), ord=ord, axis=axis, keepdims=keepdims)


def det(x: Any) -> Array:
    return jnp.linalg.det(_matrices(x))


def inv(x: Any) -> Array:
    return jnp.linalg.inv(_matrices(x))


def solve(a: Any, b: Any) -> Array:
    """The x with a @ x = b."""
    return jnp.linalg.solve(_matrices(a, "a"), _float(convert_to_tensor(b)))


def solve_triangular(a: Any, b: Any, lower: bool = False) -> Array:
    return jsl.solve_triangular(_matrices(a, "a"), _float(convert_to_tensor(b)), lower=lower)


def cholesky(x: Any, upper: bool = False) -> Array:
    """The Cholesky factor (lower unless `upper`). Keras raises when the result holds NaN
    (x not positive definite) outside `jit`; cornu returns the NaN."""
    return jnp.linalg.cholesky(_matrices(x), upper=upper)


def qr(x: Any, mode: str = "reduced") -> tuple[Array, Array]:
    if mode not in ("reduced", "complete"):
        raise ValueError(f"mode must be 'reduced' or 'complete'. Received: mode={mode!r}")
    return jnp.linalg.qr(_matrices(x), mode=mode)


def eigh(x: Any) -> tuple[Array, Array]:
    """(eigenvalues ascending, eigenvectors as columns) of symmetric matrices."""
    return jnp.linalg.eigh(_matrices(x))


def svd(x: Any, full_matrices: bool = True, compute_uv: bool = True) -> Any:
    return jnp.linalg.svd(_matrices(x), full_matrices=full_matrices, compute_uv=compute_uv)


def lstsq(a: Any, b: Any, rcond: float | None = None) -> Array:
    """The least-squares solution x of a @ x = b."""
    return jnp.linalg.lstsq(_matrices(a, "a"), _float(convert_to_tensor(b)), rcond=rcond)[0]


def pinv(x: Any, rcond: float | None = None) -> Array:
    return jnp.linalg.pinv(_matrices(x), rtol=rcond)


__all__ = [
    "cholesky",
    "det",
    "eigh",
    "inv",
    "lstsq",
    "norm",
    "pinv",
    "qr",
    "solve",
    "solve_triangular",
    "svd",
]
