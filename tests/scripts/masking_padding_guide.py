"""Guide: Understanding masking & padding."""
import numpy as np

import cornu as keras
from cornu import layers, ops

raw_inputs = [
    [711, 632, 71],
    [73, 8, 3215, 55, 927],
    [83, 91, 1, 645, 1253, 927],
]
padded_inputs = keras.utils.pad_sequences(raw_inputs, padding="post")
assert padded_inputs.shape == (3, 6)
assert list(padded_inputs[0]) == [711, 632, 71, 0, 0, 0]
pre = keras.utils.pad_sequences(raw_inputs, maxlen=4, truncating="pre")
assert list(pre[0]) == [0, 711, 632, 71], pre

embedding = layers.Embedding(input_dim=5000, output_dim=16, mask_zero=True)
masked_output = embedding(padded_inputs)
mask = embedding.compute_mask(padded_inputs)
assert masked_output.shape == (3, 6, 16)
np.testing.assert_array_equal(ops.convert_to_numpy(mask), padded_inputs != 0)

masking_layer = layers.Masking()
unmasked_embedding = ops.cast(ops.tile(ops.expand_dims(padded_inputs, axis=-1), [1, 1, 10]), "float32")
masked_embedding = masking_layer(unmasked_embedding)
np.testing.assert_array_equal(ops.convert_to_numpy(masking_layer.compute_mask(unmasked_embedding)),
                              padded_inputs != 0)

# mask propagation in Sequential and functional models (LSTM consumes it)
model = keras.Sequential([layers.Embedding(input_dim=5000, output_dim=16, mask_zero=True), layers.LSTM(32)])
out = model(padded_inputs)
assert out.shape == (3, 32)

inputs = keras.Input(shape=(None,), dtype="int32")
x = layers.Embedding(input_dim=5000, output_dim=16, mask_zero=True)(inputs)
outputs = layers.LSTM(32)(x)
model = keras.Model(inputs, outputs)
assert model(padded_inputs).shape == (3, 32)

# passing mask tensors directly to layers
class MyLayer(layers.Layer):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.embedding = layers.Embedding(input_dim=5000, output_dim=16, mask_zero=True)
        self.lstm = layers.LSTM(32)

    def call(self, inputs):
        x = self.embedding(inputs)
        mask = self.embedding.compute_mask(inputs)
        output = self.lstm(x, mask=mask)
        return output


layer = MyLayer()
x = np.random.random((32, 10)) * 100
x = x.astype("int32")
assert layer(x).shape == (32, 32)


# supporting masking in custom layers: a layer that modifies the mask
class TemporalSplit(keras.layers.Layer):
    def call(self, inputs):
        return ops.split(inputs, 2, axis=1)

    def compute_mask(self, inputs, mask=None):
        if mask is None:
            return None
        return ops.split(mask, 2, axis=1)


first_half, second_half = TemporalSplit()(masked_embedding)
assert first_half.shape == (3, 3, 10)


class CustomEmbedding(keras.layers.Layer):
    def __init__(self, input_dim, output_dim, mask_zero=False, **kwargs):
        super().__init__(**kwargs)
        self.input_dim = input_dim
        self.output_dim = output_dim
        self.mask_zero = mask_zero

    def build(self, input_shape):
        self.embeddings = self.add_weight(shape=(self.input_dim, self.output_dim),
                                          initializer="random_normal", dtype="float32")

    def call(self, inputs):
        inputs = ops.cast(inputs, "int32")
        return ops.take(self.embeddings, inputs, axis=0)

    def compute_mask(self, inputs, mask=None):
        if not self.mask_zero:
            return None
        return ops.not_equal(inputs, 0)


layer = CustomEmbedding(10, 32, mask_zero=True)
x = np.random.random((3, 10)) * 9
x = x.astype("int32")
y = layer(x)
mask = layer.compute_mask(x)
assert tuple(mask.shape) == (3, 10)


# opting in to mask propagation, and a mask-consuming layer
class MyActivation(keras.layers.Layer):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def call(self, inputs):
        return ops.relu(inputs)


class TemporalSoftmax(keras.layers.Layer):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def call(self, inputs, mask=None):
        assert mask is not None
        broadcast_float_mask = ops.expand_dims(ops.cast(mask, "float32"), -1)
        inputs_exp = ops.exp(inputs) * broadcast_float_mask
        inputs_sum = ops.sum(inputs_exp * broadcast_float_mask, axis=-1, keepdims=True)
        return inputs_exp / inputs_sum


inputs = keras.Input(shape=(None,), dtype="int32")
x = layers.Embedding(input_dim=10, output_dim=32, mask_zero=True)(inputs)
x = MyActivation()(x)
x = layers.Dense(32)(x)
outputs = TemporalSoftmax()(x)
model = keras.Model(inputs, outputs)
y = model(np.random.randint(0, 10, size=(32, 100)))
assert y.shape == (32, 100, 32)

# training with masked sequences: padded timesteps don't count
rng = np.random.default_rng(9)
seqs = [list(rng.integers(1, 100, size=rng.integers(2, 12))) for _ in range(128)]
X = keras.utils.pad_sequences(seqs, maxlen=12, padding="post")
Y = np.array([len(s) > 6 for s in seqs], dtype="float32")
inputs = keras.Input(shape=(12,), dtype="int32")
x = layers.Embedding(100, 8, mask_zero=True)(inputs)
x = layers.GlobalAveragePooling1D()(x)   # respects the mask
outputs = layers.Dense(1, activation="sigmoid")(x)
model = keras.Model(inputs, outputs)
model.compile("adam", "binary_crossentropy", metrics=["accuracy"])
model.fit(X, Y, epochs=2, batch_size=32, verbose=0)
# masked average: extending the padding does not change the prediction
X2 = keras.utils.pad_sequences(seqs, maxlen=12, padding="post")
emb_model = keras.Model(inputs, model.layers[2].output)
a = emb_model.predict(X[:4], verbose=0)
one = np.array([[5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]])
e = ops.convert_to_numpy(model.layers[1].embeddings)[5]
np.testing.assert_allclose(emb_model.predict(one, verbose=0)[0], e, rtol=1e-5, atol=1e-6)
print("OK")
