"""Exceptions raised by versioned models and querysets.

The tree is small: everything derives from :class:`EtagLockError`. A conflict is a
:class:`StaleObjectError`; a row that vanished is the distinct
:class:`ObjectDeletedError`, a subclass, so ``except StaleObjectError`` handles both.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from django.db.models import Model


class EtagLockError(Exception):
    """Base class of every exception this package raises."""


class StaleObjectError(EtagLockError):
    """A write lost: the row is no longer at the version the writer read.

    Nothing was written. ``current_version`` is the version the row has now, as read
    once after the compare-and-set matched no row; ``None`` when the database refused
    the statement for a concurrent update (a serialization failure or deadlock at
    ``REPEATABLE READ``/``SERIALIZABLE``) and the row could not be read again.
    ``transaction_aborted`` is true when that refusal also ended the caller's
    transaction (or savepoint): it must be rolled back before it is used again.
    """

    def __init__(
        self,
        model: type[Model],
        pk: Any,
        expected_version: int | None,
        current_version: int | None,
        transaction_aborted: bool = False,
    ) -> None:
        self.model = model
        self.pk = pk
        self.expected_version = expected_version
        self.current_version = current_version
        self.transaction_aborted = transaction_aborted
        super().__init__(self._message())

    def _message(self) -> str:
        if self.current_version is None:
            return (
                f"{self.model._meta.label} pk={self.pk!r} is stale: the database refused "
                f"the write at version {self.expected_version} because a concurrent "
                "transaction changed the row; its current version is unknown."
                + (
                    " The transaction was aborted: roll it back, reload the row and apply "
                    "the change again."
                    if self.transaction_aborted
                    else " Reload it and apply the change again."
                )
            )
        return (
            f"{self.model._meta.label} pk={self.pk!r} is stale: the write expected "
            f"version {self.expected_version}, but the row is at version "
            f"{self.current_version}. Reload it and apply the change again."
        )

    def __reduce__(self) -> tuple[Any, ...]:
        return (
            type(self),
            (
                self.model,
                self.pk,
                self.expected_version,
                self.current_version,
                self.transaction_aborted,
            ),
        )


class ObjectDeletedError(StaleObjectError):
    """A write lost because the row was deleted since the writer read it.

    Nothing was written and the row was not re-inserted.
    """

    def __init__(self, model: type[Model], pk: Any, expected_version: int | None) -> None:
        super().__init__(model, pk, expected_version, None)

    def _message(self) -> str:
        return (
            f"{self.model._meta.label} pk={self.pk!r} was deleted since it was read "
            f"at version {self.expected_version}; nothing was written."
        )

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.model, self.pk, self.expected_version))


class StaleObjectsError(EtagLockError):
    """Some objects given to ``bulk_update()`` were stale.

    ``stale`` holds one :class:`StaleObjectError` per stale object, in input order;
    ``stale_objects`` the objects themselves (their in-memory versions are untouched).
    ``updated`` is how many fresh rows were written (0 with ``all_or_nothing=True``).
    """

    def __init__(self, stale: Sequence[tuple[Model, StaleObjectError]], updated: int) -> None:
        self.stale_objects = [obj for obj, _ in stale]
        self.stale = [error for _, error in stale]
        self.updated = updated
        model = self.stale[0].model._meta.label if self.stale else "?"
        pks = ", ".join(repr(error.pk) for error in self.stale[:20])
        more = f" and {len(self.stale) - 20} more" if len(self.stale) > 20 else ""
        super().__init__(
            f"{len(self.stale)} {model} row(s) were stale and not written "
            f"(pk {pks}{more}); {updated} fresh row(s) were written."
        )


class VersionFieldError(EtagLockError, ValueError):
    """The version field was used in a way that would skip the check.

    For example saving an instance whose ``version`` was deferred, or passing
    ``version=`` to ``QuerySet.update()``.
    """
