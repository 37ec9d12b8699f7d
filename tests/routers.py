"""Database routers for tests/test_multidb.py (enabled there only, with override_settings)."""

from __future__ import annotations

from typing import Any

from django.db.models import Model


class PrimaryReplicaRouter:
    """Every read from the ``replica`` alias, every write to ``default`` (the primary)."""

    def db_for_read(self, model: type[Model], **hints: Any) -> str:
        return "replica"

    def db_for_write(self, model: type[Model], **hints: Any) -> str:
        return "default"

    def allow_relation(self, obj1: Model, obj2: Model, **hints: Any) -> bool:
        # Both aliases are the same data, so objects read from either may be related.
        return True

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool:
        return db == "default"


ROUTERS = ["tests.routers.PrimaryReplicaRouter"]
