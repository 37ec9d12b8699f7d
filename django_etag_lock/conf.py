"""Settings, read live from ``django.conf.settings`` so ``override_settings`` works.

Every setting is optional; the defaults are below and in docs/settings.md. Defaults
are never written into ``django.conf.settings``.
"""

from __future__ import annotations

from django.conf import settings


class Settings:
    """Typed access to the ``ETAG_LOCK_*`` settings, with their defaults."""

    @property
    def REQUIRE_IF_MATCH(self) -> bool:
        """PUT/PATCH/DELETE without ``If-Match`` answer 428 (RFC 6585)."""
        return bool(getattr(settings, "ETAG_LOCK_REQUIRE_IF_MATCH", True))

    @property
    def ALLOW_IF_MATCH_STAR(self) -> bool:
        """``If-Match: *`` (any current representation) satisfies the precondition."""
        return bool(getattr(settings, "ETAG_LOCK_ALLOW_IF_MATCH_STAR", True))

    @property
    def CACHE_CONTROL(self) -> str | None:
        """``Cache-Control`` sent with every response that carries an ETag."""
        value = getattr(settings, "ETAG_LOCK_CACHE_CONTROL", "private, no-cache")
        return str(value) if value else None

    @property
    def MAX_IF_MATCH_TAGS(self) -> int:
        """Longest entity-tag list accepted in If-Match/If-None-Match; longer is a 400."""
        return int(getattr(settings, "ETAG_LOCK_MAX_IF_MATCH_TAGS", 64))

    @property
    def INCLUDE_REPRESENTATION_ON_412(self) -> bool:
        """412 bodies carry the current representation (for callers allowed to read it)."""
        return bool(getattr(settings, "ETAG_LOCK_INCLUDE_REPRESENTATION_ON_412", False))

    @property
    def ATOMIC_WRITES(self) -> bool:
        """DRF writes run in ``transaction.atomic`` so a lost race rolls back all they wrote."""
        return bool(getattr(settings, "ETAG_LOCK_ATOMIC_WRITES", True))

    @property
    def ADMIN_LIST_EDITABLE_ALL_OR_NOTHING(self) -> bool:
        """In the admin changelist, one stale row stops every row of the save."""
        return bool(getattr(settings, "ETAG_LOCK_ADMIN_LIST_EDITABLE_ALL_OR_NOTHING", False))


conf = Settings()
