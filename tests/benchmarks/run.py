#!/usr/bin/env python3
"""Benchmark django-etag-lock against plain Django/DRF and the two anchors.

One command, from the repository root::

    python3 tests/benchmarks/run.py [--db sqlite|postgres|mariadb|all] [--quick]

On first use it creates ``.venv-bench/`` from the repository's own files
(``pip install -e '.[test,bench]'``) and re-runs itself there; it installs ``wrk`` with
apt-get when it is missing (the HTTP part is skipped when that fails). Each database is
benchmarked by one worker process (``worker.py``); PostgreSQL and MariaDB databases named
``bench`` are created before and dropped after. The full run writes
``docs/benchmarks.md`` and ``docs/img/benchmarks.png``; ``--quick`` (a smoke run for CI,
SQLite by default) writes to ``tests/artifacts/benchmarks/`` instead.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

REPO = Path(__file__).resolve().parents[2]
VENV = Path(os.environ.get("BENCH_VENV", REPO / ".venv-bench"))
STAMP = VENV / ".bench-installed"
ARTIFACTS = REPO / "tests" / "artifacts" / "benchmarks"
FINDINGS = Path(__file__).with_name("findings.md")
SERVERS = {
    "postgres": os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/bench"),
    "mariadb": os.environ.get("BENCH_MARIADB_URL", "mysql://root@127.0.0.1:3306/bench"),
}
ALL_DBS = ["sqlite", "postgres", "mariadb"]


def venv_python() -> Path:
    return VENV / "bin" / "python"


def ensure_venv() -> None:
    """Create or refresh the benchmark venv, then re-run this script inside it."""
    if Path(sys.prefix).resolve() == VENV.resolve():
        return
    wanted = hashlib.sha256((REPO / "pyproject.toml").read_bytes()).hexdigest()
    if not venv_python().exists():
        print(f"-- creating {VENV}", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    if not STAMP.exists() or STAMP.read_text() != wanted:
        print(f"-- installing .[test,bench] into {VENV}", flush=True)
        subprocess.run(
            [str(venv_python()), "-m", "pip", "install", "-q", "-e", f"{REPO}[test,bench]"],
            check=True,
        )
        STAMP.write_text(wanted)
    os.execv(str(venv_python()), [str(venv_python()), __file__, *sys.argv[1:]])


def ensure_wrk() -> bool:
    if shutil.which("wrk"):
        return True
    if shutil.which("apt-get") and hasattr(os, "geteuid") and os.geteuid() == 0:
        print("-- installing wrk (apt-get install -y wrk)", flush=True)
        quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=False, **quiet)
        if not shutil.which("wrk"):
            subprocess.run(["apt-get", "update", "-qq"], check=False, **quiet)
            subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=False, **quiet)
    return shutil.which("wrk") is not None


def _server_admin(db: str) -> tuple[Any, str]:
    """A connection to the server without the database, and the database's name."""
    url = urlsplit(SERVERS[db])
    name = url.path.lstrip("/") or "bench"
    if db == "postgres":
        import psycopg

        conn = psycopg.connect(
            host=url.hostname or "127.0.0.1",
            port=url.port or 5432,
            user=url.username or "postgres",
            password=url.password or None,
            dbname="postgres",
            autocommit=True,
            connect_timeout=5,
        )
        return conn, name
    import pymysql

    conn = pymysql.connect(
        host=url.hostname or "127.0.0.1",
        port=url.port or 3306,
        user=url.username or "root",
        password=url.password or "",
        connect_timeout=5,
        autocommit=True,
    )
    return conn, name


def create_database(db: str) -> None:
    conn, name = _server_admin(db)
    try:
        with conn.cursor() as cursor:
            if db == "postgres":
                cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                cursor.execute(f'CREATE DATABASE "{name}"')
            else:
                cursor.execute(f"DROP DATABASE IF EXISTS `{name}`")
                cursor.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
    finally:
        conn.close()


def drop_database(db: str) -> None:
    conn, name = _server_admin(db)
    try:
        with conn.cursor() as cursor:
            if db == "postgres":
                cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            else:
                cursor.execute(f"DROP DATABASE IF EXISTS `{name}`")
    finally:
        conn.close()


def load() -> float:
    return os.getloadavg()[0]


def wait_for_quiet(limit: float, seconds: int) -> None:
    """Wait (bounded) for the 1-minute load average to drop: other work skews timings."""
    deadline = time.monotonic() + seconds
    if load() > limit and seconds:
        print(f"-- load average {load():.2f} > {limit}: waiting up to {seconds} s", flush=True)
    while load() > limit and time.monotonic() < deadline:
        time.sleep(5)


