"""Shared pieces of the distribution tests: a child Python on JAX's CPU that prints its
results as tagged JSON lines (the CPU devices are made before JAX's backend starts, so a
test that needs N of them runs its code in a child)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run_child(code: str, *, drop: Iterable[str] = (), timeout: float = 600,
              **env_vars: str) -> subprocess.CompletedProcess:
    """Run `code` in a fresh Python on JAX's CPU, with this checkout's cornu first on the
    path, the variables in `drop` removed and `env_vars` set; the finished process (text
    stdout and stderr) once it exits with status 0, else an assertion with its stderr."""
    env = {**os.environ, "JAX_PLATFORMS": "cpu",
           "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    for name in drop:
        env.pop(name, None)
    env.update(env_vars)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=env, timeout=timeout, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-4000:]
    return done


def tagged(output: str, tag: str) -> dict:
    """The JSON objects of the lines of `output` that start with `tag` and a space,
    merged in order."""
    out: dict = {}
    for line in output.splitlines():
        if line.startswith(tag + " "):
            out.update(json.loads(line[len(tag) + 1:]))
    return out


def child_result(code: str, **kwargs) -> dict:
    """`run_child`'s one RESULT line, as a dict; an assertion with the child's output
    where it printed none."""
    done = run_child(code, **kwargs)
    for line in done.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT "):])
    raise AssertionError("the child printed no RESULT line: "
                         + done.stdout[-2000:] + done.stderr[-2000:])
