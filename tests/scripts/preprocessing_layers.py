"""Working with preprocessing layers, without tf.data: adapt on NumPy arrays, lookups,
encodings, hashing, and preprocessing inside the model."""

import os
import tempfile

import numpy as np

import cornu as keras
from cornu import layers

keras.utils.set_random_seed(4)

# -- Normalization.adapt ------------------------------------------------------------------------
data = np.array([[0.1, 0.2, 0.3], [0.8, 0.9, 1.0], [1.5, 1.6, 1.7]], dtype="float32")
layer = layers.Normalization()
layer.adapt(data)
normalized = np.asarray(layer(data))
np.testing.assert_allclose(normalized.mean(axis=0), np.zeros(3), atol=1e-5)
np.testing.assert_allclose(normalized.std(axis=0), np.ones(3), atol=1e-3)

layer = layers.Normalization(mean=3.0, variance=2.0)
np.testing.assert_allclose(
    np.asarray(layer(np.array([[1.0], [2.0], [3.0]], "float32"))),
    (np.array([[1.0], [2.0], [3.0]]) - 3.0) / np.sqrt(2.0),
    rtol=1e-5,
)

# -- TextVectorization ----------------------------------------------------------------------------
text = np.array(
    [
        "The Brain is wider than the Sky",
        "For put them side by side",
        "The one the other will contain",
        "With ease and You beside",
    ]
)
vectorizer = layers.TextVectorization()
vectorizer.adapt(text)
vocab = vectorizer.get_vocabulary()
assert vocab[:3] == ["", "[UNK]", "the"], vocab[:3]
ints = np.asarray(vectorizer(np.array(["The Brain is deeper than the sea"])))
assert ints.shape == (1, 7)
assert ints[0, 0] == ints[0, 5] == vocab.index("the")
assert ints[0, 3] == 1  # "deeper" is out of vocabulary

vectorizer = layers.TextVectorization(output_mode="int", output_sequence_length=10)
vectorizer.adapt(text)
assert np.asarray(vectorizer(text)).shape == (4, 10)

vectorizer = layers.TextVectorization(output_mode="multi_hot", ngrams=2)
vectorizer.adapt(text)
multi = np.asarray(vectorizer(np.array(["The Brain is deeper than the sea"])))
assert multi.shape == (1, vectorizer.vocabulary_size())
assert set(np.unique(multi)) <= {0.0, 1.0}
assert "the brain" in vectorizer.get_vocabulary()

vectorizer = layers.TextVectorization(output_mode="tf_idf")
vectorizer.adapt(text)
tfidf = np.asarray(vectorizer(np.array(["the the brain"])))
vocab = vectorizer.get_vocabulary()
assert tfidf[0, vocab.index("the")] > tfidf[0, vocab.index("brain")] > 0

vectorizer = layers.TextVectorization(output_mode="count", max_tokens=6)
vectorizer.adapt(text)
assert len(vectorizer.get_vocabulary()) == 6
counts = np.asarray(vectorizer(np.array(["the the the sky"])))
assert counts[0, vectorizer.get_vocabulary().index("the")] == 3

# a fixed vocabulary
vectorizer = layers.TextVectorization(vocabulary=["brain", "sky", "sea"])
assert vectorizer.get_vocabulary() == ["", "[UNK]", "brain", "sky", "sea"]
np.testing.assert_array_equal(
    np.asarray(vectorizer(np.array(["sky sea brain river"]))), [[3, 4, 2, 1]]
)

# -- StringLookup -----------------------------------------------------------------------------------
vocab = ["a", "b", "c", "d"]
data = np.array([["a", "c", "d"], ["d", "z", "b"]])
lookup = layers.StringLookup(vocabulary=vocab)
np.testing.assert_array_equal(np.asarray(lookup(data)), [[1, 3, 4], [4, 0, 2]])
lookup = layers.StringLookup(output_mode="one_hot")
lookup.adapt(np.array(["a", "b", "b", "c", "c", "c"]))
assert lookup.get_vocabulary() == ["[UNK]", "c", "b", "a"]
one_hot = np.asarray(lookup(np.array(["c", "a", "q"])))
np.testing.assert_array_equal(one_hot, [[0, 1, 0, 0], [0, 0, 0, 1], [1, 0, 0, 0]])

# -- IntegerLookup ------------------------------------------------------------------------------------
data = np.array([[12, 1138, 42], [42, 1000, 36]])
lookup = layers.IntegerLookup()
lookup.adapt(data)
vocab = lookup.get_vocabulary()
assert vocab[0] == -1 and vocab[1] == 42
ids = np.asarray(lookup(np.array([[42, 7]])))
assert ids[0, 0] == 1 and ids[0, 1] == 0
lookup = layers.IntegerLookup(vocabulary=[12, 36, 1138, 42], output_mode="multi_hot")
mh = np.asarray(lookup(np.array([[12, 42, 5]])))
np.testing.assert_array_equal(mh, [[1, 1, 0, 0, 1]])

