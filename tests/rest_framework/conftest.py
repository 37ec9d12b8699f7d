"""Fixtures of the DRF tests."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from django_etag_lock.rest_framework import ETagLockMixin
from tests.rest_framework.helpers import bump


@pytest.fixture
def api() -> APIClient:
    return APIClient()


@pytest.fixture
def lose_race(monkeypatch):
    """Make ``view_class`` lose a race: another writer commits right after the check."""

    def arm(view_class: type[ETagLockMixin], delete: bool = False) -> None:
        original = view_class.check_preconditions

        def check_then_lose_race(self, instance):
            original(self, instance)
            if delete:
                type(instance).objects.filter(pk=instance.pk).delete()
            else:
                bump(instance)

        monkeypatch.setattr(view_class, "check_preconditions", check_then_lose_race)

    return arm
