"""keras.utils in everyday scripts: to_categorical, pad_sequences, normalize,
set_random_seed, PyDataset with workers, get_file-free helpers, and model.summary of
nested models."""

import numpy as np

import cornu as keras
from cornu import layers


# -- set_random_seed makes initial weights and dropout repeatable -------------------------------------
def fresh_weights():
    keras.utils.set_random_seed(1234)
    model = keras.Sequential([keras.Input(shape=(4,)), layers.Dense(3)])
    return model.get_weights()[0]


np.testing.assert_array_equal(fresh_weights(), fresh_weights())

# -- to_categorical -----------------------------------------------------------------------------------
labels = np.array([0, 2, 1, 2])
one_hot = keras.utils.to_categorical(labels)
np.testing.assert_array_equal(one_hot, np.eye(3)[labels])
assert keras.utils.to_categorical(labels, num_classes=5).shape == (4, 5)
assert keras.utils.to_categorical(np.array([[1], [0]]), 2).shape == (2, 2)
np.testing.assert_array_equal(np.argmax(one_hot, axis=-1), labels)

# -- pad_sequences ------------------------------------------------------------------------------------
seqs = [[1, 2, 3], [4, 5], [6, 7, 8, 9, 10]]
padded = keras.utils.pad_sequences(seqs)
np.testing.assert_array_equal(padded, [[0, 0, 1, 2, 3], [0, 0, 0, 4, 5], [6, 7, 8, 9, 10]])
post = keras.utils.pad_sequences(seqs, padding="post", maxlen=4, truncating="post", value=-1)
np.testing.assert_array_equal(post, [[1, 2, 3, -1], [4, 5, -1, -1], [6, 7, 8, 9]])
pre_trunc = keras.utils.pad_sequences(seqs, maxlen=3)
np.testing.assert_array_equal(pre_trunc[2], [8, 9, 10])
floats = keras.utils.pad_sequences([[0.5], [1.5, 2.5]], dtype="float32")
assert floats.dtype == np.float32 and floats.shape == (2, 2)

# -- normalize ----------------------------------------------------------------------------------------
v = np.array([[3.0, 4.0], [1.0, 0.0]])
np.testing.assert_allclose(np.asarray(keras.utils.normalize(v, axis=-1, order=2)), [[0.6, 0.8], [1.0, 0.0]])


# -- PyDataset with workers --------------------------------------------------------------------------
class NoisyBlobs(keras.utils.PyDataset):
    def __init__(self, x, y, batch_size, **kwargs):
        super().__init__(**kwargs)
        self.x, self.y = x, y
        self.batch_size = batch_size

    def __len__(self):
        return int(np.ceil(len(self.x) / self.batch_size))

    def __getitem__(self, idx):
        low = idx * self.batch_size
        high = min(low + self.batch_size, len(self.x))
        return self.x[low:high], self.y[low:high]


keras.utils.set_random_seed(11)
rng = np.random.default_rng(11)
y = rng.integers(0, 3, size=(300,))
x = (np.eye(3)[y] * 3 + rng.normal(size=(300, 3))).astype("float32")
train = NoisyBlobs(x[:250], keras.utils.to_categorical(y[:250], 3), batch_size=32, workers=2)
val = NoisyBlobs(x[250:], keras.utils.to_categorical(y[250:], 3), batch_size=32)
assert len(train) == 8
xb, yb = train[7]
assert xb.shape == (250 - 7 * 32, 3)

model = keras.Sequential([keras.Input(shape=(3,)), layers.Dense(8, activation="relu"), layers.Dense(3, activation="softmax")])
model.compile(optimizer=keras.optimizers.Adam(0.03), loss="categorical_crossentropy", metrics=["accuracy"])
history = model.fit(train, validation_data=val, epochs=5, verbose=0)
assert history.history["val_accuracy"][-1] > 0.8, history.history
preds = model.predict(val, verbose=0)
assert preds.shape == (50, 3)
_, acc = model.evaluate(val, verbose=0)
assert acc > 0.8

# -- summary of nested models --------------------------------------------------------------------------
inner = keras.Sequential([keras.Input(shape=(8,)), layers.Dense(4, name="inner_dense")], name="inner")
inputs = keras.Input(shape=(8,), name="features")
x1 = inner(inputs)
x2 = layers.Dense(4, name="side")(inputs)
outputs = layers.Dense(1, name="head")(layers.concatenate([x1, x2]))
outer = keras.Model(inputs, outputs, name="outer")

lines = []
outer.summary(print_fn=lambda line, *args, **kwargs: lines.append(line))
text = "\n".join(lines)
assert "outer" in text and "inner" in text and "head" in text
assert "inner_dense" not in text  # nested layers are not expanded by default
lines = []
outer.summary(expand_nested=True, print_fn=lambda line, *args, **kwargs: lines.append(line))
assert "inner_dense" in "\n".join(lines)
total = outer.count_params()
assert total == (8 * 4 + 4) * 2 + (8 + 1)
assert inner.count_params() == 36
assert [layer.name for layer in outer.layers] == ["features", "inner", "side", "concatenate", "head"]
print("OK")
