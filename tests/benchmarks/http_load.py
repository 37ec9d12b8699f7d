"""Over HTTP: the benchmark project under gunicorn on 127.0.0.1, driven by wrk.

Throughput and latency of a PATCH loop (each connection edits its own row, sending
the ETag of its previous response as If-Match), for each viewset in turn, rounds
interleaved. Then contention: threads GET and PATCH one row at the same time, and
the latency of a 412 is compared with that of a successful write.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from django.db import connections

from tests.benchmarks.benchapp.api import VIEWSETS
from tests.benchmarks.benchapp.models import Item, PlainItem
from tests.benchmarks.harness import Group, Row, Target, format_group
from tests.benchmarks.scale import Scale

REPO = Path(__file__).resolve().parents[2]
LUA = Path(__file__).with_name("wrk_patch.lua")
HTTP_CASES = [
    ("plain", "plain ModelViewSet", "baseline"),
    ("etag-lock", "ETagLockModelViewSet", "variant"),
    ("drf-extensions", "drf-extensions APIETAGMixin", "anchor"),
    ("plain-unversioned", "plain ModelViewSet, unversioned model", "reference"),
    (
        "etag-lock-no-atomic",
        "ETagLockModelViewSet, etag_lock_atomic_writes = False",
        "reference",
    ),
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def gunicorn(workers: int) -> Iterator[int]:
    """The benchmark project under gunicorn on 127.0.0.1; stopped on exit, whatever happens."""
    connections.close_all()
    port = _free_port()
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "tests.benchmarks.wsgi:application",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--worker-class",
        "gthread",
        "--threads",
        "1",
        "--keep-alive",
        "30",
        "--log-level",
        "warning",
    ]
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.benchmarks.settings"}
    server = subprocess.Popen(command, cwd=REPO, env=env)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/ready/", timeout=2):
                    break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("gunicorn did not start; see its log above") from None
                time.sleep(0.2)
        yield port
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=5)


def _run_wrk(port: int, prefix: str, pks: list[int], seconds: int) -> dict[str, float]:
    count = len(pks)
    command = [
        "wrk",
        f"-t{count}",
        f"-c{count}",
        f"-d{seconds}s",
        "--timeout",
        "10s",
        "-s",
        str(LUA),
        f"http://127.0.0.1:{port}",
        "--",
        prefix,
        ",".join(str(pk) for pk in pks),
    ]
    output = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60)
    line = next((x for x in output.stdout.splitlines() if x.startswith("BENCH ")), None)
    if output.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({output.returncode}): {output.stdout}{output.stderr}")
    values = {k: float(v) for k, v in re.findall(r"(\w+)=([\d.]+)", line)}
    requests = values["requests"]
    ok = values.get("status_200", 0.0)
    values["rps"] = requests / (values["duration_us"] / 1e6)
    values["non_200"] = requests - ok + values["socket_errors"]
    return values


def bench_throughput(scale: Scale, port: int, rows: dict[str, list[int]]) -> Group:
    cases = [c for c in HTTP_CASES if c[0] in VIEWSETS]
    runs: dict[str, list[dict[str, float]]] = {key: [] for key, _, _ in cases}
    for key, _, _ in cases:  # warm-up: every worker imports and connects
        _run_wrk(port, key, rows[key], 1)
    for number in range(scale.http_rounds):
        order = cases if number % 2 == 0 else list(reversed(cases))
        for key, _, _ in order:
            runs[key].append(_run_wrk(port, key, rows[key], scale.http_seconds))
    base_ns = statistics.median(1e9 / r["rps"] for r in runs[cases[0][0]])
    result_rows = []
    extra: dict[str, Any] = {}
    for key, name, role in cases:
        per_request = [1e9 / r["rps"] for r in runs[key]]
        median = statistics.median(per_request)
        result_rows.append(
            Row(
                name,
                role,
                median,
                min(per_request),
                max(per_request),
                base_ns / median,
                per_request,
            )
        )
        extra[name] = {
            "rps": statistics.median(r["rps"] for r in runs[key]),
            "p50_us": statistics.median(r["p50_us"] for r in runs[key]),
            "p95_us": statistics.median(r["p95_us"] for r in runs[key]),
            "p99_us": statistics.median(r["p99_us"] for r in runs[key]),
            "requests": sum(r["requests"] for r in runs[key]),
            "non_200": sum(r["non_200"] for r in runs[key]),
        }
    group = Group(
        "http-patch",
        "HTTP: PATCH with If-Match loop under gunicorn (wrk)",
        scale.http_rounds,
        scale.http_seconds,
        result_rows,
        Target("ETagLockModelViewSet", 0.95, "ETag-locked PATCH >= 0.95x plain ModelViewSet")
        if "etag-lock" in VIEWSETS
        else None,
        notes=(
            f"{len(rows[cases[0][0]])} connections (one wrk thread each, one row each), "
            f"{scale.http_seconds} s per case per round; the time is 1 / throughput; the "
            "baseline is the plain ModelViewSet on the same (versioned) model."
        ),
        extra=extra,
    )
    print(format_group(group), flush=True)
    for name, data in extra.items():
        if isinstance(data, dict):
            print(
                f"   {name:<40} {data['rps']:8.0f} req/s  p50 {data['p50_us'] / 1000:.2f} ms"
                f"  p95 {data['p95_us'] / 1000:.2f} ms  non-200 {data['non_200']:.0f}",
                flush=True,
            )
    return group


def _contend(port: int, pk: int, requests: int, results: list[tuple[str, int, int]]) -> None:
    """GET then PATCH with the ETag just read, ``requests`` times; record the PATCHes."""
    path = f"/etag-lock/{pk}/"
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        for n in range(requests):
            conn.request("GET", path)
            response = conn.getresponse()
            response.read()
            tag = response.getheader("ETag") or '"none"'
            body = f'{{"pages": {n}}}'
            headers = {"Content-Type": "application/json", "If-Match": tag}
            start = time.perf_counter_ns()
            conn.request("PATCH", path, body=body, headers=headers)
            response = conn.getresponse()
            payload = response.read()
            elapsed = time.perf_counter_ns() - start
            label = str(response.status)
            if response.status == 412:
                label += " " + str(json.loads(payload).get("reason", "?"))
            timing = re.search(r"dur=([\d.]+)", response.getheader("Server-Timing") or "")
            server = int(float(timing.group(1)) * 1e6) if timing else 0
            results.append((label, elapsed, server))
    finally:
        conn.close()


def bench_contention(scale: Scale, port: int, pk: int) -> list[Group]:
    results: list[tuple[str, int, int]] = []
    workers = [
        threading.Thread(target=_contend, args=(port, pk, scale.contention_requests, results))
        for _ in range(scale.contention_threads)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=600)
    counts: dict[str, int] = {}
    for label, _, _ in results:
        counts[label] = counts.get(label, 0) + 1
    counts = dict(sorted(counts.items()))
    if "200" not in counts or not any(label.startswith("412") for label in counts):
        raise RuntimeError(f"contention produced no mix of 200 and 412: {counts}")
    reasons = {
        "if-match-failed": "PATCH 412 at the precondition (if-match-failed)",
        "concurrent-write": "PATCH 412 after a race lost at the UPDATE (concurrent-write)",
    }
    selections: list[tuple[str, str, Callable[[str], bool]]] = [
        ("PATCH 200 (won)", "baseline", lambda label: label == "200"),
        ("PATCH 412, all (lost)", "variant", lambda label: label.startswith("412")),
    ]
    for label in counts:
        if label.startswith("412 "):
            name = reasons.get(label[4:], f"PATCH 412 ({label[4:]})")
            selections.append((name, "reference", lambda x, label=label: x == label))
    notes = (
        f"{scale.contention_threads} client threads GET then PATCH the same row "
        f"{scale.contention_requests} times each, through "
        f"{scale.gunicorn_workers} workers. "
    )
    groups = []
    for key, title, index, note in (
        (
            "http-412",
            "HTTP: contention on one row, server time of a 412 vs a 200",
            2,
            "Time the worker spent on the PATCH (Server-Timing, first middleware).",
        ),
        (
            "http-412-client",
            "HTTP: contention on one row, client latency of a 412 vs a 200",
            1,
            "Latency as the client sees it: includes the wait in gunicorn's queue, "
            "typically behind the very write that makes the request lose.",
        ),
    ):
        rows: list[Row] = []
        extra: dict[str, Any] = {"counts": counts}
        base = 0.0
        for name, role, wanted in selections:
            ordered = sorted(float(r[index]) for r in results if wanted(r[0]))
            median = statistics.median(ordered)
            base = base or median
            quartiles = statistics.quantiles(ordered, n=4) if len(ordered) > 1 else ordered * 3
            rows.append(Row(name, role, median, quartiles[0], quartiles[2], base / median, []))
            extra[name] = {
                "p50_us": median / 1000,
                "p95_us": ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))] / 1000,
                "requests": len(ordered),
            }
        target = (
            Target("PATCH 412, all (lost)", 1.0, "a 412 costs no more than a successful PATCH")
            if key == "http-412"
            else None
        )
        group = Group(key, title, 1, len(results), rows, target, notes + note, extra)
        print(format_group(group), f"\n   statuses: {counts}", flush=True)
        groups.append(group)
    return groups


def bench_http(scale: Scale) -> list[Group] | None:
    if shutil.which("wrk") is None:
        print("== HTTP: wrk is not installed (apt-get install -y wrk); skipped", flush=True)
        return None
    rows: dict[str, list[int]] = {}
    for key, _, _ in HTTP_CASES:
        model = PlainItem if key in ("plain-unversioned", "drf-extensions") else Item
        rows[key] = [
            model._default_manager.create(title=f"http {key} {n}").pk
            for n in range(scale.http_connections)
        ]
    contended = Item.objects.create(title="contended").pk
    with gunicorn(scale.gunicorn_workers) as port:
        groups = [bench_throughput(scale, port, rows)]
        if "etag-lock" in VIEWSETS:
            groups += bench_contention(scale, port, contended)
    return groups
