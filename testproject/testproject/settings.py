"""Demo project settings: the app installed exactly as the docs say.

SQLite by default (``testproject/db.sqlite3``); ``DATABASE_URL`` switches to
PostgreSQL (``postgres://postgres@127.0.0.1:5432/demo``) or MariaDB
(``mysql://root@127.0.0.1:3306/demo``).

``DEMO_CORS_ORIGINS`` (space- or comma-separated origins, such as
``http://localhost:5173``) opts in to CORS for browser apps on those origins, set up
exactly as docs/clients.md says: the corsheaders app, its middleware first, and the
headers a conditional-request client needs.
"""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent

try:  # mysqlclient when installed, otherwise the pure-Python PyMySQL
    import MySQLdb  # noqa: F401
except ImportError:  # pragma: no cover - depends on the environment
    import pymysql

    pymysql.install_as_MySQLdb()

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "demo-only-not-secret")
DEBUG = os.environ.get("DJANGO_DEBUG", "1") == "1"
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "[::1]", "testserver"]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI's files, served locally at /api/docs/
    "ninja",
    "django_etag_lock",
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
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

# Opt-in CORS, as docs/clients.md#cors says (the app, the middleware first, the settings).
CORS_ALLOWED_ORIGINS = os.environ.get("DEMO_CORS_ORIGINS", "").replace(",", " ").split()
if CORS_ALLOWED_ORIGINS:
    from corsheaders.defaults import default_headers

    INSTALLED_APPS.append("corsheaders")
    MIDDLEWARE.insert(0, "corsheaders.middleware.CorsMiddleware")
    CORS_ALLOW_HEADERS = (*default_headers, "if-match", "if-none-match", "if-unmodified-since")
    CORS_EXPOSE_HEADERS = ["ETag", "Last-Modified"]

ROOT_URLCONF = "testproject.urls"
WSGI_APPLICATION = "testproject.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
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

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
        conn_max_age=int(os.environ.get("CONN_MAX_AGE", "0")),
    ),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.mysql":
    DATABASES["default"].setdefault("OPTIONS", {})["charset"] = "utf8mb4"

AUTH_PASSWORD_VALIDATORS: list[dict[str, str]] = []

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # The demo serves on loopback only; its API is open to anonymous clients.
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "UNAUTHENTICATED_USER": None,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "django-etag-lock demo API",
    "DESCRIPTION": "Customers, protected by ETag / If-Match preconditions.",
    "VERSION": "1.0.0",
    # Swagger UI from drf-spectacular-sidecar: the docs page works offline.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
}

# manage.py demo keeps the superuser's password here between runs (chmod 600).
DEMO_PASSWORD_FILE = Path(os.environ.get("DEMO_PASSWORD_FILE") or BASE_DIR / ".demo-password")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"django_etag_lock": {"handlers": ["console"], "level": "INFO"}},
}
