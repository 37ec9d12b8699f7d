"""conf.py: typed settings with defaults, cached until ``setting_changed``."""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings as django_settings
from django.test import override_settings

from django_etag_lock import conf as conf_module
from django_etag_lock.conf import conf


def test_defaults_when_nothing_is_set() -> None:
    assert conf.REQUIRE_IF_MATCH is True
    assert conf.ALLOW_IF_MATCH_STAR is True
    assert conf.CACHE_CONTROL == "private, no-cache"
    assert conf.MAX_IF_MATCH_TAGS == 64
    assert conf.INCLUDE_REPRESENTATION_ON_412 is False
    assert conf.ATOMIC_WRITES == "auto"
    assert conf.ADMIN_LIST_EDITABLE_ALL_OR_NOTHING is False
    assert conf.COMPILED_SAVE is True
    assert conf.COMPILED_FETCH is True
    assert not hasattr(django_settings, "ETAG_LOCK_ATOMIC_WRITES")  # never written back


def test_override_settings_is_seen_at_once_and_undone_after() -> None:
    assert conf.MAX_IF_MATCH_TAGS == 64
    with override_settings(ETAG_LOCK_MAX_IF_MATCH_TAGS=3, ETAG_LOCK_CACHE_CONTROL=""):
        assert conf.MAX_IF_MATCH_TAGS == 3
        assert conf.CACHE_CONTROL is None
    assert conf.MAX_IF_MATCH_TAGS == 64
    assert conf.CACHE_CONTROL == "private, no-cache"


def test_the_pytest_django_settings_fixture_is_seen(settings: Any) -> None:
    settings.ETAG_LOCK_REQUIRE_IF_MATCH = False
    assert conf.REQUIRE_IF_MATCH is False


def test_values_are_cached_until_a_setting_changes(monkeypatch: pytest.MonkeyPatch) -> None:
    assert conf.INCLUDE_REPRESENTATION_ON_412 is False
    # Written around override_settings (no signal): the cached value stays.
    monkeypatch.setattr(
        django_settings, "ETAG_LOCK_INCLUDE_REPRESENTATION_ON_412", True, raising=False
    )
    assert conf.INCLUDE_REPRESENTATION_ON_412 is False
    conf_module.reset_cache(setting="ETAG_LOCK_INCLUDE_REPRESENTATION_ON_412")
    assert conf.INCLUDE_REPRESENTATION_ON_412 is True
    monkeypatch.delattr(django_settings, "ETAG_LOCK_INCLUDE_REPRESENTATION_ON_412")
    conf_module.reset_cache()
    assert conf.INCLUDE_REPRESENTATION_ON_412 is False


def test_other_apps_settings_do_not_empty_the_cache() -> None:
    conf.REQUIRE_IF_MATCH  # noqa: B018 - fill the cache
    assert "REQUIRE_IF_MATCH" in conf_module._cache
    with override_settings(SOME_OTHER_SETTING=1):
        assert "REQUIRE_IF_MATCH" in conf_module._cache


@pytest.mark.parametrize(
    ("value", "expected"),
    [("auto", "auto"), ("AUTO", "auto"), (True, True), (False, False), (1, True), (0, False)],
)
def test_atomic_writes_takes_true_false_or_auto(value: Any, expected: Any) -> None:
    with override_settings(ETAG_LOCK_ATOMIC_WRITES=value):
        assert conf.ATOMIC_WRITES is expected or conf.ATOMIC_WRITES == "auto" == expected
