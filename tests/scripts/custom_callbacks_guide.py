"""Guide: Writing your own callbacks (synthetic data)."""
import numpy as np

import cornu as keras

rng = np.random.default_rng(2)
x_train = rng.random((256, 784)).astype("float32")
y_train = rng.random((256,)).astype("float32")
x_test, y_test = x_train[:64], y_train[:64]


def get_model():
    model = keras.Sequential()
    model.add(keras.layers.Dense(1))
    model.compile(optimizer=keras.optimizers.RMSprop(learning_rate=0.1),
                  loss="mean_squared_error", metrics=["mean_absolute_error"])
    return model


events = []


class CustomCallback(keras.callbacks.Callback):
    def on_train_begin(self, logs=None):
        events.append(("train_begin", sorted(logs or {})))

    def on_train_end(self, logs=None):
        events.append(("train_end", sorted(logs or {})))

    def on_epoch_begin(self, epoch, logs=None):
        events.append(("epoch_begin", epoch))

    def on_epoch_end(self, epoch, logs=None):
        events.append(("epoch_end", epoch, sorted(logs)))

    def on_test_begin(self, logs=None):
        events.append(("test_begin",))

    def on_test_end(self, logs=None):
        events.append(("test_end", sorted(logs or {})))

    def on_predict_begin(self, logs=None):
        events.append(("predict_begin",))

    def on_predict_end(self, logs=None):
        events.append(("predict_end",))

    def on_train_batch_begin(self, batch, logs=None):
        events.append(("train_batch_begin", batch))

    def on_train_batch_end(self, batch, logs=None):
        events.append(("train_batch_end", batch, sorted(logs)))

    def on_test_batch_begin(self, batch, logs=None):
        events.append(("test_batch_begin", batch))

    def on_test_batch_end(self, batch, logs=None):
        events.append(("test_batch_end", batch))

    def on_predict_batch_begin(self, batch, logs=None):
        events.append(("predict_batch_begin", batch))

    def on_predict_batch_end(self, batch, logs=None):
        events.append(("predict_batch_end", batch))


model = get_model()
model.fit(x_train, y_train, batch_size=128, epochs=1, verbose=0, validation_split=0.5,
          callbacks=[CustomCallback()])
names = [e[0] for e in events]
assert names[0] == "train_begin" and names[-1] == "train_end", names
assert names.count("train_batch_end") == 1, names
assert "test_begin" in names  # validation runs test hooks
ep_end = [e for e in events if e[0] == "epoch_end"][0]
assert ep_end[2] == ["loss", "mean_absolute_error", "val_loss", "val_mean_absolute_error"], ep_end

events.clear()
res = model.evaluate(x_test, y_test, batch_size=32, verbose=0, callbacks=[CustomCallback()])
names = [e[0] for e in events]
assert names.count("test_batch_end") == 2, names
events.clear()
res = model.predict(x_test, batch_size=32, verbose=0, callbacks=[CustomCallback()])
names = [e[0] for e in events]
assert names[0] == "predict_begin" and names.count("predict_batch_end") == 2, names


# usage of logs dict
class LossAndErrorPrintingCallback(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.batch_losses = []
        self.epoch_maes = []

    def on_train_batch_end(self, batch, logs=None):
        self.batch_losses.append(logs["loss"])

    def on_epoch_end(self, epoch, logs=None):
        self.epoch_maes.append(logs["mean_absolute_error"])


cb = LossAndErrorPrintingCallback()
model = get_model()
model.fit(x_train, y_train, batch_size=128, epochs=2, verbose=0, callbacks=[cb])
assert len(cb.batch_losses) == 4 and len(cb.epoch_maes) == 2
assert all(np.isfinite(float(v)) for v in cb.batch_losses)


# self.model: early stopping at minimum loss, using get_weights / set_weights
class EarlyStoppingAtMinLoss(keras.callbacks.Callback):
    def __init__(self, patience=0):
        super().__init__()
        self.patience = patience
        self.best_weights = None

    def on_train_begin(self, logs=None):
        self.wait = 0
        self.stopped_epoch = 0
        self.best = np.inf

    def on_epoch_end(self, epoch, logs=None):
        current = logs.get("loss")
        if np.less(current, self.best):
            self.best = current
            self.wait = 0
            self.best_weights = self.model.get_weights()
        else:
            self.wait += 1
            if self.wait >= self.patience:
                self.stopped_epoch = epoch
                self.model.stop_training = True
                self.model.set_weights(self.best_weights)

    def on_train_end(self, logs=None):
        pass


class StopAfter(keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        if epoch == 2:
            self.model.stop_training = True


model = get_model()
h = model.fit(x_train, y_train, batch_size=64, epochs=30, verbose=0,
              callbacks=[EarlyStoppingAtMinLoss(patience=1), StopAfter()])
assert len(h.history["loss"]) <= 3, len(h.history["loss"])

# learning-rate scheduling via self.model.optimizer.learning_rate
LR_SCHEDULE = [(1, 0.05), (2, 0.01)]


def lr_schedule(epoch, lr):
    if epoch < LR_SCHEDULE[0][0] or epoch > LR_SCHEDULE[-1][0]:
        return lr
    for i in range(len(LR_SCHEDULE)):
        if epoch == LR_SCHEDULE[i][0]:
            return LR_SCHEDULE[i][1]
    return lr


class CustomLearningRateScheduler(keras.callbacks.Callback):
    def __init__(self, schedule):
        super().__init__()
        self.schedule = schedule
        self.lrs = []

    def on_epoch_begin(self, epoch, logs=None):
        if not hasattr(self.model.optimizer, "learning_rate"):
            raise ValueError('Optimizer must have a "learning_rate" attribute.')
        lr = self.model.optimizer.learning_rate
        scheduled_lr = self.schedule(epoch, lr)
        self.model.optimizer.learning_rate = scheduled_lr
        self.lrs.append(float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate)))


cb = CustomLearningRateScheduler(lr_schedule)
model = get_model()
model.fit(x_train, y_train, batch_size=64, epochs=4, verbose=0, callbacks=[cb])
np.testing.assert_allclose(cb.lrs, [0.1, 0.05, 0.01, 0.01], rtol=1e-6)

# set_model / params
class ParamsCallback(keras.callbacks.Callback):
    def on_train_begin(self, logs=None):
        self.seen_params = dict(self.params)
        self.n_layers = len(self.model.layers)


pc = ParamsCallback()
model.fit(x_train, y_train, batch_size=64, epochs=1, verbose=0, callbacks=[pc])
assert pc.seen_params["epochs"] == 1 and pc.seen_params["steps"] == 4, pc.seen_params
assert pc.n_layers == 1
print("OK")
