"""The callback protocol inside fit: hook order, batch hooks, chunk hooks, NaN stops."""

import numpy as np
import pytest

import cornu
from cornu.callbacks import Callback
from cornu.layers import Dense


def model_and_data(n=40, seed=0):
    cornu.utils.set_random_seed(seed)
    model = cornu.Sequential([Dense(4, input_shape=(3,), activation="relu"),
                              Dense(2, activation="softmax")])
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3)).astype(np.float32)
    y = np.eye(2, dtype=np.float32)[rng.integers(0, 2, n)]
    return model, x, y


class Recorder(Callback):
    def __init__(self):
        super().__init__()
        self.calls = []

    def on_train_begin(self, logs=None):
        self.calls.append(("train_begin",))

    def on_epoch_begin(self, epoch, logs=None):
        self.calls.append(("epoch_begin", epoch))

    def on_epoch_end(self, epoch, logs=None):
        self.calls.append(("epoch_end", epoch, sorted(logs)))

    def on_train_end(self, logs=None):
        self.calls.append(("train_end",))


class BatchRecorder(Callback):
    def __init__(self):
        super().__init__()
        self.batches = []

    def on_train_batch_end(self, batch, logs=None):
        self.batches.append((batch, logs["loss"]))


def test_epoch_hooks_in_order_with_logs_and_model():
    model, x, y = model_and_data()
    rec = Recorder()
    model.fit(x, y, epochs=2, verbose=0, callbacks=[rec], validation_split=0.25)
    assert rec.model is model and rec.params["epochs"] == 2 and rec.params["steps"] == 1
    keys = ["accuracy", "loss", "val_accuracy", "val_loss"]
    assert rec.calls == [("train_begin",), ("epoch_begin", 0), ("epoch_end", 0, keys),
                         ("epoch_begin", 1), ("epoch_end", 1, keys), ("train_end",)]


def test_batch_hooks_see_every_batch_and_do_not_change_results():
    model, x, y = model_and_data()
    rec = BatchRecorder()
    model.fit(x, y, batch_size=8, epochs=2, verbose=0, callbacks=[rec])
    assert [b for b, _ in rec.batches] == [0, 1, 2, 3, 4] * 2
    assert all(np.isfinite(loss) for _, loss in rec.batches)
    plain, x, y = model_and_data()
    plain.fit(x, y, batch_size=8, epochs=2, verbose=0)
    for a, b in zip(model.get_weights(), plain.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_callbacks_without_batch_hooks_keep_whole_epoch_calls():
    model, x, y = model_and_data()
    model.fit(x, y, batch_size=8, epochs=3, verbose=0, callbacks=[Recorder()])
    assert model._engine.traces["train"] == 1  # one program: 5 steps in one call


def test_stop_training_from_a_callback():
    class StopAfterFirst(Callback):
        def on_epoch_end(self, epoch, logs=None):
            self.model.stop_training = True

    model, x, y = model_and_data()
    history = model.fit(x, y, epochs=5, verbose=0, callbacks=[StopAfterFirst()])
    assert history.epoch == [0]


def test_non_callback_is_rejected():
    model, x, y = model_and_data()
    with pytest.raises(TypeError, match="callbacks must be cornu.callbacks.Callback"):
        model.fit(x, y, verbose=0, callbacks=[print])


def test_nan_loss_stops_with_epoch_and_step_and_keeps_last_finite_weights(capsys):
    model, x, y = model_and_data(n=32)
    model.compile(optimizer=cornu.optimizers.SGD(learning_rate=0.1), loss="mse")
    x_bad = x.copy()
    model.fit(x_bad, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    finite = model.get_weights()
    # a step that overflows: huge inputs in the second batch of the next epoch, through a
    # first kernel whose entries are all >= 1, so every unit's sum exceeds float32's range
    # whatever the initial weights were
    finite[0] = np.abs(finite[0]) + 1.0
    model.set_weights(finite)
    x_bad[8:16] = 3e38
    history = model.fit(x_bad, y, batch_size=8, epochs=3, shuffle=False, verbose=0)
    err = capsys.readouterr().err
    assert "NaN or infinite at epoch 1, step 2" in err
    assert model.nan_stop == (0, 1) and history.epoch == [0]
    # the weights are those after step 1 (finite), not NaN
    assert all(np.isfinite(w).all() for w in model.get_weights())
    redo, _, _ = model_and_data(n=32)
    redo.compile(optimizer=cornu.optimizers.SGD(learning_rate=0.1), loss="mse")
    redo.set_weights(finite)
    redo.fit(x[:8], y[:8], batch_size=8, epochs=1, shuffle=False, verbose=0)
    for a, b in zip(model.get_weights(), redo.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6)
