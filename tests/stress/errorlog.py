"""Server errors as JSON lines, keyed by the client's ``X-Stress-Id`` (see server_settings)."""

from __future__ import annotations

import json
import logging
import os
import traceback
from pathlib import Path
from typing import Any

REQUEST_ID_HEADER = "X-Stress-Id"

# Exceptions a request gets when its database connection is killed under it.
CONNECTION_ERRORS = frozenset({"OperationalError", "InterfaceError"})


class ServerErrorLog(logging.Handler):
    """Append ``{"id", "status", "exception", "message", "pid"}`` per logged server error."""

    def __init__(self, path: str) -> None:
        super().__init__()
        self.path = path

    def emit(self, record: logging.LogRecord) -> None:
        request = getattr(record, "request", None)
        request_id = None
        if request is not None:
            request_id = request.META.get("HTTP_" + REQUEST_ID_HEADER.upper().replace("-", "_"))
        exc_type = record.exc_info[0].__name__ if record.exc_info and record.exc_info[0] else None
        exc_value = str(record.exc_info[1])[:300] if record.exc_info else ""
        frames = traceback.extract_tb(record.exc_info[2]) if record.exc_info else []
        where = [f"{f.filename.rsplit('/', 2)[-1]}:{f.lineno} {f.name}" for f in frames[-8:]]
        line = json.dumps(
            {
                "id": request_id,
                "status": getattr(record, "status_code", None),
                "exception": exc_type,
                "message": exc_value or record.getMessage()[:300],
                "pid": os.getpid(),
                "where": where,
            }
        )
        # One write() per line on an O_APPEND file: lines of several workers never interleave.
        with open(self.path, "a", encoding="utf-8") as handle:
            handle.write(line + "\n")


def read_server_errors(path: Path) -> dict[str, dict[str, Any]]:
    """``{request_id: entry}`` of the errors the server logged (workers append, we read)."""
    errors: dict[str, dict[str, Any]] = {}
    if not path.exists():
        return errors
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue  # A worker killed mid-write leaves a torn last line.
        errors[str(entry.get("id"))] = entry
    return errors
