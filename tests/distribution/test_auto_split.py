"""The CPU's cores as devices at `import cornu` (cornu/_cpu_devices.py) and fit's
automatic split of a recurrent model's batches over them (loop.Engine.auto_splits):
subprocesses, since the devices are made before JAX's backend starts."""

from __future__ import annotations

import pytest
from distribution_helpers import finish_children, result, run_child, start_child

from cornu import _cpu_devices

_CHILD = r"""
import json
import jax
import numpy as np
import cornu
from cornu import layers

rng = np.random.default_rng(0)
X = rng.random((103, 7, 5), dtype=np.float32)
Y = rng.integers(0, 4, 103)


def fit(kind, batch_size, seed=1):
    cornu.utils.set_random_seed(seed)
    inner = {"lstm": [layers.LSTM(8)], "dropout": [layers.GRU(8, dropout=0.3)],
             "dense": [layers.Flatten(), layers.Dense(8)],
             "batchnorm": [layers.LSTM(8), layers.BatchNormalization()]}[kind]
    m = cornu.Sequential([layers.Input((7, 5)), *inner,
                          layers.Dense(4, activation="softmax")])
    m.compile(loss="sparse_categorical_crossentropy", optimizer="adam",
              metrics=["accuracy"])
    h = m.fit(X, Y, batch_size=batch_size, epochs=2, verbose=0,
              validation_data=(X[:20], Y[:20]))
    p = m.predict(X[:5], verbose=0)
    return {"history": h.history, "weights": [w.tolist() for w in m.get_weights()],
            "predict": p.tolist(), "split": len(m._engine._split_programs),
            "weight_devices": sorted({len(v.value.sharding.device_set) for v in m.weights})}


class Stop(Exception):
    pass


STOPPED = []


class StopAt(cornu.callbacks.Callback):
    def on_chunk_end(self, step, logs=None):
        if (self.model.fit_position.epoch, step) == (1, 4):
            STOPPED.append(step)
            raise Stop()


def backed_up(folder, stop):
    # BackupAndRestore every 2 steps; interrupted mid-epoch, then run again
    cornu.utils.set_random_seed(3)
    m = cornu.Sequential([layers.Input((7, 5)), layers.LSTM(8, dropout=0.2),
                          layers.Dense(4, activation="softmax")])
    m.compile(loss="sparse_categorical_crossentropy", optimizer="adam")
    backup = cornu.callbacks.BackupAndRestore(folder, save_freq=2)
    try:
        m.fit(X, Y, batch_size=12, epochs=3, verbose=0,
              callbacks=[backup, *([StopAt()] if stop else [])])
    except Stop:
        m.fit(X, Y, batch_size=12, epochs=3, verbose=0, callbacks=[backup])
    return m.get_weights()


import tempfile  # noqa: E402

with tempfile.TemporaryDirectory() as folder:
    whole = backed_up(folder + "/a", False)
    resumed = backed_up(folder + "/b", True)
backup_diff = max(float(np.abs(a - b).max()) for a, b in zip(whole, resumed, strict=True))

out = {"made": cornu._cpu_devices.MADE, "devices": len(jax.devices()),
       "backup": [backup_diff, STOPPED],
       "lstm_12": fit("lstm", 12), "lstm_9": fit("lstm", 9), "dense": fit("dense", 12),
       "batchnorm": fit("batchnorm", 12)}
if len(jax.devices()) > 1:  # dropout drawn per device: the same run to run
    out["dropout"] = [fit("dropout", 12) for _ in range(2)]
print("RESULT", json.dumps(out))
"""


@pytest.fixture(scope="module")
def runs() -> dict:
    """The child with the cores made devices (2) and with them off (1), side by side."""
    drop = ("JAX_NUM_CPU_DEVICES", "CORNU_CPU_DEVICES", "CORNU_SHARD_MAP", "XLA_FLAGS")
    names = {"two": "2", "off": "1"}
    procs = [start_child(_CHILD, drop=drop, CORNU_CPU_DEVICES=n) for n in names.values()]
    return {name: result(done)
            for name, done in zip(names, finish_children(procs), strict=True)}


def _max_diff(a, b) -> float:
    import numpy as np

    return max(float(np.abs(np.asarray(u) - np.asarray(v)).max())
               for u, v in zip(a, b, strict=True))


@pytest.mark.slow
def test_cores_made_devices_and_the_off_switch(runs):
    assert (runs["two"]["made"], runs["two"]["devices"]) == (2, 2)
    assert (runs["off"]["made"], runs["off"]["devices"]) == (None, 1)


@pytest.mark.slow
@pytest.mark.parametrize("name, split", [("lstm_12", 1), ("lstm_9", 0), ("dense", 0),
                                         ("batchnorm", 0)])
def test_recurrent_fit_splits_and_equals_one_device(runs, name, split):
    two, off = runs["two"][name], runs["off"][name]
    # only a recurrent model whose batch divides over the devices (and whose rows are
    # independent) splits; the weights come back as one-device arrays
    assert (two["split"], off["split"]) == (split, 0)
    assert two["weight_devices"] == [1]
    assert _max_diff(two["weights"], off["weights"]) < 1e-5
    assert _max_diff(two["predict"], off["predict"]) < 1e-5
    for key, values in off["history"].items():
        assert two["history"][key] == pytest.approx(values, rel=1e-5, abs=1e-6), key


@pytest.mark.slow
def test_split_dropout_same_run_to_run(runs):
    first, second = runs["two"]["dropout"]
    assert first["split"] == 1
    assert first["weights"] == second["weights"]
    assert first["history"] == second["history"]


@pytest.mark.slow
def test_backup_and_restore_resumes_bit_for_bit_when_split(runs):
    # interrupted mid-epoch and run again: the weights of the unbroken fit, bit for bit
    assert runs["two"]["backup"] == [0.0, [4]]
    assert runs["off"]["backup"] == [0.0, [4]]


def test_user_settings_win(monkeypatch):
    import jax

    jax.devices()  # JAX's backend has started in this process: nothing more is made
    assert _cpu_devices.wanted() is None
    monkeypatch.setenv("CORNU_CPU_DEVICES", "off")
    assert _cpu_devices.wanted() is None
    monkeypatch.setenv("CORNU_CPU_DEVICES", "two")
    with pytest.warns(UserWarning, match="CORNU_CPU_DEVICES must be a whole number"):
        assert _cpu_devices.wanted() is None


_COUNT = "import cornu, jax; print(cornu._cpu_devices.MADE, len(jax.devices()))"


@pytest.mark.slow
def test_user_device_count_is_kept():
    done = run_child(_COUNT, timeout=120, JAX_NUM_CPU_DEVICES="3", CORNU_CPU_DEVICES="")
    assert done.stdout.split() == ["None", "3"], done.stderr[-2000:]


@pytest.mark.slow
def test_no_devices_are_made_unless_asked():
    done = run_child(_COUNT, timeout=120,
                     drop=("JAX_NUM_CPU_DEVICES", "CORNU_CPU_DEVICES", "XLA_FLAGS"))
    assert done.stdout.split() == ["None", "1"], done.stderr[-2000:]
