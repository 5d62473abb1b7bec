"""FBetaScore and F1Score against Keras 3, and inside fit."""

import numpy as np
import pytest
from metric_checks import keras, lenient

import cornu
from cornu import metrics

RNG = np.random.default_rng(4)
Y_TRUE = np.eye(4, dtype=np.float32)[RNG.integers(0, 4, 30)]
Y_PRED = RNG.random((30, 4)).astype(np.float32)
WEIGHTS = RNG.random(30).astype(np.float32)


@pytest.mark.parametrize("average", [None, "micro", "macro", "weighted"])
@pytest.mark.parametrize("threshold", [None, 0.5])
@pytest.mark.parametrize("cls, kwargs", [("F1Score", {}), ("FBetaScore", {"beta": 2.0})])
def test_matches_keras(cls, kwargs, average, threshold):
    ours = getattr(metrics, cls)(average=average, threshold=threshold, **kwargs)
    theirs = lenient(getattr(keras.metrics, cls)(average=average, threshold=threshold,
                                                  **kwargs))
    for m in (ours, theirs):
        m.update_state(Y_TRUE[:20], Y_PRED[:20])
        m.update_state(Y_TRUE[20:], Y_PRED[20:], sample_weight=WEIGHTS[20:])
    np.testing.assert_allclose(np.asarray(ours.result()), np.asarray(theirs.result()),
                               rtol=1e-5, atol=1e-6)
    assert ours.get_config() == {**theirs.get_config(), "dtype": ours.dtype}
    ours.reset_state()
    assert float(np.sum(np.asarray(ours.true_positives.value))) == 0.0


def test_f1_in_fit_and_refusals():
    model = cornu.Sequential([cornu.Input((5,)), cornu.layers.Dense(4, activation="softmax")])
    model.compile(optimizer="adam", loss="categorical_crossentropy",
                  metrics=[metrics.F1Score(average="macro")])
    x = RNG.normal(size=(30, 5)).astype(np.float32)
    history = model.fit(x, Y_TRUE, epochs=2, batch_size=10, verbose=0).history
    assert len(history["f1_score"]) == 2 and 0.0 <= history["f1_score"][-1] <= 1.0
    with pytest.raises(ValueError, match="beta must be a float"):
        metrics.FBetaScore(beta=2)
    with pytest.raises(ValueError, match="average must be one of"):
        metrics.F1Score(average="mean")
