"""One process of test_two_processes.py: joins the job (KERAS_DISTRIBUTION_* variables),
trains `build()` under DataParallel over all the job's devices and prints its results."""

import json

import numpy as np

import cornu
from cornu import distribution as dist
from cornu import layers


def build():
    rng = np.random.default_rng(0)
    x = rng.random((70, 12), dtype=np.float32)
    y = np.eye(4, dtype=np.float32)[rng.integers(0, 4, 70)]
    cornu.utils.set_random_seed(3)
    m = cornu.Sequential([layers.Input((12,)), layers.Dense(16, activation="sigmoid"),
                          layers.Dense(4, activation="softmax")])
    m.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    return m, x, y


def train(m, x, y):
    """The run both sides make: 9 rows a step (over 2 devices: padded to 10)."""
    h = m.fit(x, y, batch_size=9, epochs=2, verbose=0)
    return {"history": h.history, "evaluate": m.evaluate(x, y, batch_size=8, verbose=0),
            "predict": m.predict(x, batch_size=8, verbose=0).tolist(),
            "weights": [w.tolist() for w in m.get_weights()]}


if __name__ == "__main__":
    dist.initialize()
    dist.set_distribution(dist.DataParallel())
    out = train(*build())
    out["processes"] = dist.distribution().num_processes
    out["mesh"] = list(dist.distribution().device_mesh.shape)
    print("RESULT", json.dumps(out), flush=True)
