"""BackupAndRestore: a fit interrupted anywhere and run again ends exactly as an unbroken
fit (weights bit for bit on CPU, History, CSV rows, checkpoints, learning rate), and a
script killed with SIGKILL and started again does too."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
from callback_helpers import data, small_model

import cornu
from cornu.callbacks import (
    BackupAndRestore,
    Callback,
    CSVLogger,
    EarlyStopping,
    LearningRateScheduler,
    ModelCheckpoint,
    ReduceLROnPlateau,
)
from cornu.callbacks.backup import FILE_NAME, PREVIOUS_NAME
from cornu.saving import CornuFileError

REPO = Path(__file__).resolve().parents[2]


class Interrupted(Exception):
    pass


class Interrupt(Callback):
    """Raises at a hook: ('chunk', epoch, step), ('epoch_end', epoch), ('epoch_begin', e)."""

    def __init__(self, at):
        super().__init__()
        self.at = at

    def on_chunk_end(self, step, logs=None):
        if self.at == ("chunk", self.model.fit_position.epoch, step):
            raise Interrupted(self.at)

    def on_epoch_end(self, epoch, logs=None):
        if self.at == ("epoch_end", epoch):
            raise Interrupted(self.at)

    def on_epoch_begin(self, epoch, logs=None):
        if self.at == ("epoch_begin", epoch):
            raise Interrupted(self.at)


def run(folder: Path, interrupt=None, backup_first: bool = True, save_freq=2, epochs=6):
    """One seeded fit with stateful callbacks around BackupAndRestore."""
    x, y = data(100)
    model = small_model(dropout=True)
    backup = BackupAndRestore(folder / "backup", save_freq=save_freq)
    others = [
        LearningRateScheduler(lambda epoch, lr: lr * 0.9),
        EarlyStopping(monitor="val_loss", patience=50, restore_best_weights=True),
        ReduceLROnPlateau(monitor="loss", patience=1, factor=0.5, min_delta=0.01),
        CSVLogger(folder / "log.csv"),
        ModelCheckpoint(str(folder / "ckpt" / "best-{epoch}.weights.safetensors"),
                        save_best_only=True, save_weights_only=True),
    ]
    callbacks = [backup, *others] if backup_first else [*others[:2], backup, *others[2:]]
    if interrupt is not None:
        callbacks.append(Interrupt(interrupt))
    history = model.fit(x, y, epochs=epochs, batch_size=16, validation_split=0.2, verbose=0,
                        callbacks=callbacks)
    checkpoints = {p.name: p.read_bytes()[-256:] for p in sorted((folder / "ckpt").iterdir())}
    return {"weights": model.get_weights(), "history": history.history,
            "epochs": history.epoch, "csv": (folder / "log.csv").read_text(),
            "rate": model.optimizer.learning_rate, "checkpoints": checkpoints}


def assert_same_run(got, want):
    for a, b in zip(got["weights"], want["weights"], strict=True):
        np.testing.assert_array_equal(a, b)
    assert got["history"] == want["history"]
    assert got["epochs"] == want["epochs"]
    assert got["csv"] == want["csv"]
    assert got["rate"] == want["rate"]
    assert got["checkpoints"].keys() == want["checkpoints"].keys()


@pytest.fixture(scope="module")
def unbroken(tmp_path_factory):
    return {first: run(tmp_path_factory.mktemp(f"unbroken{first}"), backup_first=first)
            for first in (True, False)}


@pytest.mark.parametrize("backup_first", [True, False])
@pytest.mark.parametrize("at", [
    ("chunk", 0, 2),       # mid-epoch, right after the first step backup
    ("chunk", 2, 4),       # mid-epoch, later
    ("chunk", 3, 5),       # last call of an epoch (not a backup point)
    ("epoch_end", 2),      # after the epoch ended, before the later callbacks' state is saved
    ("epoch_begin", 4),    # after the epoch-end backup was written
])
def test_interrupted_then_resumed_equals_unbroken(tmp_path, unbroken, at, backup_first):
    with pytest.raises(Interrupted):
        run(tmp_path, interrupt=at, backup_first=backup_first)
    assert (tmp_path / "backup" / FILE_NAME).exists()
    resumed = run(tmp_path, backup_first=backup_first)
    assert_same_run(resumed, unbroken[backup_first])
    assert not (tmp_path / "backup").exists()  # deleted once fit completed


def test_backup_written_at_the_last_step_of_an_epoch_resumes(tmp_path, unbroken):
    """save_freq=5 divides the 5 steps of an epoch: the backup written after the epoch's
    last step (before the epoch-end one) must resume, not be refused as another fit's."""
    with pytest.raises(Interrupted):
        run(tmp_path, interrupt=("chunk", 1, 5), save_freq=5)
    resumed = run(tmp_path, save_freq=5)
    assert_same_run(resumed, unbroken[True])



