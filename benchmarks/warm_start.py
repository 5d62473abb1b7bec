"""First epoch of a second process with a warm compilation cache, against a steady epoch.

Runs the lecture's net (batch 100, 3 epochs) in two fresh processes that share a new,
empty compilation cache folder: the first compiles, the second should find its programs.

    python benchmarks/warm_start.py
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile

CHILD = """
import json, time
import numpy as np
import cornu
from cornu.datasets import mnist
from cornu.layers import Dense

class Timer(cornu.callbacks.Callback):
    times = []
    def on_epoch_begin(self, epoch, logs=None):
        self.start = time.perf_counter()
    def on_epoch_end(self, epoch, logs=None):
        self.times.append(time.perf_counter() - self.start)

(x, y), _ = mnist.load_data()
x = x.reshape(-1, 784).astype("float32") / 255
y = np.eye(10, dtype="float32")[y]
cornu.utils.set_random_seed(0)
model = cornu.Sequential([cornu.Input(shape=(784,)), Dense(500, activation="sigmoid"),
                          Dense(500, activation="sigmoid"), Dense(10, activation="softmax")])
model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
start = time.perf_counter()
model.fit(x, y, batch_size=100, epochs=3, verbose=0, callbacks=[Timer()])
print(json.dumps({"epochs": Timer.times, "fit": time.perf_counter() - start}))
"""


def main() -> None:
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "CORNU_COMPILATION_CACHE": cache}
        for label in ("cold cache", "warm cache"):
            out = subprocess.run([sys.executable, "-c", CHILD], env=env, check=True,
                                 capture_output=True, text=True).stdout
            result = json.loads(out.strip().splitlines()[-1])
            first, steady = result["epochs"][0], min(result["epochs"][1:])
            print(f"{label}: first epoch {first:.3f} s, steady epoch {steady:.3f} s, "
                  f"ratio {first / steady:.2f}")


if __name__ == "__main__":
    main()
