"""PgBouncer in transaction pooling mode between gunicorn and PostgreSQL, for the harness.

Debian's ``pgbouncer`` (``/usr/sbin/pgbouncer``), started in the foreground with a config
in a temporary directory, listening on 127.0.0.1 only, and stopped by the PID this harness
started (never by name). A small server pool for many client connections, so requests of
different workers really share server connections between transactions.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

BINARY = os.environ.get("PGBOUNCER", "/usr/sbin/pgbouncer")


class PgBouncer:
    def __init__(self, server: dict[str, Any], db_name: str, port: int, pool_size: int = 4) -> None:
        self.server = server
        self.db_name = db_name
        # Its own directory: as root, PgBouncer runs as postgres and must reach it.
        self.dir = Path(tempfile.mkdtemp(prefix=f"pgbouncer-{db_name}-"))
        self.port = port
        self.pool_size = pool_size
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def database_url(self) -> str:
        user = self.server.get("USER") or "postgres"
        return f"postgres://{user}@127.0.0.1:{self.port}/{self.db_name}"

    def _config(self) -> str:
        s = self.server
        user = s.get("USER") or "postgres"
        password = f" password={s['PASSWORD']}" if s.get("PASSWORD") else ""
        return "\n".join(
            [
                "[databases]",
                f"{self.db_name} = host={s.get('HOST') or '127.0.0.1'} port={s.get('PORT') or 5432}"
                f" dbname={self.db_name} user={user}{password}",
                "[pgbouncer]",
                "listen_addr = 127.0.0.1",
                f"listen_port = {self.port}",
                "unix_socket_dir =",
                "auth_type = trust",
                f"auth_file = {self.dir / 'userlist.txt'}",
                f"admin_users = {user}",
                "pool_mode = transaction",
                f"default_pool_size = {self.pool_size}",
                "max_client_conn = 500",
                "server_reset_query =",
                "ignore_startup_parameters = extra_float_digits,options",
                f"logfile = {self.dir / 'pgbouncer.log'}",
                f"pidfile = {self.dir / 'pgbouncer.pid'}",
                "",
            ]
        )

    def start(self, timeout: float = 20.0) -> None:
        if not Path(BINARY).exists():
            raise RuntimeError(f"{BINARY} not found: apt-get install pgbouncer")
        user = self.server.get("USER") or "postgres"
        (self.dir / "userlist.txt").write_text(f'"{user}" ""\n')
        config = self.dir / "pgbouncer.ini"
        config.write_text(self._config())
        command = [BINARY]
        if os.geteuid() == 0:  # PgBouncer refuses to run as root
            shutil.chown(self.dir, "postgres")
            for path in self.dir.iterdir():
                shutil.chown(path, "postgres")
            command += ["-u", "postgres"]
        command.append(str(config))
        self.process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"pgbouncer exited: {self.log_tail()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"pgbouncer did not listen on 127.0.0.1:{self.port}")

    def log_tail(self) -> str:
        log = self.dir / "pgbouncer.log"
        return log.read_text()[-2000:] if log.exists() else "(no log)"

    def show(self, what: str) -> list[dict[str, str]]:
        """``SHOW <what>`` on the admin console (simple query protocol: psql)."""
        user = self.server.get("USER") or "postgres"
        done = subprocess.run(
            [
                *("psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", user, "-d", "pgbouncer"),
                *("-X", "-A", "-F", "\t", "-c", f"SHOW {what}"),
            ],
            capture_output=True,
            text=True,
            timeout=20,
            check=True,
        )
        lines = [line for line in done.stdout.splitlines() if "\t" in line]
        if not lines:
            return []
        header = lines[0].split("\t")
        return [dict(zip(header, line.split("\t"), strict=False)) for line in lines[1:]]

    def figures(self) -> dict[str, int]:
        """Transactions served and the most server connections used, for the stress DB."""
        stats = [r for r in self.show("STATS") if r.get("database") == self.db_name]
        pools = [r for r in self.show("POOLS") if r.get("database") == self.db_name]
        return {
            "transactions": sum(int(r.get("total_xact_count", 0)) for r in stats),
            "queries": sum(int(r.get("total_query_count", 0)) for r in stats),
            "client_connections": sum(
                int(r.get("cl_active", 0)) + int(r.get("cl_waiting", 0)) for r in pools
            ),
            "server_connections": sum(
                int(r.get(k, 0)) for r in pools for k in ("sv_active", "sv_idle", "sv_used")
            ),
            "pool_size": self.pool_size,
        }

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGINT)  # pgbouncer: SIGINT is a safe shutdown
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
        shutil.rmtree(self.dir, ignore_errors=True)
