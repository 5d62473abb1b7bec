"""Keys inside fit: every step of every epoch, and every layer key derived from a step
key, is distinct from the others and from the epoch keys."""

import jax
import numpy as np

from cornu.random import keys as rng


def test_step_and_layer_keys_never_repeat_across_epochs():
    epoch_key = jax.random.PRNGKey(0)
    seen = {}
    for epoch in range(3):
        seen[("epoch", epoch)] = epoch_key
        for step in range(4):
            key = rng.step_key(epoch_key, step)
            seen[("step", epoch, step)] = key
            # a model splits the step key per layer (split(k, n)[i]), and a seeded layer
            # folds its seed into its key
            for layer, layer_key in enumerate(jax.random.split(key, 3)):
                seen[("layer", epoch, step, layer)] = layer_key
                for seed in range(3):
                    seen[("seeded", epoch, step, layer, seed)] = jax.random.fold_in(layer_key,
                                                                                    seed)
        epoch_key = rng.next_epoch_key(epoch_key)
    values = [tuple(np.asarray(k).tolist()) for k in seen.values()]
    assert len(set(values)) == len(values)


def test_host_keys_equal_jax_random_bit_for_bit():
    """fold_in, split and the seed key are computed on the host (no program compiled);
    they must be exactly what jax.random gives, or seeded runs would change."""
    import random

    draw = random.Random(5)
    for _ in range(200):
        key = jax.random.PRNGKey(draw.randrange(2**32))
        data = draw.randrange(2**32)
        np.testing.assert_array_equal(np.asarray(rng.fold_in(key, data)),
                                      np.asarray(jax.random.fold_in(key, data)))
        np.testing.assert_array_equal(np.stack([np.asarray(k) for k in rng.split(key, 3)]),
                                      np.asarray(jax.random.split(key, 3)))
    for seed in (0, 7, 2**31 + 5, 2**32 - 1, 2**32 + 3):
        np.testing.assert_array_equal(np.asarray(rng.seed_key(seed)),
                                      np.asarray(jax.random.PRNGKey(seed)))
        rng.set_seed(seed)  # the global sequence: fold_in(PRNGKey(seed), counter)
        for counter in range(3):
            np.testing.assert_array_equal(
                np.asarray(rng.next_key()),
                np.asarray(jax.random.fold_in(jax.random.PRNGKey(seed), counter)))
    # keys only jax.random can handle: under a transformation, typed keys
    traced = jax.jit(lambda k: rng.fold_in(k, 3))(jax.random.PRNGKey(1))
    np.testing.assert_array_equal(np.asarray(traced),
                                  np.asarray(jax.random.fold_in(jax.random.PRNGKey(1), 3)))
    typed = rng.split(jax.random.key(4))
    assert len(typed) == 2 and jax.dtypes.issubdtype(typed[0].dtype, jax.dtypes.prng_key)


def test_building_a_model_compiles_no_program():
    """Keys and initial weights are made on the host: building the lecture's net compiled
    12 small programs (1.6 s on this project's CPU) before."""
    import cornu

    compiled = []

    def listen(name, *args, **kwargs):
        if name == "/jax/core/compile/backend_compile_duration":
            compiled.append(name)

    jax.monitoring.register_event_duration_secs_listener(listen)
    compiled.clear()
    cornu.utils.set_random_seed(123)
    model = cornu.Sequential([cornu.Input(shape=(31,)),
                              cornu.layers.Dense(17, activation="sigmoid"),
                              cornu.layers.BatchNormalization(),
                              cornu.layers.Dense(3, activation="softmax")])
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    assert compiled == []
    assert model.count_params() > 0
