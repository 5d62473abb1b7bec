"""Under a distribution on a one-device mesh (one GPU, or the CPU), the training program is
compiled once per fit: the weights and optimizer state are committed to the mesh before
the first step, so the second epoch's arguments are placed as the first epoch's were
(an uncommitted first state used to make jit compile the whole program again at the
second epoch)."""

import numpy as np

import cornu
from cornu import distribution


def test_dataparallel_fit_compiles_its_training_program_once():
    rng = np.random.default_rng(0)
    x = rng.random((64, 8), dtype=np.float32)
    y = rng.integers(0, 3, 64)
    previous = distribution.distribution()
    distribution.set_distribution(distribution.DataParallel())
    try:
        model = cornu.Sequential([cornu.Input((8,)), cornu.layers.Dense(16, activation="relu"),
                                  cornu.layers.Dense(3, activation="softmax")])
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
        model.fit(x, y, batch_size=16, epochs=3, verbose=0)
        placed = list(model._engine._placed_programs.values())
        assert placed, "the fit ran no program placed by the distribution"
        assert [p._cache_size() for p in placed] == [1] * len(placed)
        weights = [v.value for v in model.trainable_variables]
        assert all(w.committed for w in weights)
    finally:
        distribution.set_distribution(previous)
