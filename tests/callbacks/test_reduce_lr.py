"""ReduceLROnPlateau against Keras 3: expected rates are keras 3.15.1's on the same
scripted values (its optimizer holds the rate as float32, as cornu's device state does)."""

import numpy as np
import pytest
from callback_helpers import FakeModel, Scripted, data, small_model

from cornu import optimizers
from cornu.callbacks import LearningRateScheduler, ReduceLROnPlateau

KERAS_CASES = [
    (dict(patience=1, factor=0.5), [1.0, 0.9, 0.95, 0.97, 0.8, 0.85],
     [0.009999999776482582, 0.009999999776482582, 0.004999999888241291,
      0.0024999999441206455, 0.0024999999441206455, 0.0012499999720603228]),
    (dict(patience=0, factor=0.1, min_lr=0.0005), [1.0, 1.1, 1.2, 1.3, 1.4],
     [0.009999999776482582, 0.0009999999310821295, 0.0005000000237487257,
      0.0005000000237487257, 0.0005000000237487257]),
    (dict(patience=1, factor=0.5, cooldown=2), [1.0, 1.1, 1.2, 1.3, 1.4, 1.5, 1.6],
     [0.009999999776482582, 0.004999999888241291, 0.004999999888241291,
      0.0024999999441206455, 0.0024999999441206455, 0.0012499999720603228,
      0.0012499999720603228]),
    (dict(patience=1, factor=0.5, min_delta=0.2), [1.0, 0.9, 0.85, 0.5, 0.45],
     [0.009999999776482582, 0.004999999888241291, 0.0024999999441206455,
      0.0024999999441206455, 0.0012499999720603228]),
]


@pytest.mark.parametrize(("kwargs", "values", "rates"), KERAS_CASES)
def test_matches_keras_on_scripted_values(kwargs, values, rates):
    model = FakeModel()
    callback = ReduceLROnPlateau(**kwargs)
    callback.set_model(model)
    callback.on_train_begin()
    seen = []
    for epoch, value in enumerate(values):
        logs = {"val_loss": value}
        callback.on_epoch_end(epoch, logs)
        seen.append(model.optimizer.learning_rate)
        assert "learning_rate" in logs  # as Keras: the rate joins the logs
    np.testing.assert_array_equal(np.float32(seen), np.float32(rates))


def test_reduced_rate_is_the_rate_training_uses():
    """Reducing after epoch 0 trains exactly like a schedule with the same rates."""
    x, y = data()
    a = small_model(optimizer=optimizers.SGD(learning_rate=0.1))
    history = a.fit(x, y, epochs=3, verbose=0,
                    callbacks=[Scripted("score", [1.0, 2.0, 3.0]),
                               ReduceLROnPlateau(monitor="score", mode="min", patience=0,
                                                 factor=0.5)])
    # epoch 1 does not improve (patience 0): the rate halves from epoch 2 on
    assert np.float32(history.history["learning_rate"]).tolist() == \
        np.float32([0.1, 0.1, 0.05]).tolist()
    b = small_model(optimizer=optimizers.SGD(learning_rate=0.1))
    b.fit(x, y, epochs=3, verbose=0,
          callbacks=[LearningRateScheduler(lambda epoch: [0.1, 0.1, 0.05][epoch])])
    for wa, wb in zip(a.get_weights(), b.get_weights(), strict=True):
        np.testing.assert_array_equal(wa, wb)
    assert a.optimizer.learning_rate == pytest.approx(0.025)  # reduced again at the end
    assert optimizers.get_learning_rate(a._opt_state) == np.float32(0.05)


def test_missing_monitor_warns():
    model = FakeModel()
    callback = ReduceLROnPlateau()
    callback.set_model(model)
    callback.on_train_begin()
    with pytest.warns(UserWarning, match="Learning rate reduction.*val_loss"):
        callback.on_epoch_end(0, {"loss": 1.0})


def test_keras1_epsilon_is_min_delta_with_a_warning():
    with pytest.warns(DeprecationWarning, match="`epsilon`.*`min_delta`"):
        callback = ReduceLROnPlateau(epsilon=0.3)
    assert callback.min_delta == 0.3


def test_state_round_trip():
    model = FakeModel()
    callback = ReduceLROnPlateau(patience=3)
    callback.set_model(model)
    callback.on_train_begin()
    callback.on_epoch_end(0, {"val_loss": 1.0})
    callback.on_epoch_end(1, {"val_loss": 2.0})
    other = ReduceLROnPlateau(patience=3)
    other.set_state(callback.get_state())
    assert (other.best, other.wait, other.cooldown_counter) == (1.0, 1, 0)


@pytest.mark.parametrize(("kwargs", "error", "match"), [
    (dict(factor=1.0), ValueError, "factor must be a number in \\(0, 1\\)"),
    (dict(factor=0), ValueError, "factor"),
    (dict(min_lr=-1), ValueError, "min_lr must be a number >= 0"),
    (dict(cooldown=-1), ValueError, "cooldown"),
    (dict(mode="up"), ValueError, "mode must be"),
    (dict(lr=0.1), TypeError, "unexpected keyword arguments: lr"),
])
def test_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        ReduceLROnPlateau(**kwargs)
