"""System checks: one test per id, and ``manage.py check`` really runs them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.apps.registry import Apps
from django.core.checks import Warning as CheckWarning
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.db import models
from django.middleware.gzip import GZipMiddleware
from django.test import override_settings
from django.test.utils import isolate_apps
from django.urls import include, path

from django_etag_lock import checks
from django_etag_lock.models import VersionedManager, VersionedModel
from tests.testapp import views

# This module doubles as a URLconf (ROOT_URLCONF="tests.test_checks") holding a
# misconfigured view, nested in an include() like a real project's.
urlpatterns = [
    path("ok/", views.BookViewSet.as_view({"get": "list"})),
    path("nested/", include([path("bad/", views.UnversionedViewSet.as_view({"get": "list"}))])),
]


class CompressingMiddleware(GZipMiddleware):
    """A project's own subclass of GZipMiddleware."""


def _ids(messages: list[Any]) -> list[str]:
    return [message.id for message in messages]


# -- E001 / W003 (core) ---------------------------------------------------------------


@pytest.fixture
def apps() -> Any:
    """A model registry of its own, so deliberately broken models never leak."""
    with isolate_apps("tests.testapp") as registry:
        yield registry


def _isolated_model(apps: Apps, name: str, attrs: dict[str, Any]) -> type[models.Model]:
    attrs = {"__module__": __name__, "Meta": type("Meta", (), {"app_label": "testapp"}), **attrs}
    return type(name, (VersionedModel,), attrs)


def test_e001_version_field_that_is_not_a_version_field(apps):
    model = _isolated_model(apps, "BadVersion", {"version": models.IntegerField(default=1)})
    messages = checks.check_versioned_models(app_configs=[apps.get_app_config("testapp")])
    assert _ids(messages) == ["django_etag_lock.E001"]
    assert messages[0].obj is model
    assert "testapp.BadVersion" in messages[0].msg
    assert "VersionField" in messages[0].hint


def test_w003_default_manager_without_versioned_queryset(apps):
    model = _isolated_model(apps, "PlainManager", {"objects": models.Manager()})
    messages = checks.check_versioned_models(app_configs=[apps.get_app_config("testapp")])
    assert _ids(messages) == ["django_etag_lock.W003"]
    assert messages[0].obj is model
    assert "VersionedQuerySet" in messages[0].hint


def test_no_model_message_for_a_well_formed_versioned_model(apps):
    _isolated_model(apps, "Fine", {"objects": VersionedManager()})
    assert checks.check_versioned_models(app_configs=[apps.get_app_config("testapp")]) == []


def test_the_test_models_pass_the_model_checks():
    assert checks.check_versioned_models() == []


# -- W001 -----------------------------------------------------------------------------


@override_settings(ROOT_URLCONF="tests.test_checks")
def test_w001_mixin_on_a_view_of_an_unversioned_model():
    messages = checks.check_drf_views()
    assert _ids(messages) == ["django_etag_lock.W001"]
    message = messages[0]
    assert isinstance(message, CheckWarning)
    assert message.obj == "tests.testapp.views.UnversionedViewSet"
    assert "testapp.PlainBook" in message.msg
    assert "VersionedModel" in message.hint
    assert "remove ETagLockMixin from UnversionedViewSet" in message.hint


def test_w001_silent_for_the_project_urls():
    assert checks.check_drf_views() == []


@override_settings(ROOT_URLCONF=None)
def test_w001_silent_without_a_urlconf():
    assert checks.check_drf_views() == []


# -- W002 -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "middleware", ["django.middleware.gzip.GZipMiddleware", f"{__name__}.CompressingMiddleware"]
)
def test_w002_gzip_middleware(settings, middleware):
    settings.MIDDLEWARE = [*settings.MIDDLEWARE, middleware]
    messages = checks.check_middleware()
    assert _ids(messages) == ["django_etag_lock.W002"]
    assert messages[0].obj == middleware
    assert 'W/"7"' in messages[0].msg
    assert "clients.md" in messages[0].hint


def test_w002_silent_without_gzip():
    assert checks.check_middleware() == []


def test_w002_ignores_a_middleware_path_that_does_not_import(settings):
    settings.MIDDLEWARE = [*settings.MIDDLEWARE, "no.such.Middleware"]
    assert checks.check_middleware() == []


# -- manage.py check ------------------------------------------------------------------


def test_call_command_check_fires_every_id(apps, settings, monkeypatch):
    _isolated_model(apps, "BadVersion", {"version": models.IntegerField(default=1)})
    _isolated_model(apps, "PlainManager", {"objects": models.Manager()})
    # The model check reads the global registry; point it at the isolated one.
    monkeypatch.setattr(checks, "apps", apps)
    settings.ROOT_URLCONF = "tests.test_checks"
    settings.MIDDLEWARE = [*settings.MIDDLEWARE, "django.middleware.gzip.GZipMiddleware"]
    with pytest.raises(SystemCheckError) as excinfo:
        # databases=[]: no database-backed checks, like a plain `manage.py check`.
        call_command("check", fail_level="WARNING", databases=[])
    output = str(excinfo.value)
    for check_id in ("E001", "W001", "W002", "W003"):
        assert f"django_etag_lock.{check_id}" in output


# -- W012 (parents and children) ------------------------------------------------------


def test_w012_a_serializer_embedding_a_versioned_child_that_does_not_touch_its_parent():
    messages = checks.check_nested_children()
    assert [m.id for m in messages] == ["django_etag_lock.W012"]
    (message,) = messages
    assert message.obj == "tests.testapp.views.NestedOrderSerializer"
    assert "NestedOrderSerializer.parcels embeds testapp.Parcel" in message.msg
    assert 'etag_lock_touch = ("order",) on Parcel' in message.hint


def test_w012_is_silent_for_children_that_touch(settings):
    # HandOrderSerializer embeds only lines, which touch the order.
    settings.ROOT_URLCONF = "tests.urls_children"
    assert checks.check_nested_children() == []


def test_call_command_check_fires_w012(settings):
    with pytest.raises(SystemCheckError) as excinfo:
        call_command("check", fail_level="WARNING", databases=[])
    assert "django_etag_lock.W012" in str(excinfo.value)


# -- without DRF ----------------------------------------------------------------------

_WITHOUT_DRF = """
import importlib.abc, sys

class HideDRF(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("rest_framework", "drf_spectacular"):
            raise ImportError(f"{name} is hidden: DRF is not installed here")
        return None

sys.meta_path.insert(0, HideDRF())

import django
from django.conf import settings

settings.configure(
    INSTALLED_APPS=["django.contrib.auth", "django.contrib.contenttypes", "django_etag_lock"],
    DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
    MIDDLEWARE=["django.middleware.gzip.GZipMiddleware"],
    ROOT_URLCONF="django.contrib.auth.urls",
)
django.setup()
from django.core.management import call_command

call_command("check", databases=[])
import django_etag_lock.models, django_etag_lock.etags
from django_etag_lock import checks
print(sorted(m.id for m in checks.check_drf_views() + checks.check_middleware()))
try:
    import django_etag_lock.rest_framework
except ImportError:
    print("no DRF integration")
"""


def test_core_and_checks_work_without_drf_installed():
    result = subprocess.run(
        [sys.executable, "-c", _WITHOUT_DRF],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path(__file__).resolve().parent.parent,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-2:] == ["['django_etag_lock.W002']", "no DRF integration"]