def machine_facts(wrk: bool) -> dict[str, str]:
    cpu = "?"
    with open("/proc/cpuinfo", encoding="utf-8") as info:
        for line in info:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    memory = "?"
    with open("/proc/meminfo", encoding="utf-8") as info:
        for line in info:
            if line.startswith("MemTotal"):
                memory = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
                break
    wrk_version = "not installed"
    if wrk:
        probe = subprocess.run(["wrk", "--version"], capture_output=True, text=True, check=False)
        wrk_version = (probe.stdout or probe.stderr).splitlines()[0].split(" Copyright")[0]
    commit = subprocess.run(
        ["git", "describe", "--always", "--dirty"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    return {
        "Date (UTC)": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M"),
        "Commit": commit or "?",
        "CPU": f"{cpu}, `nproc` = {os.cpu_count()}",
        "Memory": memory,
        "OS": platform.platform(),
        "Load generator": wrk_version,
    }


def run_worker(db: str, url: str, args: argparse.Namespace, out: Path) -> dict[str, Any]:
    command = [sys.executable, "-m", "tests.benchmarks.worker", "--db", db, "--out", str(out)]
    if args.quick:
        command.append("--quick")
    if args.only:
        command += ["--only", *args.only]
    if args.profile:
        command += ["--profile", args.profile]
    env = {**os.environ, "BENCH_DATABASE_URL": url, "PYTHONPATH": str(REPO)}
    env["DJANGO_SETTINGS_MODULE"] = "tests.benchmarks.settings"
    print(f"\n######## {db}", flush=True)
    before = load()
    subprocess.run(command, cwd=REPO, env=env, check=True, timeout=3600)
    if args.profile:
        return {}
    result: dict[str, Any] = json.loads(out.read_text())
    result["load_before"], result["load_after"] = f"{before:.2f}", f"{load():.2f}"
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=[*ALL_DBS, "all"], default=None)
    parser.add_argument("--quick", action="store_true", help="smoke run: few iterations")
    parser.add_argument("--out", type=Path, default=None, help="directory for the report")
    parser.add_argument("--only", nargs="*", default=None, help="suites to run (worker.py)")
    parser.add_argument("--profile", default=None, help="profile one suite with pyinstrument")
    parser.add_argument(
        "--report-only",
        type=Path,
        nargs="+",
        default=None,
        help="re-render the report from results-*.json files (one per database run)",
    )
    parser.add_argument("--max-wait", type=int, default=None, help="seconds to wait for quiet")
    args = parser.parse_args()
    ensure_venv()
    sys.path.insert(0, str(REPO))
    from tests.benchmarks import report

    chosen = args.db or ("sqlite" if args.quick else "all")
    dbs = ALL_DBS if chosen == "all" else [chosen]
    if args.out is None:
        complete = not (args.quick or args.only) and args.db in (None, "all")
        args.out = REPO / "docs" if complete or args.report_only else ARTIFACTS
    command = "python3 tests/benchmarks/run.py " + " ".join(sys.argv[1:])
    if args.report_only:
        payloads = [json.loads(path.read_text()) for path in args.report_only]
        results = [result for payload in payloads for result in payload["results"]]
        machine = payloads[-1]["machine"]
        commands = sorted({payload.get("command", command) for payload in payloads})
        command = "`, `".join(commands)
        if len(payloads) > 1:
            machine["Date (UTC)"] = ", ".join(p["machine"]["Date (UTC)"] for p in payloads)
    else:
        wrk = ensure_wrk()
        if not wrk:
            print("-- wrk is not available: the HTTP part is skipped", flush=True)
        machine = machine_facts(wrk)
        max_wait = args.max_wait if args.max_wait is not None else (0 if args.quick else 120)
        results = []
        with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
            for db in dbs:
                wait_for_quiet(1.5, max_wait)
                if db == "sqlite":
                    url = f"sqlite:///{tmp}/bench.sqlite3"
                else:
                    try:
                        create_database(db)
                    except Exception as exc:
                        if args.db == db:
                            raise
                        print(f"-- {db}: cannot create the database ({exc}); skipped")
                        continue
                    url = SERVERS[db]
                try:
                    result = run_worker(db, url, args, Path(tmp) / f"{db}.json")
                finally:
                    if db != "sqlite":
                        drop_database(db)
                if result:
                    results.append(result)
        if args.profile:
            return 0
        if not results:
            print("No database could be benchmarked.", file=sys.stderr)
            return 1
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        workers = results[0]["scale"]["gunicorn_workers"]
        machine["HTTP server"] = (
            f"gunicorn, {workers} gthread workers x 1 thread, on 127.0.0.1, same machine"
        )
        raw = {"results": results, "machine": machine, "command": command}
        name = "-".join(dbs) + ("-quick" if args.quick else "")
        (ARTIFACTS / f"results-{name}.json").write_text(json.dumps(raw, indent=1))
    args.out.mkdir(parents=True, exist_ok=True)
    image = args.out / "img" / "benchmarks.png"
    report.chart(results, image)
    findings = FINDINGS.read_text() if FINDINGS.exists() and not args.quick else None
    page = report.markdown(results, machine, command, "img/benchmarks.png", findings)
    (args.out / "benchmarks.md").write_text(page)
    missed = [
        f"{r['db']}: {g['target']['text']} (ratio "
        f"{next(x['ratio'] for x in g['rows'] if x['name'] == g['target']['variant']):.3f})"
        for r in results
        for g in r["groups"]
        if g.get("target_met") is False
    ]
    print(f"\nWrote {args.out / 'benchmarks.md'} and {image}")
    if missed:
        why = " (--quick: too few iterations for the ratios to mean anything)" if args.quick else ""
        print(f"Targets missed in this run{why}:\n  " + "\n  ".join(missed))
    return 0


if __name__ == "__main__":
    sys.exit(main())
