"""Two processes on localhost joined by jax.distributed (CPU, collectives over gloo),
DataParallel over one device of each: every process passing the same arrays (batch_size
the global batch), or each passing its own rows (auto_shard_dataset=False, batch_size
per process; without the flag too: the processes see that their arrays differ) trains
as one process does with all the rows and the global batch. A
killed or stuck process stops the other (cornu's watchdog, exit status 75), and a job
killed mid-training and started again goes on from its backup (written by process 0).
The whole, own-rows and model-parallel runs are phases of one job (one fixture)."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from two_process_worker import build, own_rows, train, train_own

_ROOT = Path(__file__).resolve().parents[2]
_WORKER = Path(__file__).with_name("two_process_worker.py")


def _free_port() -> int:
    return _free_ports(1)[0]


def _free_ports(n: int) -> list[int]:
    """`n` distinct free ports (for jobs that run side by side): all bound at once."""
    sockets = [socket.socket() for _ in range(n)]
    try:
        for s in sockets:
            s.bind(("localhost", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def _env(port: int, rank: int) -> dict:
    return {**os.environ, "JAX_PLATFORMS": "cpu", "JAX_NUM_CPU_DEVICES": "1",
            "KERAS_DISTRIBUTION_JOB_ADDRESSES": f"localhost:{port}",
            "KERAS_DISTRIBUTION_NUM_PROCESSES": "2",
            "KERAS_DISTRIBUTION_PROCESS_ID": str(rank),
            "PYTHONPATH": os.pathsep.join([str(_ROOT), os.environ.get("PYTHONPATH", "")])}


def _job(mode: str, *args: str) -> list[dict]:
    """Run the worker as a job of two processes in one mode; its results, by rank."""
    return _phase(_results(_start(mode, *args)), mode)


def _start(*args: str, port: int | None = None) -> list[subprocess.Popen]:
    """The worker's two processes, started as a job (collect them with _results)."""
    port = _free_port() if port is None else port
    return [subprocess.Popen([sys.executable, str(_WORKER), *args], env=_env(port, rank),
                             cwd=_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True) for rank in range(2)]


def _results(procs: list[subprocess.Popen]) -> list[dict]:
    """By rank, once each process has ended (status 0): each phase's RESULT line (its
    stderr, from its "PHASE" mark to the next, under "stderr"), or its FAILED line."""
    results = []
    try:
        for proc in procs:
            stdout, stderr = proc.communicate(timeout=300)
            assert proc.returncode == 0, stderr[-4000:]
            said = {}
            for part in re.split(r"(?m)^PHASE ", stderr)[1:]:
                mode, _, text = part.partition("\n")
                said[mode] = text
            phases = {}
            for line in stdout.splitlines():
                if line.startswith(("RESULT ", "FAILED ")):
                    out = json.loads(line.partition(" ")[2])
                    phases[out["mode"]] = {**out, "stderr": said.get(out["mode"], "")}
            results.append(phases)
    finally:
        for proc in procs:  # only the processes this test started
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    return results


def _phase(results: list[dict], mode: str) -> list[dict]:
    """The results of one phase, by rank (its failure, where it failed)."""
    for rank, phases in enumerate(results):
        assert mode in phases, f"process {rank} printed no result for {mode}"
        assert "error" not in phases[mode], f"process {rank}: {phases[mode]['error']}"
    return [phases[mode] for phases in results]


@pytest.fixture(scope="module")
def one_job(tmp_path_factory) -> tuple[list[dict], Path]:
    """One job for four tests, its phases one after the other in the same two processes:
    whole, own, own-auto, then model (and the path of the file it saved)."""
    path = tmp_path_factory.mktemp("split") / "split.cornu"
    return _results(_start("whole", "own", "own-auto", "model", str(path))), path


def _assert_trains_as(result: dict, expected: dict, rows=None) -> None:
    assert result["processes"] == 2 and result["mesh"] == [2]
    assert result["history"].keys() == expected["history"].keys()
    for key, values in expected["history"].items():
        assert result["history"][key] == pytest.approx(values, rel=1e-5), key
    assert result["evaluate"] == pytest.approx(expected["evaluate"], rel=1e-5)
    predict = np.asarray(expected["predict"])
    np.testing.assert_allclose(result["predict"], predict if rows is None else predict[rows],
                               atol=1e-5)
    for a, b in zip(result["weights"], expected["weights"], strict=True):
        np.testing.assert_allclose(a, b, atol=1e-5)


