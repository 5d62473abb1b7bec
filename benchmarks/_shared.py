"""Pieces the benchmark scripts share: the lecture's net and a callback timing epochs
(both take the library module, cornu or keras, so one definition serves either side), and
the alternating rounds of the scripts that compare two cornu checkouts."""

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from typing import TypeVar

T = TypeVar("T")


def lecture_net(lib):
    """Input(784) -> Dense(500, sigmoid) -> Dense(500, sigmoid) -> Dense(10, softmax)."""
    layers = lib.layers
    return lib.Sequential([
        lib.Input(shape=(784,)),
        layers.Dense(500, activation="sigmoid"),
        layers.Dense(500, activation="sigmoid"),
        layers.Dense(10, activation="softmax"),
    ])


def epoch_timer(lib):
    """A callback of `lib` whose `times` lists each epoch's seconds, begin to end."""

    class EpochTimer(lib.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.times = []

        def on_epoch_begin(self, epoch, logs=None):
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            self.times.append(time.perf_counter() - self.start)

    return EpochTimer()


def alternating_rounds(a: str, b: str, rounds: int,
                       run: Callable[[str], T]) -> Iterator[tuple[int, dict[str, T]]]:
    """Each round's `run(checkout)` of the two checkouts, in turns: A B, B A, A B, ...

    This project's VM changes speed from minute to minute, so one checkout's run after the
    other's can disagree more than the checkouts do; rounds that alternate, compared round
    by round, see through most of it."""
    for r in range(rounds):
        order = (a, b) if r % 2 == 0 else (b, a)
        yield r, {checkout: run(checkout) for checkout in order}


def run_in_checkout(checkout: str, argv: list[str], timeout: float | None = None,
                    **env: str) -> str:
    """The stdout of `python argv...` run in `checkout` with only its cornu on the path,
    this environment updated with `env` (JAX_PLATFORMS: cpu where neither sets it); exits
    with the child's stderr where it fails."""
    env = {"JAX_PLATFORMS": "cpu", **os.environ, **env, "PYTHONPATH": checkout}
    done = subprocess.run([sys.executable, *argv], env=env, capture_output=True, text=True,
                          cwd=checkout, timeout=timeout)
    if done.returncode:
        raise SystemExit(done.stderr[-2000:])
    return done.stdout