# -- CategoryEncoding ----------------------------------------------------------------------------------
encoder = layers.CategoryEncoding(num_tokens=4, output_mode="one_hot")
np.testing.assert_array_equal(
    np.asarray(encoder(np.array([3, 2, 0, 1]))), np.eye(4)[[3, 2, 0, 1]]
)
encoder = layers.CategoryEncoding(num_tokens=4, output_mode="multi_hot")
np.testing.assert_array_equal(
    np.asarray(encoder(np.array([[0, 1], [0, 0], [1, 2], [3, 1]]))),
    [[1, 1, 0, 0], [1, 0, 0, 0], [0, 1, 1, 0], [0, 1, 0, 1]],
)
encoder = layers.CategoryEncoding(num_tokens=4, output_mode="count")
np.testing.assert_array_equal(
    np.asarray(encoder(np.array([[0, 1, 1], [3, 3, 3]]))), [[1, 2, 0, 0], [0, 0, 0, 3]]
)

# -- Hashing -------------------------------------------------------------------------------------------
hasher = layers.Hashing(num_bins=64)
hashed = np.asarray(hasher(np.array([["a"], ["b"], ["a"], ["zz"]])))
assert hashed.shape == (4, 1)
assert hashed[0, 0] == hashed[2, 0]
assert ((hashed >= 0) & (hashed < 64)).all()
hasher = layers.Hashing(num_bins=16, salt=133)
h_ints = np.asarray(hasher(np.array([[1], [2], [1]])))
assert h_ints[0, 0] == h_ints[2, 0] and h_ints.max() < 16
hashed_onehot = layers.Hashing(num_bins=8, output_mode="one_hot")(np.array(["x", "y"]))
assert tuple(np.asarray(hashed_onehot).shape) == (2, 8)

# -- Preprocessing inside the model: a text classifier that takes raw strings -------------------------
rng = np.random.default_rng(0)
good = ["great", "fine", "lovely", "superb", "good"]
bad = ["awful", "poor", "terrible", "bad", "boring"]
filler = ["the", "movie", "was", "plot", "acting", "really", "quite", "a"]


def sentence(words):
    return " ".join(rng.choice(filler, 4).tolist() + rng.choice(words, 2).tolist())


texts = np.array([sentence(good) for _ in range(200)] + [sentence(bad) for _ in range(200)])
labels = np.array([1] * 200 + [0] * 200)
order = rng.permutation(len(texts))
texts, labels = texts[order], labels[order]

vectorize = layers.TextVectorization(max_tokens=100, output_mode="multi_hot")
vectorize.adapt(texts)
training_model = keras.Sequential(
    [keras.Input(shape=(vectorize.vocabulary_size(),)), layers.Dense(8, activation="relu"), layers.Dense(1, activation="sigmoid")]
)
training_model.compile(optimizer=keras.optimizers.Adam(0.05), loss="binary_crossentropy", metrics=["accuracy"])
training_model.fit(np.asarray(vectorize(texts)), labels, epochs=5, batch_size=32, verbose=0)

# strings are mapped eagerly (on JAX, string tensors do not enter a compiled model)
probs = training_model.predict(
    np.asarray(vectorize(np.array(["the movie was superb lovely", "a boring awful plot"]))),
    verbose=0,
)
assert probs[0, 0] > 0.5 > probs[1, 0], probs
training_model.compile(loss="binary_crossentropy", metrics=["accuracy"])
loss, acc = training_model.evaluate(np.asarray(vectorize(texts)), labels, verbose=0)
assert acc > 0.9, acc

# one-hot encoding of integer categories inside the model
cats = rng.integers(0, 6, size=(300, 1))
y_cat = (cats[:, 0] % 2).astype("float32")
inputs = keras.Input(shape=(1,), dtype="int32")
encoded = layers.CategoryEncoding(num_tokens=6, output_mode="one_hot")(inputs)
outputs = layers.Dense(1, activation="sigmoid")(encoded)
cat_model = keras.Model(inputs, outputs)
cat_model.compile(optimizer=keras.optimizers.Adam(0.1), loss="binary_crossentropy", metrics=["accuracy"])
hist = cat_model.fit(cats, y_cat, epochs=10, batch_size=32, verbose=0)
assert hist.history["accuracy"][-1] > 0.95, hist.history["accuracy"]

# numeric features normalized in the model, saved with the model
x = rng.normal(loc=5.0, scale=3.0, size=(300, 4)).astype("float32")
y = (x[:, 0] > 5.0).astype("float32")
norm = layers.Normalization()
norm.adapt(x)
model = keras.Sequential([keras.Input(shape=(4,)), norm, layers.Dense(1, activation="sigmoid")])
model.compile(optimizer=keras.optimizers.Adam(0.05), loss="binary_crossentropy", metrics=["accuracy"])
hist = model.fit(x, y, epochs=10, batch_size=32, verbose=0)
assert hist.history["accuracy"][-1] > 0.85
path = os.path.join(tempfile.mkdtemp(), "with_norm.keras")
model.save(path)
reloaded = keras.models.load_model(path)
np.testing.assert_allclose(reloaded.predict(x[:10], verbose=0), model.predict(x[:10], verbose=0), rtol=1e-5, atol=1e-6)
np.testing.assert_allclose(np.asarray(reloaded.layers[0].mean), np.asarray(norm.mean), rtol=1e-6)
print("OK")
