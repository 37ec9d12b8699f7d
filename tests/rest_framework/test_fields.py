"""ETagField: each object's own tag in a serializer."""

from __future__ import annotations

import pytest

from django_etag_lock.rest_framework import (
    ETagField,
)
from tests.factories import BookFactory
from tests.rest_framework.helpers import (
    bump,
)
from tests.testapp.models import Book

pytestmark = pytest.mark.django_db


# -- ETagField -----------------------------------------------------------------------


def test_list_items_carry_their_own_etag_and_the_list_none(api):
    first, second = BookFactory(), BookFactory()
    bump(second)
    response = api.get("/t/books/")
    assert response.status_code == 200
    assert not response.has_header("ETag")
    tags = {item["id"]: item["etag"] for item in response.json()}
    assert tags == {first.pk: '"1"', second.pk: '"2"'}


def test_etag_field_is_read_only_and_a_string():
    field = ETagField()
    assert field.read_only
    assert field.to_representation(Book(version=7)) == '"7"'
