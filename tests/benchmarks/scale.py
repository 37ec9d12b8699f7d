"""How much work each benchmark does: the full run, and the ``--quick`` smoke run."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Scale:
    rounds: int  # timed rounds per group (after one warm-up round)
    iterations: int  # calls per case per round
    bulk_rows: int  # rows per bulk_update call
    bulk_rounds: int
    drf_iterations: int
    growth_small: int
    growth_large: int
    growth_sample: int  # distinct random rows written per table
    http_seconds: int  # wrk duration per case per round
    http_rounds: int
    http_connections: int
    contention_threads: int
    contention_requests: int  # per thread
    gunicorn_workers: int
    processes: int  # fresh processes per suite, each making its share of the rounds


FULL = Scale(
    rounds=25,
    iterations=60,
    bulk_rows=10_000,
    bulk_rounds=9,
    drf_iterations=40,
    growth_small=1_000,
    growth_large=1_000_000,
    growth_sample=200,
    http_seconds=4,
    http_rounds=5,
    http_connections=4,
    contention_threads=4,
    contention_requests=250,
    gunicorn_workers=2,
    processes=5,
)

QUICK = Scale(
    rounds=3,
    iterations=10,
    bulk_rows=300,
    bulk_rounds=2,
    drf_iterations=5,
    growth_small=1_000,
    growth_large=5_000,
    growth_sample=20,
    http_seconds=1,
    http_rounds=1,
    http_connections=2,
    contention_threads=2,
    contention_requests=20,
    gunicorn_workers=2,
    processes=1,
)
