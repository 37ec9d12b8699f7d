"""Settings for the test suite. ``DATABASE_URL`` picks the database (SQLite by default)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent
# The demo project's apps (customers) are tested too.
sys.path.insert(0, str(BASE_DIR / "testproject"))

try:  # mysqlclient when installed, otherwise the pure-Python PyMySQL
    import MySQLdb  # noqa: F401
except ImportError:  # pragma: no cover - depends on the environment
    import pymysql

    pymysql.install_as_MySQLdb()

SECRET_KEY = "tests-only-not-secret"
DEBUG = False
USE_TZ = True
TIME_ZONE = "UTC"
ALLOWED_HOSTS = ["*"]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", "sqlite:///:memory:"), conn_max_age=0
    ),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.mysql":
    DATABASES["default"].setdefault("OPTIONS", {})["charset"] = "utf8mb4"
# Lets several runs share one server without sharing a test database (CI, developers).
if os.environ.get("TEST_DATABASE_NAME") and DATABASES["default"]["ENGINE"] != (
    "django.db.backends.sqlite3"
):
    DATABASES["default"]["TEST"] = {"NAME": os.environ["TEST_DATABASE_NAME"]}
# DATABASE_URL=sqlite:////tmp/x.sqlite3: a file test database (x.sqlite3-test), so live-server
# threads get connections of their own and really race (tests/test_live_creators.py).
elif DATABASES["default"]["NAME"] not in ("", ":memory:") and DATABASES["default"][
    "ENGINE"
].endswith("sqlite3"):
    DATABASES["default"]["TEST"] = {"NAME": f"{DATABASES['default']['NAME']}-test"}
# A read replica of the same server, a second connection; only tests/test_multidb.py routes
# to it (override_settings(DATABASE_ROUTERS=...)).
DATABASES["replica"] = {
    **DATABASES["default"],
    "OPTIONS": dict(DATABASES["default"].get("OPTIONS", {})),
    "TEST": {"MIRROR": "default"},
}

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # the demo's offline Swagger UI (/api/docs/)
    "ninja",
    "django_etag_lock",
    "tests.testapp",
    "customers",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]

ROOT_URLCONF = "tests.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "testproject" / "templates"],  # the demo's start page
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

STATIC_URL = "/static/"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": None,
}

# manage.py demo keeps its superuser's password here, not in the demo project's folder.
DEMO_PASSWORD_FILE = BASE_DIR / "tests" / "artifacts" / "demo-password"

SPECTACULAR_SETTINGS = {"SWAGGER_UI_DIST": "SIDECAR", "SWAGGER_UI_FAVICON_HREF": "SIDECAR"}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"null": {"class": "logging.NullHandler"}},
    "loggers": {"django_etag_lock": {"handlers": ["null"], "level": "INFO"}},
}
