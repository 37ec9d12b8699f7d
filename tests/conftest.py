from __future__ import annotations

import pytest
from django.db import connection


@pytest.fixture
def vendor() -> str:
    """``sqlite``, ``postgresql`` or ``mysql`` (MariaDB)."""
    return connection.vendor


# -- which saves took the compiled path, and why the others did not (issue 13) ----------

_compiled_save_stats: dict[str, int] = {}


def pytest_configure(config: pytest.Config) -> None:
    from django_etag_lock import fastsave

    run, log = fastsave.execute_compare_and_set, fastsave.log_fallback

    def counted_run(*args: object) -> int:
        _compiled_save_stats["compiled"] = _compiled_save_stats.get("compiled", 0) + 1
        return run(*args)  # type: ignore[arg-type]

    def counted_log(model: object, reason: str) -> None:
        key = f"fallback:{reason}"
        _compiled_save_stats[key] = _compiled_save_stats.get(key, 0) + 1
        log(model, reason)  # type: ignore[arg-type]

    fastsave.execute_compare_and_set = counted_run  # type: ignore[assignment]
    fastsave.log_fallback = counted_log  # type: ignore[assignment]


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not _compiled_save_stats:
        return
    compiled = _compiled_save_stats.get("compiled", 0)
    reasons = ", ".join(
        f"{key.split(':', 1)[1]}={count}"
        for key, count in sorted(_compiled_save_stats.items())
        if key.startswith("fallback:")
    )
    terminalreporter.write_line(
        f"compiled save: {compiled} statements run compiled; Django's path: {reasons or 'none'}"
    )