@pytest.mark.slow
def test_two_processes_data_parallel_equals_one_device(one_job):
    results = _phase(one_job[0], "whole")
    # without set_random_seed before initialize, the processes took process 0's seed
    assert results[0]["seed"] is not None and results[0]["seed"] == results[1]["seed"]
    expected = train(*build())  # the same run on this process's one device
    for result in results:
        _assert_trains_as(result, expected)
    # no flag: the processes found their arrays equal, and process 0 said so once
    said = "cornu.distribution: the 2 processes pass the same arrays (70 rows each)"
    assert results[0]["stderr"].count(said) == 1, results[0]["stderr"][-2000:]
    assert "cornu.distribution" not in results[1]["stderr"]


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["own", "own-auto"])
def test_two_processes_each_with_its_own_rows_equal_one_process_with_all(mode, one_job):
    # each process passes half the rows and batch_size=5: the global batches of 10 are
    # the one-process run's; the logs (loss, metrics, validation) are the global ones,
    # and predict gives each process the outputs of its own rows. "own" says so with
    # auto_shard_dataset=False; "own-auto" does not: the processes' arrays differ
    results = _phase(one_job[0], mode)
    expected = train_own(*build())
    for rank, result in enumerate(results):
        _assert_trains_as(result, expected, own_rows(70, rank))
    said = "cornu.distribution: the 2 processes pass different arrays (rows by process: "
    if mode == "own":
        assert said not in results[0]["stderr"]
    else:  # one line, though fit, evaluate and predict each decided
        assert results[0]["stderr"].count(said + "[35, 35])") == 1, \
            results[0]["stderr"][-2000:]


