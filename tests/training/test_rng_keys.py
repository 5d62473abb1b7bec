"""Keys inside fit: every step of every epoch, and every layer key derived from a step
key, is distinct from the others and from the epoch keys."""

import jax
import numpy as np

from cornu.training import rng


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
