"""ETagLockSchema, the schema descriptor, and its seam with the OpenAPI extension."""

from __future__ import annotations

import subprocess
import sys

from drf_spectacular.openapi import AutoSchema

from django_etag_lock.openapi import ETagLockAutoSchema, ETagLockSchemaMixin
from django_etag_lock.rest_framework import ETagLockMixin, ETagLockSchema, schema
from tests.testapp import views


def run_fresh(code: str) -> str:
    """Run ``code`` in a new interpreter with the test settings; its stdout."""
    prelude = (
        "import os, sys, django; os.environ['DJANGO_SETTINGS_MODULE'] = 'tests.settings'; "
        "django.setup(); "
    )
    result = subprocess.run(
        [sys.executable, "-c", prelude + code], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_the_drf_package_does_not_import_the_openapi_extension():
    loaded = run_fresh(
        "import django_etag_lock.rest_framework; print('django_etag_lock.openapi' in sys.modules)"
    )
    assert loaded == "False"


def test_the_openapi_extension_imports_first_without_a_cycle():
    assert run_fresh(
        "import django_etag_lock.openapi as o; print(o.ETagLockAutoSchema.__name__)"
    ) == ("ETagLockAutoSchema")


def test_views_get_the_extended_spectacular_schema():
    inspector = views.BookViewSet().schema
    assert type(inspector) is ETagLockAutoSchema
    assert isinstance(ETagLockMixin.__dict__["schema"], ETagLockSchema)


def test_without_drf_spectacular_the_schema_is_default_schema_class_itself(monkeypatch):
    monkeypatch.setattr(schema, "_spectacular_installed", lambda: False)
    inspector = views.BookViewSet().schema
    assert type(inspector) is AutoSchema
    assert not isinstance(inspector, ETagLockSchemaMixin)
