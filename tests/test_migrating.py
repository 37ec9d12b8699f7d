"""docs/migrating.md, run: adding the version field to a table that already has rows."""

from __future__ import annotations

import importlib
from collections.abc import Iterator

import pytest
from django.db import connection, migrations, models
from django.db.migrations.state import ProjectState

from django_etag_lock.models import VersionField

APP = "shop"
TABLE = "shop_order"

pytestmark = pytest.mark.django_db(transaction=True)  # DDL commits on MariaDB

needs_postgresql = pytest.mark.skipif(
    "__import__('django.db').db.connection.vendor != 'postgresql'", reason="PostgreSQL only"
)
needs_mysql = pytest.mark.skipif(
    "__import__('django.db').db.connection.vendor != 'mysql'", reason="MariaDB/MySQL only"
)

CREATE_ORDER = migrations.CreateModel(
    "Order",
    [
        ("id", models.BigAutoField(primary_key=True)),
        ("reference", models.CharField(max_length=20)),
    ],
)


def apply(state: ProjectState, *operations: migrations.operations.base.Operation) -> ProjectState:
    """Apply operations like one atomic migration would, returning the new state."""
    with connection.schema_editor(atomic=True) as editor:
        for operation in operations:
            new_state = state.clone()
            operation.state_forwards(APP, new_state)
            operation.database_forwards(APP, editor, state, new_state)
            state = new_state
    return state


def sql_of(state: ProjectState, operation: migrations.operations.base.Operation) -> list[str]:
    new_state = state.clone()
    operation.state_forwards(APP, new_state)
    with connection.schema_editor(collect_sql=True) as editor:
        operation.database_forwards(APP, editor, state, new_state)
    return list(editor.collected_sql)


@pytest.fixture
def populated() -> Iterator[ProjectState]:
    """A ``shop.Order`` table, unversioned, with three rows."""
    state = apply(ProjectState(), CREATE_ORDER)
    try:
        with connection.cursor() as cursor:
            for reference in ("R-1", "R-2", "R-3"):
                cursor.execute(f"INSERT INTO {TABLE} (reference) VALUES (%s)", [reference])
        yield state
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {TABLE}")


def versions() -> list[int]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT version FROM {TABLE} ORDER BY id")
        return [row[0] for row in cursor.fetchall()]


def insert_without_version(reference: str) -> None:
    """What code deployed before the migration does: it does not know the column."""
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {TABLE} (reference) VALUES (%s)", [reference])


def relfilenode() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT relfilenode FROM pg_class WHERE relname = %s", [TABLE])
        return int(cursor.fetchone()[0])


def test_adding_the_version_field_gives_every_existing_row_version_1(populated):
    apply(populated, migrations.AddField("order", "version", VersionField()))
    assert versions() == [1, 1, 1]


def test_without_db_default_the_column_has_no_database_default_afterwards(populated):
    from django.db import DatabaseError, transaction

    apply(populated, migrations.AddField("order", "version", VersionField()))
    # IntegrityError on PostgreSQL and SQLite, OperationalError 1364 on MariaDB.
    with pytest.raises(DatabaseError), transaction.atomic():
        insert_without_version("R-old-code")


def test_db_default_lets_code_that_predates_the_column_insert_rows_at_version_1(populated):
    apply(populated, migrations.AddField("order", "version", VersionField(db_default=1)))
    insert_without_version("R-old-code")
    assert versions() == [1, 1, 1, 1]


@needs_postgresql
def test_on_postgresql_add_field_does_not_rewrite_the_table(populated):
    before = relfilenode()
    apply(populated, migrations.AddField("order", "version", VersionField()))
    assert relfilenode() == before
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT atthasmissing FROM pg_attribute "
            "WHERE attrelid = %s::regclass AND attname = 'version'",
            [TABLE],
        )
        assert cursor.fetchone()[0] is True  # the "fast default" of PostgreSQL 11+


@needs_postgresql
def test_the_big_table_recipe_adds_the_column_and_a_validated_check_without_a_rewrite(populated):
    first = importlib.import_module("tests.docs_examples.shop_migrations.0008_order_version")
    second = importlib.import_module(
        "tests.docs_examples.shop_migrations.0009_validate_order_version"
    )
    before = relfilenode()
    state = apply(populated, *first.Migration.operations)
    state = apply(state, *second.Migration.operations)
    assert relfilenode() == before
    assert versions() == [1, 1, 1]
    insert_without_version("R-old-code")
    assert versions() == [1, 1, 1, 1]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT convalidated FROM pg_constraint WHERE conname = 'shop_order_version_check'"
        )
        assert cursor.fetchone()[0] is True
    # The migration state is the plain AddField one, so makemigrations sees nothing to do.
    plain = populated.clone()
    migrations.AddField("order", "version", VersionField(db_default=1)).state_forwards(APP, plain)
    assert state.models[APP, "order"].fields["version"].deconstruct() == (
        plain.models[APP, "order"].fields["version"].deconstruct()
    )
    # And Django finds the check constraint it would have created itself.
    with connection.cursor() as cursor:
        checks = [
            name
            for name, info in connection.introspection.get_constraints(cursor, TABLE).items()
            if info["check"] and info["columns"] == ["version"]
        ]
    assert checks == ["shop_order_version_check"]


@needs_mysql
def test_on_mariadb_the_add_field_statements_qualify_for_algorithm_instant(populated):
    statements = sql_of(populated, migrations.AddField("order", "version", VersionField()))
    assert len(statements) == 2  # ADD COLUMN ... DEFAULT 1, then DROP DEFAULT
    with connection.cursor() as cursor:
        for statement in statements:
            # MariaDB refuses ALGORITHM=INSTANT when it would copy or rebuild the table.
            cursor.execute(statement.rstrip(";") + ", ALGORITHM=INSTANT")
    assert versions() == [1, 1, 1]
