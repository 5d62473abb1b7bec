"""The Functional API guide: models as layers, shared layers, ensembling, reusing nodes,
serializing functional models, and mixing functional and subclassed models."""

import os
import tempfile

import numpy as np

import cornu as keras
from cornu import layers, ops

keras.utils.set_random_seed(2)

# -- Use the same graph of layers to define multiple models (autoencoder) --------------------
encoder_input = keras.Input(shape=(28, 28, 1), name="img")
x = layers.Conv2D(8, 3, activation="relu")(encoder_input)
x = layers.Conv2D(16, 3, activation="relu")(x)
x = layers.MaxPooling2D(3)(x)
x = layers.Conv2D(16, 3, activation="relu")(x)
x = layers.Conv2D(8, 3, activation="relu")(x)
encoder_output = layers.GlobalMaxPooling2D()(x)
encoder = keras.Model(encoder_input, encoder_output, name="encoder")
encoder.summary()

x = layers.Reshape((4, 4, 1))(layers.Dense(16)(encoder_output))
x = layers.Conv2DTranspose(16, 3, activation="relu")(x)
x = layers.Conv2DTranspose(8, 3, activation="relu")(x)
x = layers.UpSampling2D(3)(x)
x = layers.Conv2DTranspose(16, 3, activation="relu")(x)
decoder_output = layers.Conv2DTranspose(1, 3, activation="relu")(x)
autoencoder = keras.Model(encoder_input, decoder_output, name="autoencoder")
autoencoder.summary()
assert tuple(autoencoder.output_shape) == (None, 28, 28, 1)

# -- All models are callable, just like layers ----------------------------------------------
decoder_input = keras.Input(shape=(8,), name="encoded_img")
x = layers.Dense(16)(decoder_input)
x = layers.Reshape((4, 4, 1))(x)
x = layers.Conv2DTranspose(16, 3, activation="relu")(x)
x = layers.Conv2DTranspose(8, 3, activation="relu")(x)
x = layers.UpSampling2D(3)(x)
x = layers.Conv2DTranspose(16, 3, activation="relu")(x)
decoder_output = layers.Conv2DTranspose(1, 3, activation="relu")(x)
decoder = keras.Model(decoder_input, decoder_output, name="decoder")

autoencoder_input = keras.Input(shape=(28, 28, 1), name="img")
encoded_img = encoder(autoencoder_input)
decoded_img = decoder(encoded_img)
autoencoder = keras.Model(autoencoder_input, decoded_img, name="autoencoder")
autoencoder.summary()
assert [layer.name for layer in autoencoder.layers] == ["img", "encoder", "decoder"]
images = np.random.rand(4, 28, 28, 1).astype("float32")
out = autoencoder.predict(images, verbose=0)
assert out.shape == (4, 28, 28, 1)
np.testing.assert_allclose(
    out, np.asarray(decoder(encoder(images))), rtol=1e-4, atol=1e-5
)
autoencoder.compile(optimizer="adam", loss="mse")
autoencoder.fit(images, np.random.rand(4, 28, 28, 1).astype("float32"), epochs=1, verbose=0)


# -- Ensembling -------------------------------------------------------------------------------
def get_model():
    inputs = keras.Input(shape=(128,))
    outputs = layers.Dense(1)(inputs)
    return keras.Model(inputs, outputs)


model1, model2, model3 = get_model(), get_model(), get_model()
inputs = keras.Input(shape=(128,))
y1, y2, y3 = model1(inputs), model2(inputs), model3(inputs)
outputs = layers.average([y1, y2, y3])
ensemble_model = keras.Model(inputs=inputs, outputs=outputs)
data = np.random.rand(5, 128).astype("float32")
expected = (np.asarray(model1(data)) + np.asarray(model2(data)) + np.asarray(model3(data))) / 3
np.testing.assert_allclose(np.asarray(ensemble_model(data)), expected, rtol=1e-5, atol=1e-5)
assert len(ensemble_model.trainable_weights) == 6

# -- Shared layers ------------------------------------------------------------------------------
shared_embedding = layers.Embedding(1000, 16)
text_input_a = keras.Input(shape=(None,), dtype="int32")
text_input_b = keras.Input(shape=(None,), dtype="int32")
encoded_input_a = shared_embedding(text_input_a)
encoded_input_b = shared_embedding(text_input_b)
merged = layers.Concatenate(axis=1)([encoded_input_a, encoded_input_b])
shared_model = keras.Model([text_input_a, text_input_b], merged)
assert len(shared_model.weights) == 1
a = np.random.randint(0, 1000, size=(2, 3))
b = np.random.randint(0, 1000, size=(2, 5))
assert tuple(shared_model([a, b]).shape) == (2, 8, 16)

