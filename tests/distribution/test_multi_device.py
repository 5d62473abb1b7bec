"""DataParallel and ModelParallel on 4 CPU devices (a subprocess with
JAX_NUM_CPU_DEVICES=4, one for the three tests): the same numbers as one device with the
same global batch and seed; only the order of the sums over the devices differs.
DataParallel's steps split the batch with shard_map (CORNU_SHARD_MAP=1 here, since these
models have no recurrent layer; each device draws its own dropout, so the models compared
there have none), or, with CORNU_SHARD_MAP=0 and for models with BatchNormalization, with
XLA's partitioner (dropout included)."""

from __future__ import annotations

import textwrap

import pytest
from distribution_helpers import run_child, tagged

_COMMON = """
import json, sys
import jax
import numpy as np
import cornu
from cornu import layers
from cornu import distribution as dist

assert len(jax.devices()) == 4, jax.devices()


def compare(run, distribution):
    plain, placed = run(None), run(distribution)
    (m1, h1, e1, p1, t1), (m2, h2, e2, p2, t2) = plain, placed
    weights = max(float(np.abs(a - b).max())
                  for a, b in zip(m1.get_weights(), m2.get_weights(), strict=True))
    devices = min(len(v.value.sharding.device_set) for v in m2.weights)
    specs = {v.path: str(v.value.sharding.spec) for v in m2.weights}
    return {"weights": weights, "history": [h1, h2], "evaluate": [e1, e2],
            "predict": float(np.abs(np.asarray(p1) - np.asarray(p2)).max()),
            "traces": [t1, t2], "devices": devices, "specs": specs,
            "active_after": dist.distribution() is not None}


def fit_evaluate_predict(m, x, y, distribution, batch_size, epochs):
    dist.set_distribution(distribution)
    try:
        head = [a[:30] for a in x] if isinstance(x, list) else x[:30]
        h = m.fit(x, y, batch_size=batch_size, epochs=epochs, verbose=0,
                  validation_data=(head, y[:30]))
        e = m.evaluate(x, y, batch_size=7, verbose=0)
        p = m.predict(x, batch_size=9, verbose=0)
    finally:
        dist.set_distribution(None)
    return m, h.history, e, p, m._engine.traces["train"]
"""

_DATA_PARALLEL = """
import os
os.environ["CORNU_SHARD_MAP"] = "1"  # the shard_map step for models without RNNs too

def lecture_net(distribution, batch_size, dropout=False):
    # the lecture's 784-500-500-10 sigmoid net, smaller; with dropout only where the
    # partitioner splits the step (CORNU_SHARD_MAP=0): shard_map's devices draw their own
    cornu.utils.set_random_seed(1)
    rng = np.random.default_rng(0)
    x = rng.random((203, 48), dtype=np.float32)
    y = np.eye(10, dtype=np.float32)[rng.integers(0, 10, 203)]
    m = cornu.Sequential([layers.Input((48,)), layers.Dense(32, activation="sigmoid"),
                          *([layers.Dropout(0.1)] if dropout else []),
                          layers.Dense(32, activation="sigmoid"),
                          layers.Dense(10, activation="softmax")])
    m.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    return fit_evaluate_predict(m, x, y, distribution, batch_size, 2)

from cornu.training import loop

seen = {}
train_chunk = loop.Engine.train_chunk


def spy(self, ts, sums, x, y, sw, order, mask, start, steps, *rest):
    # the placement of the first distributed call, and its compiled program
    if dist.distribution() is not None and not seen:
        args = (ts, sums, x, y, sw, order, mask, start)
        program = self._split_program(order.shape[1])
        text = program.lower(*args, steps, start, False).compile().as_text()
        seen.update(x=str(x[0].sharding.spec), order=str(order.sharding.spec),
                    params=str(ts.params[0]["kernel"].sharding.spec),
                    all_reduce="all-reduce" in text, split=self.splits_batch())
    return train_chunk(self, ts, sums, x, y, sw, order, mask, start, steps, *rest)


loop.Engine.train_chunk = spy
out = {}
for batch_size in (12, 10):  # 10 does not divide over 4 devices: padded and masked
    out[batch_size] = compare(lambda d: lecture_net(d, batch_size), dist.DataParallel())
out["placement"] = seen
os.environ["CORNU_SHARD_MAP"] = "0"  # XLA's partitioner splits the step: dropout too
try:
    out["partitioner"] = compare(lambda d: lecture_net(d, 10, dropout=True),
                                 dist.DataParallel())
finally:
    os.environ["CORNU_SHARD_MAP"] = "1"


def conv_batchnorm(distribution):
    # batch statistics over the global batch (14 rows: padded to 16, the padding masked)
    cornu.utils.set_random_seed(5)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(90, 6, 6, 2)).astype(np.float32)
    y = rng.integers(0, 3, 90)
    m = cornu.Sequential([layers.Input((6, 6, 2)), layers.Conv2D(4, 3),
                          layers.BatchNormalization(), layers.Activation("relu"),
                          layers.GlobalAveragePooling2D(),
                          layers.Dense(3, activation="softmax")])
    m.compile(loss="sparse_categorical_crossentropy", optimizer="rmsprop",
              metrics=["accuracy"])
    return fit_evaluate_predict(m, x, y, distribution, 14, 2)


out["batchnorm"] = compare(conv_batchnorm, dist.DataParallel())
# later fits (a changed learning rate between them) run the same program
model = lecture_net(dist.DataParallel(), 12)[0]
with dist.DataParallel().scope():
    for rate in (0.01, 0.005):
        model.optimizer.learning_rate = rate
        model.fit(np.ones((203, 48), np.float32), np.eye(10, dtype=np.float32)[[0] * 203],
                  batch_size=12, epochs=1, verbose=0)
out["refit"] = [model._engine.traces["train"], len(model._engine._split_programs)]
loop.Engine.train_chunk = train_chunk  # (the next sections run unspied)
del os.environ["CORNU_SHARD_MAP"]
"""

