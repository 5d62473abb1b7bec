"""Confusion-matrix metrics (counts, precision, recall, AUC, X at Y) against keras.metrics."""

import numpy as np
import pytest
from metric_checks import check_against_keras, check_config, keras, lenient

from cornu import metrics

rng = np.random.default_rng(3)
B = 16


def weights():
    return rng.random(B).astype(np.float32)


def binary(shape=(B, 1)):
    y = (rng.random(shape) > 0.5).astype(np.float32)
    p = rng.random(shape).astype(np.float32)
    p[:3] = np.array([0.0, 1.0, 0.5], np.float32).reshape((3,) + (1,) * (len(shape) - 1))
    return y, p


def flat():
    return binary((B,))


def multi():
    return binary((B, 3))


def batches(make):
    (a, b), (c, d) = make(), make()
    return [(a, b, None), (c, d, weights())]


COUNTS = ["TruePositives", "FalsePositives", "TrueNegatives", "FalseNegatives"]
THRESHOLDS = [None, 0.3, [0.1, 0.5, 0.9], [0.0, 0.5, 1.0], [0.0, 0.25, 0.5, 0.75, 1.0]]


@pytest.mark.parametrize("cls", COUNTS)
@pytest.mark.parametrize("thresholds", THRESHOLDS)
def test_counts(cls, thresholds):
    data = batches(binary)
    check_against_keras(getattr(metrics, cls)(thresholds=thresholds),
                        getattr(keras.metrics, cls)(thresholds=thresholds), data)
    assert getattr(metrics, cls)().per_sample is None


@pytest.mark.parametrize("cls", ["Precision", "Recall"])
@pytest.mark.parametrize("kwargs", [
    {},
    {"thresholds": [0.2, 0.6]},
    {"thresholds": [0.0, 0.5, 1.0]},
    {"top_k": 2},
    {"class_id": 1},
    {"top_k": 1, "class_id": 2},
    {"thresholds": 0.4, "class_id": 0},
])
def test_precision_recall(cls, kwargs):
    make = multi if ("top_k" in kwargs or "class_id" in kwargs) else flat
    data = batches(make)
    check_against_keras(getattr(metrics, cls)(**kwargs), getattr(keras.metrics, cls)(**kwargs),
                        data)
    check_config(getattr(metrics, cls)(**kwargs))


@pytest.mark.parametrize("kwargs", [
    {},
    {"num_thresholds": 50, "summation_method": "minoring"},
    {"num_thresholds": 50, "summation_method": "majoring"},
    {"curve": "PR"},
    {"curve": "PR", "summation_method": "majoring"},
    {"curve": "PRGAIN", "num_thresholds": 30},
    {"thresholds": [0.1, 0.4, 0.5, 0.8]},
    {"thresholds": [0.25, 0.5, 0.75]},
    {"label_weights": [0.2, 1.0, 0.5]},
    {"from_logits": True},
])
def test_auc(kwargs):
    make = multi if "label_weights" in kwargs else binary
    data = batches(make)
    if kwargs.get("from_logits"):
        data = [(y, p * 8 - 4, w) for y, p, w in data]
    check_against_keras(metrics.AUC(**kwargs), keras.metrics.AUC(**kwargs), data)
    check_config(metrics.AUC(**kwargs))


@pytest.mark.parametrize("kwargs", [
    {"multi_label": True, "num_labels": 3},
    {"multi_label": True, "num_labels": 3, "label_weights": [0.2, 1.0, 0.5]},
    {"multi_label": True, "num_labels": 3, "curve": "PR", "thresholds": [0.3, 0.6]},
])
def test_multi_label_auc(kwargs):
    check_against_keras(metrics.AUC(**kwargs), keras.metrics.AUC(**kwargs), batches(multi),
                        jit=True)


def test_multi_label_auc_sizes_itself_at_the_first_update():
    ours, theirs = metrics.AUC(multi_label=True), lenient(keras.metrics.AUC(multi_label=True))
    assert ours.variables == []
    for y, p, w in batches(multi):
        ours.update_state(y, p, sample_weight=w)
        theirs.update_state(y, p, sample_weight=w)
    assert [v.shape for v in ours.variables] == [(200, 3)] * 4
    np.testing.assert_allclose(np.asarray(ours.result()), np.asarray(theirs.result()),
                               rtol=1e-5)


def test_auc_jit_and_default_thresholds():
    auc = metrics.AUC()
    assert len(auc.thresholds) == 200 and auc.thresholds[0] < 0 and auc.thresholds[-1] > 1
    check_against_keras(auc, keras.metrics.AUC(), batches(flat), jit=True)


@pytest.mark.parametrize(("cls", "value"), [
    ("PrecisionAtRecall", 0.5),
    ("RecallAtPrecision", 0.6),
    ("SensitivityAtSpecificity", 0.5),
    ("SpecificityAtSensitivity", 0.7),
])
@pytest.mark.parametrize("kwargs", [{}, {"num_thresholds": 1}, {"num_thresholds": 20}])
def test_at_metrics(cls, value, kwargs):
    check_against_keras(getattr(metrics, cls)(value, **kwargs),
                        getattr(keras.metrics, cls)(value, **kwargs), batches(flat))
    check_config(getattr(metrics, cls)(value, **kwargs))


def test_at_metric_with_class_id():
    check_against_keras(metrics.PrecisionAtRecall(0.4, class_id=1),
                        keras.metrics.PrecisionAtRecall(0.4, class_id=1), batches(multi))


def test_results_have_one_value_per_threshold():
    m = metrics.TruePositives(thresholds=[0.2, 0.8])
    m.update_state([1, 1, 0], [0.5, 0.9, 0.9])
    np.testing.assert_array_equal(np.asarray(m.result()), [2.0, 1.0])
    m = metrics.Precision()
    m.update_state([1, 1, 0], [0.5, 0.9, 0.9])
    assert np.asarray(m.result()).shape == ()
    np.testing.assert_allclose(float(m.result()), 1 / 2, rtol=1e-6)  # 0.5 is not > 0.5


@pytest.mark.parametrize(("make", "message"), [
    (lambda: metrics.AUC(num_thresholds=1),
     r"num_thresholds must be an integer > 1. Received: num_thresholds=1"),
    (lambda: metrics.AUC(num_thresholds=2.5), r"Received: num_thresholds=2.5"),
    (lambda: metrics.AUC(curve="XY"), r"curve must be one of .*Received: curve='XY'"),
    (lambda: metrics.AUC(summation_method="sum"),
     r"summation_method must be one of .*Received: summation_method='sum'"),
    (lambda: metrics.AUC(num_labels=3), r"num_labels is needed only when multi_label"),
    (lambda: metrics.TruePositives(thresholds=1.5),
     r"thresholds must be .* in \[0, 1\]. Received: thresholds=1.5"),
    (lambda: metrics.Precision(thresholds=[0.1, -0.2]), r"Received: thresholds=\[0.1, -0.2\]"),
    (lambda: metrics.Recall(top_k=0), r"Received: top_k=0"),
    (lambda: metrics.Precision(class_id=-1), r"Received: class_id=-1"),
    (lambda: metrics.PrecisionAtRecall(1.5), r"recall must be .*Received: recall=1.5"),
    (lambda: metrics.SensitivityAtSpecificity(0.5, num_thresholds=0),
     r"num_thresholds must be an integer > 0. Received: num_thresholds=0"),
])
def test_bad_arguments(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_class_id_needs_2d_predictions():
    with pytest.raises(ValueError, match=r"class_id, y_pred must be 2D"):
        metrics.Precision(class_id=1).update_state([1, 0], [0.3, 0.6])
