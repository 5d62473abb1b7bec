"""Shared pieces of the distribution tests: children, fresh Pythons on JAX's CPU that print
their results as tagged JSON lines (the CPU devices are made before JAX's backend starts,
so a test that needs N of them runs its code in a child). Children that are independent
run side by side: most of a child's time is one core compiling, and CI has two."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def start_child(code: str, *args: str, drop: Iterable[str] = (),
                **env_vars: str) -> subprocess.Popen:
    """Start `code` (its sys.argv[1:] `args`) in a fresh Python on JAX's CPU, with this
    checkout's cornu first on the path, the variables in `drop` removed and `env_vars`
    set."""
    env = {**os.environ, "JAX_PLATFORMS": "cpu",
           "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    for name in drop:
        env.pop(name, None)
    env.update(env_vars)
    return subprocess.Popen([sys.executable, "-c", code, *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT)


def finish_children(procs: list[subprocess.Popen],
                    timeout: float = 600) -> list[subprocess.CompletedProcess]:
    """Each child's end (text stdout and stderr), once all have exited with status 0; an
    assertion with the stderr of the first that did not. Kills the ones still running
    where one fails (only the processes the test started)."""
    done = []
    try:
        for proc in procs:
            stdout, stderr = proc.communicate(timeout=timeout)
            assert proc.returncode == 0, stderr[-4000:]
            done.append(subprocess.CompletedProcess(proc.args, 0, stdout, stderr))
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
    return done


def run_child(code: str, *args: str, timeout: float = 600,
              **kwargs) -> subprocess.CompletedProcess:
    """`start_child`'s child, finished (see `finish_children`)."""
    return finish_children([start_child(code, *args, **kwargs)], timeout)[0]


def tagged(output: str, tag: str) -> dict:
    """The JSON objects of the lines of `output` that start with `tag` and a space,
    merged in order."""
    out: dict = {}
    for line in output.splitlines():
        if line.startswith(tag + " "):
            out.update(json.loads(line[len(tag) + 1:]))
    return out


def result(done: subprocess.CompletedProcess) -> dict:
    """A finished child's one RESULT line, as a dict; an assertion with the child's output
    where it printed none."""
    for line in done.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT "):])
    raise AssertionError("the child printed no RESULT line: "
                         + done.stdout[-2000:] + done.stderr[-2000:])