_MODEL_PARALLEL = """
def conv_embed_dense(distribution):
    cornu.utils.set_random_seed(2)
    rng = np.random.default_rng(0)
    img = rng.normal(size=(64, 8, 8, 3)).astype(np.float32)
    tok = rng.integers(0, 20, size=(64, 5))
    y = rng.integers(0, 4, 64)
    a, b = layers.Input((8, 8, 3)), layers.Input((5,), dtype="int32")
    h = layers.Flatten()(layers.Conv2D(4, 3, activation="relu")(a))
    e = layers.Flatten()(layers.Embedding(20, 6)(b))
    h = layers.Dense(8, activation="sigmoid")(layers.Concatenate()([h, e]))
    m = cornu.Model([a, b], layers.Dense(4, activation="softmax")(h))
    m.compile(loss="sparse_categorical_crossentropy", optimizer="adam",
              metrics=["accuracy"])
    return fit_evaluate_predict(m, [img, tok], y, distribution, 10, 1)

mesh = dist.DeviceMesh((2, 2), ("batch", "model"))
layout_map = dist.LayoutMap(mesh)
layout_map[".*dense.*kernel"] = (None, "model")
layout_map[".*conv2d.*kernel"] = (None, None, None, "model")
layout_map[".*embedding.*embeddings"] = (None, "model")
out = compare(conv_embed_dense, dist.ModelParallel(layout_map=layout_map,
                                                   batch_dim_name="batch"))
"""

_STREAMS = """
import os
import grain

os.environ["CORNU_SHARD_MAP"] = "1"  # the shard_map step: a chunk's rows gathered

rng = np.random.default_rng(0)
X = rng.random((203, 48), dtype=np.float32)
Y = np.eye(10, dtype=np.float32)[rng.integers(0, 10, 203)]


class Rows(cornu.utils.PyDataset):
    # 10 rows a batch (padded to 12 over 4 devices), the last batch of 3
    def __init__(self, x, y, batch_size):
        super().__init__()
        self.x, self.y, self.batch_size = x, y, batch_size

    def __len__(self):
        return -(-len(self.x) // self.batch_size)

    def __getitem__(self, i):
        part = slice(i * self.batch_size, (i + 1) * self.batch_size)
        return self.x[part], self.y[part]


def net():
    cornu.utils.set_random_seed(1)
    m = cornu.Sequential([layers.Input((48,)), layers.Dense(32, activation="sigmoid"),
                          layers.Dense(10, activation="softmax")])
    m.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    return m


def pydataset(distribution):
    m = net()
    dist.set_distribution(distribution)
    try:
        h = m.fit(Rows(X, Y, 10), epochs=2, verbose=0, validation_data=Rows(X[:30], Y[:30], 7))
        e = m.evaluate(Rows(X, Y, 9), verbose=0)
        p = m.predict(Rows(X, Y, 11), verbose=0)
    finally:
        dist.set_distribution(None)
    return m, h.history, e, p, m._engine.traces["train"]


def steps(distribution):
    # steps_per_epoch on arrays, a generator for validation with validation_steps,
    # grain batches, steps= of evaluate and predict
    m = net()

    def gen():
        while True:
            for i in range(0, 60, 6):
                yield X[i:i + 6], Y[i:i + 6]

    loader = grain.MapDataset.source(np.arange(203)).batch(13).map(
        lambda i: (X[i], Y[i]))
    dist.set_distribution(distribution)
    try:
        h = m.fit(X, Y, batch_size=10, steps_per_epoch=15, epochs=2, verbose=0,
                  validation_data=gen(), validation_steps=4)
        h2 = m.fit(loader, epochs=1, verbose=0)
        e = m.evaluate(X, Y, batch_size=7, steps=5, verbose=0)
        p = m.predict(X, batch_size=9, steps=3, verbose=0)
    finally:
        dist.set_distribution(None)
    return m, {**h.history, **{"grain_" + k: v for k, v in h2.history.items()}}, e, p, \
        m._engine.traces["train"]


try:
    out = {"pydataset": compare(pydataset, dist.DataParallel()),
           "steps": compare(steps, dist.DataParallel())}
finally:
    del os.environ["CORNU_SHARD_MAP"]
"""


