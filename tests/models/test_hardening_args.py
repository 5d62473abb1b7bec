"""Arguments that would allocate by their value, not by the data (hardening)."""

import numpy as np
import pytest

import cornu
from cornu.layers import Dense


def small_classifier():
    model = cornu.Sequential([cornu.Input((4,)), Dense(3, activation="softmax")])
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    return model


def test_a_batch_larger_than_the_data_is_the_data():
    model = small_classifier()
    x = np.ones((20, 4), np.float32)
    y = np.zeros(20)
    history = model.fit(x, y, batch_size=30_000_000, epochs=1, verbose=0)
    assert history.params["batch_size"] == 20 and history.params["steps"] == 1
    assert model.evaluate(x, y, batch_size=30_000_000, verbose=0) > 0
    assert model.predict(x, batch_size=30_000_000, verbose=0).shape == (20, 3)


def test_class_weight_keys_are_bounded_by_the_classes():
    model = small_classifier()
    x, y = np.ones((6, 4), np.float32), np.array([0, 1, 2, 0, 1, 2])
    with pytest.raises(ValueError, match=r"class_weight names class 1000000000000.*3 classes"):
        model.fit(x, y, class_weight={10**12: 1.0}, verbose=0)
    with pytest.raises(ValueError, match=r"class_weight values must be numbers.*'heavy'"):
        model.fit(x, y, class_weight={0: "heavy"}, verbose=0)
    model.fit(x, y, class_weight={0: 2.0, 2: 0.5}, verbose=0)
    # a weight that is not finite, or only as float64, would make every loss nan or inf
    for weight in (float("nan"), float("inf"), 1e300):
        with pytest.raises(ValueError, match=r"class_weight values must be finite .*"
                                             r"class_weight\[1\]="):
            model.fit(x, y, class_weight={1: weight}, verbose=0)
    # as Keras: a class the model outputs may be weighted though these labels lack it
    model.fit(x, np.array([0, 1, 0, 1, 0, 1]), class_weight={0: 1.0, 1: 1.0, 2: 5.0},
              verbose=0)


def test_validation_data_errors_name_validation_data():
    model = small_classifier()
    x, y = np.ones((6, 4), np.float32), np.array([0, 1, 2, 0, 1, 2])
    cases = [((np.ones((5, 4), np.float32), np.zeros(4)),
              r"validation_data\[0\] and validation_data\[1\] must have the same number of "
              r"samples\. Received: validation_data\[0\]\.shape\[0\]=5"),
             ((np.ones((5, 3), np.float32), np.zeros(5)), r"validation_data\[0\] with shape"),
             ((np.full((5, 4), 1e300), np.zeros(5)), r"validation_data\[0\] holds values too"),
             ((np.ones((5, 4), np.float32), np.full(5, 7)), r"validation_data\[1\] has labels"),
             ((np.ones((5, 4), np.float32), np.zeros(5), np.ones(3)),
              r"validation_data\[2\] must have one weight per sample")]
    for data, pattern in cases:
        with pytest.raises((ValueError, TypeError), match=pattern) as info:
            model.fit(x, y, validation_data=data, verbose=0)
        assert not str(info.value).startswith("x "), info.value


def test_a_first_step_that_is_not_finite_reports_nan_not_zero():
    model = cornu.Sequential([cornu.Input((2,)), Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    x = np.full((4, 2), 1e30, np.float32)  # the first step's loss overflows to inf
    history = model.fit(x, np.zeros((4, 1), np.float32), batch_size=4, epochs=1, verbose=0)
    assert np.isnan(history.history["loss"][0])


def test_the_progress_line_of_a_first_step_that_is_not_finite_says_nan(capsys):
    model = cornu.Sequential([cornu.Input((2,)), Dense(1)])
    model.compile(optimizer="sgd", loss="mse", metrics=["mae"])
    x = np.full((4, 2), 1e30, np.float32)
    model.fit(x, np.zeros((4, 1), np.float32), batch_size=2, epochs=1, verbose=2)
    line = [s for s in capsys.readouterr().out.splitlines() if "loss:" in s][-1]
    assert "loss: nan" in line and "mae: nan" in line and "0.0000" not in line, line


def test_float64_values_that_overflow_float32_are_refused_naming_their_rows():
    """1e300 is finite as float64, infinite once cast to float32: checked after the cast."""
    model = cornu.Sequential([cornu.Input((3,)), Dense(2)])
    model.compile(optimizer="sgd", loss="mse")
    x, y = np.ones((10, 3)), np.ones((10, 2))
    x[4, 1], x[7, 2] = 1e300, -1e39
    with pytest.raises(ValueError, match=r"x holds values too large for float32 .* 2 row\(s\): "
                                         r"4, 7\. .*np\.clip\(x"):
        model.fit(x, y, verbose=0)
    with pytest.raises(ValueError, match=r"x holds values too large for float32.*: 4, 7\."):
        model.predict(x, verbose=0)
    big_y = np.ones((10, 2))
    big_y[9, 0] = 1e300
    with pytest.raises(ValueError, match=r"y holds values too large.*1 row\(s\): 9\."):
        model.fit(np.ones((10, 3)), big_y, verbose=0)
    weights = np.ones(10)
    weights[2] = 1e300
    with pytest.raises(ValueError, match=r"sample_weight holds values too large.*: 2\."):
        model.fit(np.ones((10, 3)), np.ones((10, 2)), sample_weight=weights, verbose=0)
    model.fit(np.full((10, 3), 3e38), np.ones((10, 2)), epochs=1, verbose=0)  # finite as float32
