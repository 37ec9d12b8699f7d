"""Turn the workers' JSON results into docs/benchmarks.md and a PNG chart of the ratios."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

SHORT = {
    "orm-save": "ORM save()",
    "orm-save-atomic": "ORM save() in a transaction",
    "orm-save-1": "ORM save(), 1 column",
    "orm-save-20": "ORM save(), 20 columns",
    "orm-delete": "ORM delete()",
    "orm-cas": "ORM queryset update",
    "orm-bulk-update": "ORM bulk_update()",
    "orm-touch": "ORM child save() touching its parent",
    "orm-touch-atomic": "ORM child save() touching its parent, in atomic()",
    "orm-growth": "ORM write vs table size",
    "drf-get": "DRF GET",
    "drf-get-patch": "DRF GET + PATCH",
    "drf-get-patch-atomic-requests": "DRF GET + PATCH, ATOMIC_REQUESTS",
    "drf-patch": "DRF PATCH",
    "drf-412": "DRF PATCH 412/428 vs 200",
    "http-patch": "HTTP PATCH loop",
    "http-412": "HTTP 412 vs 200 under contention, server time",
    "http-412-client": "HTTP 412 vs 200 under contention, client latency",
}
DB_LABELS = {"sqlite": "SQLite", "postgres": "PostgreSQL", "mariadb": "MariaDB"}
COLORS = {"sqlite": "#4c72b0", "postgres": "#55a868", "mariadb": "#c44e52"}


def _duration(ns: float) -> str:
    us = ns / 1000
    if us >= 10_000:
        return f"{us / 1000:,.1f} ms"
    return f"{us:,.1f} µs"


def _comparisons(results: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    """(group key, row name, label) for every non-baseline row, in first-seen order."""
    seen: list[tuple[str, str, str]] = []
    for result in results:
        for group in result["groups"]:
            for row in group["rows"]:
                if row["role"] == "baseline":
                    continue
                key = (group["key"], row["name"])
                if key not in [(k, n) for k, n, _ in seen]:
                    seen.append((*key, f"{SHORT.get(group['key'], group['key'])}: {row['name']}"))
    return seen


def _find(result: dict[str, Any], key: str) -> dict[str, Any] | None:
    return next((g for g in result["groups"] if g["key"] == key), None)


def _row(group: dict[str, Any], name: str) -> dict[str, Any] | None:
    return next((r for r in group["rows"] if r["name"] == name), None)


def _baseline(group: dict[str, Any], name: str | None = None) -> str:
    """What row ``name``'s ratio divides by: its own baseline, else the group's."""
    row = _row(group, name) if name is not None else None
    if row is not None and row.get("baseline_name"):
        return str(row["baseline_name"])
    return str(next(r["name"] for r in group["rows"] if r["role"] == "baseline"))


def chart(results: list[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    comparisons = _comparisons(results)
    every: list[float] = []
    height = 0.8 / max(1, len(results))
    fig, ax = plt.subplots(figsize=(11, 0.55 * len(comparisons) + 1.8))
    for index, result in enumerate(results):
        ys, ratios = [], []
        for position, (key, name, _) in enumerate(comparisons):
            group = _find(result, key)
            row = _row(group, name) if group else None
            if row is not None:
                ys.append(position + (index - (len(results) - 1) / 2) * height)
                ratios.append(row["ratio"])
        db = result["db"]
        ax.barh(ys, ratios, height=height * 0.95, color=COLORS.get(db), label=DB_LABELS.get(db, db))
        for y, ratio in zip(ys, ratios, strict=True):
            ax.text(min(ratio, 8.5) * 1.01, y, f"{ratio:.2f}", va="center", fontsize=6)
        every.extend(ratios)
    for position, (key, name, _) in enumerate(comparisons):
        for result in results:
            group = _find(result, key)
            target = group.get("target") if group else None
            if target and target["variant"] == name:
                ax.plot(
                    [target["min_ratio"]] * 2,
                    [position - 0.45, position + 0.45],
                    color="black",
                    linestyle=":",
                    linewidth=1.2,
                )
                break
    ax.axvline(1.0, color="black", linewidth=0.8)
    ax.set_xscale("log", base=2)
    # Capped: the bare-driver ceiling on SQLite is tens of times plain save(); its label
    # still gives the figure.
    low, high = min([0.5, *every]) * 0.9, min(max([2.0, *every]) * 1.15, 9.0)
    ax.set_xlim(low, high)
    ticks = [t for t in (0.125, 0.25, 0.5, 0.8, 1, 1.25, 2, 4, 8) if low <= t <= high]
    ax.set_xticks(ticks, [f"{t:g}x" for t in ticks])
    ax.set_yticks(range(len(comparisons)), [label for _, _, label in comparisons], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("throughput ratio to the baseline (median; > 1 is faster; dotted: target)")
    ax.set_title("django-etag-lock: each variant vs its baseline, same run")
    ax.legend(loc="lower right")
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _group_table(group: dict[str, Any]) -> list[str]:
    http = group["key"].startswith("http")
    lines = [f"**{group['title']}** — {group['rounds']} rounds x {group['iterations']}"]
    if group.get("notes"):
        lines[0] += f". {group['notes']}"
    load = group.get("extra", {}).get("load_1min")
    if load is not None:
        lines[0] += f" Load average (1 min) at its end: {load}."
    lines.append("")
    if http:
        lines.append("| case | role | time/request | p50 | p95 | throughput | ratio |")
        lines.append("| --- | --- | ---: | ---: | ---: | ---: | ---: |")
    else:
        lines.append("| case | role | median | p25-p75 | throughput ratio |")
        lines.append("| --- | --- | ---: | ---: | ---: |")
    for row in group["rows"]:
        ratio = f"{row['ratio']:.3f}x"
        if http:
            extra = group["extra"].get(row["name"], {})
            rps = f"{extra['rps']:,.0f} req/s" if "rps" in extra else "—"
            p50 = f"{extra['p50_us'] / 1000:.2f} ms" if "p50_us" in extra else "—"
            p95 = f"{extra['p95_us'] / 1000:.2f} ms" if "p95_us" in extra else "—"
            lines.append(
                f"| {row['name']} | {row['role']} | {_duration(row['median_ns'])} "
                f"| {p50} | {p95} | {rps} | {ratio} |"
            )
        else:
            lines.append(
                f"| {row['name']} | {row['role']} | {_duration(row['median_ns'])} "
                f"| {_duration(row['p25_ns'])} - {_duration(row['p75_ns'])} | {ratio} |"
            )
    per_process = group.get("extra", {}).get("process_ratios")
    if per_process:
        shown = [row["name"] for row in group["rows"] if row["role"] in ("variant", "anchor")]
        processes = group["extra"]["processes"]
        lines.append("")
        lines.append(
            f"Pooled over {processes} fresh processes of {group['rounds'] // processes} "
            "rounds each; the ratio within each process: "
            + "; ".join(
                f"{name} " + ", ".join(f"{r:.3f}x" for r in per_process[name]) for name in shown
            )
            + "."
        )
    if group["key"] == "http-patch":
        bad = {n: e["non_200"] for n, e in group["extra"].items() if e.get("non_200")}
        lines.append("")
        lines.append(
            f"Non-200 responses: {bad}." if bad else "Every request of the loop answered 200."
        )
    if group["key"].startswith("http-412"):
        lines.append("")
        lines.append(f"Statuses seen: {group['extra']['counts']}.")
    if group.get("target"):
        verdict = "met" if group["target_met"] else "**missed**"
        lines.append("")
        lines.append(f"Target: {group['target']['text']} — {verdict}.")
    lines.append("")
    return lines


_PLACEHOLDER = re.compile(r"\{(ratio|time|p50|p95|count|processes):([\w-]+):(\w+):([^}]+)\}")


def fill(text: str, results: list[dict[str, Any]]) -> str:
    """Replace ``{ratio:group:db:row}`` (or time/p50/p95/count) with this run's figure.

    ``{processes:group:db:row}`` is the row's ratio within each process of a pooled group.
    """

    def value(match: re.Match[str]) -> str:
        kind, key, db, name = match.groups()
        result = next((r for r in results if r["db"] == db), None)
        group = _find(result, key) if result else None
        if group is None:
            return "n/a"
        if kind == "count":
            return str(group["extra"].get("counts", {}).get(name, 0))
        if kind == "processes":
            ratios = group["extra"].get("process_ratios", {}).get(name)
            return ", ".join(f"{r:.3f}x" for r in ratios) if ratios else "n/a"
        row = _row(group, name)
        if row is None:
            return "n/a"
        if kind == "ratio":
            return f"{row['ratio']:.2f}x"
        if kind == "time":
            return _duration(row["median_ns"])
        extra = group["extra"].get(name, {})
        figure = extra.get(f"{kind}_us")
        return f"{figure / 1000:.1f} ms" if figure is not None else "n/a"

    return _PLACEHOLDER.sub(value, text)


def markdown(
    results: list[dict[str, Any]],
    machine: dict[str, Any],
    command: str,
    image: str,
    findings: str | None,
) -> str:
    dbs = [r["db"] for r in results]
    heads = " | ".join(DB_LABELS.get(db, db) for db in dbs)
    out = [
        "# Benchmarks",
        "",
        "What versioning costs: each variant is timed against its baseline **in the same "
        "process run, interleaved call by call** (forward order on even rounds, reverse on "
        "odd ones, so load and drift of the machine land on both), and reported as the "
        "median time of the rounds "
        "and the **throughput ratio**: the median over rounds of `baseline / variant` timed "
        "in the same round. Above 1 is faster than the baseline, 0.95 means 5% slower.",
        "",
        "This page is written by the benchmark runner; do not edit it by hand.",
        "",
        "## How to reproduce",
        "",
        "From the repository root (creates `.venv-bench/` with the `test` and `bench` extras "
        "on first use, installs `wrk` with apt-get if it is missing, creates and drops the "
        "databases `bench` on the PostgreSQL and MariaDB servers):",
        "",
        "```sh",
        "python3 tests/benchmarks/run.py                 # full run, every database (~25 min)",
        "python3 tests/benchmarks/run.py --db sqlite     # one database",
        "python3 tests/benchmarks/run.py --quick --db sqlite  # smoke run (CI), < 60 s",
        "python3 tests/benchmarks/run.py --db sqlite --profile orm-save  # pyinstrument",
        ".venv-bench/bin/python -m tests.benchmarks.opcodes  # DRF bytecodes, by function",
        ".venv-bench/bin/python -m tests.benchmarks.instructions  # DRF machine instructions",
        "```",
        "",
        "Servers: `BENCH_POSTGRES_URL` (default `postgres://postgres@127.0.0.1:5432/bench`) and "
        "`BENCH_MARIADB_URL` (default `mysql://root@127.0.0.1:3306/bench`); "
        "`BENCH_HTTP_PORT` fixes gunicorn's port (a free one otherwise); `BENCH_<FIELD>` "
        "(`BENCH_ROUNDS=15`, `BENCH_DRF_ITERATIONS=20`, ...) overrides a field of "
        "`tests/benchmarks/scale.py`. This page came "
        f"from `{command}`.",
        "",
        "## Summary",
        "",
        f"![Throughput ratios per variant and database]({image})",
        "",
        f"| comparison (variant vs baseline) | {heads} | target |",
        "| --- | " + " | ".join("---:" for _ in dbs) + " | --- |",
    ]
    for key, name, label in _comparisons(results):
        cells, texts = [], {}
        for result in results:
            group = _find(result, key)
            row = _row(group, name) if group else None
            if group is None or row is None:
                cells.append("—")
                continue
            cell = f"{row['ratio']:.2f}x"
            target = group.get("target")
            if target and target["variant"] == name:
                texts.setdefault(target["text"], []).append(
                    DB_LABELS.get(result["db"], result["db"])
                )
                cell += " ✓" if group["target_met"] else " ✗"
            cells.append(cell)
        if len(texts) > 1:  # a target per database
            target_text = "; ".join(f"{', '.join(dbs_)}: {text}" for text, dbs_ in texts.items())
        else:
            target_text = next(iter(texts), "")
        baseline = next(
            (_baseline(g, name) for r in results if (g := _find(r, key)) is not None), "?"
        )
        out.append(f"| {label} (vs {baseline}) | " + " | ".join(cells) + f" | {target_text} |")
    out += [
        "",
        "✓ target met, ✗ target missed (in this run). Roles: *baseline* is what the ratio "
        "divides by; *variant* is django-etag-lock; *anchor* is another library doing the "
        "same job (django-concurrency for the ORM, drf-extensions for DRF); *reference* is "
        "for scale (the unversioned model, or an opt-out such as the DRF writes without "
        "their transaction).",
        "",
    ]
    missed = [
        (result["db"], group)
        for result in results
        for group in result["groups"]
        if group.get("target_met") is False
    ]
    if findings:
        out += ["## Findings", "", fill(findings, results).strip()]
        out.append("")
    elif missed:
        out += ["## Missed targets", ""]
        out += [f"- {DB_LABELS.get(db, db)}: {g['target']['text']}" for db, g in missed]
        out.append("")
    out += ["## What is measured", "", METHOD.strip(), ""]
    out += ["## Machine and versions", ""]
    out += [f"- {label}: {value}" for label, value in machine.items()]
    for result in results:
        versions = ", ".join(f"{k} {v}" for k, v in result["versions"].items())
        out.append(
            f"- {DB_LABELS.get(result['db'], result['db'])}: {result['server']}; "
            f"{result['seconds']:.0f} s; load average before/after "
            f"{result.get('load_before', '?')} / {result.get('load_after', '?')}"
        )
    if results:
        out.append(f"- Packages: {versions}")
    out.append("")
    for result in results:
        out += [f"## {DB_LABELS.get(result['db'], result['db'])} ({result['server']})", ""]
        for group in result["groups"]:
            out += _group_table(group)
        for name, why in result.get("skipped", {}).items():
            out += [f"Skipped {name}: {why}", ""]
    return "\n".join(out).rstrip() + "\n"


METHOD = """
- **Timing**: the cases of a group are interleaved call by call (call `i` of every case,
  then call `i + 1`; forward order on even rounds, reverse on odd ones), each call timed
  on its own with `time.perf_counter_ns`; one untimed warm-up round; garbage collection
  off during a round. The figure per round is time per call; medians over rounds, with
  the 25th-75th percentiles of the rounds; the ratio is the median of the per-round
  ratios. A burst of load from other processes therefore lands on every case alike. The
  load average at the end of each group is printed with it.
