"""A dead or silent process of a job makes the others stop, with a clear message and
within a bounded time, instead of waiting for ever in a collective.

JAX's own coordination service notices a process that stopped sending heartbeats after
`heartbeat_timeout_seconds` and then terminates the others from C++ (SIGABRT, a long
log). cornu adds its own, earlier and plainer signal: a thread of each process writes a
counter to the coordination service's key-value store every `interval` seconds and reads
the others'; a counter that stands still for `timeout` seconds (the process died, was
killed, or its interpreter hangs) makes this process print why on stderr and exit with
`EXIT_CODE`, so that a job scheduler sees a failed task and can restart the job
(BackupAndRestore then resumes it). A process that ends normally says so first, so its
silence afterwards is not taken for a death.

A process that is alive but stuck keeps beating. For that case the same thread watches
this process's main thread: when it has stood at one place inside cornu (a fit, evaluate
or predict: its innermost frame and instruction unchanged) for `stall_timeout` seconds,
and the other processes are not all standing at that same place (which is a long call
they make together: an epoch's program, a compile), the process stops the same way. A
stuck process thus stops by itself (the others are elsewhere: waiting for it in a
collective), the others stop by the same rule or when it has died.
"""

from __future__ import annotations

import atexit
import os
import sys
import threading
import time
from typing import Any

#: the exit status of a process stopped because another one of its job stopped (EX_TEMPFAIL:
#: worth a restart)
EXIT_CODE = 75
_PREFIX = "cornu/watchdog"


