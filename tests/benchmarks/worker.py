"""Run every benchmark against one database; write the results as JSON.

Started by ``run.py`` (one worker per database, so each gets its own settings):
``python -m tests.benchmarks.worker --db sqlite --out results.json [--quick]``
with ``BENCH_DATABASE_URL`` set. The database must exist; its tables are created here.

Each suite runs in fresh processes of its own (this module with ``--in-process``), so no
suite's figures depend on what ran before it in the same interpreter: a ratio of a few
percent moved by that much with the suites that preceded it (findings.md). A suite in
``scale.processes`` processes makes its share of the rounds in each, and
:func:`harness.pool` joins them, as pyperf averages over worker processes; the million-row
table and the HTTP servers are set up once, in one process.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.benchmarks.settings")

import django

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

from tests.benchmarks import drf, http_load, orm  # noqa: E402
from tests.benchmarks.harness import Group, format_group, pool  # noqa: E402
from tests.benchmarks.scale import FULL, QUICK, Scale  # noqa: E402

SUITES: dict[str, Callable[[Scale], Group | list[Group] | None]] = {
    "orm-save": orm.bench_save,
    "orm-save-atomic": orm.bench_save_in_transaction,
    "orm-save-width": orm.bench_save_width,
    "orm-delete": orm.bench_delete,
    "orm-cas": orm.bench_compare_and_set,
    "orm-bulk-update": orm.bench_bulk_update,
    "orm-touch": orm.bench_touch,
    "drf": drf.bench_drf,
    "orm-growth": orm.bench_growth,
    "http": http_load.bench_http,
}
ONE_PROCESS = frozenset({"orm-growth", "http"})
"""Suites run in a single process: a million-row table to build once; gunicorn's workers."""


def server_version() -> str:
    if connection.vendor == "sqlite":
        import sqlite3

        return f"SQLite {sqlite3.sqlite_version}"
    with connection.cursor() as cursor:
        cursor.execute("SELECT VERSION()")
        row = cursor.fetchone()
    text = str(row[0]) if row else "?"
    if connection.vendor == "postgresql":
        return " ".join(text.split()[:2])
    return f"MariaDB {text}" if "mariadb" in text.lower() else f"MySQL {text}"


def package_versions() -> dict[str, str]:
    names = [
        "Django",
        "djangorestframework",
        "django-concurrency",
        "drf-extensions",
        "gunicorn",
        "psycopg",
        "PyMySQL",
    ]
    versions = {"Python": platform.python_version()}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def profile_group(name: str, scale: Scale) -> None:
    """Run one suite under pyinstrument and print where the time goes."""
    from pyinstrument import Profiler

    profiler = Profiler(interval=0.0002)
    profiler.start()
    SUITES[name](scale)
    profiler.stop()
    print(profiler.output_text(unicode=True, color=False, show_all=False))


def run_in_process(names: list[str], scale: Scale) -> tuple[list[Group], dict[str, str]]:
    groups: list[Group] = []
    skipped: dict[str, str] = {}
    for name in names:
        result = SUITES[name](scale)
        if result is None:
            skipped[name] = "not available (see the log)"
        elif isinstance(result, list):
            groups.extend(result)
        else:
            groups.append(result)
    return groups, skipped


def run_in_fresh_processes(
    name: str, scale: Scale, args: argparse.Namespace
) -> tuple[list[Group], dict[str, str]]:
    """Run suite ``name`` in ``scale.processes`` new processes (one for ONE_PROCESS)."""
    processes = 1 if name in ONE_PROCESS else max(1, scale.processes)
    env = {
        **os.environ,
        "BENCH_ROUNDS": str(math.ceil(scale.rounds / processes)),
        "BENCH_BULK_ROUNDS": str(math.ceil(scale.bulk_rounds / processes)),
    }
    parts: list[list[Group]] = []
    skipped: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="bench-worker-") as tmp:
        for number in range(processes):
            out = Path(tmp) / f"{name}-{number}.json"
            command = [sys.executable, "-m", "tests.benchmarks.worker", "--in-process"]
            command += ["--db", args.db, "--out", str(out), "--only", name]
            if args.quick:
                command.append("--quick")
            print(f"-- {name}: process {number + 1} of {processes}", flush=True)
            subprocess.run(command, env=env, check=True, timeout=3600)
            payload = json.loads(out.read_text())
            parts.append([Group.from_dict(group) for group in payload["groups"]])
            skipped.update(payload["skipped"])
    if processes == 1:
        return parts[0], skipped
    pooled = [pool([part[index] for part in parts]) for index in range(len(parts[0]))]
    for group in pooled:
        print(format_group(group), flush=True)
    return pooled, skipped


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", required=True, help="label of the database (sqlite, postgres...)")
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--only", nargs="*", choices=sorted(SUITES), default=None)
    parser.add_argument("--profile", choices=sorted(SUITES), default=None)
    parser.add_argument(
        "--in-process",
        action="store_true",
        help="run the suites one after the other in this process (what each fresh process does)",
    )
    args = parser.parse_args(argv)
    scale = QUICK if args.quick else FULL
    # BENCH_ROUNDS=15, BENCH_DRF_ITERATIONS=20, ...: any field of Scale, for a shorter run.
    overrides = {
        name: int(os.environ[f"BENCH_{name.upper()}"])
        for name in Scale.__dataclass_fields__
        if os.environ.get(f"BENCH_{name.upper()}")
    }
    scale = dataclasses.replace(scale, **overrides)

    call_command("migrate", run_syncdb=True, verbosity=0)
    if args.profile:
        profile_group(args.profile, scale)
        return 0
    started = time.monotonic()
    names = [name for name in SUITES if args.only is None or name in args.only]
    if args.in_process:
        groups, skipped = run_in_process(names, scale)
    else:
        groups, skipped = [], {}
        for name in names:
            suite_groups, suite_skipped = run_in_fresh_processes(name, scale, args)
            groups += suite_groups
            skipped.update(suite_skipped)
    payload: dict[str, Any] = {
        "db": args.db,
        "vendor": connection.vendor,
        "server": server_version(),
        "quick": args.quick,
        "scale": scale.__dict__,
        "seconds": round(time.monotonic() - started, 1),
        "versions": package_versions(),
        "groups": [group.as_dict() for group in groups],
        "skipped": skipped,
    }
    args.out.write_text(json.dumps(payload, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