def test_resumes_where_it_stopped(tmp_path):
    with pytest.raises(Interrupted):
        run(tmp_path, interrupt=("epoch_begin", 3), save_freq="epoch")
    epochs_run = []
    x, y = data(100)
    model = small_model(dropout=True)
    history = model.fit(x, y, epochs=6, batch_size=16, verbose=0, callbacks=[
        BackupAndRestore(tmp_path / "backup"),
        cornu.callbacks.LambdaCallback(on_epoch_begin=lambda e, logs: epochs_run.append(e))])
    assert epochs_run == [3, 4, 5]
    assert history.epoch == [0, 1, 2, 3, 4, 5]  # the History before the break is kept


def test_no_backup_left_and_no_temporary_files(tmp_path):
    x, y = data()
    seen = []

    def look(epoch, logs):
        seen.append(sorted(os.listdir(tmp_path / "backup")))

    small_model().fit(x, y, epochs=3, verbose=0, callbacks=[
        BackupAndRestore(tmp_path / "backup"), cornu.callbacks.LambdaCallback(
            on_epoch_begin=lambda e, logs: look(e, logs) if e else None)])
    assert seen == [[FILE_NAME], [FILE_NAME]]
    assert not (tmp_path / "backup").exists()


def test_backup_folder_with_other_files_is_not_removed(tmp_path):
    (tmp_path / "backup").mkdir()
    (tmp_path / "backup" / "notes.txt").write_text("mine")
    x, y = data()
    small_model().fit(x, y, epochs=2, verbose=0, callbacks=[BackupAndRestore(tmp_path / "backup")])
    assert os.listdir(tmp_path / "backup") == ["notes.txt"]


def test_keep_the_backup_and_run_again(tmp_path):
    x, y = data()
    model = small_model()
    model.fit(x, y, epochs=3, verbose=0,
              callbacks=[BackupAndRestore(tmp_path / "b", delete_checkpoint=False)])
    assert (tmp_path / "b" / FILE_NAME).exists()
    again = small_model()
    history = again.fit(x, y, epochs=3, verbose=0,
                        callbacks=[BackupAndRestore(tmp_path / "b", delete_checkpoint=False)])
    assert history.epoch == [0, 1, 2]  # nothing left to train; the History is restored
    for a, b in zip(again.get_weights(), model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    longer = small_model()
    longer.fit(x, y, epochs=4, verbose=0, callbacks=[BackupAndRestore(tmp_path / "b")])
    straight = small_model()
    straight.fit(x, y, epochs=4, verbose=0)
    for a, b in zip(longer.get_weights(), straight.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def _interrupted_backup(folder: Path, double: bool) -> None:
    x, y = data()
    with pytest.raises(Interrupted):
        small_model().fit(x, y, epochs=5, verbose=0, callbacks=[
            BackupAndRestore(folder, double_checkpoint=double),
            Interrupt(("epoch_begin", 3))])


def test_double_checkpoint_falls_back_to_the_previous_backup(tmp_path):
    _interrupted_backup(tmp_path / "b", double=True)
    assert sorted(os.listdir(tmp_path / "b")) == sorted([FILE_NAME, PREVIOUS_NAME])
    (tmp_path / "b" / FILE_NAME).write_bytes(b"damaged")
    x, y = data()
    started = []
    small_model().fit(x, y, epochs=5, verbose=0, callbacks=[
        BackupAndRestore(tmp_path / "b", double_checkpoint=True),
        cornu.callbacks.LambdaCallback(on_epoch_begin=lambda e, logs: started.append(e))])
    assert started[0] == 2  # the previous backup: written at the end of epoch 1


def test_damaged_backup_is_refused_with_the_fix(tmp_path):
    _interrupted_backup(tmp_path / "b", double=False)
    path = tmp_path / "b" / FILE_NAME
    path.write_bytes(path.read_bytes()[:-100])
    x, y = data()
    with pytest.raises(CornuFileError, match="cannot be used.*Delete the folder"):
        small_model().fit(x, y, epochs=5, verbose=0, callbacks=[BackupAndRestore(tmp_path / "b")])


def test_deeply_nested_state_is_refused_not_a_recursion_error(tmp_path):
    _interrupted_backup(tmp_path / "b", double=False)
    path = tmp_path / "b" / FILE_NAME
    with zipfile.ZipFile(path) as zf:
        members = {info.filename: zf.read(info) for info in zf.infolist()}
    state = json.loads(members["state.json"])
    state["callbacks"]["EarlyStopping:0"] = json.loads("[" * 900 + "]" * 900)
    members["state.json"] = json.dumps(state).encode()
    with zipfile.ZipFile(path, "w") as zf:
        for name, content in members.items():
            zf.writestr(name, content)
    x, y = data()
    with pytest.raises(CornuFileError, match="state.json.*nested more than 100 deep.*cannot "
                       "be used|cannot be used.*nested more than 100 deep"):
        small_model().fit(x, y, epochs=5, verbose=0, callbacks=[BackupAndRestore(tmp_path / "b")])


def _age(path: Path, seconds: float = 3600) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then))


