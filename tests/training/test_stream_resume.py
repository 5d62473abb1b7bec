"""BackupAndRestore on streams: a fit on a PyDataset or a grain source interrupted in the
middle of an epoch and run again ends with the weights of an unbroken fit, bit for bit on
CPU; a generator resumes at an epoch's start; what cannot resume is refused by name."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

import cornu
from cornu.callbacks import BackupAndRestore, Callback
from cornu.layers import Dense, Dropout

REPO = Path(__file__).resolve().parents[2]
X = np.random.default_rng(3).normal(size=(90, 6)).astype(np.float32)
Y = np.eye(3, dtype=np.float32)[np.random.default_rng(4).integers(0, 3, 90)]


class Rows(cornu.utils.PyDataset):
    def __init__(self, batch_size=10, **kwargs):
        super().__init__(**kwargs)
        self.batch_size = batch_size

    def __len__(self):
        return -(-len(X) // self.batch_size)

    def __getitem__(self, i):
        s = slice(i * self.batch_size, (i + 1) * self.batch_size)
        return X[s], Y[s]


class Interrupted(Exception):
    pass


class StopAt(Callback):
    def __init__(self, epoch, step):
        super().__init__()
        self.at = (epoch, step)

    def on_chunk_end(self, step, logs=None):
        if (self.model.fit_position.epoch, step) == self.at:
            raise Interrupted


def _model():
    cornu.utils.set_random_seed(11)
    model = cornu.Sequential([cornu.Input((6,)), Dense(16, activation="relu"), Dropout(0.3),
                              Dense(3, activation="softmax")])
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    return model


def _fit(source, folder, stop=None, epochs=3):
    model = _model()
    callbacks = [BackupAndRestore(str(folder), save_freq=2)]
    if stop is not None:
        callbacks.append(StopAt(*stop))
    history = model.fit(source(), epochs=epochs, verbose=0, callbacks=callbacks)
    return model.get_weights(), history.history


def _grain_loader():
    grain = pytest.importorskip("grain")

    class Source:
        def __len__(self):
            return len(X)

        def __getitem__(self, i):
            return X[i], Y[i]

        def __repr__(self):  # grain checks a resumed loader's source by its repr
            return "Source(X, Y)"

    return grain.DataLoader(
        data_source=Source(),
        sampler=grain.samplers.IndexSampler(len(X), shuffle=True, seed=5, num_epochs=1),
        operations=[grain.transforms.Batch(10)], worker_count=0)


def _grain_map():
    grain = pytest.importorskip("grain")
    return grain.MapDataset.source(list(zip(X, Y, strict=True))).shuffle(seed=2).batch(10)


@pytest.mark.parametrize("source", [Rows, _grain_loader, _grain_map],
                         ids=["pydataset", "grain-dataloader", "grain-mapdataset"])
def test_a_stream_resumes_mid_epoch_bit_for_bit(tmp_path, source):
    unbroken, history = _fit(source, tmp_path / "a")
    with pytest.raises(Interrupted):
        _fit(source, tmp_path / "b", stop=(1, 4))
    resumed, resumed_history = _fit(source, tmp_path / "b")
    for a, b in zip(unbroken, resumed, strict=True):
        np.testing.assert_array_equal(a, b)
    assert resumed_history == history  # the backup keeps History too


def test_a_shuffled_pydataset_resumes_in_its_order(tmp_path):
    def fit(folder, stop=None):
        model = _model()
        callbacks = [BackupAndRestore(str(folder), save_freq=3)]
        if stop:
            callbacks.append(StopAt(*stop))
        model.fit(Rows(), epochs=2, shuffle=True, verbose=0, callbacks=callbacks)
        return model.get_weights()

    cornu.utils.set_random_seed(1)
    unbroken = fit(tmp_path / "a")
    cornu.utils.set_random_seed(1)
    with pytest.raises(Interrupted):
        fit(tmp_path / "b", stop=(0, 6))
    cornu.utils.set_random_seed(99)  # another seed in the restarted script: the backup's
    resumed = fit(tmp_path / "b")
    for a, b in zip(unbroken, resumed, strict=True):
        np.testing.assert_array_equal(a, b)


def _generator():
    for i in range(0, len(X), 10):
        yield X[i:i + 10], Y[i:i + 10]


def test_a_generator_resumes_at_the_epoch_start(tmp_path):
    class Generators:  # a fresh generator per epoch, as a script's loop would make
        def __iter__(self):
            return _generator()

    def fit(folder, stop_epoch=None):
        model = _model()
        callbacks = [BackupAndRestore(str(folder))]
        if stop_epoch is not None:
            class Stop(Callback):
                def on_epoch_end(self, epoch, logs=None):
                    if epoch == stop_epoch:
                        raise Interrupted

            callbacks.append(Stop())
        model.fit(Generators(), epochs=3, verbose=0, callbacks=callbacks)
        return model.get_weights()

    unbroken = fit(tmp_path / "a")
    with pytest.raises(Interrupted):
        fit(tmp_path / "b", stop_epoch=1)
    resumed = fit(tmp_path / "b")
    for a, b in zip(unbroken, resumed, strict=True):
        np.testing.assert_array_equal(a, b)


def test_mid_epoch_backups_of_a_generator_are_refused(tmp_path):
    with pytest.raises(ValueError, match="save_freq=3"):
        _model().fit(_generator(), epochs=1, verbose=0,
                     callbacks=[BackupAndRestore(str(tmp_path), save_freq=3)])


CHILD = textwrap.dedent("""
    import sys, time
    import numpy as np
    import cornu
    from cornu.callbacks import BackupAndRestore, LambdaCallback
    from cornu.layers import Dense, Dropout

    backup_dir, out, kind = sys.argv[1], sys.argv[2], sys.argv[3]
    X = np.random.default_rng(3).normal(size=(200, 6)).astype(np.float32)
    Y = np.eye(3, dtype=np.float32)[np.random.default_rng(4).integers(0, 3, 200)]

    class Rows(cornu.utils.PyDataset):
        def __len__(self):
            return 20

        def __getitem__(self, i):
            return X[i * 10:(i + 1) * 10], Y[i * 10:(i + 1) * 10]

    def source():
        if kind == "pydataset":
            return Rows()
        import grain

        class Records:
            def __len__(self):
                return len(X)

            def __getitem__(self, i):
                return X[i], Y[i]

            def __repr__(self):
                return "Records(X, Y)"

        return grain.DataLoader(
            data_source=Records(), worker_count=0,
            sampler=grain.samplers.IndexSampler(len(X), shuffle=True, seed=5, num_epochs=4),
            operations=[grain.transforms.Batch(10)])

    cornu.utils.set_random_seed(11)
    model = cornu.Sequential([cornu.Input((6,)), Dense(16, activation="relu"),
                              Dropout(0.3), Dense(3, activation="softmax")])
    model.compile(optimizer="adam", loss="categorical_crossentropy")

    def progress(step, logs):
        print("at", model.fit_position.epoch, step, flush=True)
        time.sleep(0.05)

    steps = {} if kind == "pydataset" else {"steps_per_epoch": 20}
    model.fit(source(), epochs=4, shuffle=True, verbose=0, **steps, callbacks=[
        BackupAndRestore(backup_dir, save_freq=3), LambdaCallback(on_chunk_end=progress)])
    np.savez(out, *model.get_weights())
    print("done", flush=True)
