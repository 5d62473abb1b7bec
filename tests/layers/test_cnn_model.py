"""Convolutional models through Sequential: Keras' summary for mnist_convnet, and
compile/fit/evaluate/predict end to end."""

import numpy as np
import pytest

import cornu
from cornu import layers
from cornu.cli.models import mnist_convnet  # the model `cornu mnist --model cnn` trains
from cornu.utils import to_categorical


def test_mnist_convnet_summary_matches_keras(capsys):
    model = mnist_convnet()
    model.summary()
    text = capsys.readouterr().out
    expected = [  # Keras 3's summary of the same model
        ("conv2d (Conv2D)", "(None, 26, 26, 32)", 3 * 3 * 1 * 32 + 32),
        ("max_pooling2d (MaxPooling2D)", "(None, 13, 13, 32)", 0),
        ("conv2d_1 (Conv2D)", "(None, 11, 11, 64)", 3 * 3 * 32 * 64 + 64),
        ("max_pooling2d_1 (MaxPooling2D)", "(None, 5, 5, 64)", 0),
        ("flatten (Flatten)", "(None, 1600)", 0),
        ("dropout (Dropout)", "(None, 1600)", 0),
        ("dense (Dense)", "(None, 10)", 1600 * 10 + 10),
    ]
    lines = text.splitlines()
    for name, shape, count in expected:
        line = next(line for line in lines if line.startswith(name + " "))
        assert shape in line and line.endswith(f" {count:,}"), line
    assert sum(c for _, _, c in expected) == 34826
    assert "Total params: 34,826" in text and "Trainable params: 34,826" in text
    assert model.count_params() == 34826


def test_small_cnn_fits_evaluates_and_predicts_without_recompiling():
    cornu.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.random((96, 8, 8, 1)).astype(np.float32)
    labels = (x[:, :4].mean(axis=(1, 2, 3)) > x[:, 4:].mean(axis=(1, 2, 3))).astype(int)
    model = cornu.Sequential([
        cornu.Input((8, 8, 1)),
        layers.Conv2D(8, 3, padding="same", activation="relu"),
        layers.BatchNormalization(),
        layers.MaxPooling2D(),
        layers.Conv2D(8, 3, activation="relu"),
        layers.GlobalAveragePooling2D(),
        layers.Dropout(0.25),
        layers.Dense(2, activation="softmax"),
    ])
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(x, to_categorical(labels, 2), batch_size=20, epochs=3, verbose=0,
                        validation_split=0.25)
    assert len(history.history["loss"]) == 3 and np.isfinite(history.history["loss"]).all()
    assert model._engine.traces["train"] == 1  # the partial last batch is padded, not new
    loss, accuracy = model.evaluate(x, to_categorical(labels, 2), verbose=0)
    assert np.isfinite(loss) and 0 <= accuracy <= 1
    predicted = model.predict(x, batch_size=32, verbose=0)
    assert predicted.shape == (96, 2)
    np.testing.assert_allclose(predicted.sum(axis=1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(predicted, np.asarray(model(x)), rtol=1e-4, atol=1e-6)


@pytest.mark.slow
def test_convnet_learns_mnist_digits_from_a_small_slice(mnist_data):
    (x_train, y_train), (x_test, y_test) = mnist_data
    x = x_train[:4000, ..., None].astype("float32") / 255
    xt = x_test[:1000, ..., None].astype("float32") / 255
    cornu.utils.set_random_seed(0)
    model = mnist_convnet()
    model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    model.fit(x, to_categorical(y_train[:4000], 10), batch_size=128, epochs=3, verbose=0)
    loss, accuracy = model.evaluate(xt, to_categorical(y_test[:1000], 10), verbose=0)
    assert accuracy >= 0.9, accuracy