class Watchdog:
    """Heartbeats of this process and a watch over the others' (see the module doc)."""

    def __init__(self, client: Any, me: int, processes: int, timeout: float,
                 stall_timeout: float | None = None) -> None:
        self.client, self.me, self.processes = client, me, processes
        self.timeout = float(timeout)
        self.stall_timeout = stall_timeout
        self._main = threading.main_thread().ident
        self._place: tuple[Any, float] | None = None  # (main thread's place, since when)
        self.interval = min(1.0, self.timeout / 5)
        self.others = [p for p in range(processes) if p != me]
        self._beats = 0
        # the last value seen of each other's counter and when it last changed
        self._seen: dict[int, tuple[str | None, float]] = {
            p: (None, time.monotonic()) for p in self.others}
        self._stopping = threading.Event()
        self._lock = threading.Lock()  # the thread's checks and the exit's, one at a time

    def start(self) -> None:
        threading.Thread(target=self._run, name="cornu-watchdog", daemon=True).start()
        # atexit runs before the interpreter's finalization, where jax's client shuts
        # down (and waits for the other processes)
        atexit.register(self._at_exit)

    def _run(self) -> None:
        while not self._stopping.is_set():
            silent = self.check() or self.stalled()
            if silent is not None:
                self.stop(silent)
            time.sleep(self.interval)

    def stalled(self) -> str | None:
        """Why this process must stop because its main thread has stood at one place
        inside cornu for `stall_timeout` seconds while the other processes are not all
        standing there too, or None. Publishes where it stands (after a second)."""
        if self.stall_timeout is None:
            return None
        frame = sys._current_frames().get(self._main)
        if frame is None:
            return None
        place, now = (id(frame), frame.f_lasti, frame.f_lineno), time.monotonic()
        if self._place is None or self._place[0] != place:
            self._place = (place, now)
            self._publish("")
            return None
        where = f"{frame.f_code.co_filename}:{frame.f_lineno}"
        if now - self._place[1] > self.interval:
            self._publish(where)
        if now - self._place[1] <= self.stall_timeout or not _inside_cornu(frame):
            return None
        with self._lock:
            try:
                others = [self._try_get(f"{_PREFIX}/place/{p}") for p in self.others]
            except Exception:  # noqa: BLE001 - the coordinator is gone: check() says so
                return None
        if all(other == where for other in others):
            return None  # a long call the processes make together
        return (f"its main thread has waited {self.stall_timeout:g} s at {where} inside "
                "cornu, where the other processes are not (in a collective whose other "
                "processes do not come, or on a data source that does not answer)")

    def _publish(self, where: str) -> None:
        """Where the main thread stands ("" while it moves), for the others."""
        if getattr(self, "_published", None) == where:
            return
        with self._lock:
            try:
                self.client.key_value_set(f"{_PREFIX}/place/{self.me}", where,
                                          allow_overwrite=True)
                self._published = where
            except Exception:  # noqa: BLE001 - the coordinator is gone: check() says so
                pass

    def check(self) -> str | None:
        """Beat once and look at the others: why this process must stop, or None."""
        with self._lock:
            return self._check()

    def _check(self) -> str | None:
        try:
            self._beats += 1
            self.client.key_value_set(f"{_PREFIX}/beat/{self.me}", str(self._beats),
                                      allow_overwrite=True)
            stopped = self._try_get(f"{_PREFIX}/stop")  # "process|why" of one that stopped
            if stopped is not None and not stopped.startswith(f"{self.me}|"):
                who, _, why = stopped.partition("|")
                return f"process {who} of the job stopped first: {why}"
            now = time.monotonic()
            for p in self.others:
                if self._done(p):
                    continue
                value = self._try_get(f"{_PREFIX}/beat/{p}")
                last, since = self._seen[p]
                if value != last:
                    self._seen[p] = (value, now)
                elif now - since > self.timeout:
                    return (f"process {p} of the job has given no sign of life for "
                            f"{self.timeout:g} s (it died, was killed, or its interpreter "
                            "is stuck)")
        except Exception as error:  # noqa: BLE001 - the coordinator itself is gone
            return (f"the job's coordination service (on process 0) cannot be reached: "
                    f"{type(error).__name__}: {str(error).splitlines()[0][:200]}")
        return None

    def _done(self, p: int) -> bool:
        return self._try_get(f"{_PREFIX}/done/{p}") is not None

    def _try_get(self, key: str) -> str | None:
        try:
            return self.client.key_value_try_get(key)
        except Exception as error:  # noqa: BLE001 - NOT_FOUND: not written yet
            if "NOT_FOUND" in str(error) or "not found" in str(error).lower():
                return None
            raise

    def stop(self, why: str) -> None:
        """Say why on stderr and end this process now (its collectives would wait for
        ever, and JAX's shutdown would wait for the missing process too). The others
        are told why; process 0 waits a moment first, as the coordination service goes
        with it (and JAX would end the others from C++)."""
        try:
            self.client.key_value_set(f"{_PREFIX}/stop", f"{self.me}|{why}",
                                      allow_overwrite=True)
        except Exception:  # noqa: BLE001 - the coordinator is gone already
            pass
        sys.stderr.write(
            f"\ncornu.distribution: stopping process {self.me} of {self.processes}: {why}. "
            f"Restart the whole job (BackupAndRestore resumes it from its last backup). "
            f"Exit status {EXIT_CODE}.\n")
        sys.stderr.flush()
        if self.me == 0:
            time.sleep(3 * self.interval)
        os._exit(EXIT_CODE)

    def _at_exit(self) -> None:
        """This process ends: say so (its silence is then no death); if a process that has
        not ended is silent (this one is leaving because a collective with it failed),
        stop with the message rather than wait in JAX's shutdown."""
        try:
            self.client.key_value_set(f"{_PREFIX}/done/{self.me}", "1", allow_overwrite=True)
        except Exception:  # noqa: BLE001 - the coordinator is gone
            self.stop("the job's coordination service (on process 0) cannot be reached "
                      "at exit")
        self._stopping.set()  # the exit checks from here on
        with self._lock:
            before = {p: self._try_get(f"{_PREFIX}/beat/{p}") for p in self.others}
        while True:
            silent = self.check()  # (stops past the timeout of a silent process)
            if silent is not None:
                self.stop(silent)
            # each other process has ended, or beaten since this exit began: JAX's
            # shutdown can wait for them
            if all(self._seen[p][0] != before[p] or self._done(p) for p in self.others):
                return
            time.sleep(self.interval)


def _inside_cornu(frame: Any) -> bool:
    """Whether a cornu function is on the stack of `frame` (a fit, evaluate, predict)."""
    package = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
    while frame is not None:
        if frame.f_code.co_filename.startswith(package):
            return True
        frame = frame.f_back
    return False


def start(timeout: float, stall_timeout: float | None = None) -> Watchdog | None:
    """Watch the job's other processes (a job of several processes after
    jax.distributed.initialize), and this one's main thread for `stall_timeout`
    seconds (None: not); None in a job of one."""
    import jax
    from jax._src import distributed  # the coordination client jax made (no public handle)

    client = getattr(distributed.global_state, "client", None)
    if client is None or jax.process_count() == 1:
        return None
    watchdog = Watchdog(client, jax.process_index(), jax.process_count(), timeout,
                        stall_timeout)
    watchdog.start()
    return watchdog