""")


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["pydataset", "grain"])
def test_sigkill_then_restart_gives_the_same_weights(request, tmp_path, kind):
    if kind == "grain":
        pytest.importorskip("grain")
    script = tmp_path / "train.py"
    script.write_text(CHILD)
    env = dict(os.environ, JAX_PLATFORMS="cpu",
               PYTHONPATH=os.pathsep.join(filter(None, [str(REPO),
                                                        os.environ.get("PYTHONPATH")])))

    def command(name):
        return [sys.executable, str(script), str(tmp_path / f"{name}-backup"),
                str(tmp_path / f"{name}.npz"), kind]

    # the unbroken run goes alongside the one that is killed (independent processes)
    with open(tmp_path / "unbroken.err", "w") as err:
        unbroken = subprocess.Popen(command("unbroken"), env=env, stdout=subprocess.DEVNULL,
                                    stderr=err)
    request.addfinalizer(unbroken.kill)  # where the test fails before it waits
    child = subprocess.Popen(command("killed"), env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, text=True)
    deadline = time.monotonic() + 150
    try:
        for line in child.stdout:
            parts = line.split()
            if parts[0] == "at" and (int(parts[1]), int(parts[2])) >= (1, 9):
                os.kill(child.pid, signal.SIGKILL)
                break
            assert parts[0] != "done", "the run finished before it could be killed"
            assert time.monotonic() < deadline
    finally:
        child.kill()
        child.wait()
        child.stdout.close()
    # the restart goes alongside the rest of the unbroken run too
    again = subprocess.Popen(command("killed"), env=env, stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, text=True)
    try:
        assert unbroken.wait(timeout=180) == 0, (tmp_path / "unbroken.err").read_text()
        _, again_err = again.communicate(timeout=180)
    finally:
        for proc in (unbroken, again):  # only the processes this test started
            proc.kill()
            proc.wait()
    assert again.returncode == 0, again_err
    a, b = np.load(tmp_path / "unbroken.npz"), np.load(tmp_path / "killed.npz")
    for key in a.files:
        np.testing.assert_array_equal(a[key], b[key])
