"""TerminateOnNaN: compatible with Keras; fit itself already stops at a NaN loss."""

import numpy as np
import pytest
from callback_helpers import data, small_model

import cornu
from cornu.callbacks import BackupAndRestore, LambdaCallback, TerminateOnNaN
from cornu.layers import Dense


def diverging():
    cornu.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 4)).astype(np.float32) * 100
    y = rng.normal(size=(64, 1)).astype(np.float32) * 1e4
    model = cornu.Sequential([Dense(8, input_shape=(4,)), Dense(1)])
    model.compile(optimizer=cornu.optimizers.SGD(learning_rate=10.0), loss="mse")
    return model, x, y


def test_finite_training_is_untouched():
    x, y = data()
    history = small_model().fit(x, y, epochs=3, verbose=0, callbacks=[TerminateOnNaN()])
    assert len(history.epoch) == 3


def test_nan_stops_training(capsys):
    model, x, y = diverging()
    history = model.fit(x, y, epochs=5, batch_size=8, verbose=0, callbacks=[TerminateOnNaN()])
    assert model.stop_training
    assert len(history.epoch) == 1
    assert "terminating training" in capsys.readouterr().out
    assert all(np.isfinite(w).all() for w in model.get_weights())


def test_infinite_logged_loss_stops_training():
    x, y = data()
    model = small_model()
    history = model.fit(x, y, epochs=3, verbose=0, callbacks=[
        LambdaCallback(on_epoch_end=lambda e, logs: logs.update(loss=float("inf"))),
        TerminateOnNaN()])
    assert len(history.epoch) == 1


def test_raise_error_skips_train_end_so_a_backup_survives(tmp_path):
    x, y = data()
    model = small_model()

    def poison(epoch, logs):
        if epoch == 2:
            logs["loss"] = float("nan")

    with pytest.raises(RuntimeError, match="NaN or Inf loss encountered at epoch 3"):
        model.fit(x, y, epochs=5, verbose=0,
                  callbacks=[BackupAndRestore(tmp_path / "bk"), LambdaCallback(on_epoch_end=poison),
                             TerminateOnNaN(raise_error=True)])
    assert (tmp_path / "bk").is_dir()  # on_train_end did not run: the backup stays


def test_raise_error_must_be_bool():
    with pytest.raises(ValueError, match="raise_error must be True or False"):
        TerminateOnNaN(raise_error="yes")
