"""MultiHeadAttention's attention core (`attend`) gives jax.nn.dot_product_attention's
numbers, values and gradients, with masks, a fully masked row and causal masks."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from cornu.layers.multi_head_attention import attend

rng = np.random.default_rng(3)
Q, K, V = (jnp.asarray(rng.standard_normal((3, 5, 2, 4)), jnp.float32) for _ in range(3))
K7, V7 = (jnp.asarray(rng.standard_normal((3, 7, 2, 4)), jnp.float32) for _ in range(2))
MASK = jnp.asarray(rng.random((3, 1, 5, 7)) > 0.4).at[0, 0, 1].set(False)  # one row masked


@pytest.mark.parametrize("case", ["plain", "causal", "mask", "mask_causal", "bfloat16"])
def test_attend_equals_jax(case):
    k, v = (K7, V7) if case == "mask" else (K, V)
    mask = {"mask": MASK, "mask_causal": MASK[..., :5]}.get(case)
    causal = case in ("causal", "mask_causal")
    q = Q.astype(jnp.bfloat16) if case == "bfloat16" else Q
    k, v = (k.astype(q.dtype), v.astype(q.dtype))

    def ours(q, k, v):
        return attend(q, k, v, mask, 0.3, causal)

    def theirs(q, k, v):
        return jax.nn.dot_product_attention(q, k, v, mask=mask, scale=0.3, is_causal=causal)

    np.testing.assert_array_equal(np.asarray(ours(q, k, v), np.float32),
                                  np.asarray(theirs(q, k, v), np.float32))
    grads = [jax.grad(lambda *a, f=f: f(*a).astype(jnp.float32).sum(), argnums=(0, 1, 2))(
        q, k, v) for f in (ours, theirs)]
    for a, b in zip(*grads, strict=True):
        np.testing.assert_allclose(np.asarray(a, np.float32), np.asarray(b, np.float32),
                                   rtol=1e-6, atol=1e-6)
    if case == "mask":  # the fully masked row attends uniformly over the values
        np.testing.assert_allclose(ours(q, k, v)[0, 1], v[0].mean(0), rtol=1e-5, atol=1e-6)