def test_temporary_files_of_killed_backups_are_removed_and_no_others(tmp_path):
    folder = tmp_path / "b"
    folder.mkdir()
    stale = [folder / f".{FILE_NAME}.{digit * 12}.tmp" for digit in "0a"]
    young = folder / f".{FILE_NAME}.{'b' * 12}.tmp"
    others = [folder / "notes.txt", folder / ".model.cornu.0123456789ab.tmp",
              folder / f".{PREVIOUS_NAME}.0123456789ab.tmp"]
    for path in [*stale, young, *others]:
        path.write_bytes(b"x")
    for path in [*stale, *others]:
        _age(path)
    x, y = data()
    seen = []
    small_model().fit(x, y, epochs=2, verbose=0, callbacks=[
        BackupAndRestore(folder), cornu.callbacks.LambdaCallback(
            on_epoch_begin=lambda e, logs: seen.append(sorted(os.listdir(folder))))])
    assert seen[1] == sorted([FILE_NAME, young.name, *(p.name for p in others)])
    assert sorted(os.listdir(folder)) == sorted([young.name, *(p.name for p in others)])
    _age(young)  # deleting the backup at the end removes the temporaries that are stale
    small_model().fit(x, y, epochs=1, verbose=0, callbacks=[BackupAndRestore(folder)])
    assert sorted(os.listdir(folder)) == sorted(p.name for p in others)


def test_backup_of_another_architecture_is_refused(tmp_path):
    _interrupted_backup(tmp_path / "b", double=False)
    x, y = data(classes=2)
    with pytest.raises(CornuFileError, match="shape"):
        small_model(classes=2).fit(x, y, epochs=5, verbose=0,
                                   callbacks=[BackupAndRestore(tmp_path / "b")])


def test_backup_mid_epoch_with_another_batch_size_is_refused(tmp_path):
    x, y = data()
    with pytest.raises(Interrupted):
        small_model().fit(x, y, epochs=3, batch_size=8, verbose=0, callbacks=[
            BackupAndRestore(tmp_path / "b", save_freq=10), Interrupt(("chunk", 1, 10))])
    with pytest.raises(CornuFileError, match="batch_size differ"):
        small_model().fit(x, y, epochs=3, batch_size=32, verbose=0,
                          callbacks=[BackupAndRestore(tmp_path / "b")])


@pytest.mark.parametrize(("kwargs", "match"), [
    (dict(backup_dir=""), "backup_dir must be a folder path"),
    (dict(backup_dir=None), "backup_dir must be a folder path"),
    (dict(backup_dir="b", save_freq="batch"), "save_freq must be 'epoch' or a positive"),
    (dict(backup_dir="b", save_freq=0), "save_freq"),
    (dict(backup_dir="b", save_freq=True), "save_freq"),
])
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        BackupAndRestore(**kwargs)


def test_integer_save_freq_limits_compiled_calls(tmp_path):
    x, y = data(100)
    steps = []
    small_model().fit(x, y, epochs=1, batch_size=10, verbose=0, callbacks=[
        BackupAndRestore(tmp_path / "b", save_freq=4),
        cornu.callbacks.LambdaCallback(on_chunk_end=lambda step, logs: steps.append(step))])
    assert steps == [4, 8, 10]


