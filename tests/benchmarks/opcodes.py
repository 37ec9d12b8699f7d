"""Bytecode instructions per DRF GET + PATCH: the mixin's own work, counted, not timed.

Timed ratios of a few percent move by about ±0.5% between processes (code layout, hash
seeds); the number of bytecode instructions a request executes does not. Run from the
repository root, with the benchmark environment (``python3 tests/benchmarks/run.py``
creates it)::

    .venv-bench/bin/python -m tests.benchmarks.opcodes [--top 25]

It uses the benchmarks' settings and viewsets (``BENCH_DATABASE_URL``, SQLite by
default), warms both viewsets up, then traces ``--requests`` GET + PATCH pairs of plain
DRF and of ``ETagLockModelViewSet`` with ``sys.settrace`` and prints the instructions per
pair and the functions that account for the difference.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections import Counter
from types import FrameType
from typing import Any


def count(client: Any, requests: int) -> Counter[str]:
    """Instructions executed per GET + PATCH pair, by function."""
    per_function: Counter[str] = Counter()

    def tracer(frame: FrameType, event: str, arg: Any) -> Any:
        frame.f_trace_opcodes = True
        if event == "opcode":
            code = frame.f_code
            name = code.co_filename.split("site-packages/")[-1]
            per_function[f"{name}:{code.co_name}"] += 1
        return tracer

    sys.settrace(tracer)
    try:
        for i in range(requests):
            tag = client.get().headers.get("ETag", '"none"')
            client.patch(i, tag)
    finally:
        sys.settrace(None)
    return Counter({name: n // requests for name, n in per_function.items()})


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20, help="GET + PATCH pairs traced")
    parser.add_argument("--top", type=int, default=25, help="functions listed")
    args = parser.parse_args()

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.benchmarks.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, run_syncdb=True)
    from django.test.utils import override_settings

    from tests.benchmarks.drf import Client

    counts = {}
    for key in ("plain", "etag-lock", "etag-lock-fetch-off"):
        # The mixin's own work, without the compiled fetch that replaces DRF's.
        with override_settings(ETAG_LOCK_COMPILED_FETCH=key != "etag-lock-fetch-off"):
            client = Client(key)
            for i in range(50):  # warm up: caches, compiled statements, specialisation
                client.patch(i, client.get().headers.get("ETag", '"none"'))
            counts[key] = count(client, args.requests)
    plain, locked, off = (
        sum(counts[key].values()) for key in ("plain", "etag-lock", "etag-lock-fetch-off")
    )
    print(f"plain ModelViewSet:    {plain:8,} bytecodes per GET + PATCH")
    print(f"ETagLockModelViewSet:  {locked:8,} ({(locked - plain) / plain:+.1%})")
    print(f"  with the fetch off:  {off:8,} ({(off - plain) / plain:+.1%})")
    names = set(counts["plain"]) | set(counts["etag-lock-fetch-off"])
    diff = sorted(
        ((counts["etag-lock-fetch-off"][name] - counts["plain"][name], name) for name in names),
        reverse=True,
    )
    print(f"\nwhere the difference with the fetch off lies (top {args.top}):")
    for extra, name in diff[: args.top]:
        print(f"{extra:+7,}  {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
