"""The ``write_refused`` signal: one per write this package refuses, for operators to count.

Sent for a compare-and-set lost in the ORM (``StaleObjectError``), a 412 or 428 answered by
an HTTP door (Django REST Framework, django-ninja, ``etag_lock_view``) and a conflict the
admin or an editing view shows. The layer that answers the refusal sends it, once: an ORM
conflict inside a door's write is reported by that door (with its reason code and the
request), not twice. Receivers must
not raise; docs/operations.md has recipes for logging and Prometheus counters.
"""

from __future__ import annotations

import enum
from contextlib import AbstractContextManager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from django.dispatch import Signal

from django_etag_lock.etags import Reason

if TYPE_CHECKING:
    from django.db.models import Model

    from django_etag_lock.exceptions import StaleObjectError

__all__ = [
    "Source",
    "attributed_to",
    "report_refused",
    "report_stale",
    "reported_by",
    "send_unconditional_write",
    "send_write_refused",
    "unconditional_write",
    "write_refused",
]

write_refused = Signal()
"""Sent with ``sender`` the model class and the keyword arguments

- ``source``: a :class:`Source`, the layer that refused (``"orm"``, ``"rest_framework"``,
  ``"admin"``, ``"ninja"``, ``"views"``);
- ``model``: the model class (also ``sender``); ``pk``: the row's primary key, or ``None``
  for a create;
- ``reason``: an :class:`~django_etag_lock.etags.Reason` (a string such as
  ``"if-match-failed"``);
- ``expected_version``: the version the writer held (from If-Match, the admin form or the
  instance), ``None`` when it sent none or it is not a version;
- ``current_version``: the row's version now, ``None`` when the row does not exist;
- ``request``: the ``HttpRequest`` for the HTTP doors, ``None`` for the ORM.
"""


unconditional_write = Signal()
"""Sent when a PUT, PATCH or DELETE proceeds without ``If-Match`` because the view does not
require it (``ETAG_LOCK_REQUIRE_IF_MATCH = False``): the writes that would get 428 once it
is required. ``sender`` is the model class; keyword arguments ``source``, ``model``,
``pk`` and ``request``. Counting them says when a legacy API can switch the requirement on.
"""


class Source(enum.StrEnum):
    """The layer that refused a write; the ``source`` of :data:`write_refused`."""

    ORM = "orm"
    REST_FRAMEWORK = "rest_framework"
    ADMIN = "admin"
    NINJA = "ninja"
    VIEWS = "views"


# (source, request, whether the door sends the signal itself), for the request being served.
_door: ContextVar[tuple[Source, Any, bool] | None] = ContextVar(
    "django_etag_lock_reporting_door", default=None
)


class _serving(AbstractContextManager[None]):
    """The door serving the block (a class, not a generator: it wraps every DRF write)."""

    def __init__(self, source: Source, request: Any, door_reports: bool) -> None:
        self._state = (source, request, door_reports)

    def __enter__(self) -> None:
        self._token = _door.set(self._state)

    def __exit__(self, *exc_info: object) -> None:
        _door.reset(self._token)


def reported_by(source: Source) -> AbstractContextManager[None]:
    """Within the block, ORM conflicts are left to ``source`` to report (it answers them)."""
    return _serving(source, None, True)


def attributed_to(source: Source, request: Any) -> AbstractContextManager[None]:
    """Within the block, ORM conflicts are sent as ``source``'s, with ``request``.

    For a door whose conflicts are the ORM's own (the admin): the reason codes stay
    ``concurrent-write`` / ``concurrent-delete``.
    """
    return _serving(source, request, False)


def send_write_refused(
    *,
    source: Source,
    model: type[Model],
    pk: Any,
    reason: Reason | str,
    expected_version: int | None,
    current_version: int | None,
    request: Any = None,
) -> None:
    """Send :data:`write_refused` (a no-op without receivers)."""
    if not write_refused.has_listeners(model):
        return
    write_refused.send(
        sender=model,
        source=source,
        model=model,
        pk=pk,
        reason=reason,
        expected_version=expected_version,
        current_version=current_version,
        request=request,
    )


def send_unconditional_write(*, source: Source, model: type[Model], pk: Any, request: Any) -> None:
    """Send :data:`unconditional_write` (a no-op without receivers)."""
    if unconditional_write.has_listeners(model):
        unconditional_write.send(sender=model, source=source, model=model, pk=pk, request=request)


def report_refused(
    *,
    model: type[Model],
    pk: Any,
    reason: Reason | str,
    expected_version: int | None,
    current_version: int | None,
) -> None:
    """Send :data:`write_refused` as the door serving this request (``attributed_to()``).

    For a refusal a door decides itself, without an ORM error: the admin leaving a stale
    changelist row alone, say. Outside any door the source is ``"orm"``.
    """
    door = _door.get()
    send_write_refused(
        source=Source.ORM if door is None else door[0],
        model=model,
        pk=pk,
        reason=reason,
        expected_version=expected_version,
        current_version=current_version,
        request=None if door is None else door[1],
    )


def report_stale(error: StaleObjectError) -> StaleObjectError:
    """Report an ORM conflict about to be raised, and return it: ``raise report_stale(error)``.

    Inside a door's write (:func:`reported_by`) the door reports it instead.
    """
    from django_etag_lock.exceptions import ObjectDeletedError

    door = _door.get()
    if door is None or not door[2]:
        send_write_refused(
            source=Source.ORM if door is None else door[0],
            model=error.model,
            pk=error.pk,
            reason=Reason.CONCURRENT_DELETE
            if isinstance(error, ObjectDeletedError)
            else Reason.CONCURRENT_WRITE,
            expected_version=error.expected_version,
            current_version=error.current_version,
            request=None if door is None else door[1],
        )
    return error
