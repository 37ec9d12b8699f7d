"""Faults injected while clients write: killed database backends and restarted gunicorn workers."""

from __future__ import annotations

import signal
import threading
import time
from dataclasses import dataclass, field

from tests.stress.databases import Target
from tests.stress.server import Gunicorn


@dataclass
class FaultLog:
    backend_kill_sweeps: int = 0
    backends_killed: int = 0
    workers_terminated: list[int] = field(default_factory=list)  # SIGTERM: graceful
    workers_hung_up: list[int] = field(default_factory=list)  # SIGHUP: a worker dies at once
    errors: list[str] = field(default_factory=list)


class FaultInjector(threading.Thread):
    """For ``seconds``: kill the stress database's backends every ``interval`` seconds, and
    send SIGTERM to one gunicorn worker a third of the way in and SIGHUP to another at two
    thirds (a worker does not handle SIGHUP, so it dies mid-request; the arbiter respawns)."""

    def __init__(
        self, target: Target, server: Gunicorn, seconds: float, interval: float = 0.25
    ) -> None:
        super().__init__(name="faults", daemon=True)
        self.target = target
        self.server = server
        self.seconds = seconds
        self.interval = interval
        self.log = FaultLog()
        self._stop_event = threading.Event()

    def stop(self) -> None:
        self._stop_event.set()

    def run(self) -> None:
        started = time.monotonic()
        pending = [(self.seconds / 3, signal.SIGTERM), (2 * self.seconds / 3, signal.SIGHUP)]
        while not self._stop_event.is_set() and time.monotonic() - started < self.seconds:
            elapsed = time.monotonic() - started
            while pending and elapsed >= pending[0][0]:
                _, signum = pending.pop(0)
                pid = self.server.signal_worker(signum)
                if pid is not None:
                    target = (
                        self.log.workers_terminated
                        if signum == signal.SIGTERM
                        else self.log.workers_hung_up
                    )
                    target.append(pid)
            try:
                self.log.backends_killed += self.target.kill_backends()
                self.log.backend_kill_sweeps += 1
            except Exception as error:
                self.log.errors.append(f"{type(error).__name__}: {error}")
            self._stop_event.wait(self.interval)
