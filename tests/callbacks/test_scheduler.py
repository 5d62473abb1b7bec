"""LearningRateScheduler: Keras' documented example and its calling conventions."""

import math

import jax.numpy as jnp
import numpy as np
import pytest
from callback_helpers import data, small_model

from cornu import optimizers
from cornu.callbacks import LambdaCallback, LearningRateScheduler


def keras_doc_schedule(epoch, lr):
    return lr if epoch < 10 else lr * math.exp(-0.1)


def test_keras_docstring_example():
    x, y = data()
    model = small_model(optimizer=optimizers.SGD())
    assert round(model.optimizer.learning_rate, 5) == 0.01
    history = model.fit(x, y, epochs=15, verbose=0,
                        callbacks=[LearningRateScheduler(keras_doc_schedule)])
    assert round(model.optimizer.learning_rate, 5) == 0.00607
    assert len(history.history["learning_rate"]) == 15
    assert history.history["learning_rate"][0] == pytest.approx(0.01)


def test_each_epoch_trains_with_the_scheduled_rate():
    x, y = data()
    rates = []
    model = small_model(optimizer=optimizers.SGD(learning_rate=0.1))
    model.fit(x, y, epochs=3, verbose=0, callbacks=[
        LearningRateScheduler(lambda epoch: 0.1 / (epoch + 1)),
        LambdaCallback(on_epoch_end=lambda epoch, logs: rates.append(
            optimizers.get_learning_rate(model._opt_state)))])
    np.testing.assert_array_equal(np.float32(rates), np.float32([0.1, 0.05, 0.1 / 3]))


def test_constant_schedule_equals_compiling_with_that_rate():
    x, y = data()
    a = small_model(optimizer=optimizers.SGD(learning_rate=0.5))
    a.fit(x, y, epochs=2, verbose=0, callbacks=[LearningRateScheduler(lambda e, lr: 0.05)])
    b = small_model(optimizer=optimizers.SGD(learning_rate=0.05))
    b.fit(x, y, epochs=2, verbose=0)
    for wa, wb in zip(a.get_weights(), b.get_weights(), strict=True):
        np.testing.assert_array_equal(wa, wb)


def test_schedule_gets_epoch_and_current_rate():
    x, y = data()
    calls = []

    def schedule(epoch, lr):
        calls.append((epoch, lr))
        return lr * 0.5

    model = small_model(optimizer=optimizers.SGD(learning_rate=0.2))
    model.fit(x, y, epochs=3, initial_epoch=1, verbose=0,
              callbacks=[LearningRateScheduler(schedule)])
    assert [c[0] for c in calls] == [1, 2]
    assert calls[0][1] == float(np.float32(0.2))
    assert calls[1][1] == float(np.float32(0.1))


@pytest.mark.parametrize("value", [np.float32(0.01), np.float64(0.01), jnp.float32(0.01), 1])
def test_numeric_outputs_are_accepted(value):
    x, y = data()
    model = small_model()
    model.fit(x, y, epochs=1, verbose=0, callbacks=[LearningRateScheduler(lambda e: value)])
    assert model.optimizer.learning_rate == pytest.approx(float(value))


@pytest.mark.parametrize("value", ["0.1", None, [0.1]])
def test_non_numeric_output_is_an_error(value):
    x, y = data()
    model = small_model()
    with pytest.raises(ValueError, match="schedule` function should be a float"):
        model.fit(x, y, epochs=1, verbose=0,
                  callbacks=[LearningRateScheduler(lambda e: value)])


def test_schedule_must_be_callable():
    with pytest.raises(TypeError, match="schedule must be a function"):
        LearningRateScheduler(0.1)


def test_verbose_message(capsys):
    x, y = data()
    model = small_model()
    model.fit(x, y, epochs=1, verbose=0,
              callbacks=[LearningRateScheduler(lambda e, lr: 0.002, verbose=1)])
    assert "Epoch 1: LearningRateScheduler setting learning rate to 0.002." in \
        capsys.readouterr().out
