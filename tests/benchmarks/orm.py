"""ORM benchmarks: save() (also at 1 and 20 columns, and against the bare driver), delete(),
compare-and-set update, bulk_update, table growth."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager
from typing import Any

from django.db import connection, models, transaction
from django.test.utils import override_settings

from django_etag_lock.conf import conf
from tests.benchmarks.benchapp.models import (
    ConcurrencyItem,
    GrowthLarge,
    GrowthSmall,
    Item,
    PlainItem,
    QuietChild,
    TouchingChild,
    TouchingGrandchild,
    TouchParent,
    WideOne,
    WideOnePlain,
    WideTwenty,
    WideTwentyPlain,
)
from tests.benchmarks.harness import Case, Difference, Group, Target, compare
from tests.benchmarks.scale import Scale


def _rows(model: type[models.Model], count: int, label: str) -> list[Any]:
    """Insert ``count`` rows and return them loaded (MariaDB's bulk_create sets no pks)."""
    before = model._default_manager.order_by("-pk").values_list("pk", flat=True).first() or 0
    model._default_manager.bulk_create(
        [model(title=f"{label} {n}", pages=n) for n in range(count)], batch_size=1000
    )
    return list(model._default_manager.filter(pk__gt=before).order_by("pk"))


SENTINEL = 987_654_321


def save_target(variant: str) -> Target:
    """Issue 13: >= 2x plain on SQLite, >= 1.15x on PostgreSQL and MariaDB."""
    wanted = 2.0 if connection.vendor == "sqlite" else 1.15
    return Target(variant, wanted, f"{variant} >= {wanted:g}x plain save()")


def _saver(obj: Any, field: str = "pages") -> Callable[[int], None]:
    def op(i: int) -> None:
        setattr(obj, field, i)
        obj.save()

    return op


@contextmanager
def _compiled_off() -> Iterator[None]:
    with override_settings(ETAG_LOCK_COMPILED_SAVE=False):
        conf.COMPILED_SAVE  # noqa: B018  (the cache was emptied on entering: fill it, untimed)
        yield
    # Leaving override_settings empties the settings cache: fill it again here, untimed,
    # so the next case's save does not pay for the miss.
    conf.COMPILED_SAVE  # noqa: B018


def _driver_update(obj: Any, field: str = "pages") -> Callable[[int], None]:
    """The plain save's own UPDATE, run on the DB-API connection: no Django at all."""
    ran: list[tuple[str, list[Any]]] = []

    def record(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        ran.append((sql, list(params)))
        return execute(sql, params, many, context)

    setattr(obj, field, SENTINEL)
    with connection.execute_wrapper(record):
        obj.save()
    sql, params = ran[-1]
    position = params.index(SENTINEL)
    if connection.vendor == "sqlite":
        sql = sql.replace("%s", "?")
    connection.ensure_connection()
    raw = connection.connection

    def op(i: int) -> None:
        params[position] = i
        cursor = raw.cursor()
        try:
            cursor.execute(sql, params)
        finally:
            cursor.close()

    return op


def bench_save(scale: Scale) -> Group:
    models_ = (PlainItem, Item, ConcurrencyItem)
    objs = {model: _rows(model, 1, "save")[0] for model in models_}
    unchecked_obj = _rows(Item, 1, "save")[0]
    driver_obj = _rows(PlainItem, 1, "save")[0]
    return compare(
        "orm-save",
        "ORM: save() of an existing row",
        [
            Case("plain save()", _saver(objs[PlainItem]), role="baseline"),
            Case("versioned save()", _saver(objs[Item])),
            Case("django-concurrency save()", _saver(objs[ConcurrencyItem]), role="anchor"),
            Case(
                "versioned save(), ETAG_LOCK_COMPILED_SAVE=False (before)",
                _saver(unchecked_obj),
                role="reference",
                context=_compiled_off,
            ),
            Case(
                "the plain save's UPDATE on the bare driver (ceiling)",
                _driver_update(driver_obj),
                role="reference",
            ),
        ],
        rounds=scale.rounds,
        iterations=scale.iterations,
        target=save_target("versioned save()"),
        notes=(
            "The ceiling row is the statement plain save() runs, executed on the DB-API "
            "cursor with no Django code: no Django-level change can beat its ratio."
        ),
    )


def bench_save_in_transaction(scale: Scale) -> Group:
    """The same saves, each in a transaction whose COMMIT is not timed (no disk flush)."""
    objs = {model: _rows(model, 1, "save-atomic")[0] for model in (PlainItem, Item)}
    off = _rows(Item, 1, "save-atomic")[0]

    def atomic() -> AbstractContextManager[object]:
        return transaction.atomic()

    def compiled_off_atomic() -> AbstractContextManager[object]:
        stack = ExitStack()
        stack.enter_context(_compiled_off())
        stack.enter_context(transaction.atomic())
        return stack

    return compare(
        "orm-save-atomic",
        "ORM: save() of an existing row, each in a transaction (as under ATOMIC_REQUESTS)",
        [
            Case("plain save()", _saver(objs[PlainItem]), role="baseline", context=atomic),
            Case("versioned save()", _saver(objs[Item]), context=atomic),
            Case(
                "versioned save(), ETAG_LOCK_COMPILED_SAVE=False (before)",
                _saver(off),
                role="reference",
                context=compiled_off_atomic,
            ),
        ],
        rounds=scale.rounds,
        iterations=scale.iterations,
        target=save_target("versioned save()"),
        notes=(
            "Each save in its own transaction, whose COMMIT is not timed: what the "
            "library costs when a save does not wait for its own flush to disk."
        ),
    )


def bench_save_width(scale: Scale) -> list[Group]:
    groups = []
    for width, plain_model, versioned_model in (
        (1, WideOnePlain, WideOne),
        (20, WideTwentyPlain, WideTwenty),
    ):
        plain = plain_model._default_manager.create()
        versioned = versioned_model._default_manager.create()
        groups.append(
            compare(
                f"orm-save-{width}",
                f"ORM: save() of a row with {width} column{'s' if width > 1 else ''} "
                "besides the pk",
                [
                    Case("plain save()", _saver(plain, "f00"), role="baseline"),
                    Case("versioned save()", _saver(versioned, "f00")),
                    Case(
                        "versioned save(), ETAG_LOCK_COMPILED_SAVE=False (before)",
                        _saver(versioned, "f00"),
                        role="reference",
                        context=_compiled_off,
                    ),
                ],
                rounds=scale.rounds,
                iterations=scale.iterations,
                target=save_target("versioned save()"),
                notes="Integer columns; every save writes all of them.",
            )
        )
    return groups


def bench_delete(scale: Scale) -> Group:
    pending: dict[type[models.Model], list[Any]] = {}

    def case(name: str, model: type[models.Model], role: str) -> Case:
        def setup(count: int) -> None:
            pending[model] = _rows(model, count, "delete")

        def op(i: int) -> None:
            pending[model][i].delete()

        return Case(name, op, setup, role)

    return compare(
        "orm-delete",
        "ORM: delete() of one row",
        [
            case("plain delete()", PlainItem, "baseline"),
            case("versioned delete()", Item, "variant"),
        ],
        rounds=scale.rounds,
        iterations=scale.iterations,
    )


def bench_compare_and_set(scale: Scale) -> Group:
    plain = _rows(PlainItem, 1, "cas")[0]
    item, bumped = _rows(Item, 2, "cas")
    state = {"version": item.version}

    def plain_update(i: int) -> None:
        PlainItem.objects.filter(pk=plain.pk).update(pages=i)

    def versioned_update(i: int) -> None:
        Item.objects.filter(pk=bumped.pk).update(pages=i)

    def cas(i: int) -> None:
        state["version"] = Item.objects.update_if_version(item.pk, state["version"], pages=i)

    return compare(
        "orm-cas",
        "ORM: queryset compare-and-set vs filter().update()",
        [
            Case("plain filter().update()", plain_update, role="baseline"),
            Case("update_if_version()", cas),
            Case("versioned filter().update() (bumps, no check)", versioned_update),
        ],
        rounds=scale.rounds,
        iterations=scale.iterations,
    )


def bench_bulk_update(scale: Scale) -> Group:
    objs = {model: _rows(model, scale.bulk_rows, "bulk") for model in (PlainItem, Item)}

    def case(name: str, model: type[models.Model], role: str) -> Case:
        rows = objs[model]

        def setup(count: int) -> None:
            for obj in rows:
                obj.pages += 1

        def op(i: int) -> None:
            written = model._default_manager.bulk_update(rows, ["pages"])
            assert written == len(rows), (name, written)

        return Case(name, op, setup, role)

    return compare(
        "orm-bulk-update",
        f"ORM: bulk_update() of {scale.bulk_rows:,} rows",
        [
            case("Django bulk_update()", PlainItem, "baseline"),
            case("versioned bulk_update()", Item, "variant"),
        ],
        rounds=scale.bulk_rounds,
        iterations=1,
        target=Target("versioned bulk_update()", 0.8, "versioned bulk_update() >= 0.8x Django's"),
        notes="One call per round; the time is per call of the whole batch.",
    )


def _fill(model: type[models.Model], count: int) -> None:
    """Insert ``count`` rows in one statement on the server side."""
    table = connection.ops.quote_name(model._meta.db_table)
    columns = "(title, pages, version)"
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                f"INSERT INTO {table} {columns} "
                "SELECT 'row ' || x, x, 1 FROM generate_series(1, %s) AS x",
                [count],
            )
            cursor.execute(f"ANALYZE {table}")
        elif connection.vendor == "mysql":
            cursor.execute("SET SESSION max_recursive_iterations = %s", [count + 1])
            cursor.execute(
                f"INSERT INTO {table} {columns} "
                "WITH RECURSIVE seq (x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM seq "
                "WHERE x < %s) SELECT CONCAT('row ', x), x, 1 FROM seq",
                [count],
            )
            cursor.execute(f"ANALYZE TABLE {table}")
            cursor.fetchall()
        else:
            cursor.execute(
                "WITH RECURSIVE seq (x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM seq "
                f"WHERE x < %s) INSERT INTO {table} {columns} "
                "SELECT 'row ' || x, x, 1 FROM seq",
                [count],
            )
            cursor.execute(f"ANALYZE {table}")


def bench_growth(scale: Scale) -> Group:
    rng = random.Random(6)
    samples: dict[type[models.Model], list[Any]] = {}
    for model, count in ((GrowthSmall, scale.growth_small), (GrowthLarge, scale.growth_large)):
        _fill(model, count)
        actual = model._default_manager.count()
        assert actual == count, (model.__name__, actual, count)
        low, high = model._default_manager.aggregate(
            low=models.Min("pk"), high=models.Max("pk")
        ).values()
        pks = rng.sample(range(low, high + 1), scale.growth_sample)
        samples[model] = list(model._default_manager.filter(pk__in=pks))

    def saver(model: type[models.Model]) -> Any:
        rows = samples[model]

        def op(i: int) -> None:
            obj = rows[i % len(rows)]
            obj.pages += 1
            obj.save()

        return op

    def driver(model: type[models.Model]) -> Any:
        """The database's own part: an UPDATE of the same rows by pk on the DB-API cursor."""
        quote = connection.ops.quote_name
        placeholder = "?" if connection.vendor == "sqlite" else "%s"
        sql = (
            f"UPDATE {quote(model._meta.db_table)} SET {quote('pages')} = {quote('pages')} + 1 "
            f"WHERE {quote(model._meta.pk.column)} = {placeholder}"
        )
        pks = [obj.pk for obj in samples[model]]
        connection.ensure_connection()
        raw = connection.connection

        def op(i: int) -> None:
            cursor = raw.cursor()
            try:
                cursor.execute(sql, [pks[i % len(pks)]])
            finally:
                cursor.close()

        return op

    small, large = f"{scale.growth_small:,} rows", f"{scale.growth_large:,} rows"
    own = f"versioned save above the driver's UPDATE, {large}"
    return compare(
        "orm-growth",
        "ORM: one conditional write (versioned save() of a random row) vs table size",
        [
            Case(f"table of {small}", saver(GrowthSmall), role="baseline"),
            Case(f"table of {large}", saver(GrowthLarge)),
            Case(
                f"the same rows' UPDATE on the bare driver, {small}",
                driver(GrowthSmall),
                role="reference",
            ),
            Case(
                f"the same rows' UPDATE on the bare driver, {large}",
                driver(GrowthLarge),
                role="reference",
            ),
        ],
        rounds=scale.rounds,
        iterations=scale.iterations,
        differences=(
            Difference(
                own,
                variant=(f"table of {large}", f"the same rows' UPDATE on the bare driver, {large}"),
                baseline=(
                    f"table of {small}",
                    f"the same rows' UPDATE on the bare driver, {small}",
                ),
                baseline_name=f"the same at {small}",
            ),
        ),
        target=Target(own, 0.9, "the write's own time does not grow with table size (>= 0.9x)"),
        notes=(
            f"{scale.growth_sample} random rows of each table, written in turn. The bare-driver "
            "rows are the database's own share: the time a table of more rows adds to them "
            "is what the B-tree and the page cache add to any write of such a table. The "
            "target is judged on what the versioned save takes above that share, per round "
            "(the last row)."
        ),
    )


def bench_touch(scale: Scale) -> list[Group]:
    parent = TouchParent.objects.create(title="touch")
    quiet = QuietChild.objects.create(parent=parent)
    touching = TouchingChild.objects.create(parent=parent)
    # The grandchild's own chain: its touches would make ``touching`` stale.
    leaf = TouchingGrandchild.objects.create(child=TouchingChild.objects.create(parent=parent))
    # Fresh instances without cached parents, as a child endpoint loads them.
    objs: dict[str, Any] = {
        "quiet": QuietChild.objects.get(pk=quiet.pk),
        "touching": TouchingChild.objects.get(pk=touching.pk),
        "leaf": TouchingGrandchild.objects.get(pk=leaf.pk),
    }

    def saver(key: str, atomic: bool = False) -> Any:
        obj = objs[key]

        def op(i: int) -> None:
            obj.pages = i
            if atomic:
                with transaction.atomic():
                    obj.save()
            else:
                obj.save()

        return op

    in_transaction = compare(
        "orm-touch-atomic",
        "ORM: the same saves inside transaction.atomic() (as DRF writes and ATOMIC_REQUESTS run)",
        [
            Case("child save() in atomic, no touch", saver("quiet", True), role="baseline"),
            Case("child save() in atomic, touches its parent", saver("touching", True)),
            Case(
                "grandchild save() in atomic, touches child and grandparent",
                saver("leaf", True),
            ),
        ],
        rounds=scale.rounds,
        iterations=scale.iterations,
        notes="Inside a transaction touching costs the UPDATEs and a savepoint.",
    )
    return [
        in_transaction,
        compare(
            "orm-touch",
            "ORM: save() of a child, touching its parent (etag_lock_touch) or not",
            [
                Case("child save(), no touch", saver("quiet"), role="baseline"),
                Case("child save(), touches its parent", saver("touching")),
                Case("grandchild save(), touches child and grandparent", saver("leaf")),
            ],
            rounds=scale.rounds,
            iterations=scale.iterations,
            notes="Touching adds one UPDATE per ancestor and a transaction around the save.",
        ),
    ]
