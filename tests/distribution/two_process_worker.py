"""One process of test_two_processes.py: joins the job (KERAS_DISTRIBUTION_* variables),
trains `build()` under DataParallel over all the job's devices and prints its results;
several modes in one call run one after the other in the same processes (one start of the
job for them all).

`python two_process_worker.py whole`: every process passes all the rows, batch_size is
the global batch. `... own`: each process passes its own rows (auto_shard_dataset=False),
batch_size counts them (the global batch is twice as large); `... own-auto`: the same
without the flag (the processes find that their arrays differ). `... model PATH`:
ModelParallel, the Dense kernels split over the two processes' devices, then
`model.save(PATH)` (process 0 writes the gathered weights)."""

import json
import os
import sys

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


def own_rows(n: int, rank: int, processes: int = 2, per_batch: int = 5) -> np.ndarray:
    """The rows process `rank` passes: its `per_batch` rows of each global batch of
    `per_batch * processes` rows, so that a step's global batch is the one-process run's."""
    rows = np.arange(n).reshape(-1, processes, per_batch)
    return rows[:, rank].ravel()


def train_own(m, x, y, rows=None):
    """10 rows a global step, without shuffling; with `rows`, the process's own rows and
    5 of them a step (their validation rows too), else all rows and 10 a step."""
    batch = 10 if rows is None else 5
    vx, vy = x[:40], y[:40]
    if rows is not None:
        x, y = x[rows], y[rows]
        vrows = rows[rows < 40]
        vx, vy = vx[vrows], vy[vrows]
    h = m.fit(x, y, batch_size=batch, epochs=2, verbose=0, shuffle=False,
              validation_data=(vx, vy))
    return {"history": h.history, "evaluate": m.evaluate(x, y, batch_size=batch, verbose=0),
            "predict": m.predict(x, batch_size=batch, verbose=0).tolist(),
            "weights": [w.tolist() for w in m.get_weights()]}


def train_until_killed(stuck: bool = False):
    """Epochs without end; "EPOCH" is printed after each (the test kills a process).
    With `stuck`, both processes wait 8 s together after the second epoch (a long call
    they make together), then process 1 stops stepping after its third epoch (a
    callback that never returns), alive."""
    import time

    m, x, y = build()

    class Say(cornu.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            print("EPOCH", epoch, flush=True)
            if stuck and epoch == 1:
                time.sleep(8)
            if stuck and epoch == 2 and dist.distribution().data_shard_id == 1:
                time.sleep(10**6)

    m.fit(x, y, batch_size=9, epochs=10**6, verbose=0, callbacks=[Say()])


def train_with_backup(backup_dir: str):
    """12 epochs with BackupAndRestore every 4 steps (mid-epoch too) and a ModelCheckpoint
    of the weights each epoch; "EPOCH" printed after each (the test kills a process). A
    restart with the same folder goes on from the backup."""
    import time

    m, x, y = build()
    epochs = []

    class Say(cornu.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            epochs.append(epoch)
            print("EPOCH", epoch, flush=True)
            time.sleep(0.05)  # room for the kill to fall in the middle of the run

    checkpoint = os.path.join(backup_dir, "last.weights.safetensors")
    m.fit(x, y, batch_size=9, epochs=12, verbose=0, callbacks=[
        cornu.callbacks.BackupAndRestore(os.path.join(backup_dir, "backup"), save_freq=4),
        cornu.callbacks.ModelCheckpoint(checkpoint, save_weights_only=True), Say()])
    return {"weights": [w.tolist() for w in m.get_weights()], "epochs": epochs}


def run(mode: str, path: str | None) -> dict:
    """One phase of the job: `mode` (whole, own, own-auto, model PATH, backup FOLDER)."""
    if mode == "backup":
        dist.set_distribution(dist.DataParallel())
        return train_with_backup(path)
    if mode in ("forever", "stuck"):
        dist.set_distribution(dist.DataParallel())
        train_until_killed(stuck=mode == "stuck")
    if mode == "model":  # kernels split over the processes' devices; saved gathered
        mesh = dist.DeviceMesh((1, 2), ("batch", "model"))
        layout_map = dist.LayoutMap(mesh)
        layout_map[".*dense.*kernel"] = (None, "model")
        dist.set_distribution(dist.ModelParallel(layout_map=layout_map,
                                                 batch_dim_name="batch"))
        m, x, y = build()
        out = train(m, x, y)
        out["split"] = ["model" in tuple(v._value.sharding.spec) for v in m.weights]
        m.save(path)  # every process gathers, process 0 writes
        return out
    if mode == "whole":
        dist.set_distribution(dist.DataParallel())
        return train(*build())
    # "own": the flag says so; "own-auto": the processes' arrays differ
    dist.set_distribution(dist.DataParallel(auto_shard_dataset=mode != "own"))
    m, x, y = build()
    return train_own(m, x, y, own_rows(len(x), cornu.distribution.distribution()
                                       .data_shard_id))


if __name__ == "__main__":
    dist.initialize(process_timeout_seconds=float(os.environ.get("WORKER_TIMEOUT", 30)),
                    stall_timeout_seconds=float(os.environ.get("WORKER_STALL", 1800)))
    import traceback

    from cornu.random import keys

    seed = keys.get_state()["seed"]  # agreed by initialize (no seed was set yet)
    # phases: `whole own model PATH ...` (a phase that takes a path is followed by it);
    # each marks its start on stderr ("PHASE mode") and prints "RESULT {...}" (its mode
    # under "mode"), or "FAILED {...}" with its traceback, and the next phase runs
    args = sys.argv[1:] or ["whole"]
    while args:
        mode = args.pop(0)
        path = args.pop(0) if mode in ("model", "backup") else None
        print("PHASE", mode, file=sys.stderr, flush=True)
        try:
            out = run(mode, path)
        except Exception:
            print("FAILED", json.dumps({"mode": mode, "error": traceback.format_exc()}),
                  flush=True)
            continue
        out["mode"] = mode
        out["seed"] = seed
        out["processes"] = dist.distribution().num_processes
        out["mesh"] = list(dist.distribution().device_mesh.shape)
        print("RESULT", json.dumps(out), flush=True)
