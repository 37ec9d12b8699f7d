"""The demo project under gunicorn on 127.0.0.1: start, wait until it serves, restart workers, stop.

gunicorn runs in its own process group; ``stop()`` ends that group (only processes this
harness started), and is registered with ``atexit`` so an interrupted run leaves nothing
behind.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]
SETTINGS = "tests.stress.server_settings"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def django_env(database_url: str, error_log: Path | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env["DATABASE_URL"] = database_url
    env["DJANGO_SETTINGS_MODULE"] = SETTINGS
    env["PYTHONPATH"] = os.pathsep.join(
        [str(ROOT), str(ROOT / "testproject"), env.get("PYTHONPATH", "")]
    ).rstrip(os.pathsep)
    if error_log is not None:
        env["STRESS_ERROR_LOG"] = str(error_log)
    return env


class Gunicorn:
    """``gunicorn testproject.wsgi`` with ``workers`` processes of ``threads`` threads."""

    def __init__(
        self,
        database_url: str,
        *,
        workers: int,
        threads: int,
        error_log: Path,
        access_log: Path,
        port: int | None = None,
        sabotage: bool = False,
        lifetime: float = 1800.0,
    ) -> None:
        self.port = port or free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.workers = workers
        self.threads = threads
        self.error_log = error_log
        self.access_log = access_log
        self.database_url = database_url
        self.sabotage = sabotage
        # Even if the harness is killed outright (no atexit), gunicorn ends by itself.
        self.lifetime = lifetime
        self.pid_file = error_log.with_suffix(".gunicorn.pid")
        self.process: subprocess.Popen[bytes] | None = None
        self._log_handle: object | None = None

    def start(self, ready_timeout: float = 60.0) -> None:
        watchdog = ["timeout", "--kill-after=15", str(int(self.lifetime))]
        command = [
            *(watchdog if shutil.which("timeout") else []),
            sys.executable,
            "-m",
            "gunicorn",
            "testproject.wsgi:application",
            "--bind",
            f"127.0.0.1:{self.port}",
            "--workers",
            str(self.workers),
            "--threads",
            str(self.threads),
            "--worker-class",
            "gthread",
            # Longer than any idle gap of a client, so a keep-alive connection is never
            # closed by the server just as a client reuses it (that race is no fault of ours).
            "--keep-alive",
            "120",
            "--timeout",
            "30",
            "--graceful-timeout",
            "10",
            "--pid",
            str(self.pid_file),
            "--access-logfile",
            str(self.access_log),
            "--error-logfile",
            str(self.access_log.with_suffix(".gunicorn.log")),
        ]
        env = django_env(self.database_url, self.error_log)
        if self.sabotage:
            env["STRESS_SABOTAGE"] = "1"
        self.process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        atexit.register(self.stop)
        self.wait_ready(ready_timeout)

    def wait_ready(self, timeout: float) -> float:
        """Poll the API until it answers 200 and every worker is up; return the seconds waited."""
        started = time.monotonic()
        deadline = started + timeout
        last_error = "no answer"
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(
                    f"gunicorn exited with {self.process.returncode}; see "
                    f"{self.access_log.with_suffix('.gunicorn.log')}"
                )
            try:
                response = requests.get(f"{self.base_url}/api/customers/", timeout=(1, 5))
                if response.status_code == 200 and len(self.worker_pids()) == self.workers:
                    return time.monotonic() - started
                last_error = f"HTTP {response.status_code}"
            except requests.RequestException as error:
                last_error = type(error).__name__
            time.sleep(0.2)
        raise RuntimeError(f"gunicorn on {self.base_url} not ready after {timeout}s ({last_error})")

    def arbiter_pid(self) -> int | None:
        """gunicorn's master process (under ``timeout``, the harness's child is not it)."""
        if self.process is None or self.process.poll() is not None:
            return None
        try:
            return int(self.pid_file.read_text().strip())
        except (OSError, ValueError):
            return None

    def worker_pids(self) -> list[int]:
        """The arbiter's child processes (Linux: read from /proc)."""
        arbiter = self.arbiter_pid()
        if arbiter is None:
            return []
        pids = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            # Field 4 is the parent pid; the command name (field 2) may hold spaces.
            fields = stat.rsplit(")", 1)[1].split()
            if int(fields[1]) == arbiter and fields[0] != "Z":
                pids.append(int(entry.name))
        return sorted(pids)

    def signal_worker(self, signum: int) -> int | None:
        """Send ``signum`` to one worker (the arbiter starts a new one); return its pid."""
        pids = self.worker_pids()
        if not pids:
            return None
        pid = pids[0]
        try:
            os.kill(pid, signum)
        except ProcessLookupError:
            return None
        return pid

    def stop(self) -> None:
        process = self.process
        if process is None or process.poll() is not None:
            return
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=15)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)
