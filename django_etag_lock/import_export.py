"""django-import-export for versioned models: a stale row fails, also in bulk imports.

Import files carry each row's ``version`` (export it with the data). Row by row, the import
saves each instance with the version from the file, so a row changed since the export fails
with ``StaleObjectError`` and import-export reports that row as an error. With
``use_bulk = True`` the rows go through the checked ``bulk_update()``; this mixin reports
every stale row of a batch as an error of that row (import-export alone would report one
error for the whole batch and count its rows as updated)::

    from import_export import resources
    from django_etag_lock.import_export import VersionedResourceMixin


    class BookResource(VersionedResourceMixin, resources.ModelResource):
        class Meta:
            model = Book
            use_bulk = True
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from import_export.exceptions import ImportError as ImportExportError
from import_export.results import Error, RowResult

from django_etag_lock.exceptions import StaleObjectsError
from django_etag_lock.querysets import VERSION_FIELD

__all__ = ["VersionedResourceMixin"]


class VersionedResourceMixin:
    """Mixin for ``ModelResource`` of a versioned model; put it first in the bases."""

    _etag_lock_saved: Any = None

    def import_data(self, *args: Any, **kwargs: Any) -> Any:
        self.__dict__["_etag_lock_pending"] = {}
        try:
            return super().import_data(*args, **kwargs)  # type: ignore[misc]
        finally:
            self.__dict__.pop("_etag_lock_pending", None)

    def import_instance(self, instance: Any, row: Any, **kwargs: Any) -> None:
        super().import_instance(instance, row, **kwargs)  # type: ignore[misc]
        if instance._state.adding:
            if instance.__dict__.get(VERSION_FIELD) is None:
                instance.__dict__[VERSION_FIELD] = 1
            return
        field = self.fields.get(VERSION_FIELD)  # type: ignore[attr-defined]
        column = getattr(field, "column_name", None)
        if column is None or row.get(column) in (None, ""):
            # Without the version it read, an import would overwrite whatever the row
            # holds now.
            raise ValidationError(
                {
                    VERSION_FIELD: _(
                        "The row has no version: export the rows with their version and "
                        "import that file, so a row changed since is not overwritten."
                    )
                }
            )

    def save_instance(self, instance: Any, is_create: bool, row: Any, **kwargs: Any) -> None:
        self._etag_lock_saved = instance
        super().save_instance(instance, is_create, row, **kwargs)  # type: ignore[misc]

    def import_row(self, row: Any, instance_loader: Any, **kwargs: Any) -> Any:
        self._etag_lock_saved = None
        row_result = super().import_row(row, instance_loader, **kwargs)  # type: ignore[misc]
        saved = self._etag_lock_saved
        if saved is not None and row_result.import_type == RowResult.IMPORT_TYPE_UPDATE:
            pending = self.__dict__.setdefault("_etag_lock_pending", {})
            pending[id(saved)] = (saved, row_result, kwargs.get("row_number"), row)
        return row_result

    def handle_import_error(self, result: Any, error: Any, raise_errors: bool = False) -> None:
        if not isinstance(error, StaleObjectsError):
            super().handle_import_error(result, error, raise_errors)  # type: ignore[misc]
            return
        pending = self.__dict__.get("_etag_lock_pending", {})
        for obj, stale in zip(error.stale_objects, error.stale, strict=True):
            entry = pending.get(id(obj))
            if entry is None or entry[0] is not obj or result is None:
                super().handle_import_error(result, stale, raise_errors)  # type: ignore[misc]
                continue
            _, row_result, number, row = entry
            if any(r is row_result for r in result.rows):
                # Counted as an update already (an earlier row of the batch).
                result.totals[RowResult.IMPORT_TYPE_UPDATE] -= 1
                result.totals[RowResult.IMPORT_TYPE_ERROR] += 1
                result.append_error_row(number, row, [Error(stale, row=row, number=number)])
            row_result.import_type = RowResult.IMPORT_TYPE_ERROR
            row_result.errors.append(Error(stale, row=row, number=number))
            if raise_errors:
                raise ImportExportError(stale, number=number, row=row)
