from __future__ import annotations

import pytest
from django.db import connection


@pytest.fixture
def vendor() -> str:
    """``sqlite``, ``postgresql`` or ``mysql`` (MariaDB)."""
    return connection.vendor
