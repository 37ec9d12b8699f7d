"""Settings of the demo project as the harness serves it under gunicorn.

The demo project's own settings, plus what a production deployment has: DEBUG off,
persistent connections with health checks (a connection killed while idle is replaced
at the start of the next request), and every server error written as one JSON line to
``STRESS_ERROR_LOG`` with the request's ``X-Stress-Id``, so the checker can tell a 5xx
caused by a killed database connection from any other.
"""

from __future__ import annotations

import os

from testproject.settings import *  # noqa: F403
from testproject.settings import DATABASES, MIDDLEWARE

DEBUG = False
DATABASES["default"]["CONN_MAX_AGE"] = int(os.environ.get("CONN_MAX_AGE", "60"))
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# Isolation level (`--isolation`): PostgreSQL's is the database default the harness set
# (ALTER DATABASE), so autocommit statements have it too; MariaDB's is set per session.
if os.environ.get("STRESS_ISOLATION") and DATABASES["default"]["ENGINE"].endswith("mysql"):
    DATABASES["default"].setdefault("OPTIONS", {})["isolation_level"] = os.environ[
        "STRESS_ISOLATION"
    ]
if os.environ.get("STRESS_ATOMIC_REQUESTS") == "1":
    DATABASES["default"]["ATOMIC_REQUESTS"] = True
    # What docs/http.md says to add with ATOMIC_REQUESTS: a commit the database refuses
    # (SERIALIZABLE) is then a 412, not a 500.
    MIDDLEWARE = [*MIDDLEWARE, "django_etag_lock.middleware.ConcurrencyRefusalMiddleware"]
if os.environ.get("STRESS_PGBOUNCER") == "1":
    # Transaction pooling: a server connection is someone else's between transactions.
    DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = True
if os.environ.get("STRESS_SABOTAGE") == "1":
    MIDDLEWARE = [*MIDDLEWARE, "tests.stress.sabotage.UncheckedWritesMiddleware"]

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {
        "stress": {
            "class": "tests.stress.errorlog.ServerErrorLog",
            "level": "ERROR",
            "path": os.environ.get("STRESS_ERROR_LOG", os.devnull),
        },
    },
    "loggers": {
        "django.request": {"handlers": ["stress"], "level": "ERROR", "propagate": False},
        "django_etag_lock": {"handlers": [], "level": "WARNING", "propagate": False},
    },
}