# -- Extract and reuse nodes in the graph of layers ---------------------------------------------
base = keras.Sequential(
    [
        keras.Input(shape=(32, 32, 3)),
        layers.Conv2D(8, 3, activation="relu", name="conv_a"),
        layers.Conv2D(8, 3, activation="relu", name="conv_b"),
        layers.GlobalAveragePooling2D(name="gap"),
        layers.Dense(10, name="predictions"),
    ]
)
features_list = [layer.output for layer in base.layers]
feat_extraction_model = keras.Model(inputs=base.inputs, outputs=features_list)
img = np.random.random((3, 32, 32, 3)).astype("float32")
extracted_features = feat_extraction_model(img)
assert len(extracted_features) == 4
assert tuple(extracted_features[1].shape) == (3, 28, 28, 8)
np.testing.assert_allclose(
    np.asarray(extracted_features[-1]), np.asarray(base(img)), rtol=1e-5, atol=1e-5
)
# a new head on an intermediate node
head = layers.Dense(4, name="new_head")(base.get_layer("gap").output)
new_model = keras.Model(base.inputs, head)
assert tuple(new_model(img).shape) == (3, 4)

# -- Serialize a functional model: get_config / from_config, save / load --------------------------
inputs = keras.Input(shape=(784,), name="digits")
x = layers.Dense(64, activation="relu", name="dense_1")(inputs)
x = layers.Dense(64, activation="relu", name="dense_2")(x)
outputs = layers.Dense(10, name="predictions")(x)
model = keras.Model(inputs=inputs, outputs=outputs, name="3_layer_mlp")
config = model.get_config()
assert config["name"] == "3_layer_mlp"
clone = keras.Model.from_config(config)
assert [layer.name for layer in clone.layers] == [layer.name for layer in model.layers]
clone.set_weights(model.get_weights())
digits = np.random.rand(3, 784).astype("float32")
np.testing.assert_allclose(np.asarray(clone(digits)), np.asarray(model(digits)), rtol=1e-5, atol=1e-5)
cloned = keras.models.clone_model(model)
assert len(cloned.weights) == len(model.weights)

path = os.path.join(tempfile.mkdtemp(), "my_model.keras")
model.save(path)
del model
model = keras.models.load_model(path)
np.testing.assert_allclose(np.asarray(model(digits)), np.asarray(clone(digits)), rtol=1e-5, atol=1e-5)


# -- Mix and match: a subclassed layer inside a functional model, and the reverse ------------------
class CustomRNN(layers.Layer):
    def __init__(self, units=32, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.projection_1 = layers.Dense(units=units, activation="tanh")
        self.projection_2 = layers.Dense(units=units, activation="tanh")

    def call(self, inputs):
        outputs = []
        state = ops.zeros(shape=(inputs.shape[0], self.units))
        for t in range(inputs.shape[1]):
            x = inputs[:, t, :]
            h = self.projection_1(x)
            y = h + self.projection_2(state)
            state = y
            outputs.append(y)
        features = ops.stack(outputs, axis=1)
        return features

    def get_config(self):
        return {**super().get_config(), "units": self.units}


timesteps, input_dim, units = 6, 5, 8
inputs = keras.Input(batch_shape=(4, timesteps, input_dim))
x = layers.Conv1D(units, 3, padding="same")(inputs)
outputs = CustomRNN(units)(x)
model = keras.Model(inputs, outputs)
seq = np.random.rand(4, timesteps, input_dim).astype("float32")
assert tuple(model(seq).shape) == (4, timesteps, units)


class MLPClassifier(keras.Model):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        inner_in = keras.Input(shape=(20,))
        inner_out = layers.Dense(16, activation="relu")(inner_in)
        self.trunk = keras.Model(inner_in, inner_out, name="trunk")
        self.classifier = layers.Dense(3)

    def call(self, inputs):
        return self.classifier(self.trunk(inputs))


x_train = np.random.rand(64, 20).astype("float32")
y_train = np.random.randint(0, 3, size=(64,))
clf = MLPClassifier()
clf.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
hist = clf.fit(x_train, y_train, epochs=2, batch_size=16, verbose=0)
assert len(hist.history["loss"]) == 2
assert len(clf.trainable_weights) == 4
print("OK")
