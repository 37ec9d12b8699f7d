"""Every way Django writes a versioned row keeps the guarantee (docs/models.md, "Every
write path"): upserts, the deletion collector, related managers, m2m through rows,
order_with_respect_to, late version reads, fields excluded from versioning."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import update_last_login
from django.db import connection
from django.utils import timezone

from django_etag_lock.exceptions import StaleObjectError, VersionFieldError
from tests.testapp.models import (
    Article,
    ArticleLabel,
    Author,
    Book,
    Chapter,
    Comment,
    Device,
    Label,
    Member,
    Shelf,
)

pytestmark = pytest.mark.django_db


def _version(obj):
    return type(obj)._base_manager.filter(pk=obj.pk).values_list("version", flat=True).get()


def _upsert_kwargs(fields):
    kwargs = {"update_conflicts": True, "update_fields": fields}
    if connection.features.supports_update_conflicts_with_target:
        kwargs["unique_fields"] = ["id"]
    return kwargs


# -- 1. upserts -------------------------------------------------------------------------


def test_upsert_over_an_existing_row_bumps_its_version_in_the_same_statement():
    book = Book.objects.create(title="Dune", pages=1)
    held = Book.objects.get(pk=book.pk)
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        Book.objects.bulk_create(
            [Book(pk=book.pk, title="Dune (upserted)", pages=2)], **_upsert_kwargs(["title"])
        )
    writes = [q["sql"] for q in ctx.captured_queries if q["sql"].startswith("INSERT")]
    assert len(writes) == 1
    assert "version" in writes[0].split("UPDATE", 1)[1]
    row = Book.objects.get(pk=book.pk)
    assert (row.title, row.pages, row.version) == ("Dune (upserted)", 1, 2)
    held.title = "stale edit"
    with pytest.raises(StaleObjectError) as info:
        held.save()
    assert info.value.current_version == 2
    assert Book.objects.get(pk=book.pk).title == "Dune (upserted)"


def test_upsert_inserts_new_rows_at_version_1_and_bumps_only_the_existing_ones():
    old = Book.objects.create(title="old")
    Book.objects.bulk_create(
        [Book(pk=old.pk, title="old v2"), Book(pk=old.pk + 1000, title="new")],
        **_upsert_kwargs(["title"]),
    )
    assert _version(old) == 2
    assert Book.objects.get(pk=old.pk + 1000).version == 1


def test_upsert_objects_must_be_read_again_before_a_checked_write():
    book = Book.objects.create(title="x")
    (upserted,) = Book.objects.bulk_create(
        [Book(pk=book.pk, title="y")], **_upsert_kwargs(["title"])
    )
    upserted.title = "z"
    with pytest.raises(VersionFieldError):
        upserted.save()
    upserted.refresh_from_db()
    upserted.title = "z"
    upserted.save()
    assert Book.objects.get(pk=book.pk).version == 3


def test_upsert_naming_version_in_update_fields_is_refused():
    with pytest.raises(VersionFieldError, match="leave it out of update_fields"):
        Book.objects.bulk_create([Book(title="x")], **_upsert_kwargs(["title", "version"]))


def test_upsert_through_the_base_manager_bumps_too():
    book = Book.objects.create(title="x")
    Book._base_manager.bulk_create([Book(pk=book.pk, title="y")], **_upsert_kwargs(["title"]))
    assert _version(book) == 2


def test_bulk_create_with_ignore_conflicts_writes_nothing_over_an_existing_row():
    book = Book.objects.create(title="x")
    Book.objects.bulk_create([Book(pk=book.pk, title="y")], ignore_conflicts=True)
    assert Book.objects.filter(pk=book.pk).values_list("title", "version").get() == ("x", 1)


def test_update_or_create_is_a_checked_save_of_a_locked_fresh_read():
    book = Book.objects.create(title="x")
    held = Book.objects.get(pk=book.pk)
    updated, created = Book.objects.update_or_create(pk=book.pk, defaults={"title": "y"})
    assert (created, updated.version, _version(book)) == (False, 2, 2)
    with pytest.raises(StaleObjectError):
        held.save()


# -- 2. Django's own writers: the deletion collector ------------------------------------


@pytest.mark.parametrize("field", ["editor", "reviewer", "translator", "illustrator"])
def test_deleting_a_referenced_row_bumps_the_rows_the_collector_rewrites(field):
    # editor: SET_NULL and translator: SET(None) go through the base manager's update();
    # reviewer: SET_DEFAULT and illustrator: SET(callable) through sql.UpdateQuery.
    author = Author.objects.create(name="a")
    article = Article.objects.create(title="t", **{field: author})
    untouched = Article.objects.create(title="other")
    held = Article.objects.get(pk=article.pk)
    author.delete()
    row = Article.objects.get(pk=article.pk)
    assert getattr(row, f"{field}_id") is None
    assert row.version == 2
    assert _version(untouched) == 1
    held.title = "edit of a copy read before the delete"
    with pytest.raises(StaleObjectError):
        held.save()
    assert Article.objects.get(pk=article.pk).title == "t"


@pytest.mark.parametrize("field", ["editor", "reviewer", "translator", "illustrator"])
def test_queryset_delete_of_referenced_rows_bumps_every_rewritten_row(field):
    authors = [Author.objects.create(name=str(i)) for i in range(3)]
    articles = [Article.objects.create(title=str(i), **{field: a}) for i, a in enumerate(authors)]
    Author.objects.filter(pk__in=[a.pk for a in authors[:2]]).delete()
    assert [_version(a) for a in articles] == [2, 2, 1]


def test_queryset_delete_of_versioned_rows_is_not_compared_but_leaves_no_copy_writable():
    book = Book.objects.create(title="x")
    held = Book.objects.get(pk=book.pk)
    Book.objects.filter(pk=book.pk).delete()
    held.title = "y"
    with pytest.raises(StaleObjectError):
        held.save()
    assert not Book.objects.filter(pk=book.pk).exists()


# -- 2. related managers, generic and m2m ------------------------------------------------


def test_related_manager_add_bulk_bumps_the_added_rows():
    author = Author.objects.create(name="a")
    article = Article.objects.create(title="t")
    held = Article.objects.get(pk=article.pk)
    author.edited.add(article)
    assert _version(article) == 2
    with pytest.raises(StaleObjectError):
        held.save()


def test_related_manager_remove_and_clear_bump_the_released_rows():
    author = Author.objects.create(name="a")
    one = Article.objects.create(title="1", editor=author)
    two = Article.objects.create(title="2", editor=author)
    author.edited.remove(one)
    assert (_version(one), _version(two)) == (2, 1)
    author.edited.clear()
    assert _version(two) == 2
    assert not Article.objects.filter(editor=author).exists()


def test_related_manager_set_bumps_added_and_removed_rows():
    author = Author.objects.create(name="a")
    one = Article.objects.create(title="1", editor=author)
    two = Article.objects.create(title="2")
    author.edited.set([two])
    assert (_version(one), _version(two)) == (2, 2)


def test_related_manager_remove_with_bulk_false_saves_fresh_rows_checked_and_bumped():
    author = Author.objects.create(name="a")
    article = Article.objects.create(title="1", editor=author)
    held = Article.objects.get(pk=article.pk)
    author.edited.remove(held, bulk=False)  # Django re-reads the rows and save()s them
    assert _version(article) == 2
    assert Article.objects.get(pk=article.pk).editor_id is None
    held.title = "edit"
    with pytest.raises(StaleObjectError):
        held.save()


def test_generic_relation_add_bumps_the_added_rows():
    article = Article.objects.create(title="t")
    comment = Comment.objects.create(text="c")
    held = Comment.objects.get(pk=comment.pk)
    article.comments.add(comment)
    assert _version(comment) == 2
    assert Comment.objects.get(pk=comment.pk).target == article
    with pytest.raises(StaleObjectError):
        held.save()


def test_m2m_through_rows_are_inserted_and_deleted_never_updated_in_place():
    article = Article.objects.create(title="t")
    label = Label.objects.create(name="l")
    article.labels.add(label, through_defaults={"note": "n"})
    link = ArticleLabel.objects.get()
    assert link.version == 1
    article.labels.add(label)  # already there: nothing written
    assert ArticleLabel.objects.get().version == 1
    article.labels.remove(label)
    assert not ArticleLabel.objects.exists()
    assert (_version(article), _version(label)) == (1, 1)


def test_auto_created_m2m_writes_leave_the_versioned_ends_alone():
    article = Article.objects.create(title="t")
    label = Label.objects.create(name="l")
    article.tags.add(label)
    article.tags.clear()
    assert (_version(article), _version(label)) == (1, 1)


def test_set_order_bumps_every_reordered_row():
    shelf = Shelf.objects.create(name="b")
    first = Chapter.objects.create(shelf=shelf, title="1")
    second = Chapter.objects.create(shelf=shelf, title="2")
    Chapter.objects.filter(pk=first.pk).update(title="1 again")  # first at version 2
    held = Chapter.objects.get(pk=second.pk)
    shelf.set_chapter_order([second.pk, first.pk])
    assert list(shelf.get_chapter_order()) == [second.pk, first.pk]
    assert (_version(first), _version(second)) == (3, 2)
    with pytest.raises(StaleObjectError):
        held.save()


# -- 3. a version read after the data ----------------------------------------------------


def test_lazy_load_of_a_deferred_version_vouches_for_nothing():
    book = Book.objects.create(title="mine")
    mine = Book.objects.only("title").get(pk=book.pk)
    Book.objects.filter(pk=book.pk).update(title="theirs")
    assert mine.version == 2  # loaded now, later than mine.title
    mine.pages = 5
    with pytest.raises(VersionFieldError, match="refresh_from_db\\(\\) to reload every field"):
        mine.save()
    with pytest.raises(VersionFieldError):
        mine.delete()
    with pytest.raises(VersionFieldError):
        Book.objects.bulk_update([mine], ["pages"])
    assert Book.objects.filter(pk=book.pk).values_list("title", "pages").get() == ("theirs", 0)


def test_partial_refresh_of_the_version_vouches_for_nothing():
    book = Book.objects.create(title="mine")
    mine = Book.objects.only("title").get(pk=book.pk)
    with pytest.raises(VersionFieldError, match="does not help"):
        mine.save()
    Book.objects.filter(pk=book.pk).update(title="theirs")
    mine.refresh_from_db(fields=["version"])  # what the old error message advised
    with pytest.raises(VersionFieldError):
        mine.save()
    assert Book.objects.get(pk=book.pk).title == "theirs"


def test_partial_refresh_of_the_version_of_a_fully_loaded_instance_vouches_for_nothing():
    book = Book.objects.create(title="mine")
    mine = Book.objects.get(pk=book.pk)
    Book.objects.filter(pk=book.pk).update(title="theirs")
    mine.refresh_from_db(fields=["version"])
    with pytest.raises(VersionFieldError):
        mine.save()


def test_full_refresh_makes_the_instance_current_again():
    book = Book.objects.create(title="mine")
    mine = Book.objects.only("title").get(pk=book.pk)
    mine.refresh_from_db(fields=["version"])
    Book.objects.filter(pk=book.pk).update(title="theirs")
    mine.refresh_from_db()
    assert (mine.title, mine.version) == ("theirs", 2)
    mine.pages = 7
    mine.save()
    assert Book.objects.filter(pk=book.pk).values_list("title", "pages", "version").get() == (
        "theirs",
        7,
        3,
    )


def test_refresh_of_the_version_with_every_loaded_field_is_as_good_as_a_full_one():
    book = Book.objects.create(title="mine")
    mine = Book.objects.only("title").get(pk=book.pk)
    mine.refresh_from_db(fields=["title", "version"])
    mine.title = "new"
    mine.save()
    assert _version(book) == 2


def test_version_loaded_with_the_data_and_other_fields_loaded_later_is_fine():
    book = Book.objects.create(title="mine")
    mine = Book.objects.only("version").get(pk=book.pk)
    assert mine.title == "mine"  # lazy load of data after the version: still checked
    Book.objects.filter(pk=book.pk).update(pages=3)
    mine.title = "x"
    with pytest.raises(StaleObjectError):
        mine.save()


def test_after_an_unchecked_save_the_next_checked_write_needs_a_full_refresh():
    from django_etag_lock.models import unchecked

    book = Book.objects.create(title="a")
    with unchecked("test"):
        book.title = "b"
        book.save()
    book.title = "c"
    with pytest.raises(VersionFieldError):
        book.save()
    book.refresh_from_db()
    book.title = "c"
    book.save()
    assert Book.objects.get(pk=book.pk).title == "c"


@pytest.mark.skipif(
    not __import__("importlib").util.find_spec("django.db.models.fetch_modes"),
    reason="fetch modes are new in Django 6.1",
)
def test_fetch_peers_load_of_the_version_vouches_for_nothing():
    from django.db.models import FETCH_PEERS  # type: ignore[attr-defined]

    books = [Book.objects.create(title=str(i)) for i in range(2)]
    mine = list(Book.objects.fetch_mode(FETCH_PEERS).only("title").order_by("pk"))
    assert mine[0].version == 1  # loads the version of both peers at once
    assert "version" in mine[1].__dict__
    for copy in mine:
        with pytest.raises(VersionFieldError):
            copy.save()
    assert [b.version for b in books] == [1, 1]


# -- 6. fields excluded from versioning ---------------------------------------------------


def test_login_writes_last_login_without_checking_or_bumping():
    member = Member.objects.create(username="ann")
    first, second = Member.objects.get(pk=member.pk), Member.objects.get(pk=member.pk)
    update_last_login(None, first)
    update_last_login(None, second)  # a second login with a copy read before the first
    row = Member.objects.get(pk=member.pk)
    assert row.version == 1
    assert row.last_login == second.last_login
    first.username = "ann2"
    first.save()  # the login did not make the held copy stale
    assert _version(member) == 2


def test_a_save_naming_an_excluded_field_and_another_is_checked_and_bumps():
    member = Member.objects.create(username="ann")
    stale = Member.objects.get(pk=member.pk)
    Member.objects.get(pk=member.pk).save()
    stale.last_login = timezone.now()
    stale.username = "other"
    with pytest.raises(StaleObjectError):
        stale.save(update_fields=["last_login", "username"])
    assert Member.objects.get(pk=member.pk).username == "ann"


def test_heartbeat_does_not_make_a_real_edit_conflict():
    device = Device.objects.create(name="d")
    editor = Device.objects.get(pk=device.pk)
    heartbeat = Device.objects.get(pk=device.pk)
    for _ in range(3):
        heartbeat.last_seen = timezone.now()
        heartbeat.save(update_fields=["last_seen"])
    editor.name = "renamed"
    editor.save(update_fields=["name"])
    row = Device.objects.get(pk=device.pk)
    assert (row.name, row.version) == ("renamed", 2)
    assert row.last_seen == heartbeat.last_seen


def test_excluded_fields_leave_full_saves_and_update_as_they_are():
    device = Device.objects.create(name="d")
    stale = Device.objects.get(pk=device.pk)
    Device.objects.filter(pk=device.pk).update(last_seen=timezone.now())
    assert _version(device) == 2
    stale.last_seen = timezone.now()
    with pytest.raises(StaleObjectError):
        stale.save()


def test_excluded_fields_must_be_a_list():
    from django_etag_lock.models import VersionField

    with pytest.raises(TypeError, match="list of field names"):
        VersionField(excluded_fields="last_login")


def test_excluded_fields_are_in_the_migration_of_the_field():
    field = Member._meta.get_field("version")
    assert field.deconstruct()[3] == {"excluded_fields": ["last_login"]}
