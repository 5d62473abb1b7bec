"""Simple MNIST classifiers, the data read with NumPy from the IDX files (no download):
an MLP with Dropout, and a small convnet; class predictions, a confusion count, and a
model reloaded from its best checkpoint. Falls back to synthetic digits without the files."""

import gzip
import os
import tempfile

import numpy as np

import cornu as keras
from cornu import layers

keras.utils.set_random_seed(12)
folder = os.path.join(os.environ.get("CORNU_DATA", "/work/shared/data"), "mnist")


def read_idx(name):
    with gzip.open(os.path.join(folder, name), "rb") as f:
        data = f.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


if os.path.exists(os.path.join(folder, "train-images-idx3-ubyte.gz")):
    x_train = read_idx("train-images-idx3-ubyte.gz")[:6000]
    y_train = read_idx("train-labels-idx1-ubyte.gz")[:6000]
    x_test = read_idx("t10k-images-idx3-ubyte.gz")[:1000]
    y_test = read_idx("t10k-labels-idx1-ubyte.gz")[:1000]
    assert y_test[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]
else:  # synthetic "digits": a bright bar whose position is the class
    rng = np.random.default_rng(12)

    def fake(n):
        y = rng.integers(0, 10, size=(n,))
        x = rng.integers(0, 60, size=(n, 28, 28))
        for i, c in enumerate(y):
            x[i, 2 + 2 * c : 5 + 2 * c, 4:24] = 255
        return x.astype("uint8"), y.astype("uint8")

    (x_train, y_train), (x_test, y_test) = fake(6000), fake(1000)

num_classes = 10
x_train = x_train.astype("float32") / 255
x_test = x_test.astype("float32") / 255
assert x_train.shape == (6000, 28, 28) and x_train.max() <= 1.0

# -- an MLP -------------------------------------------------------------------------------------------
mlp = keras.Sequential(
    [
        keras.Input(shape=(28, 28)),
        layers.Flatten(),
        layers.Dense(128, activation="relu"),
        layers.Dropout(0.2),
        layers.Dense(num_classes, activation="softmax"),
    ]
)
mlp.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
mlp.fit(x_train, y_train, batch_size=128, epochs=3, validation_split=0.1, verbose=0)
_, mlp_acc = mlp.evaluate(x_test, y_test, verbose=0)
assert mlp_acc > 0.85, mlp_acc

# -- a convnet with one-hot labels and a best checkpoint ------------------------------------------------
x_train_c = np.expand_dims(x_train, -1)
x_test_c = np.expand_dims(x_test, -1)
y_train_c = keras.utils.to_categorical(y_train, num_classes)
y_test_c = keras.utils.to_categorical(y_test, num_classes)
convnet = keras.Sequential(
    [
        keras.Input(shape=(28, 28, 1)),
        layers.Conv2D(16, kernel_size=(3, 3), activation="relu"),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Conv2D(32, kernel_size=(3, 3), activation="relu"),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Flatten(),
        layers.Dropout(0.5),
        layers.Dense(num_classes, activation="softmax"),
    ]
)
convnet.summary()
path = os.path.join(tempfile.mkdtemp(), "best.keras")
convnet.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
history = convnet.fit(
    x_train_c,
    y_train_c,
    batch_size=128,
    epochs=3,
    validation_split=0.1,
    callbacks=[keras.callbacks.ModelCheckpoint(path, monitor="val_accuracy", save_best_only=True)],
    verbose=0,
)
score = convnet.evaluate(x_test_c, y_test_c, verbose=0)
assert score[1] > 0.85, score

best = keras.models.load_model(path)
probs = best.predict(x_test_c[:200], verbose=0)
predicted = np.argmax(probs, axis=1)
confusion = np.zeros((num_classes, num_classes), dtype="int64")
np.add.at(confusion, (y_test[:200].astype("int64"), predicted), 1)
assert confusion.sum() == 200
assert np.trace(confusion) / 200 > 0.8
assert abs(max(history.history["val_accuracy"]) - best.evaluate(
    x_train_c[5400:], y_train_c[5400:], verbose=0)[1]) < 1e-4
print("OK")
