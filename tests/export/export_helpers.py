"""Models the export tests share (small, so each export is fast), and a check that an
exported model predicts what cornu predicts at two batch sizes."""

from __future__ import annotations

import numpy as np

import cornu
from cornu import layers


def lecture_net():
    return cornu.Sequential([cornu.Input((20,), name="pixels"), layers.Dense(16),
                             layers.Activation("relu"), layers.Dense(4),
                             layers.Activation("softmax", name="probabilities")])


def convnet():
    return cornu.Sequential([
        cornu.Input((10, 10, 1)), layers.Conv2D(4, 3, activation="relu"),
        layers.Conv2D(4, 3, padding="same", activation="relu"), layers.MaxPooling2D(),
        layers.Flatten(), layers.Dropout(0.5), layers.Dense(3, activation="softmax")])


def lstm_net():
    return cornu.Sequential([cornu.Input((None, 5)), layers.LSTM(6), layers.Dense(2)])


def attention():
    """A transformer-style block: MultiHeadAttention, LayerNormalization, Dense."""
    inputs = cornu.Input((6, 8))
    h = layers.MultiHeadAttention(2, 4)(inputs, inputs)
    h = layers.LayerNormalization()(layers.Add()([inputs, h]))
    return cornu.Model(inputs, layers.Dense(3)(h))


def branches():
    """Two inputs, two outputs, a BatchNormalization (non-trainable weights)."""
    a = cornu.Input((6,), name="a")
    b = cornu.Input((3,), name="b")
    h = layers.Concatenate()([layers.Dense(5, activation="tanh")(a), b])
    h = layers.BatchNormalization(name="bn")(h)
    model = cornu.Model([a, b], [layers.Dense(2, name="score")(h),
                                 layers.Dense(3, activation="softmax", name="kind")(h)])
    bn = model.get_layer("bn")
    rng = np.random.default_rng(1)
    bn.moving_mean.assign(rng.standard_normal(8).astype(np.float32))
    bn.moving_variance.assign(rng.uniform(0.5, 2.0, 8).astype(np.float32))
    return model


class Subclassed(cornu.Model):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.hidden = layers.Dense(8, activation="relu")
        self.out = layers.Dense(2)

    def call(self, inputs, training=None):
        return self.out(self.hidden(inputs))


def subclassed():
    model = Subclassed()
    model(np.zeros((1, 7), np.float32))
    return model


MODELS = {"lecture_net": lecture_net, "convnet": convnet, "lstm": lstm_net, "attention": attention,
          "branches": branches, "subclassed": subclassed}


def inputs_for(model, batch: int, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed + batch)
    shapes = model._expected_input_shapes()
    return [rng.standard_normal((batch, *[4 if d is None else d for d in s[1:]]))
            .astype(np.float32) for s in shapes]


def expected(model, xs: list[np.ndarray]) -> list[np.ndarray]:
    out = model.predict(xs[0] if len(xs) == 1 else xs, verbose=0)
    out = [out[k] for k in model.output_names] if isinstance(out, dict) else out
    return [np.asarray(o) for o in (out if isinstance(out, list | tuple) else [out])]


def check_runtime(model, run, batches=(3, 7)) -> None:
    """run(list of inputs) -> list of outputs, as the exported model computes them."""
    for batch in batches:
        xs = inputs_for(model, batch)
        got = run(xs)
        want = expected(model, xs)
        assert len(got) == len(want)
        for g, w in zip(got, want, strict=True):
            assert np.asarray(g).shape == w.shape
            np.testing.assert_allclose(np.asarray(g), w, atol=1e-5, rtol=1e-5)
