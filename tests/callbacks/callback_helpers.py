"""Shared pieces of the callback tests: a small seeded model and data, scripted logs."""

from __future__ import annotations

import numpy as np

import cornu
from cornu.callbacks import Callback
from cornu.layers import Dense, Dropout


def data(n: int = 96, seed: int = 0, classes: int = 3):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 4)).astype(np.float32)
    y = np.eye(classes, dtype=np.float32)[rng.integers(0, classes, n)]
    return x, y


def small_model(seed: int = 0, optimizer="adam", dropout: bool = False, classes: int = 3):
    cornu.utils.set_random_seed(seed)
    layers = [Dense(8, input_shape=(4,), activation="relu")]
    if dropout:
        layers.append(Dropout(0.25))
    layers.append(Dense(classes, activation="softmax"))
    model = cornu.Sequential(layers)
    model.compile(optimizer=optimizer, loss="categorical_crossentropy", metrics=["accuracy"])
    return model


class Scripted(Callback):
    """Writes `logs[name] = values[epoch]` at each epoch end (list it before the callback
    under test: every callback sees the same logs dict)."""

    def __init__(self, name: str, values):
        super().__init__()
        self.name, self.values = name, list(values)

    def on_epoch_end(self, epoch, logs=None):
        logs[self.name] = self.values[epoch]


class Recorder(Callback):
    """The model's weights at each epoch end."""

    def __init__(self):
        super().__init__()
        self.weights: list[list[np.ndarray]] = []

    def on_epoch_end(self, epoch, logs=None):
        self.weights.append(self.model.get_weights())


class FakeOptimizer:
    def __init__(self, learning_rate: float = 0.01):
        self.learning_rate = learning_rate


class FakeModel:
    """Just what the monitoring callbacks touch; the weights are the epoch number."""

    def __init__(self):
        self.stop_training = False
        self.optimizer = FakeOptimizer()
        self.epoch = 0

    def get_weights(self):
        return [np.array([self.epoch], np.float32)]

    def set_weights(self, weights):
        self.epoch = int(weights[0][0])


def drive(callback, values, monitor: str = "val_loss"):
    """Run `callback` over scripted epochs as fit would. Returns (epochs run, model)."""
    model = FakeModel()
    callback.set_model(model)
    callback.on_train_begin()
    ran = 0
    for epoch, value in enumerate(values):
        callback.on_epoch_begin(epoch)
        model.epoch = epoch
        callback.on_epoch_end(epoch, {monitor: value})
        ran += 1
        if model.stop_training:
            break
    callback.on_train_end()
    return ran, model
