"""Settings for the benchmarks: ``BENCH_DATABASE_URL`` picks the database.

A production-like stack: ``DEBUG = False`` (no query log), a short middleware list,
JSON only in DRF, no authentication. The app's settings are left at their defaults.
"""

from __future__ import annotations

import os

import dj_database_url

try:  # mysqlclient when installed, otherwise the pure-Python PyMySQL
    import MySQLdb  # noqa: F401
except ImportError:  # pragma: no cover - depends on the environment
    import pymysql

    pymysql.install_as_MySQLdb()

SECRET_KEY = "benchmarks-only-not-secret"
DEBUG = False
USE_TZ = True
TIME_ZONE = "UTC"
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("BENCH_DATABASE_URL", "sqlite:///bench.sqlite3"),
        conn_max_age=None,
    ),
}
_ENGINE = DATABASES["default"]["ENGINE"]
if _ENGINE == "django.db.backends.mysql":
    DATABASES["default"].setdefault("OPTIONS", {})["charset"] = "utf8mb4"
elif _ENGINE == "django.db.backends.sqlite3":
    # The usual production settings for SQLite behind several workers (WAL, so readers
    # never wait for the writer; a busy timeout instead of "database is locked").
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
    }

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "rest_framework",
    "concurrency",
    "django_etag_lock",
    "tests.benchmarks.benchapp",
]

MIDDLEWARE = [
    "tests.benchmarks.benchapp.middleware.ServerTimingMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.common.CommonMiddleware",
]

ROOT_URLCONF = "tests.benchmarks.benchapp.urls"
WSGI_APPLICATION = "tests.benchmarks.wsgi.application"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "UNAUTHENTICATED_USER": None,
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"null": {"class": "logging.NullHandler"}},
    "loggers": {
        "django_etag_lock": {"handlers": ["null"], "level": "INFO", "propagate": False},
        "django.request": {"handlers": ["null"], "level": "ERROR", "propagate": False},
    },
}
