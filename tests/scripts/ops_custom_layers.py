"""Custom layers written with keras.ops: einsum attention, top_k routing, where,
segment reductions, cumsum, and ops inside a trained model."""

import numpy as np

import cornu as keras
from cornu import layers, ops

keras.utils.set_random_seed(9)
rng = np.random.default_rng(9)


class EinsumDense2(layers.Layer):
    """A bilinear projection written with einsum: y[b,t,o] = x[b,t,i] W[i,o] + b[o]."""

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = units

    def build(self, input_shape):
        self.w = self.add_weight(shape=(input_shape[-1], self.units), initializer="glorot_uniform")
        self.b = self.add_weight(shape=(self.units,), initializer="zeros")

    def call(self, x):
        return ops.einsum("bti,io->bto", x, self.w) + self.b

    def get_config(self):
        return {**super().get_config(), "units": self.units}


class TinySelfAttention(layers.Layer):
    def __init__(self, dim, **kwargs):
        super().__init__(**kwargs)
        self.dim = dim
        self.q = EinsumDense2(dim)
        self.k = EinsumDense2(dim)
        self.v = EinsumDense2(dim)

    def call(self, x):
        q, k, v = self.q(x), self.k(x), self.v(x)
        scores = ops.einsum("bqd,bkd->bqk", q, k) / ops.sqrt(ops.cast(self.dim, "float32"))
        weights = ops.softmax(scores, axis=-1)
        return ops.einsum("bqk,bkd->bqd", weights, v)


class TopKPool(layers.Layer):
    """Mean of the k largest activations per channel over time."""

    def __init__(self, k, **kwargs):
        super().__init__(**kwargs)
        self.k = k

    def call(self, x):
        x = ops.transpose(x, (0, 2, 1))
        values, _ = ops.top_k(x, self.k)
        return ops.mean(values, axis=-1)


class ClippedMask(layers.Layer):
    def call(self, x):
        return ops.where(x > 0, x, ops.zeros_like(x) - 0.1 * x)


# -- the ops themselves, against NumPy -----------------------------------------------------------
a = rng.normal(size=(3, 5)).astype("float32")
b = rng.normal(size=(5, 4)).astype("float32")
np.testing.assert_allclose(np.asarray(ops.einsum("ij,jk->ik", a, b)), a @ b, rtol=1e-5, atol=1e-5)
np.testing.assert_allclose(np.asarray(ops.einsum("ij->ji", a)), a.T)

vals, idx = ops.top_k(np.array([[1.0, 5.0, 3.0, 4.0]]), k=2)
np.testing.assert_array_equal(np.asarray(vals), [[5.0, 4.0]])
np.testing.assert_array_equal(np.asarray(idx), [[1, 3]])
unsorted_vals, _ = ops.top_k(np.array([1.0, 5.0, 3.0, 4.0]), k=3, sorted=True)
np.testing.assert_array_equal(np.asarray(unsorted_vals), [5.0, 4.0, 3.0])

data = np.array([1.0, 2.0, 3.0, 4.0, 5.0], "float32")
segment_ids = np.array([0, 0, 1, 2, 2])
np.testing.assert_allclose(np.asarray(ops.segment_sum(data, segment_ids, num_segments=3)), [3.0, 3.0, 9.0])
np.testing.assert_allclose(np.asarray(ops.segment_max(data, segment_ids, num_segments=3)), [2.0, 3.0, 5.0])
np.testing.assert_allclose(np.asarray(ops.cumsum(data)), np.cumsum(data))
np.testing.assert_allclose(np.asarray(ops.cumprod(data)), np.cumprod(data))
np.testing.assert_allclose(np.asarray(ops.cumsum(a, axis=1)), np.cumsum(a, axis=1), rtol=1e-5, atol=1e-5)
np.testing.assert_array_equal(
    np.asarray(ops.where(np.array([True, False, True]), np.array([1, 2, 3]), np.array([9, 9, 9]))), [1, 9, 3]
)
np.testing.assert_array_equal(np.asarray(ops.argsort(np.array([3, 1, 2]))), [1, 2, 0])
np.testing.assert_allclose(np.asarray(ops.logsumexp(a, axis=1)), np.log(np.exp(a).sum(axis=1)), rtol=1e-5)
np.testing.assert_array_equal(np.asarray(ops.one_hot(np.array([0, 2]), 3)), [[1, 0, 0], [0, 0, 1]])
np.testing.assert_allclose(np.asarray(ops.norm(a, axis=-1)), np.linalg.norm(a, axis=-1), rtol=1e-5)
np.testing.assert_array_equal(np.asarray(ops.take(np.arange(10), np.array([3, 7]))), [3, 7])
np.testing.assert_array_equal(
    np.asarray(ops.take_along_axis(np.array([[10, 20, 30]]), np.array([[2, 0]]), axis=1)), [[30, 10]]
)
np.testing.assert_allclose(
    np.asarray(ops.moments(a, axes=[0])[0]), a.mean(axis=0), rtol=1e-5, atol=1e-6
)
stacked = ops.stack([ops.ones((2,)), ops.zeros((2,))], axis=0)
assert tuple(stacked.shape) == (2, 2)
np.testing.assert_array_equal(np.asarray(ops.repeat(np.array([1, 2]), 2)), [1, 1, 2, 2])
np.testing.assert_array_equal(np.asarray(ops.tril(np.ones((3, 3)))), np.tril(np.ones((3, 3))))
assert int(ops.convert_to_numpy(ops.argmax(np.array([1, 9, 3])))) == 1
np.testing.assert_allclose(ops.convert_to_numpy(ops.clip(data, 2.0, 4.0)), np.clip(data, 2.0, 4.0))

# -- a model of the custom layers, trained --------------------------------------------------------
# label: does the sequence hold a large spike anywhere (top-k pooling finds it)
x = rng.normal(scale=0.3, size=(512, 12, 4)).astype("float32")
y = rng.integers(0, 2, size=(512,))
where_spike = rng.integers(0, 12, size=(512,))
x[np.arange(512)[y == 1], where_spike[y == 1], :] += 3.0

inputs = keras.Input(shape=(12, 4))
h = EinsumDense2(8)(inputs)
h = ClippedMask()(h)
h = TinySelfAttention(8)(h)
h = layers.Add()([h, EinsumDense2(8)(inputs)])
h = TopKPool(2)(h)
outputs = layers.Dense(1, activation="sigmoid")(h)
model = keras.Model(inputs, outputs)
model.summary()
assert len(model.trainable_weights) == 2 * 5 + 2
model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="binary_crossentropy", metrics=["accuracy"])
history = model.fit(x, y, epochs=6, batch_size=64, verbose=0)
assert history.history["accuracy"][-1] > 0.9, history.history["accuracy"]

# a layer's symbolic output shape is found by tracing its call
sym = TopKPool(3)(keras.Input(shape=(7, 5)))
assert tuple(sym.shape) == (None, 5)
attn = TinySelfAttention(6)
assert tuple(attn(np.zeros((2, 7, 3), "float32")).shape) == (2, 7, 6)
print("OK")
