"""Timeseries classification from scratch (FordA-like data, synthetic): a fully
convolutional network with callbacks ModelCheckpoint, ReduceLROnPlateau, EarlyStopping."""

import os
import tempfile

import numpy as np

import cornu as keras

keras.utils.set_random_seed(6)
rng = np.random.default_rng(6)


def make_series(n, length=128):
    """Class 1: a sine burst somewhere in the series; class -1: noise only."""
    t = np.arange(length)
    x = rng.normal(scale=0.5, size=(n, length))
    y = rng.choice([-1, 1], size=n)
    for i in np.where(y == 1)[0]:
        start = rng.integers(0, length - 32)
        x[i, start : start + 32] += 2.0 * np.sin(t[:32] * 2 * np.pi / 8)
    return x.astype("float32"), y


x_train, y_train = make_series(400)
x_test, y_test = make_series(100)

# the univariate series get a channel axis
x_train = x_train.reshape((x_train.shape[0], x_train.shape[1], 1))
x_test = x_test.reshape((x_test.shape[0], x_test.shape[1], 1))
num_classes = len(np.unique(y_train))
assert num_classes == 2

# shuffle, and map the labels {-1, 1} to {0, 1}
idx = np.random.permutation(len(x_train))
x_train, y_train = x_train[idx], y_train[idx]
y_train[y_train == -1] = 0
y_test[y_test == -1] = 0


def make_model(input_shape):
    input_layer = keras.layers.Input(input_shape)

    conv1 = keras.layers.Conv1D(filters=16, kernel_size=3, padding="same")(input_layer)
    conv1 = keras.layers.BatchNormalization()(conv1)
    conv1 = keras.layers.ReLU()(conv1)

    conv2 = keras.layers.Conv1D(filters=16, kernel_size=3, padding="same")(conv1)
    conv2 = keras.layers.BatchNormalization()(conv2)
    conv2 = keras.layers.ReLU()(conv2)

    conv3 = keras.layers.Conv1D(filters=16, kernel_size=3, padding="same")(conv2)
    conv3 = keras.layers.BatchNormalization()(conv3)
    conv3 = keras.layers.ReLU()(conv3)

    gap = keras.layers.GlobalAveragePooling1D()(conv3)
    output_layer = keras.layers.Dense(num_classes, activation="softmax")(gap)
    return keras.models.Model(inputs=input_layer, outputs=output_layer)


model = make_model(input_shape=x_train.shape[1:])
model.summary()

epochs = 12
batch_size = 32
checkpoint_path = os.path.join(tempfile.mkdtemp(), "best_model.keras")
callbacks = [
    keras.callbacks.ModelCheckpoint(checkpoint_path, save_best_only=True, monitor="val_loss"),
    keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=2, min_lr=0.0001),
    keras.callbacks.EarlyStopping(monitor="val_loss", patience=4, verbose=1),
]
model.compile(
    optimizer=keras.optimizers.Adam(learning_rate=3e-3),
    loss="sparse_categorical_crossentropy",
    metrics=["sparse_categorical_accuracy"],
)
history = model.fit(
    x_train,
    y_train,
    batch_size=batch_size,
    epochs=epochs,
    callbacks=callbacks,
    validation_split=0.2,
    verbose=0,
)
assert set(history.history) >= {
    "loss",
    "sparse_categorical_accuracy",
    "val_loss",
    "val_sparse_categorical_accuracy",
    "learning_rate",
}, sorted(history.history)
assert 1 <= len(history.history["loss"]) <= epochs
assert os.path.exists(checkpoint_path)
lrs = history.history["learning_rate"]
assert all(b <= a + 1e-12 for a, b in zip(lrs, lrs[1:])), lrs

model = keras.models.load_model(checkpoint_path)
best = min(history.history["val_loss"])
test_loss, test_acc = model.evaluate(x_test, y_test, verbose=0)
assert test_acc > 0.8, test_acc
val_loss_at_best = model.evaluate(
    x_train[int(len(x_train) * 0.8) :], y_train[int(len(x_train) * 0.8) :], verbose=0
)[0]
np.testing.assert_allclose(val_loss_at_best, best, rtol=1e-3)
pred = model.predict(x_test[:5], verbose=0)
assert pred.shape == (5, 2)
np.testing.assert_allclose(pred.sum(axis=1), np.ones(5), rtol=1e-5)
print("OK")
