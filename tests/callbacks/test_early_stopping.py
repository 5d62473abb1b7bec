"""EarlyStopping against Keras 3: the expected epochs below are what keras 3.15.1's
EarlyStopping gives on the same scripted values (checked once, outside the suite)."""

import numpy as np
import pytest
from callback_helpers import Recorder, Scripted, data, drive, small_model

from cornu.callbacks import EarlyStopping

# (arguments, monitored values per epoch, epochs run, weights at the end: epoch number)
KERAS_CASES = [
    (dict(patience=2), [1.0, 0.9, 0.95, 0.92, 0.91, 0.5], 4, 3),
    (dict(patience=0), [1.0, 0.9, 0.95, 0.8], 3, 2),
    (dict(min_delta=0.1, patience=1), [1.0, 0.95, 0.85, 0.7], 2, 1),
    (dict(monitor="val_accuracy", patience=1, mode="max"), [0.5, 0.6, 0.55, 0.7], 3, 2),
    (dict(monitor="val_accuracy", patience=1), [0.5, 0.6, 0.55, 0.7], 3, 2),  # auto: max
    (dict(baseline=0.5, patience=2), [0.9, 0.8, 0.85, 0.7, 0.6], 3, 2),
    (dict(start_from_epoch=3, patience=0), [1.0, 2.0, 3.0, 4.0, 5.0, 6.0], 5, 4),
    (dict(patience=2, restore_best_weights=True), [1.0, 0.5, 0.7, 0.8, 0.9], 4, 1),
    # patience never exhausted: Keras 3 still restores the best epoch at train end
    (dict(patience=10, restore_best_weights=True), [1.0, 0.5, 0.7], 3, 1),
    (dict(patience=2, baseline=0.1, restore_best_weights=True), [0.9, 0.95, 0.97, 0.99], 2, 0),
    (dict(monitor="loss", patience=1), [0.3, 0.3, 0.2], 2, 1),
]


@pytest.mark.parametrize(("kwargs", "values", "ran", "weights_epoch"), KERAS_CASES)
def test_matches_keras_on_scripted_values(kwargs, values, ran, weights_epoch):
    monitor = kwargs.get("monitor", "val_loss")
    epochs, model = drive(EarlyStopping(**kwargs), values, monitor)
    assert epochs == ran
    assert model.epoch == weights_epoch
    assert model.stop_training == (ran < len(values))


def test_stops_a_real_fit_and_history_has_the_epochs_run():
    x, y = data()
    model = small_model()
    stopper = EarlyStopping(monitor="score", mode="min", patience=1)
    history = model.fit(x, y, epochs=10, verbose=0,
                        callbacks=[Scripted("score", [3, 2, 2.5, 2.4, 1, 0, 0, 0, 0, 0]),
                                   stopper])
    assert history.epoch == [0, 1, 2]
    assert stopper.stopped_epoch == 2
    assert len(history.history["loss"]) == 3


def test_restore_best_weights_when_patience_is_never_exhausted():
    x, y = data()
    model = small_model()
    recorder = Recorder()
    history = model.fit(x, y, epochs=4, validation_split=0.25, verbose=0,
                        callbacks=[recorder, EarlyStopping(patience=10,
                                                           restore_best_weights=True)])
    assert len(history.epoch) == 4  # not stopped
    best = int(np.argmin(history.history["val_loss"]))
    for got, want in zip(model.get_weights(), recorder.weights[best], strict=True):
        np.testing.assert_array_equal(got, want)


def test_restore_best_weights_scripted_best_is_not_the_last_epoch():
    x, y = data()
    model = small_model()
    recorder = Recorder()
    model.fit(x, y, epochs=5, verbose=0,
              callbacks=[Scripted("score", [5, 1, 3, 4, 6]), recorder,
                         EarlyStopping(monitor="score", mode="min", patience=10,
                                       restore_best_weights=True)])
    for got, want in zip(model.get_weights(), recorder.weights[1], strict=True):
        np.testing.assert_array_equal(got, want)


def test_without_restore_the_last_weights_stay():
    x, y = data()
    model = small_model()
    recorder = Recorder()
    model.fit(x, y, epochs=3, verbose=0,
              callbacks=[Scripted("score", [1, 2, 3]), recorder,
                         EarlyStopping(monitor="score", mode="min", patience=10)])
    for got, want in zip(model.get_weights(), recorder.weights[-1], strict=True):
        np.testing.assert_array_equal(got, want)


def test_missing_monitor_warns_as_keras_and_does_not_stop():
    x, y = data()
    model = small_model()
    with pytest.warns(UserWarning, match="val_loss.*not available.*loss"):
        history = model.fit(x, y, epochs=2, verbose=0, callbacks=[EarlyStopping(patience=0)])
    assert len(history.epoch) == 2


def test_reusable_across_fits():
    stopper = EarlyStopping(patience=0)
    assert drive(stopper, [1.0, 2.0, 3.0])[0] == 2
    assert drive(stopper, [5.0, 4.0, 3.0])[0] == 3  # state reset at train begin


def test_verbose_messages(capsys):
    drive(EarlyStopping(patience=0, verbose=1, restore_best_weights=True), [1.0, 2.0])
    out = capsys.readouterr().out
    assert "Epoch 2: early stopping" in out
    assert "Restoring model weights from the end of the best epoch: 1." in out


def test_state_round_trip():
    stopper = EarlyStopping(patience=3, restore_best_weights=True)
    drive(stopper, [1.0, 0.5, 0.7])
    other = EarlyStopping(patience=3, restore_best_weights=True)
    other.set_state(stopper.get_state())
    assert (other.wait, other.best, other.best_epoch) == (1, 0.5, 1)
    np.testing.assert_array_equal(other.best_weights[0], [1.0])


@pytest.mark.parametrize(("kwargs", "match"), [
    (dict(mode="minimum"), "mode must be 'auto', 'min' or 'max'"),
    (dict(patience=-1), "patience must be a non-negative integer"),
    (dict(patience=1.5), "patience must be a non-negative integer"),
    (dict(min_delta="x"), "min_delta must be a number"),
    (dict(baseline="low"), "baseline must be a number"),
    (dict(start_from_epoch=-2), "start_from_epoch"),
    (dict(monitor="val_score"), "mode='min'.*mode='max'"),
    (dict(restore_best_weights="yes"), "restore_best_weights must be True or False"),
])
def test_bad_arguments_name_the_argument(kwargs, match):
    with pytest.raises(ValueError, match=match):
        EarlyStopping(**kwargs)
