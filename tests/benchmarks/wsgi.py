"""WSGI entry point of the benchmark server (gunicorn ``tests.benchmarks.wsgi``)."""

from __future__ import annotations

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.benchmarks.settings")

application = get_wsgi_application()
