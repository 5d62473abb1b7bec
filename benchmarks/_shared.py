"""Pieces the benchmark scripts share: the lecture's net and a callback timing epochs.
Both take the library module (cornu or keras), so one definition serves either side."""

import time


def lecture_net(lib):
    """Input(784) -> Dense(500, sigmoid) -> Dense(500, sigmoid) -> Dense(10, softmax)."""
    layers = lib.layers
    return lib.Sequential([
        lib.Input(shape=(784,)),
        layers.Dense(500, activation="sigmoid"),
        layers.Dense(500, activation="sigmoid"),
        layers.Dense(10, activation="softmax"),
    ])


def epoch_timer(lib):
    """A callback of `lib` whose `times` lists each epoch's seconds, begin to end."""

    class EpochTimer(lib.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.times = []

        def on_epoch_begin(self, epoch, logs=None):
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            self.times.append(time.perf_counter() - self.start)

    return EpochTimer()
