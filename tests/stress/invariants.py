"""What every recorded response and the final database state must satisfy.

Each write sets ``notes`` to a token unique to the request (and ``given_name``, for PUT also
``family_name`` and ``email``, to values derived from it), and a 2xx write's ``ETag`` names
the version it produced. So, per row, the successful writes can be ordered into a chain
``start+1, start+2, ..., final`` that must have no duplicate and no hole:

* every 2xx PATCH/PUT produced exactly ``matched version + 1`` and a version nobody else
  produced (two 2xx writes from one version is a lost update);
* ``final version == start + number of 2xx writes`` (a write whose outcome the client
  never learnt, a 5xx or a dropped connection during a fault, may fill a hole, and only a
  write whose If-Match names the version below that hole);
* the row holds the fields of the write that produced its final version, all of them
  (a half-applied write would mix two tokens);
* a deleted row was deleted by exactly one 2xx DELETE, which matched the last version of
  the chain; a row that still exists had no 2xx DELETE;
* every other answer is a 412 or 428 (problem+json) where the request deserved one, a 404
  only after the row's deletion was sent, and a 5xx or a dropped connection only during a
  fault, caused by a killed database connection (as the server's error log says).
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from tests.stress.databases import Row
from tests.stress.errorlog import CONNECTION_ERRORS

WRITES = frozenset({"PATCH", "PUT", "DELETE"})
_STRONG = re.compile(r'^"(\d+)"$')


def etag_version(etag: str | None) -> int | None:
    """The version a strong ETag of ours names (``'"7"'`` -> 7), else None."""
    match = _STRONG.match(etag or "")
    return int(match.group(1)) if match else None


def expected_fields(method: str, token: str) -> dict[str, str]:
    """The fields a write with ``token`` sets (the workload sends exactly these)."""
    values = {"notes": token, "given_name": f"{method[:1]}-{token}"}
    if method == "PUT":
        values["family_name"] = f"F-{token}"
        values["email"] = f"{token}@stress.example"
    return values


@dataclass
class Record:
    """One request and what came back (``status`` None: no HTTP answer, ``error`` says why)."""

    id: str
    client: int
    phase: str
    method: str
    pk: int
    if_match: str | None
    # Versions the If-Match names with strong tags; None for "*" or no header.
    bases: frozenset[int] | None
    token: str | None
    t0: float
    t1: float = 0.0
    status: int | None = None
    etag: str | None = None
    content_type: str = ""
    body: dict[str, Any] | None = None
    error: str | None = None


@dataclass
class Outcome:
    """Counts per database and every broken invariant, in words."""

    requests: int = 0
    ok: int = 0
    s412: int = 0
    s428: int = 0
    s404: int = 0
    s5xx: int = 0
    fault_5xx: int = 0
    fault_conn: int = 0
    lost_updates: int = 0
    writes_2xx: int = 0
    rows_checked: int = 0
    rows_deleted: int = 0
    races: int = 0
    # Writes whose client got a 5xx or no answer, yet whose change was committed.
    unknown_applied: int = 0
    fault_exceptions: Counter[str] = field(default_factory=Counter)
    # The problem ``reason`` of every 412 (concurrent-write, precondition-failed, ...).
    reasons_412: Counter[str] = field(default_factory=Counter)
    p50_ms: float = 0.0
    p99_ms: float = 0.0
    violations: list[str] = field(default_factory=list)

    def fail(self, message: str) -> None:
        self.violations.append(message)


@dataclass(frozen=True)
class Window:
    start: float
    end: float

    def overlaps(self, record: Record) -> bool:
        return record.t0 <= self.end and record.t1 >= self.start


def check(
    records: Sequence[Record],
    start: Mapping[int, Row],
    final: Mapping[int, Row],
    *,
    server_errors: Mapping[str, Mapping[str, Any]],
    fault_windows: Sequence[Window] = (),
) -> Outcome:
    """Check ``records`` against the rows before (``start``) and after (``final``) the run."""
    out = Outcome(requests=len(records))
    latencies = sorted(r.t1 - r.t0 for r in records if r.status is not None)
    if latencies:
        out.p50_ms = 1000 * latencies[len(latencies) // 2]
        out.p99_ms = 1000 * latencies[min(len(latencies) - 1, len(latencies) * 99 // 100)]
    in_fault = [r for r in records if any(w.overlaps(r) for w in fault_windows)]
    faulty_ids = {r.id for r in in_fault}
    deletes_sent: dict[int, float] = {}
    for record in records:
        if record.method == "DELETE":
            deletes_sent[record.pk] = min(deletes_sent.get(record.pk, record.t0), record.t0)
    unknown: list[Record] = []
    for record in records:
        known = _check_answer(
            record, out, record.id in faulty_ids, server_errors, final, deletes_sent
        )
        if not known and record.method in WRITES:
            unknown.append(record)
    by_row: dict[int, list[Record]] = defaultdict(list)
    for record in records:
        if record.method in WRITES:
            by_row[record.pk].append(record)
    unknown_by_row: dict[int, list[Record]] = defaultdict(list)
    for record in unknown:
        unknown_by_row[record.pk].append(record)
    for pk, writes in sorted(by_row.items()):
        _check_row(pk, writes, unknown_by_row.get(pk, []), start.get(pk), final.get(pk), out)
    _check_races(records, {r.id for r in unknown}, out)
    return out


def _check_races(records: Sequence[Record], unknown: set[str], out: Outcome) -> None:
    """Writers released together with one tag on one row: exactly one of them wins."""
    races: dict[tuple[str, int, str | None], list[Record]] = defaultdict(list)
    for r in records:
        if r.phase.endswith("race") and r.method in WRITES:
            races[(r.phase, r.pk, r.if_match)].append(r)
    for (phase, pk, tag), writers in races.items():
        out.races += 1
        winners = [r for r in writers if r.status is not None and 200 <= r.status < 300]
        if len(winners) > 1:
            out.fail(f"pk={pk}: {len(winners)} of {len(writers)} racers with If-Match {tag} won")
        elif not winners and not any(r.id in unknown for r in writers):
            statuses = sorted(Counter(r.status for r in writers).items(), key=str)
            out.fail(f"pk={pk}: no racer with If-Match {tag} won ({phase}: {statuses})")


def _check_answer(
    r: Record,
    out: Outcome,
    during_fault: bool,
    server_errors: Mapping[str, Mapping[str, Any]],
    final: Mapping[int, Row],
    deletes_sent: Mapping[int, float],
) -> bool:
    """Count one answer and check it on its own; False when its outcome is unknown."""
    what = f"{r.method} pk={r.pk} If-Match={r.if_match!r} ({r.phase}, request {r.id})"
    if r.status is None:
        if during_fault:
            out.fault_conn += 1
        else:
            out.fail(f"{what}: no HTTP answer outside any fault: {r.error}")
        return False
    status = r.status
    if 200 <= status < 300:
        out.ok += 1
    elif status >= 500:
        logged = server_errors.get(r.id, {})
        exception = logged.get("exception")
        if during_fault and exception in CONNECTION_ERRORS:
            out.fault_5xx += 1
            out.fault_exceptions[str(exception)] += 1
        else:
            out.s5xx += 1
            frames = " < ".join(reversed(logged.get("where") or [])) if logged else ""
            reason = (
                f"{exception}: {logged.get('message')} at {frames}" if logged else "nothing logged"
            )
            where = "during a fault, not a connection error" if during_fault else "outside faults"
            out.fail(f"{what}: HTTP {status} {where} ({reason})")
        return False
    elif status == 412:
        out.s412 += 1
        body = r.body or {}
        reason = str(body.get("reason"))
        if reason == "concurrent-write" and "current_etag" not in body:
            # The database refused the write (40001, 1213): no current version known.
            reason += " (refused)"
        out.reasons_412[reason] += 1
    elif status == 428:
        out.s428 += 1
    elif status == 404:
        out.s404 += 1
    if r.method == "GET":
        return _check_get(r, out, what, final, deletes_sent)
    if status == 404:
        sent = deletes_sent.get(r.pk)
        if r.pk in final or sent is None or sent > r.t1:
            out.fail(f"{what}: 404 for a row that was not being deleted")
        return True
    if r.if_match is None and status != 428:
        out.fail(f"{what}: a write without If-Match got {status}, not 428")
        return True
    if status in (412, 428):
        if status == 412 and r.if_match is None:
            out.fail(f"{what}: 412 for a write without If-Match (expected 428)")
        if not r.content_type.startswith("application/problem+json"):
            out.fail(f"{what}: {status} with Content-Type {r.content_type!r}")
        elif (r.body or {}).get("status") != status:
            out.fail(f"{what}: problem body status {(r.body or {}).get('status')!r} != {status}")
        return True
    if not 200 <= status < 300:
        out.fail(f"{what}: HTTP {status}; only 2xx, 412 or 428 may answer a write")
        return True
    if r.bases is not None and not r.bases:
        out.fail(f"{what}: {status} although If-Match names no strong tag (weak never matches)")
    if r.method == "DELETE":
        return True
    produced = etag_version(r.etag)
    if produced is None:
        out.fail(f"{what}: {status} without a strong version ETag (got {r.etag!r})")
        return True
    if r.bases is not None and produced - 1 not in r.bases:
        out.fail(f"{what}: produced version {produced}, not one more than a matched tag")
    body = r.body or {}
    if "version" in body and body["version"] != produced:
        out.fail(f"{what}: body version {body['version']!r} != ETag version {produced}")
    if r.token is not None and body.get("notes") != r.token:
        out.fail(f"{what}: response body does not show this write (notes={body.get('notes')!r})")
    return True


def _check_get(
    r: Record,
    out: Outcome,
    what: str,
    final: Mapping[int, Row],
    deletes_sent: Mapping[int, float],
) -> bool:
    if r.status == 404:
        sent = deletes_sent.get(r.pk)
        if r.pk in final or sent is None or sent > r.t1:
            out.fail(f"{what}: GET 404 for a row that was not being deleted")
    elif r.status != 200:
        out.fail(f"{what}: GET answered {r.status}")
    else:
        version = etag_version(r.etag)
        if version is None:
            out.fail(f"{what}: GET without a strong ETag (got {r.etag!r})")
        elif r.body is not None and r.body.get("version", version) != version:
            out.fail(f"{what}: GET ETag {r.etag} but body version {r.body.get('version')!r}")
    return True


def _check_row(
    pk: int,
    writes: list[Record],
    unknown: list[Record],
    start: Row | None,
    final: Row | None,
    out: Outcome,
) -> None:
    out.rows_checked += 1
    if start is None:
        out.fail(f"pk={pk}: written to, but not among the seeded rows")
        return
    ok_writes = [
        r for r in writes if r.status is not None and 200 <= r.status < 300 and r.method != "DELETE"
    ]
    ok_deletes = [
        r for r in writes if r.status is not None and 200 <= r.status < 300 and r.method == "DELETE"
    ]
    out.writes_2xx += len(ok_writes) + len(ok_deletes)
    produced: dict[int, Record] = {}
    counts = Counter(etag_version(r.etag) for r in ok_writes)
    for version, count in counts.items():
        if version is not None and count > 1:
            out.lost_updates += count - 1
            tokens = [r.id for r in ok_writes if etag_version(r.etag) == version]
            out.fail(f"pk={pk}: {count} successful writes all produced version {version} {tokens}")
    for r in ok_writes:
        version = etag_version(r.etag)
        if version is not None:
            produced.setdefault(version, r)

    # The top of the chain: the final version, or the version the winning DELETE matched.
    if len(ok_deletes) > 1:
        out.fail(
            f"pk={pk}: deleted by {len(ok_deletes)} successful DELETEs {[r.id for r in ok_deletes]}"
        )
    if final is not None:
        if ok_deletes:
            out.fail(f"pk={pk}: a DELETE answered {ok_deletes[0].status} but the row exists")
        top = final.version
    else:
        out.rows_deleted += 1
        if ok_deletes:
            bases = ok_deletes[0].bases or frozenset()
            if len(bases) != 1:
                out.fail(f"pk={pk}: deleted by a DELETE whose If-Match named {len(bases)} versions")
                return
            top = next(iter(bases))
        elif any(r.method == "DELETE" for r in unknown):
            top = max([start.version, *produced])
        else:
            out.fail(f"pk={pk}: the row is gone, but no DELETE of it succeeded or may have")
            return
    beyond = sorted(v for v in produced if v > top or v <= start.version)
    if beyond:
        out.lost_updates += sum(counts[v] for v in beyond)
        out.fail(
            f"pk={pk}: successful writes produced versions {beyond}, outside the chain "
            f"{start.version}..{top} the database holds"
        )
    holes = [v for v in range(start.version + 1, top + 1) if v not in produced]
    fillers = [r for r in unknown if r.method != "DELETE"]
    matching = _match_holes(holes, fillers)
    if matching is None:
        out.fail(
            f"pk={pk}: versions {holes} were written but by no successful write, and "
            f"only {len(fillers)} write(s) of unknown outcome could have"
        )
        return
    out.unknown_applied += len(holes)
    if final is None:
        return
    writer = produced.get(final.version) if final.version > start.version else None
    if final.version == start.version:
        if final != start:
            out.fail(f"pk={pk}: content changed without a version bump: {start} -> {final}")
        return
    candidates = (
        [writer]
        if writer is not None
        else [r for r in fillers if r.bases is None or final.version - 1 in r.bases]
    )
    if not any(_holds(final, r) for r in candidates):
        out.fail(
            f"pk={pk}: row at version {final.version} holds {final.notes!r}/{final.given_name!r}, "
            f"not the fields of the write that produced it "
            f"({[r.id for r in candidates]})"
        )


def _holds(row: Row, r: Record) -> bool:
    if r.token is None:
        return False
    values = row._asdict()
    return all(values[name] == value for name, value in expected_fields(r.method, r.token).items())


def _match_holes(holes: Sequence[int], fillers: Sequence[Record]) -> dict[int, Record] | None:
    """Give every hole its own unknown-outcome write able to produce it (bipartite matching)."""
    owner: dict[int, int] = {}  # filler index -> hole

    def can(record: Record, hole: int) -> bool:
        return record.bases is None or hole - 1 in record.bases

    def assign(hole: int, seen: set[int]) -> bool:
        for index, record in enumerate(fillers):
            if index in seen or not can(record, hole):
                continue
            seen.add(index)
            if index not in owner or assign(owner[index], seen):
                owner[index] = hole
                return True
        return False

    for hole in holes:
        if not assign(hole, set()):
            return None
    return {hole: fillers[index] for index, hole in owner.items()}


# -- the checker checks itself: each broken history below must be caught -------------------------


def self_check() -> list[str]:
    """Run the checker on made-up histories; return what it failed to catch (empty: fine)."""
    seed = Row(1, "Seed", "Row", "s@x", "seed")
    problems: list[str] = []

    def write(
        rid: str,
        method: str,
        base: int | None,
        status: int | None,
        *,
        produced: int | None = None,
        t: float = 1.0,
        if_match: str | None = "tag",
    ) -> Record:
        bases = frozenset({base}) if base is not None else None
        body: dict[str, Any] = {"notes": rid, "version": produced} if produced else {}
        if status in (412, 428):
            body = {"status": status}
        return Record(
            id=rid,
            client=0,
            phase="t",
            method=method,
            pk=1,
            if_match=if_match,
            bases=bases,
            token=rid,
            t0=t,
            t1=t + 0.01,
            status=status,
            etag=f'"{produced}"' if produced else None,
            content_type="application/problem+json" if status in (412, 428) else "application/json",
            body=body,
        )

    def row_after(r: Record, version: int) -> Row:
        fields = expected_fields(r.method, r.token or "")
        return seed._replace(version=version, **fields)

    a = write("a", "PATCH", 1, 200, produced=2)
    b = write("b", "PUT", 2, 200, produced=3)
    c = write("c", "PATCH", 1, 412)
    good = check([a, b, c], {1: seed}, {1: row_after(b, 3)}, server_errors={})
    if good.violations:
        problems.append(f"a clean history was flagged: {good.violations}")

    cases: dict[str, tuple[list[Record], Row | None, Sequence[Window], dict[str, Any]]] = {
        "two 2xx from one version (lost update)": (
            [a, write("d", "PUT", 1, 200, produced=2)],
            row_after(a, 2),
            (),
            {},
        ),
        "final version is not start + 2xx writes": ([a], row_after(a, 3), (), {}),
        "content of another write": ([a, b], row_after(a, 3), (), {}),
        "half-applied write": ([a], seed._replace(version=2, notes="a"), (), {}),
        "a 5xx outside faults": ([a, write("e", "PATCH", 2, 500)], row_after(a, 2), (), {}),
        "a 5xx during a fault that was no connection error": (
            [a, write("e", "PATCH", 2, 500)],
            row_after(a, 2),
            (Window(0, 9),),
            {"e": {"exception": "TypeError"}},
        ),
        "a 409": ([write("f", "PATCH", 1, 409)], seed, (), {}),
        "a 2xx write without If-Match": (
            [write("g", "PATCH", None, 200, produced=2, if_match=None)],
            row_after(a, 2)._replace(notes="g", given_name="P-g"),
            (),
            {},
        ),
        "a 412 that is not problem+json": (
            [replace(write("h", "PATCH", 1, 412), content_type="text/html")],
            seed,
            (),
            {},
        ),
        "a row deleted by two DELETEs": (
            [write("i", "DELETE", 1, 204), write("j", "DELETE", 1, 204)],
            None,
            (),
            {},
        ),
        "a DELETE 2xx but the row exists": ([write("k", "DELETE", 1, 204)], seed, (), {}),
        "a write after a delete": (
            [write("l", "DELETE", 1, 204), write("m", "PATCH", 1, 200, produced=2)],
            None,
            (),
            {},
        ),
        "a dropped connection outside faults": ([write("n", "PATCH", 1, None)], seed, (), {}),
        "a race nobody won": (
            [replace(write(n, "PATCH", 1, 412), phase="r race") for n in ("q", "r")],
            seed,
            (),
            {},
        ),
        "a hole no unknown write can fill": (
            [a, write("o", "PATCH", 1, None)],
            row_after(a, 3),
            (Window(0, 9),),
            {},
        ),
    }
    for name, (records, final, windows, errors) in cases.items():
        outcome = check(
            records,
            {1: seed},
            {1: final} if final else {},
            server_errors=errors,
            fault_windows=windows,
        )
        if not outcome.violations:
            problems.append(f"missed: {name}")

    filler = write("p", "PATCH", 2, None)
    fine = check(
        [a, filler],
        {1: seed},
        {1: row_after(filler, 3)},
        server_errors={},
        fault_windows=(Window(0, 9),),
    )
    if fine.violations:
        problems.append(
            f"a hole filled by a write of unknown outcome was flagged: {fine.violations}"
        )
    return problems


def summarize(outcomes: Iterable[tuple[str, Outcome]]) -> str:
    """The summary table printed at the end of a run."""
    head = (
        "database",
        "requests",
        "2xx",
        "412",
        "428",
        "404",
        "5xx",
        "fault 5xx",
        "fault drops",
        "lost updates",
        "violations",
    )
    rows = [head] + [
        (
            name,
            str(o.requests),
            str(o.ok),
            str(o.s412),
            str(o.s428),
            str(o.s404),
            str(o.s5xx),
            str(o.fault_5xx),
            str(o.fault_conn),
            str(o.lost_updates),
            str(len(o.violations)),
        )
        for name, o in outcomes
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(head))]
    lines = [
        "| " + " | ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) + " |"
        for row in rows
    ]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)
