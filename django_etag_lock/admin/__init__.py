"""Admin integration: no lost updates, and a way forward when an edit loses.

Every admin write of a versioned row is a compare-and-set against the version the
editor saw:

- **Change form** (:mod:`.change_form`): the signed version (and the values the
  editor saw) travel in the hidden ``_etag_lock_version`` field, whatever
  ``fields``/``fieldsets`` say. A stale save writes nothing (the whole view is one
  transaction, inlines included) and the form comes back with a warning (who and
  when, from the admin log), a field-by-field table (started from / saved now /
  yours) and two ways forward: save my values over the current version (checked
  again), or discard mine.
- **Delete** (:mod:`.delete`): the confirmation page carries the version it showed;
  if the row has changed since, nothing is deleted and the page shows what changed.
- **list_editable** (:mod:`.list_editable`): each row carries its version; stale
  rows are not saved and are named, fresh rows are saved (or none, with
  ``list_editable_all_or_nothing``).
- **Actions** (:mod:`.actions`): each changelist row carries the version it showed;
  selected rows that changed since are left out (locked while the action runs) and
  named; ``delete_selected`` deletes each row with a compare-and-set.
- **Inlines** (:mod:`.inlines`): ``VersionedTabularInline``/``VersionedStackedInline``
  rows carry their own version; a stale inline row makes the whole save lose, and the
  conflict names it and what changed.
- **Conflict report** (:mod:`.conflicts`): the warning and the table, built by
  :class:`ConflictReport`, which an admin can replace (``conflict_report_class``).

Django's admin offers no block inside its delete and action confirmation forms, so
the version inputs are added to those two rendered pages next to a fixed anchor
input (:mod:`.html`); everything else goes through ModelAdmin hooks.
"""

from __future__ import annotations

from django_etag_lock.admin.actions import SEEN_FIELD
from django_etag_lock.admin.conflicts import Conflict, ConflictReport, ConflictRow, History
from django_etag_lock.admin.inlines import (
    VersionedInlineMixin,
    VersionedStackedInline,
    VersionedTabularInline,
)
from django_etag_lock.admin.options import VersionedAdminMixin, VersionedModelAdmin

__all__ = [
    "SEEN_FIELD",
    "Conflict",
    "ConflictReport",
    "ConflictRow",
    "History",
    "VersionedAdminMixin",
    "VersionedInlineMixin",
    "VersionedModelAdmin",
    "VersionedStackedInline",
    "VersionedTabularInline",
]
