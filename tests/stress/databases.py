"""The database servers under test: create the stress database, read rows, kill backends.

Everything here talks to the server with the plain driver (psycopg, PyMySQL), never through
Django, so the checker reads what is committed and the fault injector can kill the server's
connections from outside.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from collections.abc import Iterable
from typing import Any, NamedTuple
from urllib.parse import quote

import dj_database_url

TABLE = "customers_customer"


class Row(NamedTuple):
    version: int
    given_name: str
    family_name: str
    email: str
    notes: str


class Target(ABC):
    """One database server: ``postgres`` or ``mariadb``."""

    name: str
    scheme: str
    default_url: str

    def __init__(self, server_url: str | None, db_name: str) -> None:
        url = server_url or os.environ.get(f"STRESS_{self.name.upper()}_URL") or self.default_url
        self.server = dj_database_url.parse(url)
        self.db_name = db_name

    @property
    def database_url(self) -> str:
        """``DATABASE_URL`` for the server under test (dj-database-url syntax)."""
        s = self.server
        auth = quote(str(s.get("USER") or ""), safe="")
        if s.get("PASSWORD"):
            auth += ":" + quote(str(s["PASSWORD"]), safe="")
        return (
            f"{self.scheme}://{auth}@{s.get('HOST') or '127.0.0.1'}:{s.get('PORT')}/{self.db_name}"
        )

    def describe(self) -> str:
        return f"{self.name} {self.server.get('HOST')}:{self.server.get('PORT')}/{self.db_name}"

    @abstractmethod
    def connect(self, database: str | None = None) -> Any:
        """An autocommit DB-API connection to ``database`` (the stress database by default)."""

    @abstractmethod
    def recreate(self) -> None:
        """Drop and create the (empty) stress database."""

    @abstractmethod
    def drop(self) -> None: ...

    @abstractmethod
    def server_version(self) -> str: ...

    def set_isolation(self, level: str) -> None:
        """Make ``level`` the default of every later session (PostgreSQL: of the database).

        MariaDB has no per-database default; the server settings set it per session
        (``STRESS_ISOLATION``, Django's ``OPTIONS["isolation_level"]``).
        """
        return None

    @abstractmethod
    def kill_backends(self) -> int:
        """Kill every connection to the stress database but our own; return how many."""

    def rows(self, pks: Iterable[int] | None = None) -> dict[int, Row]:
        """Committed state of the customers, ``{pk: Row}``."""
        conn = self.connect()
        try:
            with conn.cursor() as cur:
                cur.execute(
                    f"SELECT id, version, given_name, family_name, email, notes FROM {TABLE}"
                )
                result = {int(r[0]): Row(int(r[1]), *r[2:]) for r in cur.fetchall()}
        finally:
            conn.close()
        if pks is None:
            return result
        wanted = set(pks)
        return {pk: row for pk, row in result.items() if pk in wanted}


class Postgres(Target):
    name = "postgres"
    scheme = "postgres"
    default_url = "postgres://postgres@127.0.0.1:5432/postgres"

    def connect(self, database: str | None = None) -> Any:
        import psycopg

        s = self.server
        return psycopg.connect(
            host=s.get("HOST") or "127.0.0.1",
            port=int(s.get("PORT") or 5432),
            user=s.get("USER") or None,
            password=s.get("PASSWORD") or None,
            dbname=database or self.db_name,
            autocommit=True,
            connect_timeout=5,
        )

    def recreate(self) -> None:
        self.drop()
        conn = self.connect("postgres")
        try:
            conn.execute(f'CREATE DATABASE "{self.db_name}"')
        finally:
            conn.close()

    def drop(self) -> None:
        conn = self.connect("postgres")
        try:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)')
        finally:
            conn.close()

    def set_isolation(self, level: str) -> None:
        conn = self.connect("postgres")
        try:
            conn.execute(
                f"ALTER DATABASE \"{self.db_name}\" SET default_transaction_isolation TO '{level}'"
            )
        finally:
            conn.close()

    def server_version(self) -> str:
        conn = self.connect("postgres")
        try:
            row = conn.execute("SHOW server_version").fetchone()
            return f"PostgreSQL {row[0].split()[0]}"
        finally:
            conn.close()

    def kill_backends(self) -> int:
        conn = self.connect("postgres")
        try:
            rows = conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = %s AND pid <> pg_backend_pid()",
                [self.db_name],
            ).fetchall()
            return sum(1 for (killed,) in rows if killed)
        finally:
            conn.close()


class MariaDB(Target):
    name = "mariadb"
    scheme = "mysql"
    default_url = "mysql://root@127.0.0.1:3306/mysql"

    def connect(self, database: str | None = None) -> Any:
        import pymysql

        s = self.server
        return pymysql.connect(
            host=s.get("HOST") or "127.0.0.1",
            port=int(s.get("PORT") or 3306),
            user=s.get("USER") or "root",
            password=s.get("PASSWORD") or "",
            database=database or self.db_name,
            autocommit=True,
            connect_timeout=5,
            charset="utf8mb4",
        )

    def _admin(self, *statements: str) -> None:
        conn = self.connect("mysql")
        try:
            with conn.cursor() as cur:
                for statement in statements:
                    cur.execute(statement)
        finally:
            conn.close()

    def recreate(self) -> None:
        self._admin(
            f"DROP DATABASE IF EXISTS `{self.db_name}`",
            f"CREATE DATABASE `{self.db_name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci",
        )

    def drop(self) -> None:
        self._admin(f"DROP DATABASE IF EXISTS `{self.db_name}`")

    def server_version(self) -> str:
        conn = self.connect("mysql")
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT VERSION()")
                return f"MariaDB {cur.fetchone()[0].split('-')[0]}"
        finally:
            conn.close()

    def kill_backends(self) -> int:
        import pymysql

        conn = self.connect("mysql")
        killed = 0
        try:
            with conn.cursor() as cur:
                cur.execute(
                    "SELECT id FROM information_schema.processlist "
                    "WHERE db = %s AND id <> CONNECTION_ID()",
                    [self.db_name],
                )
                for (backend,) in cur.fetchall():
                    try:
                        cur.execute(f"KILL {int(backend)}")
                        killed += 1
                    except pymysql.err.OperationalError as error:
                        if error.args[0] != 1094:  # Unknown thread id: it ended meanwhile.
                            raise
        finally:
            conn.close()
        return killed


TARGETS: dict[str, type[Target]] = {"postgres": Postgres, "mariadb": MariaDB}
