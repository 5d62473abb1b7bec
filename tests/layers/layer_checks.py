"""One helper that every layer test goes through: the output shape that build() predicts
is the shape call() makes, the parameter count, the config round trip, jit against eager,
and one gradient step (finite, one gradient per parameter)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np


def sample(shape, batch: int = 2, seed: int = 0) -> np.ndarray:
    dims = [batch, *(4 if d is None else d for d in shape[1:])]
    return np.random.default_rng(seed).normal(size=dims).astype(np.float32)


def check_layer(layer, input_shape, *, output_shape, params: int, x=None, training=False):
    """Returns (params, state, y) for further checks by the caller."""
    assert layer.build(input_shape) == output_shape
    assert layer.output_shape == output_shape
    assert layer.count_params() == params
    p = layer.init(jax.random.PRNGKey(0))
    state = layer.init_state()
    assert all(v.dtype == jnp.float32 for v in p.values())
    assert set(p) <= set(layer.weight_names)
    if x is None:
        x = ([sample(s, seed=i) for i, s in enumerate(input_shape)]
             if isinstance(input_shape, list) else sample(input_shape))
    rng = jax.random.PRNGKey(1)

    def run(p, state, x):
        return layer.apply(p, state, x, training=training, rng=rng)

    y, new_state = run(p, state, x)
    y_jit, _ = jax.jit(run)(p, state, x)
    np.testing.assert_allclose(np.asarray(y_jit), np.asarray(y), rtol=1e-5, atol=1e-6)
    batch = (x[0] if isinstance(x, list) else x).shape[0]
    want = tuple(batch if i == 0 else d for i, d in enumerate(output_shape))
    assert y.shape == tuple(y.shape[i] if d is None else d for i, d in enumerate(want))
    assert jax.tree.structure(new_state) == jax.tree.structure(state)

    again = type(layer).from_config(layer.get_config())
    assert again.get_config() == layer.get_config()
    assert again.build(input_shape) == output_shape

    if p:
        def loss(p):
            out, _ = layer.apply(p, state, x, training=True, rng=rng)
            return jnp.sum(jnp.square(out))

        grads = jax.grad(loss)(p)
        assert set(grads) == set(p)
        assert all(bool(jnp.all(jnp.isfinite(g))) for g in grads.values())
    return p, state, y
