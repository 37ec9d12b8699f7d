"""Machine instructions per DRF GET + PATCH, counted by callgrind: a figure that holds still.

Timed ratios of a few percent move by ±2% between runs on a shared machine; callgrind
counts the instructions the CPU executes, C code included (header checks, dict look-ups,
raised exceptions), and gives the same count for the same run twice. Each case runs in
its own process under ``valgrind --tool=callgrind``, once with ``--requests`` GET +
PATCH pairs after the warm-up and once with none; the difference divided by the number
of pairs is the cost of one pair. Run from the repository root, with the benchmark
environment (``python3 tests/benchmarks/run.py`` creates it) and valgrind installed
(``apt-get install valgrind``)::

    .venv-bench/bin/python -m tests.benchmarks.instructions [--requests 600]

It uses the benchmarks' settings and viewsets on a SQLite file in a temporary
directory. The count includes what a timing does not show in proportion (a counted
instruction that misses the CPU's caches costs more), so it is a guide to the mixin's
own work, not a replacement for the timed report.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

CASES = {
    "plain": "plain ModelViewSet",
    "etag-lock": "ETagLockModelViewSet",
    "etag-lock-fetch-off": "the same, fetch off",
}
WARM_UP = 100


def run_pairs(key: str, requests: int) -> None:
    """In the traced process: warm ``key``'s viewset up, then make ``requests`` pairs."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.benchmarks.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, run_syncdb=True)
    from django.conf import settings

    from tests.benchmarks.drf import Client

    # The mixin's own work without the compiled fetch (ETAG_LOCK_COMPILED_FETCH = False).
    settings.ETAG_LOCK_COMPILED_FETCH = key != "etag-lock-fetch-off"
    client = Client(key)
    for i in range(WARM_UP + requests):
        response = client.get()
        assert response.status_code == 200, response.content
        response = client.patch(i, response.headers.get("ETag", '"none"'))
        assert response.status_code == 200, response.content


def count(key: str, requests: int, directory: Path) -> int:
    """Instructions callgrind counted for the whole process."""
    database = directory / f"{key}-{requests}.sqlite3"
    env = {
        **os.environ,
        "BENCH_DATABASE_URL": f"sqlite:///{database}",
        "PYTHONHASHSEED": "0",
        "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
    }
    command = [
        "valgrind",
        "--tool=callgrind",
        "--callgrind-out-file=/dev/null",
        sys.executable,
        "-m",
        "tests.benchmarks.instructions",
        "--run",
        key,
        str(requests),
    ]
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    found = re.search(r"Collected : (\d+)", result.stderr)
    if result.returncode != 0 or found is None:
        raise SystemExit(f"callgrind run of {key} failed:\n{result.stderr[-2000:]}")
    return int(found.group(1))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=600, help="GET + PATCH pairs counted")
    parser.add_argument("--run", nargs=2, metavar=("KEY", "REQUESTS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run:
        run_pairs(args.run[0], int(args.run[1]))
        return 0
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed: apt-get install valgrind")
    per_pair = {}
    with tempfile.TemporaryDirectory() as tmp:
        for key in CASES:
            full = count(key, args.requests, Path(tmp))
            empty = count(key, 0, Path(tmp))
            per_pair[key] = (full - empty) / args.requests
    plain = per_pair["plain"]
    for key, name in CASES.items():
        print(
            f"{name:<24} {per_pair[key]:12,.0f} instructions per GET + PATCH"
            f"  ({per_pair[key] / plain - 1:+.2%})"
        )
    for key in ("etag-lock", "etag-lock-fetch-off"):
        print(
            f"throughput ratio if time followed instructions ({CASES[key]}): "
            f"x{plain / per_pair[key]:.3f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
