"""The Sequential model guide: every section, on small synthetic data."""

import numpy as np

import cornu as keras
from cornu import layers

keras.utils.set_random_seed(1)

# -- When to use / creating a Sequential model --------------------------------------------
model = keras.Sequential(
    [
        layers.Dense(2, activation="relu", name="layer1"),
        layers.Dense(3, activation="relu", name="layer2"),
        layers.Dense(4, name="layer3"),
    ]
)
x = np.ones((3, 3), dtype="float32")
y = model(x)
assert tuple(y.shape) == (3, 4)

# the same, layer by layer
layer1 = layers.Dense(2, activation="relu", name="layer1")
layer2 = layers.Dense(3, activation="relu", name="layer2")
layer3 = layers.Dense(4, name="layer3")
y2 = layer3(layer2(layer1(x)))
assert tuple(y2.shape) == (3, 4)

assert [layer.name for layer in model.layers] == ["layer1", "layer2", "layer3"]
assert model.get_layer("layer2") is model.layers[1]
assert model.get_layer(index=0).name == "layer1"

model = keras.Sequential(name="my_sequential")
model.add(layers.Dense(2, activation="relu", name="a"))
model.add(layers.Dense(3, activation="relu", name="b"))
model.add(layers.Dense(4, name="c"))
assert len(model.layers) == 3
model.pop()
assert len(model.layers) == 2
assert model.name == "my_sequential"
assert tuple(model(x).shape) == (3, 3)

# -- Specifying the input shape in advance -------------------------------------------------
layer = layers.Dense(3)
assert layer.weights == []
layer(np.ones((1, 4), dtype="float32"))
assert len(layer.weights) == 2
assert tuple(layer.weights[0].shape) == (4, 3)

model = keras.Sequential([layers.Dense(2, activation="relu"), layers.Dense(3), layers.Dense(4)])
assert not model.built
try:
    assert model.weights == []  # no weights yet (Keras raises or gives [], per version)
except ValueError:
    pass
model(np.ones((1, 4), dtype="float32"))
assert len(model.weights) == 6

model = keras.Sequential()
model.add(keras.Input(shape=(4,)))
model.add(layers.Dense(2, activation="relu"))
model.summary()
assert len(model.layers) == 1  # the Input is not a layer of the model
assert tuple(model.inputs[0].shape) == (None, 4)
assert tuple(model.outputs[0].shape) == (None, 2)

# -- A common debugging workflow: add() + summary() -----------------------------------------
model = keras.Sequential()
model.add(keras.Input(shape=(250, 250, 3)))
model.add(layers.Conv2D(32, 5, strides=2, activation="relu"))
model.add(layers.Conv2D(32, 3, activation="relu"))
model.add(layers.MaxPooling2D(3))
assert tuple(model.output_shape) == (None, 40, 40, 32)
model.add(layers.Conv2D(32, 3, activation="relu"))
model.add(layers.Conv2D(32, 3, activation="relu"))
model.add(layers.MaxPooling2D(3))
model.add(layers.Conv2D(32, 3, activation="relu"))
model.add(layers.Conv2D(32, 3, activation="relu"))
model.add(layers.MaxPooling2D(2))
model.summary()
assert tuple(model.output_shape) == (None, 4, 4, 32)
model.add(layers.GlobalMaxPooling2D())
model.add(layers.Dense(10))
assert tuple(model.output_shape) == (None, 10)
assert model.count_params() == sum(int(np.prod(w.shape)) for w in model.weights)

# -- Feature extraction with a Sequential model ---------------------------------------------
initial_model = keras.Sequential(
    [
        keras.Input(shape=(64, 64, 3)),
        layers.Conv2D(8, 5, strides=2, activation="relu"),
        layers.Conv2D(8, 3, activation="relu", name="my_intermediate_layer"),
        layers.Conv2D(8, 3, activation="relu"),
    ]
)
feature_extractor = keras.Model(
    inputs=initial_model.inputs,
    outputs=[layer.output for layer in initial_model.layers],
)
images = np.random.rand(2, 64, 64, 3).astype("float32")
features = feature_extractor(images)
assert [tuple(f.shape) for f in features] == [(2, 30, 30, 8), (2, 28, 28, 8), (2, 26, 26, 8)]
np.testing.assert_allclose(
    np.asarray(features[-1]), np.asarray(initial_model(images)), rtol=1e-5, atol=1e-5
)

feature_extractor = keras.Model(
    inputs=initial_model.inputs,
    outputs=initial_model.get_layer(name="my_intermediate_layer").output,
)
assert tuple(feature_extractor(images).shape) == (2, 28, 28, 8)
# the extractor shares the weights of the initial model
assert feature_extractor.layers[-1] is initial_model.get_layer("my_intermediate_layer")

# -- Transfer learning with a Sequential model ----------------------------------------------
rng = np.random.default_rng(0)
x_train = rng.normal(size=(256, 16)).astype("float32")
y_train = (x_train[:, :4].sum(axis=1) > 0).astype("int32")

base = keras.Sequential(
    [
        keras.Input(shape=(16,)),
        layers.Dense(32, activation="relu"),
        layers.Dense(32, activation="relu"),
        layers.Dense(32, activation="relu"),
        layers.Dense(2),
    ]
)
base.compile(
    optimizer=keras.optimizers.Adam(1e-2),
    loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
)
base.fit(x_train, y_train, epochs=2, batch_size=32, verbose=0)

# freeze all layers except the last one
for layer in base.layers[:-1]:
    layer.trainable = False
frozen_before = [np.array(w) for w in base.layers[0].get_weights()]
last_before = [np.array(w) for w in base.layers[-1].get_weights()]
assert len(base.trainable_weights) == 2
assert len(base.non_trainable_weights) == 6

base.compile(
    optimizer=keras.optimizers.Adam(1e-2),
    loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    metrics=["accuracy"],
)
history = base.fit(x_train, y_train, epochs=3, batch_size=32, verbose=0)
for a, b in zip(frozen_before, base.layers[0].get_weights()):
    np.testing.assert_array_equal(a, b)
assert any(
    not np.allclose(a, b) for a, b in zip(last_before, base.layers[-1].get_weights())
)
assert history.history["accuracy"][-1] > 0.6

# stacking a pretrained "base model" and a new head
base_model = keras.Sequential(
    [keras.Input(shape=(16,)), layers.Dense(32, activation="relu"), layers.Dense(16, activation="relu")],
    name="base_model",
)
base_model.trainable = False
assert base_model.trainable_weights == []
model = keras.Sequential([base_model, layers.Dense(2)])
model.compile(
    optimizer="adam",
    loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
)
base_before = [np.array(w) for w in base_model.get_weights()]
model.fit(x_train, y_train, epochs=1, batch_size=64, verbose=0)
for a, b in zip(base_before, base_model.get_weights()):
    np.testing.assert_array_equal(a, b)
assert len(model.trainable_weights) == 2
model.summary()
print("OK")