_SECTIONS = {"data_parallel": _DATA_PARALLEL, "model_parallel": _MODEL_PARALLEL,
             "streams": _STREAMS}


def _child_code() -> str:
    """One child runs every section (one start of Python, JAX and cornu instead of
    three): each is the body of its own function, which returns its `out`; a section
    that raises prints its traceback for its test, and the next one runs."""
    code = [_COMMON, "import traceback", "from cornu.utils import clear_session"]
    for name, body in _SECTIONS.items():
        code.append(f"def _{name}():\n{textwrap.indent(body, '    ')}\n    return out\n")
        code.append(f"""
clear_session()
try:
    print("RESULT", json.dumps({{"{name}": _{name}()}}), flush=True)
except Exception:
    print("FAILED", json.dumps({{"{name}": traceback.format_exc()}}), flush=True)
""")
    return "\n".join(code)


@pytest.fixture(scope="module")
def results() -> dict:
    """Each section's `out`, or its traceback (a str under "FAILED")."""
    output = run_child(_child_code(), timeout=900, JAX_NUM_CPU_DEVICES="4").stdout
    return {**tagged(output, "RESULT"), "FAILED": tagged(output, "FAILED")}


def _run(results: dict, name: str) -> dict:
    assert name not in results["FAILED"], results["FAILED"][name]
    assert name in results, f"the child printed nothing for {name}"
    return results[name]


def _assert_same(result: dict) -> None:
    assert result["weights"] < 1e-5
    (h1, h2), (e1, e2) = result["history"], result["evaluate"]
    assert h1.keys() == h2.keys()
    for key in h1:
        assert h1[key] == pytest.approx(h2[key], rel=1e-5), key
    assert e1 == pytest.approx(e2, rel=1e-5)
    assert result["predict"] < 1e-5
    assert result["traces"][0] == result["traces"][1]  # nothing recompiles per epoch
    assert result["devices"] == 4  # every weight lives on the 4 devices
    assert not result["active_after"]


@pytest.mark.slow
def test_data_parallel_on_4_devices_equals_one_device(results):
    results = _run(results, "data_parallel")
    # the resident rows whole on every device (each takes its rows of a batch), each
    # step's indices split over the batch axis, the weights whole on every device, and
    # one shard_map program whose psum of the gradients is an all-reduce
    assert results.pop("refit") == [1, 1]  # one trace, one split program for 3 fits
    placement = results.pop("placement")
    assert placement.pop("params") in ("P()", "P(None, None)")  # replicated, both spellings
    assert placement.pop("x") in ("P()", "P(None, None)")
    assert placement == {"order": "P(None, 'batch')", "all_reduce": True, "split": True}
    for batch_size, result in results.items():
        _assert_same(result)
        assert set(result["specs"].values()) <= {"P(None, None)", "P(None,)", "P()"}, \
            batch_size


@pytest.mark.slow
def test_model_parallel_mesh_2x2_equals_unsharded(results):
    result = _run(results, "model_parallel")
    _assert_same(result)
    by_kind = {}  # the second model's layers are named conv2d_1, dense_2, ...
    for path, spec in result["specs"].items():
        layer, weight = path.split("/")
        by_kind.setdefault((layer.rstrip("_0123456789"), weight), set()).add(spec)
    assert by_kind[("conv2d", "kernel")] == {"P(None, None, None, 'model')"}
    assert by_kind[("embedding", "embeddings")] == {"P(None, 'model')"}
    assert by_kind[("dense", "kernel")] == {"P(None, 'model')"}  # both Dense layers
    assert by_kind[("dense", "bias")] | by_kind[("conv2d", "bias")] <= {"P(None,)", "P()"}


@pytest.mark.slow
def test_streams_under_data_parallel_equal_one_device(results):
    # a PyDataset (batches of 10 over 4 devices: padded to 12, masked), a validation
    # PyDataset, steps_per_epoch, a validation generator, grain, steps= of evaluate and
    # predict: the weights, logs and outputs of one device
    for name, result in _run(results, "streams").items():
        _assert_same(result)
        assert set(result["specs"].values()) <= {"P(None, None)", "P(None,)", "P()"}, name
