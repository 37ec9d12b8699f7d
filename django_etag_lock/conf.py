"""Settings, read from ``django.conf.settings`` and cached until a setting changes.

Every setting is optional; the defaults are below and in docs/settings.md. Defaults
are never written into ``django.conf.settings``. A read costs a dictionary look-up: the
values are cached, and the cache is emptied by Django's ``setting_changed`` signal, which
``override_settings`` (and pytest-django's ``settings`` fixture) send, so tests that
change a setting see the new value at once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal, TypeVar

from django.conf import settings
from django.core.signals import setting_changed

_T = TypeVar("_T")

PREFIX = "ETAG_LOCK_"

_cache: dict[str, Any] = {}


def _read(name: str, default: Any, convert: Callable[[Any], _T]) -> _T:
    try:
        value: _T = _cache[name]
    except KeyError:
        value = convert(getattr(settings, PREFIX + name, default))
        _cache[name] = value
    return value


def _optional_str(value: Any) -> str | None:
    return str(value) if value else None


def _atomic_writes(value: Any) -> bool | Literal["auto"]:
    if isinstance(value, str) and value.lower() == "auto":
        return "auto"
    return bool(value)


def reset_cache(**kwargs: Any) -> None:
    """Forget the cached values (connected to ``setting_changed``)."""
    setting = kwargs.get("setting")
    if setting is None or str(setting).startswith(PREFIX):
        _cache.clear()


setting_changed.connect(reset_cache, dispatch_uid="django_etag_lock.conf.reset_cache")


class Settings:
    """Typed access to the ``ETAG_LOCK_*`` settings, with their defaults."""

    @property
    def REQUIRE_IF_MATCH(self) -> bool:
        """PUT/PATCH/DELETE without ``If-Match`` answer 428 (RFC 6585)."""
        return _read("REQUIRE_IF_MATCH", True, bool)

    @property
    def ALLOW_IF_MATCH_STAR(self) -> bool:
        """``If-Match: *`` (any current representation) satisfies the precondition."""
        return _read("ALLOW_IF_MATCH_STAR", True, bool)

    @property
    def CACHE_CONTROL(self) -> str | None:
        """``Cache-Control`` sent with every response that carries an ETag."""
        return _read("CACHE_CONTROL", "private, no-cache", _optional_str)

    @property
    def MAX_IF_MATCH_TAGS(self) -> int:
        """Longest entity-tag list accepted in If-Match/If-None-Match; longer is a 400."""
        return _read("MAX_IF_MATCH_TAGS", 64, int)

    @property
    def INCLUDE_REPRESENTATION_ON_412(self) -> bool:
        """412 bodies carry the current representation (for callers allowed to read it)."""
        return _read("INCLUDE_REPRESENTATION_ON_412", False, bool)

    @property
    def ATOMIC_WRITES(self) -> bool | Literal["auto"]:
        """DRF writes in ``transaction.atomic``: always, never, or ``"auto"`` (the default).

        ``"auto"``: only when the write can be more than one statement (docs/settings.md).
        """
        return _read("ATOMIC_WRITES", "auto", _atomic_writes)

    @property
    def ADMIN_LIST_EDITABLE_ALL_OR_NOTHING(self) -> bool:
        """In the admin changelist, one stale row stops every row of the save."""
        return _read("ADMIN_LIST_EDITABLE_ALL_OR_NOTHING", False, bool)

    @property
    def CREATE_ON_PUT(self) -> bool:
        """PUT with ``If-None-Match: *`` creates a missing resource at its URL (opt-in)."""
        return _read("CREATE_ON_PUT", False, bool)

    @property
    def COMPILED_SAVE(self) -> bool:
        """A plain versioned ``save()`` runs a cached compare-and-set statement."""
        return _read("COMPILED_SAVE", True, bool)

    @property
    def COMPILED_FETCH(self) -> bool:
        """A detail view reads its row by primary key with a cached ``SELECT`` statement."""
        return _read("COMPILED_FETCH", True, bool)


conf = Settings()
