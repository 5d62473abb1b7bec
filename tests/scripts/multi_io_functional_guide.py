"""Guide: functional API + training guide -- models with multiple inputs and outputs
(ticket classifier), loss dicts, loss_weights, metric dicts, sample weighting per output."""
import numpy as np

import cornu as keras
from cornu import layers

num_tags = 12
num_words = 1000
num_departments = 4

title_input = keras.Input(shape=(None,), name="title")
body_input = keras.Input(shape=(None,), name="body")
tags_input = keras.Input(shape=(num_tags,), name="tags")
title_features = layers.Embedding(num_words, 64)(title_input)
body_features = layers.Embedding(num_words, 64)(body_input)
title_features = layers.GlobalAveragePooling1D()(title_features)
body_features = layers.GlobalMaxPooling1D()(body_features)
x = layers.concatenate([title_features, body_features, tags_input])
priority_pred = layers.Dense(1, name="priority")(x)
department_pred = layers.Dense(num_departments, name="department")(x)
model = keras.Model(inputs=[title_input, body_input, tags_input],
                    outputs={"priority": priority_pred, "department": department_pred})
assert [t.name for t in model.inputs] == ["title", "body", "tags"], [t.name for t in model.inputs]

model.compile(
    optimizer=keras.optimizers.RMSprop(1e-3),
    loss={
        "priority": keras.losses.BinaryCrossentropy(from_logits=True),
        "department": keras.losses.CategoricalCrossentropy(from_logits=True),
    },
    loss_weights={"priority": 1.0, "department": 0.2},
    metrics={"priority": ["mae"], "department": [keras.metrics.CategoricalAccuracy(name="acc")]},
)

rng = np.random.default_rng(5)
title_data = rng.integers(num_words, size=(256, 10))
body_data = rng.integers(num_words, size=(256, 100))
tags_data = rng.integers(2, size=(256, num_tags)).astype("float32")
priority_targets = rng.random(size=(256, 1))
dept_targets = rng.integers(2, size=(256, num_departments)).astype("float32")

h = model.fit({"title": title_data, "body": body_data, "tags": tags_data},
              {"priority": priority_targets, "department": dept_targets},
              epochs=2, batch_size=32, verbose=0)
keys = set(h.history)
assert "loss" in keys and "priority_loss" in keys and "department_loss" in keys, keys
assert "priority_mae" in keys and "department_acc" in keys, keys
out = model.predict({"title": title_data[:4], "body": body_data[:4], "tags": tags_data[:4]}, verbose=0)
assert isinstance(out, dict), type(out)
assert out["priority"].shape == (4, 1) and out["department"].shape == (4, 4), {k: v.shape for k, v in out.items()}

# list-style outputs, list losses / loss_weights, inputs as a list
image_input = keras.Input(shape=(32, 32, 3), name="img_input")
timeseries_input = keras.Input(shape=(None, 10), name="ts_input")
x1 = layers.Conv2D(3, 3)(image_input)
x1 = layers.GlobalMaxPooling2D()(x1)
x2 = layers.Conv1D(3, 3)(timeseries_input)
x2 = layers.GlobalMaxPooling1D()(x2)
x = layers.concatenate([x1, x2])
score_output = layers.Dense(1, name="score_output")(x)
class_output = layers.Dense(5, name="class_output")(x)
model = keras.Model(inputs=[image_input, timeseries_input], outputs=[score_output, class_output])
model.compile(
    optimizer=keras.optimizers.RMSprop(1e-3),
    loss=[keras.losses.MeanSquaredError(), keras.losses.CategoricalCrossentropy(from_logits=True)],
    loss_weights=[1.0, 1.0],
    metrics=[[keras.metrics.MeanAbsolutePercentageError(), keras.metrics.MeanAbsoluteError()],
             [keras.metrics.CategoricalAccuracy()]],
)
img_data = rng.random(size=(100, 32, 32, 3)).astype("float32")
ts_data = rng.random(size=(100, 20, 10)).astype("float32")
score_targets = rng.random(size=(100, 1)).astype("float32")
class_targets = rng.random(size=(100, 5)).astype("float32")
h = model.fit([img_data, ts_data], [score_targets, class_targets], batch_size=32, epochs=1, verbose=0)
res = model.evaluate([img_data, ts_data], [score_targets, class_targets], verbose=0, return_dict=True)
assert "class_output_categorical_accuracy" in res, res
preds = model.predict([img_data[:3], ts_data[:3]], verbose=0)
assert isinstance(preds, list) and preds[0].shape == (3, 1) and preds[1].shape == (3, 5)

# shared layers / siamese: the same Dense applied to two inputs, layers.subtract / multiply
a = keras.Input(shape=(8,))
b = keras.Input(shape=(8,))
shared = layers.Dense(4, activation="relu")
fa, fb = shared(a), shared(b)
diff = layers.subtract([fa, fb])
prod = layers.multiply([fa, fb])
avg = layers.average([fa, fb])
merged = layers.Concatenate(axis=-1)([diff, prod, avg, layers.maximum([fa, fb])])
out = layers.Dense(1, activation="sigmoid")(merged)
siamese = keras.Model([a, b], out)
siamese.compile("adam", "binary_crossentropy", metrics=["accuracy"])
xa = rng.random((64, 8)).astype("float32")
xb = rng.random((64, 8)).astype("float32")
siamese.fit([xa, xb], (xa.sum(1) > xb.sum(1)).astype("float32"), epochs=1, verbose=0)
assert len(siamese.trainable_weights) == 4

# get intermediate outputs (feature extraction)
feat_extractor = keras.Model(inputs=siamese.inputs, outputs=[layer.output for layer in siamese.layers[2:4]])
feats = feat_extractor([xa[:2], xb[:2]])
assert len(feats) == 2
print("OK")
