"""The demo's own commands as a reader should type them: with the interpreter that runs it."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

from django.conf import settings

REPOSITORY = Path(__file__).resolve().parent.parent.parent
MANAGE_PY = Path(__file__).resolve().parent.parent / "manage.py"


def python() -> str:
    """This interpreter, relative to the repository when it lives there (``.venv/bin/python``).

    Outside a virtualenv a bare ``python`` lacks Django; the interpreter serving the demo
    has everything, so the commands shown name it.
    """
    executable = Path(sys.executable)
    try:
        shown = str(executable.relative_to(REPOSITORY))
    except ValueError:
        shown = str(executable)
    return shlex.quote(shown)


def manage(*args: str) -> str:
    """``<python> testproject/manage.py <args>``, to run from the repository's root."""
    return " ".join([python(), shlex.quote(str(MANAGE_PY.relative_to(REPOSITORY))), *args])


def shown(path: Path) -> str:
    """``path`` relative to the repository when it is inside it."""
    try:
        return str(path.relative_to(REPOSITORY))
    except ValueError:
        return str(path)


def password_file() -> Path:
    """Where ``manage.py demo`` keeps the superuser's password (``DEMO_PASSWORD_FILE``)."""
    configured = getattr(settings, "DEMO_PASSWORD_FILE", None)
    return Path(configured) if configured else MANAGE_PY.parent / ".demo-password"
