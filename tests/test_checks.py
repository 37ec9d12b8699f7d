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


# -- W011 / W013 / E011 (write paths) ----------------------------------------------------


def test_w011_versioned_user_model_that_versions_last_login(apps):
    from django.contrib.auth.base_user import AbstractBaseUser

    attrs = {
        "__module__": __name__,
        "Meta": type("Meta", (), {"app_label": "testapp"}),
        "username": models.CharField(max_length=10, unique=True),
        "USERNAME_FIELD": "username",
    }
    model = type("LoginCounted", (AbstractBaseUser, VersionedModel), attrs)
    messages = checks.check_versioned_models(app_configs=[apps.get_app_config("testapp")])
    assert _ids(messages) == ["django_etag_lock.W011"]
    assert messages[0].obj is model
    assert "excluded_fields=['last_login']" in messages[0].hint


def test_w011_is_silent_when_last_login_is_excluded(apps):
    from django.contrib.auth.base_user import AbstractBaseUser

    from django_etag_lock.models import VersionField

    attrs = {
        "__module__": __name__,
        "Meta": type("Meta", (), {"app_label": "testapp"}),
        "username": models.CharField(max_length=10, unique=True),
        "USERNAME_FIELD": "username",
        "version": VersionField(excluded_fields=["last_login"]),
    }
    type("LoginExcluded", (AbstractBaseUser, VersionedModel), attrs)
    assert checks.check_versioned_models(app_configs=[apps.get_app_config("testapp")]) == []


def test_w013_base_manager_that_does_not_bump(apps):
    meta = type("Meta", (), {"app_label": "testapp", "base_manager_name": "plain"})
    objects = VersionedManager()  # created first: stays the default manager
    attrs = {"__module__": __name__, "Meta": meta, "objects": objects, "plain": models.Manager()}
    model = type("PlainBase", (VersionedModel,), attrs)
    messages = checks.check_versioned_models(app_configs=[apps.get_app_config("testapp")])
    assert _ids(messages) == ["django_etag_lock.W013"]
    assert messages[0].obj is model


@pytest.mark.skipif(not hasattr(models, "DB_SET_NULL"), reason="DB_SET_NULL is new in Django 6.1")
def test_e011_database_level_set_null_on_a_versioned_row(apps):
    target = type(
        "Target",
        (models.Model,),
        {"__module__": __name__, "Meta": type("Meta", (), {"app_label": "testapp"})},
    )
    fk = models.ForeignKey(target, on_delete=models.DB_SET_NULL, null=True)  # type: ignore[attr-defined]
    model = _isolated_model(apps, "DbSetNull", {"target": fk})
    messages = checks.check_versioned_models(app_configs=[apps.get_app_config("testapp")])
    assert _ids(messages) == ["django_etag_lock.E011"]
    assert messages[0].obj is model


# -- E101-E108 / W101 (settings) --------------------------------------------------------


# -- E101-E110 / W101 (settings) --------------------------------------------------------

_BOOLEAN_IDS = {
    "ETAG_LOCK_REQUIRE_IF_MATCH": "django_etag_lock.E101",
    "ETAG_LOCK_ALLOW_IF_MATCH_STAR": "django_etag_lock.E102",
    "ETAG_LOCK_INCLUDE_REPRESENTATION_ON_412": "django_etag_lock.E105",
    "ETAG_LOCK_ADMIN_LIST_EDITABLE_ALL_OR_NOTHING": "django_etag_lock.E107",
    "ETAG_LOCK_CREATE_ON_PUT": "django_etag_lock.E108",
    "ETAG_LOCK_COMPILED_SAVE": "django_etag_lock.E109",
    "ETAG_LOCK_COMPILED_FETCH": "django_etag_lock.E110",
}


@pytest.mark.parametrize(("name", "check_id"), sorted(_BOOLEAN_IDS.items()))
@pytest.mark.parametrize("value", ["False", 0, 1, None, "true"])
def test_boolean_settings_must_be_booleans(settings, name, check_id, value):
    setattr(settings, name, value)
    messages = checks.check_settings()
    assert _ids(messages) == [check_id]
    assert name in messages[0].msg
    assert repr(value) in messages[0].msg
    assert f"{name} = False" in messages[0].hint


@pytest.mark.parametrize("name", sorted(_BOOLEAN_IDS))
@pytest.mark.parametrize("value", [True, False])
def test_boolean_settings_accept_true_and_false(settings, name, value):
    setattr(settings, name, value)
    assert checks.check_settings() == []


@pytest.mark.parametrize("value", ["False", "AUTO", 0, 1, None])
def test_e106_atomic_writes_must_be_a_boolean_or_auto(settings, value):
    settings.ETAG_LOCK_ATOMIC_WRITES = value
    messages = checks.check_settings()
    assert _ids(messages) == ["django_etag_lock.E106"]
    assert repr(value) in messages[0].msg
    assert '"auto"' in messages[0].hint


@pytest.mark.parametrize("value", [True, False, "auto"])
def test_e106_accepts_true_false_and_auto(settings, value):
    settings.ETAG_LOCK_ATOMIC_WRITES = value
    assert checks.check_settings() == []


@pytest.mark.parametrize("value", [0, -1, True, "64", 2.5, None])
def test_e104_max_if_match_tags_must_be_a_positive_integer(settings, value):
    settings.ETAG_LOCK_MAX_IF_MATCH_TAGS = value
    messages = checks.check_settings()
    assert _ids(messages) == ["django_etag_lock.E104"]
    assert "at least 1" in messages[0].msg


@pytest.mark.parametrize("value", [1, 64, 10_000])
def test_e104_accepts_positive_integers(settings, value):
    settings.ETAG_LOCK_MAX_IF_MATCH_TAGS = value
    assert checks.check_settings() == []


@pytest.mark.parametrize("value", [0, False, ["private"], "private\r\nSet-Cookie: a=b", "nö\u2028"])
def test_e103_cache_control_must_be_a_header_value_or_none(settings, value):
    settings.ETAG_LOCK_CACHE_CONTROL = value
    assert _ids(checks.check_settings()) == ["django_etag_lock.E103"]


@pytest.mark.parametrize("value", [None, "", "private, no-cache", "max-age=0,\tmust-revalidate"])
def test_e103_accepts_strings_and_none(settings, value):
    settings.ETAG_LOCK_CACHE_CONTROL = value
    assert checks.check_settings() == []


def test_w101_unknown_setting_suggests_the_close_name(settings):
    settings.ETAG_LOCK_REQUIRE_IFMATCH = False
    messages = checks.check_settings()
    assert _ids(messages) == ["django_etag_lock.W101"]
    assert messages[0].hint == "Did you mean ETAG_LOCK_REQUIRE_IF_MATCH?"


def test_every_setting_of_conf_is_known():
    from django_etag_lock.conf import Settings

    names = {f"ETAG_LOCK_{name}" for name in vars(Settings) if name.isupper()}
    assert names <= checks.known_settings()
    assert "ETAG_LOCK_CREATE_ON_PUT" in checks.known_settings()


def test_manage_py_check_fails_on_a_bad_setting(settings):
    settings.ETAG_LOCK_MAX_IF_MATCH_TAGS = 0
    settings.ETAG_LOCK_INCLUDE_REPRESENTATION_ON_412 = "False"
    with pytest.raises(SystemCheckError) as excinfo:
        call_command("check", databases=[])
    text = str(excinfo.value)
    assert "django_etag_lock.E104" in text
    assert "django_etag_lock.E105" in text
