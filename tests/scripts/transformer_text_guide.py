"""Example: text classification with a Transformer block (keras.io), synthetic tokens;
MultiHeadAttention, LayerNormalization, token+position embedding layer, plus a hand-written
attention layer built from keras.ops."""
import numpy as np

import cornu as keras
from cornu import layers, ops


class TransformerBlock(layers.Layer):
    def __init__(self, embed_dim, num_heads, ff_dim, rate=0.1):
        super().__init__()
        self.att = layers.MultiHeadAttention(num_heads=num_heads, key_dim=embed_dim)
        self.ffn = keras.Sequential([layers.Dense(ff_dim, activation="relu"), layers.Dense(embed_dim)])
        self.layernorm1 = layers.LayerNormalization(epsilon=1e-6)
        self.layernorm2 = layers.LayerNormalization(epsilon=1e-6)
        self.dropout1 = layers.Dropout(rate)
        self.dropout2 = layers.Dropout(rate)

    def call(self, inputs):
        attn_output = self.att(inputs, inputs)
        attn_output = self.dropout1(attn_output)
        out1 = self.layernorm1(inputs + attn_output)
        ffn_output = self.ffn(out1)
        ffn_output = self.dropout2(ffn_output)
        return self.layernorm2(out1 + ffn_output)


class TokenAndPositionEmbedding(layers.Layer):
    def __init__(self, maxlen, vocab_size, embed_dim):
        super().__init__()
        self.token_emb = layers.Embedding(input_dim=vocab_size, output_dim=embed_dim)
        self.pos_emb = layers.Embedding(input_dim=maxlen, output_dim=embed_dim)

    def call(self, x):
        maxlen = ops.shape(x)[-1]
        positions = ops.arange(start=0, stop=maxlen, step=1)
        positions = self.pos_emb(positions)
        x = self.token_emb(x)
        return x + positions


class SimpleSelfAttention(layers.Layer):
    """single-head scaled dot-product attention using keras.ops only"""

    def __init__(self, dim, **kwargs):
        super().__init__(**kwargs)
        self.dim = dim

    def build(self, input_shape):
        d = input_shape[-1]
        self.wq = self.add_weight(shape=(d, self.dim), initializer="glorot_uniform", name="wq")
        self.wk = self.add_weight(shape=(d, self.dim), initializer="glorot_uniform", name="wk")
        self.wv = self.add_weight(shape=(d, self.dim), initializer="glorot_uniform", name="wv")

    def call(self, x):
        q = ops.einsum("btd,dk->btk", x, self.wq)
        k = ops.einsum("btd,dk->btk", x, self.wk)
        v = ops.einsum("btd,dk->btk", x, self.wv)
        scores = ops.matmul(q, ops.transpose(k, (0, 2, 1))) / ops.sqrt(ops.cast(self.dim, "float32"))
        weights = ops.softmax(scores, axis=-1)
        return ops.matmul(weights, v)

    def compute_output_shape(self, input_shape):
        return input_shape[:-1] + (self.dim,)


vocab_size = 500
maxlen = 40
rng = np.random.default_rng(14)
x_train = rng.integers(1, vocab_size, size=(256, maxlen))
y_train = (np.sum(x_train < 50, axis=1) > 3).astype("int32")
x_val = rng.integers(1, vocab_size, size=(64, maxlen))
y_val = (np.sum(x_val < 50, axis=1) > 3).astype("int32")

# hand-written attention model (ops only)
inputs = layers.Input(shape=(maxlen,))
x = TokenAndPositionEmbedding(maxlen, vocab_size, 16)(inputs)
x = SimpleSelfAttention(16)(x)
x = layers.GlobalAveragePooling1D()(x)
outputs = layers.Dense(2, activation="softmax")(x)
model = keras.Model(inputs=inputs, outputs=outputs)
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
h = model.fit(x_train, y_train, batch_size=32, epochs=2, validation_data=(x_val, y_val), verbose=0)
assert np.isfinite(h.history["val_loss"][-1])

# keras.io transformer classifier
embed_dim, num_heads, ff_dim = 16, 2, 16
inputs = layers.Input(shape=(maxlen,))
embedding_layer = TokenAndPositionEmbedding(maxlen, vocab_size, embed_dim)
x = embedding_layer(inputs)
transformer_block = TransformerBlock(embed_dim, num_heads, ff_dim)
x = transformer_block(x)
x = layers.GlobalAveragePooling1D()(x)
x = layers.Dropout(0.1)(x)
x = layers.Dense(20, activation="relu")(x)
x = layers.Dropout(0.1)(x)
outputs = layers.Dense(2, activation="softmax")(x)
model = keras.Model(inputs=inputs, outputs=outputs)
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
h = model.fit(x_train, y_train, batch_size=32, epochs=2, validation_data=(x_val, y_val), verbose=0)
assert np.isfinite(h.history["loss"][-1])

# attention returns scores too
mha = layers.MultiHeadAttention(num_heads=2, key_dim=4)
q = np.random.random((2, 5, 8)).astype("float32")
out, scores = mha(q, q, return_attention_scores=True)
assert out.shape == (2, 5, 8) and scores.shape == (2, 2, 5, 5)
print("OK")
