"""Weight initializers: Keras' distributions, repeatable from the key, drawn on the host
without compiling a program per weight shape."""

import math

import jax
import numpy as np
import pytest

import cornu
from cornu import initializers

KEY = jax.random.PRNGKey(7)


def draw(name, shape, key=KEY):
    values = initializers.get(name).sample(key, shape, np.float32)
    assert isinstance(values, jax.Array) and values.shape == shape
    assert values.dtype == np.float32
    return np.asarray(values)


@pytest.mark.parametrize("prefix, scale, mode", [
    ("glorot", 1.0, "fan_avg"), ("he", 2.0, "fan_in"), ("lecun", 1.0, "fan_in")])
@pytest.mark.parametrize("distribution", ["uniform", "normal"])
def test_variance_scaling_has_keras_variance_and_range(prefix, scale, mode, distribution):
    """glorot_*, he_*, lecun_*: variance scale / n; uniform within its limit, normal
    truncated at two deviations of the untruncated normal."""
    fan_in, fan_out = 300, 200
    values = draw(f"{prefix}_{distribution}", (fan_in, fan_out))
    n = {"fan_avg": (fan_in + fan_out) / 2, "fan_in": fan_in}[mode]
    assert values.var() == pytest.approx(scale / n, rel=0.02)
    if distribution == "uniform":
        limit = math.sqrt(3 * scale / n)
        assert np.abs(values).max() <= limit
        assert np.abs(values).max() > 0.99 * limit
        assert abs(values.mean()) < 0.01 * limit
    else:
        std = math.sqrt(scale / n) / 0.87962566103423978  # before truncation
        assert np.abs(values).max() <= 2 * std * (1 + 1e-6)


def test_fixed_range_initializers():
    uniform = draw("random_uniform", (400, 100))
    assert np.abs(uniform).max() <= 0.05 and uniform.std() == pytest.approx(0.05 / 3 ** 0.5,
                                                                                rel=0.02)
    assert draw("random_normal", (400, 100)).std() == pytest.approx(0.05, rel=0.02)
    truncated = draw("truncated_normal", (400, 100))
    assert np.abs(truncated).max() <= 0.1 * (1 + 1e-6)
    assert truncated.std() == pytest.approx(0.05 * 0.8796, rel=0.03)
    np.testing.assert_array_equal(draw("zeros", (3, 2)), np.zeros((3, 2)))
    np.testing.assert_array_equal(draw("ones", (4,)), np.ones(4))
    np.testing.assert_array_equal(draw("identity", (3, 4)), np.eye(3, 4))


@pytest.mark.parametrize("shape", [(6, 4), (4, 6), (3, 3, 2, 5)])
def test_orthogonal_has_orthonormal_columns_or_rows(shape):
    q = draw("orthogonal", shape).reshape(-1, shape[-1])
    small = min(q.shape)
    gram = q.T @ q if q.shape[0] >= q.shape[1] else q @ q.T
    np.testing.assert_allclose(gram, np.eye(small), atol=1e-5)


def test_values_are_a_function_of_the_key():
    a = draw("glorot_uniform", (20, 30))
    np.testing.assert_array_equal(a, draw("glorot_uniform", (20, 30)))
    assert not np.array_equal(a, draw("glorot_uniform", (20, 30), jax.random.PRNGKey(8)))
    typed = initializers.get("he_normal").sample(jax.random.key(7), (5, 5))
    np.testing.assert_array_equal(np.asarray(typed), draw("he_normal", (5, 5)))


def test_the_global_seed_repeats_a_model_and_different_layers_differ():
    def build():
        cornu.utils.set_random_seed(11)
        return cornu.Sequential([cornu.layers.Dense(8, input_shape=(8,)),
                                 cornu.layers.Dense(8)]).get_weights()

    first, second = build(), build()
    for a, b in zip(first, second, strict=True):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(first[0], first[2])  # the two kernels


def test_a_new_weight_shape_compiles_no_program():
    """jax.random compiled one program per weight shape (0.2-0.8 s each); host draws
    compile none."""
    compiled = []

    def listen(name, *args, **kwargs):
        if name == "/jax/core/compile/backend_compile_duration":
            compiled.append(name)

    jax.monitoring.register_event_duration_secs_listener(listen)
    keys = [jax.random.fold_in(KEY, i) for i in range(2)]
    np.asarray(keys[-1])  # the key programs are shape-independent, compiled once
    compiled.clear()
    for i, name in enumerate(["glorot_uniform", "he_normal", "random_uniform",
                              "truncated_normal", "orthogonal", "zeros", "ones"]):
        initializers.get(name).sample(keys[i % 2], (37 + i, 23), np.float32)
    assert compiled == []


def test_traced_keys_draw_with_jax_random():
    """Under jax.eval_shape (saving uses it for shapes) and jit the key has no value: the
    same distribution comes from jax.random."""
    init = initializers.get("glorot_uniform")
    shape = jax.eval_shape(lambda k: init.sample(k, (30, 20)), KEY)
    assert shape.shape == (30, 20) and shape.dtype == np.float32
    values = np.asarray(jax.jit(lambda k: init.sample(k, (300, 200)))(KEY))
    limit = math.sqrt(6 / 500)
    assert np.abs(values).max() <= limit and values.var() == pytest.approx(limit ** 2 / 3,
                                                                            rel=0.03)


def test_random_initializers_refuse_integer_dtypes_and_orthogonal_takes_half_precision():
    with pytest.raises(ValueError, match=r"floating-point.*dtype=.*int32"):
        initializers.get("glorot_uniform").sample(KEY, (3, 3), np.int32)
    import jax.numpy as jnp

    def make(key):
        return initializers.get("orthogonal").sample(key, (4, 4), jnp.bfloat16)

    for key_is_traced in (False, True):
        q = jax.jit(make)(KEY) if key_is_traced else make(KEY)
        assert q.dtype == jnp.bfloat16
        np.testing.assert_allclose(np.asarray(q, np.float32).T @ np.asarray(q, np.float32),
                                   np.eye(4), atol=0.05)
