"""Every bad input gets a ValueError/TypeError that names the argument, repeats the
value and says the fix."""

import numpy as np
import pytest

import cornu
from cornu.layers import Dense


@pytest.fixture
def model(classifier):
    return classifier(4, 8, 3, "relu", seed=0)


X = np.random.default_rng(0).random((10, 4)).astype(np.float32)
Y = np.eye(3, dtype=np.float32)[np.arange(10) % 3]


def test_lengths_differ(model):
    with pytest.raises(ValueError, match=r"x and y must have the same number of samples.*"
                                         r"x.shape\[0\]=10, y.shape\[0\]=9"):
        model.fit(X, Y[:9], verbose=0)


def test_wrong_feature_size_names_the_layer(model):
    with pytest.raises(ValueError, match=r"layer 'dense'.*expected shape \(None, 4\).*"
                                         r"\(10, 5\)"):
        model.fit(np.zeros((10, 5), np.float32), Y, verbose=0)
    with pytest.raises(ValueError, match="layer 'dense'"):
        model.predict(np.zeros((2, 3), np.float32))


def test_integer_labels_with_categorical_crossentropy(model):
    with pytest.raises(ValueError, match="sparse_categorical_crossentropy.*to_categorical"):
        model.fit(X, np.arange(10) % 3, verbose=0)


def test_labels_out_of_range():
    model = cornu.Sequential([Dense(3, input_shape=(4,), activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    with pytest.raises(ValueError, match=r"labels out of range.*3 classes.*from 0 to 7"):
        model.fit(X, np.arange(10) % 8, verbose=0)
    with pytest.raises(ValueError, match="labels out of range"):
        model.evaluate(X, -(np.arange(10) % 2), verbose=0)
    binary = cornu.Sequential([Dense(1, input_shape=(4,), activation="sigmoid")])
    binary.compile(optimizer="adam", loss="binary_crossentropy")
    with pytest.raises(ValueError, match="out of range for binary_crossentropy"):
        binary.fit(X, np.full((10, 1), 2.0), verbose=0)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nan_or_inf_in_x(model, bad):
    x = X.copy()
    x[3, 2] = bad
    with pytest.raises(ValueError, match=r"x contains NaN or infinity \(first at index \(3, 2\)"):
        model.fit(x, Y, verbose=0)


def test_empty_data(model):
    with pytest.raises(ValueError, match=r"x is empty.*shape \(0, 4\)"):
        model.fit(np.zeros((0, 4), np.float32), np.zeros((0, 3), np.float32), verbose=0)
    with pytest.raises(ValueError, match="x is empty"):
        model.predict(np.zeros((0, 4), np.float32))


@pytest.mark.parametrize("batch_size", [0, -1, 2.5, "32"])
def test_batch_size_below_one(model, batch_size):
    with pytest.raises(ValueError, match=f"batch_size must be a positive integer. "
                                         f"Received: batch_size={batch_size!r}"):
        model.fit(X, Y, batch_size=batch_size, verbose=0)


def test_negative_epochs(model):
    with pytest.raises(ValueError, match="epochs must be a non-negative integer. "
                                         "Received: epochs=-1"):
        model.fit(X, Y, epochs=-1, verbose=0)
    assert model.fit(X, Y, epochs=0, verbose=0).history == {}


def test_fit_and_evaluate_before_compile():
    model = cornu.Sequential([Dense(3, input_shape=(4,))])
    for call in (lambda: model.fit(X, Y), lambda: model.evaluate(X, Y)):
        with pytest.raises(ValueError, match=r"You must call compile\(\) before"):
            call()
    assert model.predict(X).shape == (10, 3)  # predict needs no compile, as in Keras


def test_data_that_is_not_numeric(model):
    with pytest.raises(TypeError, match="x must hold numbers.*dtype=<U"):
        model.fit(np.array([["a"] * 4] * 10), Y, verbose=0)
    with pytest.raises(TypeError, match="x must be a numeric array"):
        model.fit([[1, 2], [3]], Y, verbose=0)
    with pytest.raises(TypeError, match="y must hold numbers"):
        model.fit(X, np.array([None] * 10), verbose=0)


def test_unknown_names():
    model = cornu.Sequential([Dense(3, input_shape=(4,))])
    with pytest.raises(ValueError, match=r"loss='categorical_crosentropy'.*Did you mean "
                                         r"'categorical_crossentropy'"):
        model.compile(optimizer="adam", loss="categorical_crosentropy")
    with pytest.raises(ValueError, match=r"optimizer='adamm'.*'adam'"):
        model.compile(optimizer="adamm", loss="mse")
    with pytest.raises(ValueError, match=r"metrics='acurracy'.*'accuracy'"):
        model.compile(optimizer="adam", loss="mse", metrics=["acurracy"])
    with pytest.raises(ValueError, match=r"activation='sigmod'"):
        Dense(3, activation="sigmod")


def test_lecture_spelling_of_names_is_accepted():
    model = cornu.Sequential([Dense(3, input_shape=(4,), activation="Soft-Max")])
    model.compile(optimizer="Adam", loss="categorical crossentropy", metrics=["Accuracy"])
    assert model.loss.name == "categorical_crossentropy"
