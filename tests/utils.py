"""Helpers shared by test modules."""

from __future__ import annotations

import pytest
from django.conf import settings


def _is_sqlite() -> bool:
    return str(settings.DATABASES["default"]["ENGINE"]).endswith("sqlite3")


# A real race needs a server database with row locking; SQLite serializes writers.
needs_server_db = pytest.mark.skipif(
    "not __import__('tests.utils', fromlist=['x'])._server_db()",
    reason="needs PostgreSQL or MariaDB (set DATABASE_URL)",
)


def _server_db() -> bool:
    return not _is_sqlite()
