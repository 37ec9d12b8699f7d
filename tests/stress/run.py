"""Stress the demo API under gunicorn on PostgreSQL and MariaDB, then check every invariant.

    python tests/stress/run.py --db all --faults          # CI size: about a minute per database
    python tests/stress/run.py --db all --faults --rounds 8 --clients 16 --seconds 20

Per database: create the database ``--db-name``, migrate and seed it through the ORM, start
gunicorn (``--workers`` x ``--threads``) on 127.0.0.1, run ``--rounds`` rounds of racing
and mixed writers, optionally a fault phase (killed backends, restarted workers) followed
by a probe and a clean round, read the rows back, check (tests/stress/invariants.py),
optionally run schemathesis against /api/schema/, and stop gunicorn. Prints a summary table;
exits 1 if any invariant broke, 2 if the harness itself could not run.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # run as a script: make ``tests.stress`` importable
    sys.path.insert(0, str(ROOT))

import requests  # noqa: E402

from tests.stress.databases import TARGETS, Target  # noqa: E402
from tests.stress.errorlog import read_server_errors  # noqa: E402
from tests.stress.faults import FaultInjector, FaultLog  # noqa: E402
from tests.stress.invariants import Outcome, Window, check, self_check, summarize  # noqa: E402
from tests.stress.pgbouncer import PgBouncer  # noqa: E402
from tests.stress.server import Gunicorn, django_env, free_port  # noqa: E402
from tests.stress.workload import Client, Recorder, RowPool, mixed_phase, race_phase  # noqa: E402


@dataclass
class Report:
    database: str
    server: str
    outcome: Outcome
    seconds: float
    load_seconds: float
    faults: FaultLog | None
    respawned: bool | None
    schema: str | None
    bouncer: dict[str, int] | None = None


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", choices=["postgres", "mariadb", "all"], default="all")
    parser.add_argument("--rounds", type=int, default=2, help="rounds of races + mixed writes")
    parser.add_argument("--races", type=int, default=15, help="races per round")
    parser.add_argument("--clients", type=int, default=8, help="client threads")
    parser.add_argument("--hot-rows", type=int, default=3, help="rows written at once")
    parser.add_argument("--seconds", type=float, default=8.0, help="mixed phase per round")
    parser.add_argument(
        "--delete-share",
        type=float,
        default=0.1,
        help="share of DELETEs among race writes (a tenth of it in mixed phases)",
    )
    parser.add_argument(
        "--faults", action="store_true", help="add a fault phase, a probe and a clean round"
    )
    parser.add_argument("--fault-seconds", type=float, default=8.0)
    parser.add_argument("--workers", type=int, default=3, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=4, help="threads per gunicorn worker")
    parser.add_argument(
        "--schemathesis",
        action="store_true",
        help="after the check, run schemathesis against /api/schema/",
    )
    parser.add_argument("--schemathesis-examples", type=int, default=50)
    parser.add_argument(
        "--schemathesis-strict",
        action="store_true",
        help="also fail on status codes / content types the schema does not document",
    )
    parser.add_argument(
        "--db-name", default="etag_stress", help="database created (and dropped) on each server"
    )
    parser.add_argument(
        "--postgres-url",
        default=None,
        help="server to use (default $STRESS_POSTGRES_URL or postgres://postgres@127.0.0.1:5432/postgres)",
    )
    parser.add_argument(
        "--mariadb-url",
        default=None,
        help="server to use (default $STRESS_MARIADB_URL or mysql://root@127.0.0.1:3306/mysql)",
    )
    parser.add_argument(
        "--max-seconds",
        type=float,
        default=600.0,
        help="hard time budget per database; exceeding it fails the run",
    )
    parser.add_argument(
        "--sabotage",
        action="store_true",
        help="serve with the version check switched off: proves the checker fails the run",
    )
    parser.add_argument(
        "--isolation",
        choices=["read committed", "repeatable read", "serializable"],
        default=None,
        help="isolation level of every database session (default: the server's)",
    )
    parser.add_argument(
        "--atomic-requests", action="store_true", help="serve with ATOMIC_REQUESTS = True"
    )
    parser.add_argument(
        "--pgbouncer",
        action="store_true",
        help="PostgreSQL only: serve through PgBouncer in transaction pooling mode",
    )
    parser.add_argument("--pgbouncer-port", type=int, default=0, help="default: a free port")
    parser.add_argument("--pgbouncer-pool", type=int, default=4, help="server connections")
    parser.add_argument("--keep-db", action="store_true", help="leave the stress database behind")
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    parser.add_argument("--seed", type=int, default=1, help="random seed of the clients")
    return parser.parse_args(argv)


def prepare(target: Target, rows: int) -> list[tuple[int, str]]:
    target.recreate()
    done = subprocess.run(
        [sys.executable, "-m", "tests.stress.prepare", "--rows", str(rows)],
        cwd=ROOT,
        env=django_env(target.database_url),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if done.returncode:
        raise RuntimeError(f"migrate/seed failed on {target.name}:\n{done.stderr[-2000:]}")
    pks: list[int] = json.loads(done.stdout.strip().splitlines()[-1])
    return [(pk, f"S{index:05d}") for index, pk in enumerate(pks)]


def probe(server: Gunicorn, client: Client, pk: int) -> str | None:
    """After the faults: every worker is back and a GET + conditional PATCH succeed."""
    try:
        server.wait_ready(timeout=60)
    except RuntimeError as error:
        return f"the server does not serve again after the faults: {error}"
    client.phase = "probe"
    fetched = client.get(pk)
    if fetched.status != 200 or not fetched.etag:
        return f"probe GET after the faults answered {fetched.status} ({fetched.error})"
    written = client.write("PATCH", pk, fetched.etag)
    if written.status != 200:
        return f"probe PATCH after the faults answered {written.status} ({written.error})"
    return None


def run_database(target: Target, args: argparse.Namespace, workdir: Path) -> Report:
    began = time.monotonic()
    deadline = began + args.max_seconds
    phases = args.rounds + (2 if args.faults else 0)
    # Each phase gets its own rows, enough even if every race deleted every hot row.
    per_phase = args.hot_rows * (args.races + 2) + 100
    seeded = prepare(target, rows=phases * per_phase + 1)
    if args.isolation:
        target.set_isolation(args.isolation)
    customer_ids = dict(seeded)
    error_log = workdir / f"{target.name}-errors.jsonl"
    bouncer: PgBouncer | None = None
    served_url = target.database_url
    if args.pgbouncer:
        port = args.pgbouncer_port or free_port()
        bouncer = PgBouncer(target.server, target.db_name, port, args.pgbouncer_pool)
        bouncer.start()
        served_url = bouncer.database_url
    bouncer_figures: dict[str, int] | None = None
    server = Gunicorn(
        served_url,
        workers=args.workers,
        threads=args.threads,
        error_log=error_log,
        access_log=workdir / f"{target.name}-access.log",
        sabotage=args.sabotage,
        lifetime=args.max_seconds + 300,
    )
    recorder = Recorder()
    faults: FaultLog | None = None
    respawned: bool | None = None
    windows: list[Window] = []
    schema: str | None = None
    problems: list[str] = []
    load_started = load_ended = time.monotonic()
    try:
        server.start()
        start_rows = target.rows()
        # The probe row is kept out of the workload, so the probe cannot meet a deletion.
        probe_pk = seeded[-1][0]
        supplies = iter(
            [pk for pk, _ in seeded[n * per_phase : (n + 1) * per_phase]] for n in range(phases)
        )
        pools: list[tuple[str, RowPool]] = []

        def new_pool(label: str) -> RowPool:
            pool = RowPool(iter(next(supplies)), args.hot_rows)
            pools.append((label, pool))
            return pool

        clients = [
            Client(n, server.base_url, customer_ids, recorder, seed=args.seed * 1000 + n)
            for n in range(args.clients)
        ]
        mixed_deletes = args.delete_share / 10

        def out_of_time() -> bool:
            return STOP.is_set() or time.monotonic() > deadline

        def run_round(label: str, seconds: float) -> None:
            for client in clients:
                client.phase = f"{label} race"
            pool = new_pool(label)
            race_phase(
                clients, pool, args.races, delete_share=args.delete_share, should_stop=out_of_time
            )
            for client in clients:
                client.phase = f"{label} mixed"
            mixed_phase(clients, pool, seconds, delete_share=mixed_deletes, should_stop=out_of_time)

        load_started = time.monotonic()
        for number in range(1, args.rounds + 1):
            run_round(f"round {number}", args.seconds)
            print(
                f"  {target.name}: round {number}/{args.rounds} done, "
                f"{len(recorder.records)} requests",
                flush=True,
            )
        if args.faults:
            for client in clients:
                client.phase = "faults"
            injector = FaultInjector(target, server, args.fault_seconds)
            fault_started = time.monotonic()
            injector.start()
            try:
                mixed_phase(
                    clients,
                    new_pool("faults"),
                    args.fault_seconds,
                    delete_share=mixed_deletes,
                    should_stop=out_of_time,
                )
            finally:
                injector.stop()
                injector.join(timeout=30)
            faults = injector.log
            failed_probe = probe(server, clients[0], probe_pk)
            if failed_probe:
                problems.append(failed_probe)
            windows.append(Window(fault_started, time.monotonic()))
            respawned = len(server.worker_pids()) == args.workers and not (
                set(faults.workers_terminated + faults.workers_hung_up) & set(server.worker_pids())
            )
            print(
                f"  {target.name}: faults done ({faults.backends_killed} backends killed, "
                f"{len(faults.workers_terminated) + len(faults.workers_hung_up)} workers "
                f"restarted), server serves again",
                flush=True,
            )
            run_round("after faults", args.seconds)
        load_ended = time.monotonic()
        for client in clients:
            client.close()
        final_rows = target.rows()
        outcome = check(
            recorder.records,
            start_rows,
            final_rows,
            server_errors=read_server_errors(error_log),
            fault_windows=windows,
        )
        for label, pool in pools:
            if not pool.active:
                problems.append(f"{label}: every row was deleted; the phase ended early")
        for problem in problems:
            outcome.fail(problem)
        if out_of_time():
            outcome.fail(f"the run took longer than --max-seconds={args.max_seconds}")
        if respawned is False:
            outcome.fail("gunicorn did not replace the restarted workers")
        if faults is not None and faults.errors:
            outcome.fail(f"fault injection failed: {faults.errors[:3]}")
        if faults is not None and not (faults.backends_killed and faults.workers_hung_up):
            outcome.fail("the fault phase injected no fault (nothing to kill?)")
        if args.schemathesis:
            from tests.stress.schema_check import run_schemathesis

            schema, failures = run_schemathesis(
                server.base_url,
                args.schemathesis_examples,
                workdir,
                strict=args.schemathesis_strict,
            )
            for failure in failures:
                outcome.fail(f"schemathesis: {failure}")
        if bouncer is not None:
            bouncer_figures = bouncer.figures()
            if bouncer_figures["server_connections"] > args.pgbouncer_pool:
                outcome.fail(f"PgBouncer used more server connections: {bouncer_figures}")
    finally:
        server.stop()
        if bouncer is not None:
            bouncer.stop()
        if not args.keep_db:
            try:
                target.drop()
            except Exception as error:
                print(f"  could not drop {target.db_name} on {target.name}: {error}")
    return Report(
        target.name,
        target.server_version(),
        outcome,
        time.monotonic() - began,
        load_ended - load_started,
        faults,
        respawned,
        schema,
        bouncer_figures,
    )


def violation_kind(violation: str) -> str:
    """A broken invariant without its particulars (row, tags, ids, numbers)."""
    kind = re.sub(r"^.*?\(.*?request \w+\): ", "", violation)
    kind = re.sub(r"'[^']*'|\"[^\"]*\"|\[[^\]]*\]", "…", kind)
    return re.sub(r"\d+", "N", kind)


def describe(r: Report) -> str:
    """The figures below the summary table, for one database."""
    o = r.outcome
    rate = o.requests / max(r.load_seconds, 1)
    lines = [
        f"{r.database} ({r.server}):",
        f"  time: {r.seconds:.0f} s in all, {r.load_seconds:.0f} s of load, {rate:.0f} req/s, "
        f"p50 {o.p50_ms:.0f} ms, p99 {o.p99_ms:.0f} ms",
        f"  writes: {o.writes_2xx} successful on {o.rows_checked} rows ({o.rows_deleted} "
        f"deleted); {o.races} races of writers sharing one If-Match",
    ]
    if r.faults is not None:
        f = r.faults
        lines += [
            f"  faults: {f.backends_killed} database backends killed in {f.backend_kill_sweeps} "
            f"sweeps; gunicorn workers sent SIGTERM {len(f.workers_terminated)}, SIGHUP "
            f"{len(f.workers_hung_up)}; respawned: {'yes' if r.respawned else 'NO'}",
            f"  fault 5xx by server exception: {dict(o.fault_exceptions) or 'none'}; writes "
            f"committed although their client saw a 5xx or no answer: {o.unknown_applied}",
        ]
    lines.append(f"  412 by reason: {dict(o.reasons_412.most_common())}")
    if r.bouncer:
        b = r.bouncer
        lines.append(
            f"  pgbouncer (transaction pooling): {b['transactions']} transactions, "
            f"{b['queries']} queries over {b['server_connections']} server connections "
            f"(pool {b['pool_size']}); {b['client_connections']} client connections at the end"
        )
    if r.schema:
        lines.append(f"  schemathesis: {r.schema}")
    return "\n".join(lines)


STOP = threading.Event()


def _terminate(signum: int, frame: object) -> None:
    """SIGTERM (a CI timeout) unwinds like Ctrl-C: clients stop, gunicorn stops, the DB goes."""
    STOP.set()
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _terminate)
    missed = self_check()
    if missed:
        print("The invariant checker failed its self-check:\n  " + "\n  ".join(missed))
        return 2
    names = ["postgres", "mariadb"] if args.db == "all" else [args.db]
    if args.pgbouncer and names != ["postgres"]:
        print("--pgbouncer is for PostgreSQL: use it with --db postgres")
        return 2
    # Read by tests/stress/server_settings.py in every process the harness starts.
    if args.isolation:
        os.environ["STRESS_ISOLATION"] = args.isolation
    if args.atomic_requests:
        os.environ["STRESS_ATOMIC_REQUESTS"] = "1"
    if args.pgbouncer:
        os.environ["STRESS_PGBOUNCER"] = "1"
    urls = {"postgres": args.postgres_url, "mariadb": args.mariadb_url}
    reports: list[Report] = []
    with tempfile.TemporaryDirectory(prefix="etag-stress-") as tmp:
        for name in names:
            target = TARGETS[name](urls[name], args.db_name)
            print(
                f"== {target.describe()}: {args.rounds} round(s) x {args.races} races + "
                f"{args.seconds:g}s mixed, {args.clients} clients, {args.hot_rows} hot rows, "
                f"gunicorn {args.workers}x{args.threads}"
                f"{', faults' if args.faults else ''}"
                f"{', ' + args.isolation.upper() if args.isolation else ''}"
                f"{', ATOMIC_REQUESTS' if args.atomic_requests else ''}"
                f"{', through PgBouncer (transaction pooling)' if args.pgbouncer else ''}",
                flush=True,
            )
            try:
                reports.append(run_database(target, args, Path(tmp)))
            except (RuntimeError, OSError, requests.RequestException) as error:
                print(f"The harness could not run on {name}: {error}")
                return 2
    print()
    print(summarize((r.database, r.outcome) for r in reports))
    print()
    for r in reports:
        print(describe(r))
    broken = [(r.database, v) for r in reports for v in r.outcome.violations]
    if broken:
        print("\nBroken invariants by kind:")
        kinds = Counter((database, violation_kind(v)) for database, v in broken)
        for (database, kind), count in kinds.most_common(20):
            print(f"  {count:6d} [{database}] {kind}")
        print()
    for database, violation in itertools.islice(broken, 30):
        print(f"BROKEN [{database}] {violation}")
    if len(broken) > 30:
        print(f"... and {len(broken) - 30} more")
    if args.json:
        args.json.write_text(
            json.dumps(
                [
                    {
                        "database": r.database,
                        "server": r.server,
                        "seconds": round(r.seconds, 1),
                        **{k: v for k, v in vars(r.outcome).items() if k != "violations"},
                        "violations": r.outcome.violations,
                    }
                    for r in reports
                ],
                indent=2,
            )
        )
    print("\nALL INVARIANTS HELD" if not broken else f"\n{len(broken)} BROKEN INVARIANT(S)")
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