@pytest.fixture(scope="module")
def stuck_job():
    """The job of test_a_stuck_process_and_the_others_stop, started by the first test that
    asks for it: most of its 20 s it waits (8 s together, then 5 s for the stall and the
    peer), so it runs alongside the other tests that kill a process."""
    port = _free_port()
    procs = [subprocess.Popen([sys.executable, str(_WORKER), "stuck"],
                              env={**_env(port, rank), "WORKER_TIMEOUT": "5",
                                   "WORKER_STALL": "5"}, cwd=_ROOT,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for rank in range(2)]
    try:
        yield procs
    finally:
        for proc in procs:  # only the processes this module started
            if proc.poll() is None:
                proc.kill()
                proc.communicate()


@pytest.mark.slow
def test_a_killed_process_stops_the_other_with_a_clear_error(stuck_job):
    # process 1 is killed (SIGKILL) while both train; process 0 must not wait for ever in
    # its next collective: cornu's watchdog (process_timeout_seconds=5 here) ends it
    # with its message and exit status 75 within a bound
    port = _free_port()
    procs = [subprocess.Popen([sys.executable, str(_WORKER), "forever"],
                              env={**_env(port, rank), "WORKER_TIMEOUT": "5"}, cwd=_ROOT,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for rank in range(2)]
    try:
        for line in procs[1].stdout:  # both train (an epoch ends only when both step)
            if line.startswith("EPOCH 2"):
                break
        procs[1].send_signal(signal.SIGKILL)
        killed = time.monotonic()
        _, stderr = procs[0].communicate(timeout=60)
        waited = time.monotonic() - killed
    finally:
        for proc in procs:  # only the processes this test started
            if proc.poll() is None:
                proc.kill()
            proc.communicate()  # (closes its pipes)
    assert procs[0].returncode == 75, stderr[-3000:]
    assert "cornu.distribution: stopping process 0 of 2: process 1 of the job" in stderr
    assert waited < 20, waited


@pytest.mark.slow
def test_a_killed_job_restarted_with_its_backup_ends_as_an_unbroken_one(tmp_path):
    # BackupAndRestore (process 0 writes, both read); process 1 is killed with SIGKILL
    # mid-training, process 0 then stops (watchdog), the job is started again and goes on
    # from the backup: the weights of the same job run without a break (that job runs
    # alongside the one that is killed: independent processes, their own port and folder)
    port, unbroken_port = _free_ports(2)
    unbroken_job = _start("backup", str(tmp_path / "unbroken"), port=unbroken_port)
    folder = str(tmp_path / "broken")
    procs = [subprocess.Popen([sys.executable, str(_WORKER), "backup", folder],
                              env={**_env(port, rank), "WORKER_TIMEOUT": "5"}, cwd=_ROOT,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for rank in range(2)]
    broken_ended = False
    try:
        for line in procs[1].stdout:
            if line.startswith("EPOCH 3"):
                break
        procs[1].send_signal(signal.SIGKILL)
        procs[0].communicate(timeout=60)
        broken_ended = True
    finally:  # (and the unbroken job's where this failed)
        for proc in procs if broken_ended else procs + unbroken_job:
            if proc.poll() is None:  # only the processes this test started
                proc.kill()
            proc.communicate()
    backed_up = (tmp_path / "broken" / "backup" / "backup.cornu-backup").exists()
    # the job started again (its own port) runs alongside the rest of the unbroken one
    resumed_job = _start("backup", folder)
    try:
        unbroken = _phase(_results(unbroken_job), "backup")  # (kills its processes if it fails)
        resumed = _phase(_results(resumed_job), "backup")
    finally:
        for proc in resumed_job:  # only the processes this test started
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
    assert procs[0].returncode == 75
    assert backed_up
    assert unbroken[0]["epochs"] == list(range(12))
    for result in resumed:
        assert 3 <= result["epochs"][0] and result["epochs"][-1] == 11  # went on
        for a, b in zip(result["weights"], unbroken[0]["weights"], strict=True):
            np.testing.assert_allclose(a, b, atol=1e-6)
    # the last ModelCheckpoint (written by process 0) holds the final weights
    model, _, _ = build()
    model.load_weights(str(tmp_path / "broken" / "last.weights.safetensors"))
    for a, b in zip(model.get_weights(), unbroken[0]["weights"], strict=True):
        np.testing.assert_allclose(a, b, atol=1e-6)


@pytest.mark.slow
def test_a_stuck_process_and_the_others_stop(stuck_job):
    # both wait 8 s at one place together (a long call of the job: not a stall); then
    # process 1 stays alive but stops stepping (a callback that never returns): its
    # watchdog stops it after stall_timeout_seconds=5, and process 0, waiting for it in a
    # collective, stops too; both with cornu's message and status 75
    procs = stuck_job
    outputs = [proc.communicate(timeout=120) for proc in procs]
    assert [proc.returncode for proc in procs] == [75, 75], outputs[0][1][-2000:]
    assert "EPOCH 2" in outputs[0][0] and "EPOCH 2" in outputs[1][0]
    assert "EPOCH 3" not in outputs[0][0]
    # whichever stall is seen first stops its process; the other then stops by its own
    # stall, or because its peer (or the coordinator, process 0) is gone
    for rank in (0, 1):
        assert f"cornu.distribution: stopping process {rank} of 2: " in outputs[rank][1]
    assert any("its main thread has waited 5 s" in err for _, err in outputs)


@pytest.mark.slow
def test_a_model_split_over_two_processes_saves_a_file_one_process_loads(one_job):
    # ModelParallel over a (1, 2) mesh: the Dense kernels split over the two processes'
    # devices; model.save gathers them (every process) and process 0 writes the file,
    # which one process loads and predicts with as the split model did
    import cornu

    results, path = _phase(one_job[0], "model"), one_job[1]
    for result in results:
        assert result["mesh"] == [1, 2]
        assert result["split"] == [True, False, True, False]  # kernels, biases
    expected = train(*build())  # the same run on one device
    assert results[0]["history"]["loss"] == pytest.approx(expected["history"]["loss"],
                                                          rel=1e-5)
    loaded = cornu.models.load_model(str(path))
    _, x, _ = build()
    for result in results:
        np.testing.assert_allclose(loaded.predict(x, batch_size=8, verbose=0),
                                   result["predict"], atol=1e-5)
        for a, b in zip(loaded.get_weights(), result["weights"], strict=True):
            np.testing.assert_allclose(a, b, atol=1e-6)
