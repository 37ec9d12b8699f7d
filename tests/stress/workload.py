"""Concurrent clients against ``/api/customers/<pk>/``; every request and answer is recorded.

Two kinds of phase, both bounded:

* **races**: one GET fetches each hot row's ETag, then every client fires a write (PATCH,
  PUT or DELETE) with that same If-Match at one barrier: at most one may win per row;
* **mixed**: for a number of seconds each client loops over the hot rows, writing with a
  fresh tag, the tag it last saw (often stale), a tag known to be old, no If-Match, a weak
  tag, a list of tags, or ``*``.

Each client thread has its own ``requests.Session``; requests are never retried (a retry
would send the same write twice), and each has a timeout.
"""

from __future__ import annotations

import itertools
import random
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import requests
from requests.adapters import HTTPAdapter

from tests.stress.errorlog import REQUEST_ID_HEADER
from tests.stress.invariants import Record, etag_version, expected_fields

TIMEOUT = (3.0, 20.0)  # connect, read (seconds)


class Recorder:
    """Every request of a run, from every thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.records: list[Record] = []

    def add(self, record: Record) -> None:
        with self._lock:
            self.records.append(record)


class RowPool:
    """The hot rows of a phase; a deleted row is replaced by the next seeded one."""

    def __init__(self, supply: Iterator[int], hot: int) -> None:
        self._supply = supply
        self._lock = threading.Lock()
        self.active: list[int] = [pk for _, pk in zip(range(hot), supply, strict=False)]

    def pick(self, rng: random.Random) -> int | None:
        with self._lock:
            return rng.choice(self.active) if self.active else None

    def snapshot(self) -> list[int]:
        with self._lock:
            return list(self.active)

    def retire(self, pk: int) -> None:
        with self._lock:
            if pk in self.active:
                index = self.active.index(pk)
                replacement = next(self._supply, None)
                if replacement is None:
                    del self.active[index]
                else:
                    self.active[index] = replacement


class Client:
    """One simulated user: a Session, a random stream, and the tags it has seen."""

    def __init__(
        self,
        number: int,
        base_url: str,
        customer_ids: dict[int, str],
        recorder: Recorder,
        seed: int,
    ) -> None:
        self.number = number
        self.base_url = base_url
        self.customer_ids = customer_ids
        self.recorder = recorder
        self.rng = random.Random(seed)
        self.tags: dict[int, str] = {}
        self.session = requests.Session()
        adapter = HTTPAdapter(max_retries=0, pool_connections=1, pool_maxsize=1)
        self.session.mount("http://", adapter)
        self.phase = "setup"

    def url(self, pk: int) -> str:
        return f"{self.base_url}/api/customers/{pk}/"

    def close(self) -> None:
        self.session.close()

    def request(
        self,
        method: str,
        pk: int,
        *,
        if_match: str | None = None,
        bases: frozenset[int] | None = None,
    ) -> Record:
        request_id = uuid.uuid4().hex[:16]
        headers = {REQUEST_ID_HEADER: request_id, "Accept": "application/json"}
        if if_match is not None:
            headers["If-Match"] = if_match
        payload: dict[str, str] | None = None
        token: str | None = None
        if method in ("PATCH", "PUT"):
            token = request_id
            payload = expected_fields(method, token)
            if method == "PUT":
                payload["customer_id"] = self.customer_ids[pk]
        record = Record(
            id=request_id,
            client=self.number,
            phase=self.phase,
            method=method,
            pk=pk,
            if_match=if_match,
            bases=bases,
            token=token,
            t0=time.monotonic(),
        )
        try:
            response = self.session.request(
                method, self.url(pk), headers=headers, json=payload, timeout=TIMEOUT
            )
        except requests.RequestException as error:
            record.t1 = time.monotonic()
            record.error = f"{type(error).__name__}: {str(error)[:200]}"
            self.recorder.add(record)
            return record
        record.t1 = time.monotonic()
        record.status = response.status_code
        record.etag = response.headers.get("ETag")
        record.content_type = response.headers.get("Content-Type", "")
        if "json" in record.content_type:
            try:
                body = response.json()
            except ValueError:
                body = None
            record.body = _small(body) if isinstance(body, dict) else None
        self.recorder.add(record)
        if record.status in (200, 201) and record.etag:
            self.tags[pk] = record.etag
        return record

    def get(self, pk: int) -> Record:
        return self.request("GET", pk)

    def write(self, method: str, pk: int, if_match: str | None) -> Record:
        return self.request(method, pk, if_match=if_match, bases=strong_versions(if_match))


def strong_versions(if_match: str | None) -> frozenset[int] | None:
    """The versions an If-Match we send names with strong tags (None: absent or ``*``)."""
    if if_match is None or if_match.strip() == "*":
        return None
    versions = set()
    for part in if_match.split(","):
        version = etag_version(part.strip())
        if version is not None:
            versions.add(version)
    return frozenset(versions)


def _small(body: dict[str, Any]) -> dict[str, Any]:
    keep = ("version", "notes", "given_name", "status", "type", "title", "code", "reason")
    keep += ("current_etag",)
    return {key: body[key] for key in keep if key in body}


def _method(rng: random.Random, delete_share: float) -> str:
    roll = rng.random()
    if roll < delete_share:
        return "DELETE"
    return "PATCH" if roll < delete_share + (1 - delete_share) * 0.55 else "PUT"


def _fire(
    client: Client, pk: int, tag: str, barrier: threading.Barrier, delete_share: float
) -> Record | None:
    method = _method(client.rng, delete_share)
    try:
        barrier.wait(timeout=10)
    except threading.BrokenBarrierError:
        return None
    return client.write(method, pk, tag)


def race_phase(
    clients: Sequence[Client],
    pool: RowPool,
    races: int,
    *,
    delete_share: float,
    should_stop: Callable[[], bool],
) -> None:
    """``races`` times: one tag per hot row, then all clients write with it at once."""
    coordinator = clients[0]
    with ThreadPoolExecutor(max_workers=len(clients), thread_name_prefix="race") as executor:
        for _ in range(races):
            if should_stop():
                return
            tags: dict[int, str] = {}
            for pk in pool.snapshot():
                record = coordinator.get(pk)
                if record.status == 404:
                    pool.retire(pk)
                elif record.status == 200 and record.etag:
                    tags[pk] = record.etag
            if not tags:
                return
            rows = sorted(tags)
            barrier = threading.Barrier(len(clients))

            futures = [
                executor.submit(_fire, client, pk, tags[pk], barrier, delete_share)
                for client, pk in zip(clients, itertools.cycle(rows), strict=False)
            ]
            for future in futures:
                fired = future.result(timeout=60)
                if fired is not None and fired.method == "DELETE" and fired.status in (200, 204):
                    pool.retire(fired.pk)


def mixed_phase(
    clients: Sequence[Client],
    pool: RowPool,
    seconds: float,
    *,
    delete_share: float,
    should_stop: Callable[[], bool],
) -> None:
    """Each client writes for ``seconds`` with fresh, cached, old, weak, listed or no tags."""
    deadline = time.monotonic() + seconds

    def loop(client: Client) -> None:
        rng = client.rng
        while time.monotonic() < deadline and not should_stop():
            pk = pool.pick(rng)
            if pk is None:
                return
            roll = rng.random()
            method = _method(rng, delete_share)
            if roll < 0.40 or (roll < 0.70 and pk not in client.tags):
                fresh = client.get(pk)
                if fresh.status == 404:
                    pool.retire(pk)
                    continue
                if_match = fresh.etag
            elif roll < 0.70:
                if_match = client.tags[pk]  # whatever this client saw last: often stale
            elif roll < 0.78:
                seen = etag_version(client.tags.get(pk)) or 2
                if_match = f'"{max(1, seen - rng.randint(1, 3))}"'
            elif roll < 0.84:
                if_match = None  # must be 428
            else:
                fresh = client.get(pk)
                if fresh.status != 200 or not fresh.etag:
                    if fresh.status == 404:
                        pool.retire(pk)
                    continue
                version = etag_version(fresh.etag) or 1
                if roll < 0.90:
                    if_match = f'W/"{version}"'  # weak: never matches If-Match
                elif roll < 0.96 or method == "DELETE":
                    if_match = f'"{max(1, version - 1)}", {fresh.etag}, "999999999"'
                    method = "PATCH" if method == "DELETE" else method
                else:
                    if_match = "*"
            record = client.write(method, pk, if_match)
            if record.status == 404 or (method == "DELETE" and record.status in (200, 204)):
                pool.retire(pk)

    with ThreadPoolExecutor(max_workers=len(clients), thread_name_prefix="mixed") as executor:
        for future in [executor.submit(loop, client) for client in clients]:
            future.result(timeout=seconds + 120)
