"""Keras guides "The Functional API", "The Sequential model" and "Transfer learning &
fine-tuning", imports changed to cornu."""

import numpy as np

import cornu as keras
from cornu import layers

# -- Sequential: layers, pop, feature extraction, freezing -------------------------------
model = keras.Sequential([
    layers.Dense(2, activation="relu", name="layer1"),
    layers.Dense(3, activation="relu", name="layer2"),
    layers.Dense(4, name="layer3"),
])
x = np.ones((3, 3), "float32")
y = model(x)
assert y.shape == (3, 4)
assert len(model.layers) == 3
model.pop()
assert len(model.layers) == 2

layer = layers.Dense(3)
assert layer.weights == []
layer(np.ones((1, 4), "float32"))
assert len(layer.weights) == 2

initial_model = keras.Sequential([
    keras.Input(shape=(250, 250, 3)),
    layers.Conv2D(4, 5, strides=2, activation="relu"),
    layers.Conv2D(4, 3, activation="relu", name="my_intermediate_layer"),
    layers.Conv2D(4, 3, activation="relu"),
])
feature_extractor = keras.Model(
    inputs=initial_model.inputs,
    outputs=[layer.output for layer in initial_model.layers])
features = feature_extractor(np.ones((1, 250, 250, 3), "float32"))
assert [f.shape for f in features] == [(1, 123, 123, 4), (1, 121, 121, 4), (1, 119, 119, 4)]
extractor = keras.Model(
    inputs=initial_model.inputs,
    outputs=initial_model.get_layer(name="my_intermediate_layer").output)
assert extractor(np.ones((1, 250, 250, 3), "float32")).shape == (1, 121, 121, 4)

# -- Functional: shared layers, several inputs and outputs, dict losses ---------------------
num_tags, num_words, num_departments = 12, 100, 4
title_input = keras.Input(shape=(None,), name="title")
body_input = keras.Input(shape=(None,), name="body")
tags_input = keras.Input(shape=(num_tags,), name="tags")
shared_embedding = layers.Embedding(num_words, 8)
title_features = layers.GlobalAveragePooling1D()(shared_embedding(title_input))
body_features = layers.GlobalAveragePooling1D()(shared_embedding(body_input))
x = layers.concatenate([title_features, body_features, tags_input])
priority_pred = layers.Dense(1, name="priority")(x)
department_pred = layers.Dense(num_departments, name="department")(x)
model = keras.Model(inputs=[title_input, body_input, tags_input],
                    outputs={"priority": priority_pred, "department": department_pred})
model.compile(
    optimizer=keras.optimizers.RMSprop(1e-3),
    loss={"priority": keras.losses.BinaryCrossentropy(from_logits=True),
          "department": keras.losses.CategoricalCrossentropy(from_logits=True)},
    loss_weights={"priority": 1.0, "department": 0.2})
title_data = np.random.randint(num_words, size=(64, 10))
body_data = np.random.randint(num_words, size=(64, 20))
tags_data = np.random.randint(2, size=(64, num_tags)).astype("float32")
priority_targets = np.random.random(size=(64, 1))
dept_targets = np.random.randint(2, size=(64, num_departments))
history = model.fit({"title": title_data, "body": body_data, "tags": tags_data},
                    {"priority": priority_targets, "department": dept_targets},
                    epochs=2, batch_size=32, verbose=0)
assert "loss" in history.history and len(history.history["loss"]) == 2
assert len(shared_embedding.weights) == 1  # one table for both inputs

# a model nested in a model, called on a tensor
encoder_input = keras.Input(shape=(16,))
encoder = keras.Model(encoder_input, layers.Dense(4)(encoder_input), name="encoder")
outer_input = keras.Input(shape=(16,))
outer = keras.Model(outer_input, layers.Dense(1)(encoder(outer_input)))
assert outer.count_params() == 16 * 4 + 4 + 5
outer.compile(optimizer="adam", loss="mse")
outer.fit(np.random.random((32, 16)), np.random.random((32,)), epochs=1, verbose=0)

# -- Transfer learning: freezing, BatchNormalization in inference mode when frozen ----------
layer = layers.Dense(3)
layer.build((None, 4))
layer.trainable = False
assert len(layer.weights) == 2 and len(layer.trainable_weights) == 0
assert len(layer.non_trainable_weights) == 2

base = keras.Sequential([keras.Input(shape=(8,)), layers.Dense(16, activation="relu"),
                         layers.BatchNormalization()])
base.trainable = False
inputs = keras.Input(shape=(8,))
outputs = layers.Dense(1)(base(inputs, training=False))
model = keras.Model(inputs, outputs)
frozen = [w.numpy().copy() for w in base.weights]
model.compile(optimizer="adam", loss="mse")
model.fit(np.random.random((64, 8)), np.random.random((64, 1)), epochs=2, verbose=0)
for before, after in zip(frozen, base.weights):
    np.testing.assert_array_equal(before, after.numpy())  # moving statistics too
base.trainable = True
model.compile(optimizer=keras.optimizers.Adam(1e-5), loss="mse")
model.fit(np.random.random((64, 8)), np.random.random((64, 1)), epochs=1, verbose=0)
assert any(not np.array_equal(b, a.numpy()) for b, a in zip(frozen, base.weights))
