"""Text classification from scratch, without tf.data: TextVectorization adapted on a NumPy
array of strings, a 1D convnet over embeddings, and inference on raw strings."""

import numpy as np

import cornu as keras
from cornu import layers

keras.utils.set_random_seed(7)
rng = np.random.default_rng(7)

positive = ["brilliant", "moving", "delightful", "gripping", "wonderful", "charming"]
negative = ["dull", "clumsy", "tedious", "awful", "lifeless", "predictable"]
neutral = ["the", "film", "story", "cast", "director", "was", "is", "and", "a", "of", "<br />"]


def review(words):
    tokens = list(rng.choice(neutral, 12)) + list(rng.choice(words, 3))
    rng.shuffle(tokens)
    return " ".join(tokens).capitalize() + "!"


texts = np.array([review(positive) for _ in range(300)] + [review(negative) for _ in range(300)])
labels = np.array([1] * 300 + [0] * 300, dtype="float32")
order = rng.permutation(len(texts))
texts, labels = texts[order], labels[order]
x_train_text, y_train = texts[:480], labels[:480]
x_test_text, y_test = texts[480:], labels[480:]

max_features = 200
embedding_dim = 16
sequence_length = 20

vectorize_layer = layers.TextVectorization(
    standardize="lower_and_strip_punctuation",
    max_tokens=max_features,
    output_mode="int",
    output_sequence_length=sequence_length,
)
vectorize_layer.adapt(x_train_text)
vocab = vectorize_layer.get_vocabulary()
assert "brilliant" in vocab and "dull" in vocab
assert "Brilliant" not in vocab and "awful!" not in vocab

x_train = np.asarray(vectorize_layer(x_train_text))
x_test = np.asarray(vectorize_layer(x_test_text))
assert x_train.shape == (480, sequence_length)
assert x_train.dtype.kind == "i"

inputs = keras.Input(shape=(None,), dtype="int64")
x = layers.Embedding(max_features, embedding_dim)(inputs)
x = layers.Dropout(0.2)(x)
x = layers.Conv1D(32, 5, padding="valid", activation="relu", strides=1)(x)
x = layers.Conv1D(32, 5, padding="valid", activation="relu", strides=1)(x)
x = layers.GlobalMaxPooling1D()(x)
x = layers.Dense(32, activation="relu")(x)
x = layers.Dropout(0.2)(x)
predictions = layers.Dense(1, activation="sigmoid", name="predictions")(x)
model = keras.Model(inputs, predictions)
model.compile(loss="binary_crossentropy", optimizer="adam", metrics=["accuracy"])

history = model.fit(x_train, y_train, validation_data=(x_test, y_test), epochs=4, batch_size=32, verbose=0)
assert history.history["val_accuracy"][-1] > 0.9, history.history
loss, acc = model.evaluate(x_test, y_test, verbose=0)
assert acc > 0.9, acc

# inference on raw strings: vectorize eagerly, then predict
raw = np.array(["A brilliant and moving film!", "Dull, tedious and lifeless."])
probs = model.predict(np.asarray(vectorize_layer(raw)), verbose=0)
assert probs.shape == (2, 1)
assert probs[0, 0] > 0.5 > probs[1, 0], probs

# variable-length sequences (no output_sequence_length) pad to the longest text
ragged = layers.TextVectorization(max_tokens=max_features, vocabulary=vocab[2:])
ids = np.asarray(ragged(np.array(["brilliant film", "a dull story of the cast"])))
assert ids.shape == (2, 6)
assert (ids[0, 2:] == 0).all()
print("OK")
