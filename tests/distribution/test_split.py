"""DataParallel's step split by shard_map (training/loop.py `_split_program`): on 2 CPU
devices (a subprocess with JAX_NUM_CPU_DEVICES=2), the same losses, metrics and weights as
one device with the same global batch (partial last batch, sample and class weights,
weight penalties, gradient clipping, masks); dropout drawn per device, the same run to
run; models whose rows are not independent keep XLA's partitioner
(distribution/split.py)."""

from __future__ import annotations

import pytest
from distribution_helpers import finish_children, result, start_child

import cornu
from cornu import layers
from cornu.distribution import split

_CHILD = r"""
import json
import sys
import jax
import numpy as np
import cornu
from cornu import layers
from cornu import distribution as dist

assert len(jax.devices()) == 2, jax.devices()
rng = np.random.default_rng(0)
X = rng.random((103, 7, 5), dtype=np.float32)
Y = rng.integers(0, 4, 103)
SW = rng.random(103).astype(np.float32)


def model(kind, seed=1):
    cornu.utils.set_random_seed(seed)
    if kind == "lstm":  # penalty, clipping, sample and class weights
        m = cornu.Sequential([layers.Input((7, 5)), layers.LSTM(8),
                              layers.Dense(4, activation="softmax",
                                       kernel_regularizer="l2")])
        m.compile(loss="sparse_categorical_crossentropy",
                  optimizer=cornu.optimizers.Adam(0.01, clipnorm=0.05),
                  metrics=["accuracy"])
    elif kind == "gru_masked":  # Embedding(mask_zero) -> GRU, sequences of the tokens
        m = cornu.Sequential([layers.Input((7,), dtype="int32"),
                              layers.Embedding(9, 6, mask_zero=True),
                              layers.Bidirectional(layers.GRU(5)),
                              layers.Dense(4, activation="softmax")])
        m.compile(loss="sparse_categorical_crossentropy", optimizer="rmsprop",
                  metrics=["accuracy"])
    elif kind == "dropout":
        m = cornu.Sequential([layers.Input((7, 5)), layers.LSTM(8, dropout=0.3),
                              layers.Dropout(0.3), layers.Dense(4, activation="softmax")])
        m.compile(loss="sparse_categorical_crossentropy", optimizer="adam")
    else:  # batchnorm: the partitioner's step
        m = cornu.Sequential([layers.Input((7, 5)), layers.LSTM(8),
                              layers.BatchNormalization(),
                              layers.Dense(4, activation="softmax")])
        m.compile(loss="sparse_categorical_crossentropy", optimizer="adam")
    return m


def fit(kind, distribution, batch_size, **kw):
    m = model(kind)
    x = (X * 9).astype(np.int32)[..., 0] if kind == "gru_masked" else X
    dist.set_distribution(distribution)
    try:
        h = m.fit(x, Y, batch_size=batch_size, epochs=2, verbose=0, **kw)
        e = m.evaluate(x, Y, batch_size=16, verbose=0)
    finally:
        dist.set_distribution(None)
    engine = m._engine
    return (m, h.history, e, {"split": len(engine._split_programs),
                              "placed": len(engine._placed_programs)})


def compare(kind, batch_size, **kw):
    m1, h1, e1, _ = fit(kind, None, batch_size, **kw)
    m2, h2, e2, how = fit(kind, dist.DataParallel(), batch_size, **kw)
    weights = max(float(np.abs(a - b).max())
                  for a, b in zip(m1.get_weights(), m2.get_weights(), strict=True))
    return {"weights": weights, "history": [h1, h2], "evaluate": [e1, e2], **how}


def dropout():
    # each device draws its own numbers, the same ones run to run
    runs = [fit("dropout", dist.DataParallel(), 12)[0].get_weights() for _ in range(2)]
    plain = fit("dropout", None, 12)[0].get_weights()
    return {"rerun": max(float(np.abs(a - b).max()) for a, b in zip(*runs, strict=True)),
            "vs_one": max(float(np.abs(a - b).max())
                          for a, b in zip(runs[0], plain, strict=True))}


CASES = {
    "lstm_12": lambda: compare("lstm", 12, sample_weight=SW),
    "lstm_9": lambda: compare("lstm", 9, class_weight={0: 1.0, 1: 2.0, 2: 0.5, 3: 1.5}),
    "gru_masked": lambda: compare("gru_masked", 10),
    "batchnorm": lambda: compare("batchnorm", 12),
    "dropout": dropout,
}
print("RESULT", json.dumps({name: CASES[name]() for name in sys.argv[1].split(",")}))
"""


@pytest.fixture(scope="module")
def results() -> dict:
    """The child's cases, in two children side by side."""
    procs = [start_child(_CHILD, names, drop=("CORNU_SHARD_MAP",), JAX_NUM_CPU_DEVICES="2")
             for names in ("lstm_12,lstm_9,batchnorm", "gru_masked,dropout")]
    return {name: value for done in finish_children(procs)
            for name, value in result(done).items()}


@pytest.mark.slow
@pytest.mark.parametrize("name", ["lstm_12", "lstm_9", "gru_masked", "batchnorm"])
def test_split_step_equals_one_device(results, name):
    result = results[name]
    assert result["weights"] < 1e-5
    (h1, h2), (e1, e2) = result["history"], result["evaluate"]
    assert h1.keys() == h2.keys()
    for key in h1:
        assert h1[key] == pytest.approx(h2[key], rel=1e-5, abs=1e-6), key
    assert e1 == pytest.approx(e2, rel=1e-5, abs=1e-6)
    if name == "batchnorm":  # the batch's statistics: XLA's partitioner splits the step
        assert (result["split"], result["placed"]) == (0, 1)
    else:
        assert (result["split"], result["placed"]) == (1, 0)


@pytest.mark.slow
def test_split_dropout_same_run_to_run(results):
    assert results["dropout"]["rerun"] == 0.0
    assert results["dropout"]["vs_one"] > 0.0  # each device's rows draw their own


class _Own(layers.Layer):
    def call(self, x):
        return x


class _Declared(_Own):
    batch_independent = True


@pytest.mark.parametrize("extra, reason", [
    (None, None),
    (layers.BatchNormalization(), "BatchNormalization"),
    (layers.Dense(3, activity_regularizer="l2"), "activity regularization"),
    (layers.ActivityRegularization(l1=0.1), "activity regularization"),
    (_Own(), "defined outside cornu"),
    (_Declared(), None),
])
def test_blocker(extra, reason):
    m = cornu.Sequential([layers.Input((4, 3)), layers.LSTM(3),
                          *([extra] if extra is not None else []), layers.Dense(2)])
    found = split.blocker(m)
    if reason is None:
        assert found is None
    else:
        assert reason in found
    assert split.is_recurrent(m)
    assert not split.is_recurrent(cornu.Sequential([layers.Input((3,)), layers.Dense(2)]))
    assert split.blocker(m, has_loss=False) is not None


def test_blocker_stateful():
    m = cornu.Sequential([layers.Input((4, 3), batch_size=2),
                          layers.GRU(3, stateful=True)])
    assert "stateful" in split.blocker(m)