- **Processes**: each suite runs in fresh worker processes of its own, so no figure
  depends on what ran before it in the same interpreter; a suite makes its share of the
  rounds in each of five processes (one for the million-row table and the HTTP part),
  and its groups pool the rounds of all five, each round's ratio taken within the round,
  as pyperf averages over worker processes. Each pooled group lists the ratio within
  each process, which shows how far one process's figure can stray.
- **ORM** (`tests/benchmarks/orm.py`): models with the same columns (title, pages, notes,
  `updated_at` auto_now): `Item(VersionedModel)`, `PlainItem(models.Model)` and
  `ConcurrencyItem` with django-concurrency's `IntegerVersionField`. `save()` rewrites one
  existing row (also with the compiled save turned off, the code before it; each save in
  a transaction whose `COMMIT` is not timed, so no save waits for the disk; and for models
  of 1 and 20 integer columns); the ceiling row runs plain `save()`'s own `UPDATE` on the DB-API
  cursor, with no Django code; `delete()` removes rows created (untimed) before each round;
  `update_if_version()` against `PlainItem.objects.filter(pk=...).update()`;
  `bulk_update()` of many rows, one call per round. Autocommit, as in a view without
  `ATOMIC_REQUESTS`.
- **Growth**: two identical versioned tables filled on the server side (PostgreSQL
  `generate_series`, a recursive CTE on SQLite and MariaDB), one small and one large;
  random rows of each are loaded and then written with `save()` in turn.
