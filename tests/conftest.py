from __future__ import annotations

import pytest
from django.db import connection


@pytest.fixture
def vendor() -> str:
    """``sqlite``, ``postgresql`` or ``mysql`` (MariaDB)."""
    return connection.vendor


# -- which saves and fetches took the compiled path, and why the others did not ----------

_stats: dict[str, dict[str, int]] = {"save": {}, "fetch": {}}


def _count(kind: str, key: str) -> None:
    _stats[kind][key] = _stats[kind].get(key, 0) + 1


def pytest_configure(config: pytest.Config) -> None:
    from django_etag_lock import fastfetch, fastsave

    run, log = fastsave.execute_compare_and_set, fastsave.log_fallback
    fetch, fetch_log = fastfetch._fetch, fastfetch.log_fallback

    def counted_run(*args: object) -> int:
        _count("save", "compiled")
        return run(*args)  # type: ignore[arg-type]

    def counted_log(model: object, reason: str) -> None:
        _count("save", f"fallback:{reason}")
        log(model, reason)  # type: ignore[arg-type]

    def counted_fetch(*args: object) -> list[object]:
        _count("fetch", "compiled")
        return fetch(*args)  # type: ignore[arg-type]

    def counted_fetch_log(model: object, reason: str) -> None:
        _count("fetch", f"fallback:{reason}")
        fetch_log(model, reason)  # type: ignore[arg-type]

    fastsave.execute_compare_and_set = counted_run  # type: ignore[assignment]
    fastsave.log_fallback = counted_log  # type: ignore[assignment]
    fastfetch._fetch = counted_fetch  # type: ignore[assignment]
    fastfetch.log_fallback = counted_fetch_log  # type: ignore[assignment]


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    for kind, what in (("save", "statements"), ("fetch", "fetches")):
        stats = _stats[kind]
        if not stats:
            continue
        reasons = ", ".join(
            f"{key.split(':', 1)[1]}={count}"
            for key, count in sorted(stats.items())
            if key.startswith("fallback:")
        )
        terminalreporter.write_line(
            f"compiled {kind}: {stats.get('compiled', 0)} {what} run compiled; "
            f"Django's path: {reasons or 'none'}"
        )
