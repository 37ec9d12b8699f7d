"""Which unique constraint an ``IntegrityError`` broke, on SQLite, PostgreSQL and MariaDB/MySQL.

A unique validator (DRF's ``UniqueValidator``, a form's ``validate_unique()``) reads, then
the write inserts: two requests can both pass the read. The database's constraint then
refuses the second write with an ``IntegrityError``; the doors answer that with a 409
naming the field instead of a 500. Only the error is inspected (the driver's SQLSTATE,
error number or message), plus one introspection query on MariaDB/MySQL, whose error
names the index rather than its columns.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db import DatabaseError, IntegrityError, connections

from django_etag_lock import compat

if TYPE_CHECKING:
    from django.db.models import Model

__all__ = ["UniqueViolation", "unique_violation"]

_PG_UNIQUE = "23505"
_MYSQL_DUPLICATE = (1062, 1586)  # ER_DUP_ENTRY, ER_DUP_ENTRY_WITH_KEY_NAME
_SQLITE = re.compile(r"UNIQUE constraint failed: (?P<what>.+)")
_SQLITE_INDEX = re.compile(r"index '(?P<name>[^']+)'")
_PG_KEY = re.compile(r"Key \((?P<columns>.+?)\)=\(")
_MYSQL_KEY = re.compile(r"for key '(?:[^'.]+\.)?(?P<name>[^']+)'")


@dataclass(frozen=True)
class UniqueViolation:
    """A unique constraint the write broke.

    ``fields`` are the model's field names for the constraint's columns, in order; empty
    when the database did not say which (an expression index, say).
    """

    model: type[Model]
    fields: tuple[str, ...]


def _field_names(model: type[Model], columns: list[str]) -> tuple[str, ...]:
    by_column = {
        field.column: field.name
        for field in model._meta.concrete_fields  # includes inherited parent fields
    }
    names = tuple(by_column[column] for column in columns if column in by_column)
    return names if len(names) == len(columns) else ()


def _index_columns(using: str, table: str, name: str) -> list[str]:
    connection = connections[using]
    if compat.needs_rollback(connection):
        return []  # a broken transaction cannot run the introspection query
    try:
        with connection.cursor() as cursor:
            constraints = connection.introspection.get_constraints(cursor, table)
    except DatabaseError:
        return []
    constraint: Any = constraints.get(name) or {}
    return list(constraint.get("columns") or []) if constraint.get("unique") else []


def unique_violation(
    exc: IntegrityError, *, model: type[Model], using: str
) -> UniqueViolation | None:
    """The unique constraint of ``model``'s table that ``exc`` reports, or ``None``.

    ``None`` when ``exc`` is not a unique violation (a foreign key, NOT NULL or CHECK
    failure is a bug to surface, not a race to answer).
    """
    cause: Any = exc.__cause__
    vendor = connections[using].vendor
    table = model._meta.db_table
    # Multi-table inheritance: the unique column may live on a parent's table.
    tables = {table, *(parent._meta.db_table for parent in model._meta.get_parent_list())}
    columns: list[str] = []
    if vendor == "postgresql":
        if getattr(cause, "sqlstate", None) != _PG_UNIQUE:
            return None
        diag = getattr(cause, "diag", None)
        if getattr(diag, "table_name", None) not in (None, *tables):
            return UniqueViolation(model, ())
        detail = getattr(diag, "message_detail", None) or ""
        if match := _PG_KEY.search(detail):
            columns = [column.strip().strip('"') for column in match["columns"].split(",")]
        elif name := getattr(diag, "constraint_name", None):
            columns = _index_columns(using, table, name)
    elif vendor == "mysql":
        if not exc.args or exc.args[0] not in _MYSQL_DUPLICATE:
            return None
        message = str(exc.args[1]) if len(exc.args) > 1 else ""
        if match := _MYSQL_KEY.search(message):
            name = match["name"]
            columns = (
                [str(model._meta.pk.column)]
                if name == "PRIMARY"
                else _index_columns(using, table, name)
            )
    elif vendor == "sqlite":
        match = _SQLITE.search(str(exc))
        if match is None:
            return None
        what = match["what"].strip()
        if index := _SQLITE_INDEX.fullmatch(what):
            columns = _index_columns(using, table, index["name"])
        else:
            qualified = [part.strip().rpartition(".") for part in what.split(",")]
            if any(owner not in tables for owner, _, _ in qualified):
                return UniqueViolation(model, ())
            columns = [column for _, _, column in qualified]
    else:
        return None
    return UniqueViolation(model, _field_names(model, columns))