- **DRF in process** (`tests/benchmarks/drf.py`): `RequestFactory` requests handed straight
  to the viewset and rendered, no middleware: the view layer alone, the strictest
  comparison. GET + PATCH reads the ETag of the GET and sends it as `If-Match`; the plain
  viewsets get the same headers and ignore them. drf-extensions' `APIETAGMixin` runs on
  the unversioned model, as it is used on its own. The `ATOMIC_REQUESTS` group sets it on
  the connection and runs each request in `transaction.atomic()`, as Django's handler
  does. The baseline is plain DRF on the same versioned model, so it gets the compiled
  save too: the DRF ratios are the cost of the mixin alone.
- **HTTP** (`tests/benchmarks/http_load.py`): `gunicorn tests.benchmarks.wsgi` on
  127.0.0.1 (gthread workers, one thread each, keep-alive) and `wrk` on the same machine,
  one connection per wrk thread, each editing its own row in a loop with the ETag of its
  previous response as `If-Match`; the cases take turns in interleaved rounds. Contention:
  Python client threads GET and then PATCH one shared row; PATCH latency per status.
- **Databases**: SQLite in WAL mode (`synchronous=NORMAL`, `transaction_mode=IMMEDIATE`,
  a file in a temporary directory); PostgreSQL and MariaDB with their server defaults
  (durable commits), reached over TCP on 127.0.0.1 (psycopg 3, PyMySQL). Persistent
  connections (`CONN_MAX_AGE=None`), `DEBUG=False`.
- **Caveat**: the machine is shared and has 2 cores; the client, the server, the
  database and other work share them. Ratios of interleaved runs are robust to that,
  absolute numbers much less.
"""