# ------------------------------------------------------------------ SIGKILL and restart

CHILD = textwrap.dedent("""
    import json, sys, time
    import numpy as np
    import cornu
    from cornu.callbacks import BackupAndRestore, EarlyStopping, LambdaCallback
    from cornu.layers import Dense, Dropout

    backup_dir, out = sys.argv[1], sys.argv[2]
    cornu.utils.set_random_seed(7)
    rng = np.random.default_rng(7)
    x = rng.normal(size=(120, 6)).astype(np.float32)
    y = np.eye(3, dtype=np.float32)[rng.integers(0, 3, 120)]
    model = cornu.Sequential([Dense(32, input_shape=(6,), activation="relu"), Dropout(0.2),
                              Dense(3, activation="softmax")])
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])

    def started(logs):
        resume = model._resume
        print("start", resume.epoch if resume else 0, resume.step if resume else 0,
              flush=True)

    def progress(step, logs):
        print("at", model.fit_position.epoch, step, flush=True)
        time.sleep(0.1)

    history = model.fit(x, y, epochs=6, batch_size=16, validation_split=0.2, verbose=0,
                        callbacks=[BackupAndRestore(backup_dir, save_freq=3),
                                   LambdaCallback(on_train_begin=started,
                                                  on_chunk_end=progress),
                                   EarlyStopping(patience=100, restore_best_weights=True)])
    for i, w in enumerate(model.get_weights()):
        np.save(f"{out}/w{i}.npy", w)
    with open(f"{out}/history.json", "w") as f:
        json.dump(history.history, f)
    print("done", flush=True)
""")


def _child_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    env["JAX_PLATFORMS"] = "cpu"
    return env


def _results(out: Path):
    weights = [np.load(out / f"w{i}.npy") for i in range(len(list(out.glob("w*.npy"))))]
    return weights, json.loads((out / "history.json").read_text())


@pytest.mark.slow
def test_sigkill_mid_run_then_restart_gives_the_same_weights(request, tmp_path):
    script = tmp_path / "train.py"
    script.write_text(CHILD)
    env = _child_env()

    def command(name):
        (tmp_path / name).mkdir()
        return [sys.executable, str(script), str(tmp_path / f"{name}-backup"),
                str(tmp_path / name)]

    # the unbroken run goes alongside the one that is killed (independent processes)
    with open(tmp_path / "unbroken.out", "w") as out, \
            open(tmp_path / "unbroken.err", "w") as err:
        unbroken = subprocess.Popen(command("unbroken"), env=env, stdout=out, stderr=err)
    request.addfinalizer(unbroken.kill)  # where the test fails before it waits

    # run, and kill it (SIGKILL: no cleanup at all) in the middle of epoch 3 or later
    cmd = command("killed")
    backup = tmp_path / "killed-backup" / FILE_NAME
    child = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                             text=True)
    deadline = time.monotonic() + 90
    try:
        for line in child.stdout:
            parts = line.split()
            if parts[0] == "at" and (int(parts[1]), int(parts[2])) >= (2, 3) and backup.exists():
                os.kill(child.pid, signal.SIGKILL)
                break
            assert parts[0] != "done", "the run finished before it could be killed"
            assert time.monotonic() < deadline
    finally:
        child.kill()
        child.wait()
        child.stdout.close()
    assert child.returncode == -signal.SIGKILL
    assert backup.exists()
    assert not (tmp_path / "killed" / "history.json").exists()

    # the same command again (alongside the rest of the unbroken run): it resumes from the
    # backup and finishes
    cmd = [*cmd[:-1], str(tmp_path / "killed")]
    restarted = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True)
    try:
        assert unbroken.wait(timeout=120) == 0, (tmp_path / "unbroken.err").read_text()
        out, err = restarted.communicate(timeout=120)
    finally:
        for proc in (unbroken, restarted):  # only the processes this test started
            proc.kill()
            proc.wait()
    assert "done" in (tmp_path / "unbroken.out").read_text()
    assert restarted.returncode == 0, err
    start = out.split("\n")[0].split()
    assert start[0] == "start" and (int(start[1]), int(start[2])) >= (2, 3)
    assert not backup.exists()

    weights, history = _results(tmp_path / "killed")
    want_weights, want_history = _results(tmp_path / "unbroken")
    assert len(weights) == len(want_weights) == 4
    for got, want in zip(weights, want_weights, strict=True):
        np.testing.assert_array_equal(got, want)
    assert history == want_history


