"""One helper that every layer test goes through (the Keras layer pattern): the symbolic
call's output shape is the shape the eager call makes, the parameter count, the config
round trip, jit against eager, and one gradient step (finite, one per trainable weight)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

import cornu
from cornu.variables import StatelessScope


def sample(shape, batch: int = 2, seed: int = 0) -> np.ndarray:
    dims = [batch, *(4 if d is None else d for d in shape[1:])]
    return np.random.default_rng(seed).normal(size=dims).astype(np.float32)


def _inputs(input_shape):
    if isinstance(input_shape, list):
        return [cornu.Input(shape=tuple(s[1:])) for s in input_shape]
    return cornu.Input(shape=tuple(input_shape[1:]))


def run_stateless(layer, values, x, *, training=False, rng=None):
    """(output, non-trainable values after the call): the layer as a pure function of its
    weights' values (what the compiled engine traces)."""
    weights = layer.weights
    with StatelessScope(list(zip(weights, values, strict=True)),
                        rng=jax.random.PRNGKey(1) if rng is None else rng) as scope:
        y = layer(x, training=training)
        after = [scope.get_current_value(v) for v in weights]
    return y, after


def check_layer(layer, input_shape, *, output_shape, params: int, x=None, training=False):
    """Returns (trainable weights by name, other weights by name, y) for further checks."""
    out = layer(_inputs(input_shape))
    assert tuple(out.shape) == tuple(output_shape), (out.shape, output_shape)
    assert layer.output_shape == tuple(output_shape)
    assert layer.count_params() == params
    p = {v.name: v.value for v in layer.trainable_weights}
    state = {v.name: v.value for v in layer.non_trainable_weights}
    assert all(v.dtype == jnp.float32 for v in p.values())
    if x is None:
        x = ([sample(s, seed=i) for i, s in enumerate(input_shape)]
             if isinstance(input_shape, list) else sample(input_shape))
    values = [v.value for v in layer.weights]

    def run(values, x):
        return run_stateless(layer, values, x, training=training)

    y, after = run(values, x)
    y_jit, _ = jax.jit(run)(values, x)
    np.testing.assert_allclose(np.asarray(y_jit), np.asarray(y), rtol=1e-5, atol=1e-6)
    batch = (x[0] if isinstance(x, list) else x).shape[0]
    want = tuple(batch if i == 0 else d for i, d in enumerate(output_shape))
    assert y.shape == tuple(y.shape[i] if d is None else d for i, d in enumerate(want))
    assert len(after) == len(values)

    again = type(layer).from_config(layer.get_config())
    assert again.get_config() == layer.get_config()
    assert tuple(again(_inputs(input_shape)).shape) == tuple(output_shape)

    trainable = {id(v) for v in layer.trainable_weights}
    if trainable:
        def loss(values):
            out, _ = run_stateless(layer, values, x, training=True)
            return jnp.sum(jnp.square(out))

        grads = jax.grad(loss)(values)
        for variable, g in zip(layer.weights, grads, strict=True):
            if id(variable) in trainable:
                assert bool(jnp.all(jnp.isfinite(g)))
    return p, state, y
