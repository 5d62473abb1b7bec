"""Example: text classification from scratch (synthetic token ids instead of IMDB):
Embedding + GlobalAveragePooling1D, Embedding + Conv1D."""
import numpy as np

import cornu as keras
from cornu import layers

max_features = 2000
sequence_length = 50
embedding_dim = 32
rng = np.random.default_rng(8)
x_train = rng.integers(1, max_features, size=(512, sequence_length))
y_train = (x_train[:, :5].mean(axis=1) > max_features / 2).astype("int32")
x_val = rng.integers(1, max_features, size=(128, sequence_length))
y_val = (x_val[:, :5].mean(axis=1) > max_features / 2).astype("int32")

# bag-of-embeddings classifier (like the "basic text classification" tutorial)
model = keras.Sequential([
    keras.Input(shape=(sequence_length,), dtype="int64"),
    layers.Embedding(max_features, embedding_dim),
    layers.Dropout(0.2),
    layers.GlobalAveragePooling1D(),
    layers.Dropout(0.2),
    layers.Dense(1, activation="sigmoid"),
])
model.compile(loss=keras.losses.BinaryCrossentropy(), optimizer="adam",
              metrics=[keras.metrics.BinaryAccuracy(threshold=0.5)])
h = model.fit(x_train, y_train, validation_data=(x_val, y_val), epochs=3, batch_size=64, verbose=0)
assert set(h.history) == {"loss", "binary_accuracy", "val_loss", "val_binary_accuracy"}, h.history.keys()

# keras.io text_classification_from_scratch model: Embedding + Conv1D stack
inputs = keras.Input(shape=(None,), dtype="int64")
x = layers.Embedding(max_features, embedding_dim)(inputs)
x = layers.Dropout(0.5)(x)
x = layers.Conv1D(32, 7, padding="valid", activation="relu", strides=3)(x)
x = layers.Conv1D(32, 7, padding="valid", activation="relu", strides=3)(x)
x = layers.GlobalMaxPooling1D()(x)
x = layers.Dense(32, activation="relu")(x)
x = layers.Dropout(0.5)(x)
predictions = layers.Dense(1, activation="sigmoid", name="predictions")(x)
model = keras.Model(inputs, predictions)
model.compile(loss="binary_crossentropy", optimizer="adam", metrics=["accuracy"])
model.fit(x_train, y_train, validation_data=(x_val, y_val), epochs=1, batch_size=64, verbose=0)
loss, acc = model.evaluate(x_val, y_val, verbose=0)
assert np.isfinite(loss)

# bidirectional LSTM classifier (keras.io bidirectional_lstm_imdb)
inputs = keras.Input(shape=(None,), dtype="int32")
x = layers.Embedding(max_features, 16)(inputs)
x = layers.Bidirectional(layers.LSTM(16, return_sequences=True))(x)
x = layers.Bidirectional(layers.LSTM(16))(x)
outputs = layers.Dense(1, activation="sigmoid")(x)
model = keras.Model(inputs, outputs)
model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
model.fit(x_train[:128], y_train[:128], batch_size=32, epochs=1, verbose=0)

# (TextVectorization needs TensorFlow under keras, so it is left out)
print("OK")