def test_appending_csv_logger_resumes_without_lost_or_repeated_rows(tmp_path):
    x, y = data()

    def fit(folder, interrupt=None):
        log = folder / "log.csv"
        callbacks = [BackupAndRestore(folder / "b"), CSVLogger(log, append=True)]
        if interrupt:
            callbacks.append(Interrupt(interrupt))
        small_model().fit(x, y, epochs=4, verbose=0, callbacks=callbacks)
        return log.read_text()

    for folder in (tmp_path / "unbroken", tmp_path / "resumed"):
        folder.mkdir()
        (folder / "log.csv").write_text("an earlier run\n")
    want = fit(tmp_path / "unbroken")
    with pytest.raises(Interrupted):  # epoch 2's row is written, its backup is not
        fit(tmp_path / "resumed", interrupt=("epoch_end", 2))
    assert fit(tmp_path / "resumed") == want
    assert want.startswith("an earlier run\n") and len(want.splitlines()) == 5


def test_callback_states_survive_the_restart(tmp_path):
    """EarlyStopping's best weights and ModelCheckpoint's best value come from before the
    break: the resumed run restores epoch 1's weights and saves no worse checkpoint."""
    from callback_helpers import Recorder, Scripted

    x, y = data()

    def fit(interrupt=None):
        recorder = Recorder()
        callbacks = [BackupAndRestore(tmp_path / "b"), Scripted("score", [3, 1, 2, 1.5, 4]),
                     recorder,
                     EarlyStopping(monitor="score", mode="min", patience=10,
                                   start_from_epoch=1, restore_best_weights=True),
                     ModelCheckpoint(str(tmp_path / "ckpt" / "e{epoch}.weights.safetensors"),
                                     monitor="score", mode="min", save_best_only=True,
                                     save_weights_only=True)]
        if interrupt:
            callbacks.append(Interrupt(interrupt))
        model = small_model()
        model.fit(x, y, epochs=5, verbose=0, callbacks=callbacks)
        return model, recorder

    with pytest.raises(Interrupted):
        _, before = fit(("epoch_begin", 2))
    model, after = fit()
    assert len(after.weights) == 3  # epochs 2, 3, 4 ran after the restart
    assert sorted(os.listdir(tmp_path / "ckpt")) == [
        "e1.weights.safetensors", "e2.weights.safetensors"]
    unbroken = small_model()
    recorder = Recorder()
    unbroken.fit(x, y, epochs=5, verbose=0, callbacks=[recorder])
    for got, want in zip(model.get_weights(), recorder.weights[1], strict=True):
        np.testing.assert_array_equal(got, want)


def test_a_schedule_interrupted_then_resumed_equals_unbroken(tmp_path):
    """A schedule's rate follows the step count in the optimizer state: the backup keeps
    no rate to set back (this one reaches 0, which no settable rate may be), and the
    resumed fit ends as the unbroken one, iterations included."""

    def fit(folder: Path, interrupt=None):
        x, y = data(100)  # 7 steps an epoch
        schedule = cornu.optimizers.schedules.PolynomialDecay(0.05, 20, end_learning_rate=0.0)
        model = small_model(dropout=True, optimizer=cornu.optimizers.Adam(schedule))
        callbacks = [BackupAndRestore(folder / "backup", save_freq=3)]
        if interrupt is not None:
            callbacks.append(Interrupt(interrupt))
        history = model.fit(x, y, epochs=6, batch_size=16, verbose=0, callbacks=callbacks)
        return model, history

    want, want_history = fit(tmp_path / "unbroken")
    with pytest.raises(Interrupted):
        fit(tmp_path / "broken", interrupt=("chunk", 4, 6))  # past the schedule's end
    got, got_history = fit(tmp_path / "broken")
    for a, b in zip(got.get_weights(), want.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    assert got_history.history == want_history.history
    assert int(got.optimizer.iterations.numpy()) == int(want.optimizer.iterations.numpy()) == 42
    assert got.optimizer.learning_rate == want.optimizer.learning_rate == 0.0
