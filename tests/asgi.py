"""A real ASGI server (uvicorn) for the async doors' tests, in a thread of the test process.

pytest-django's ``live_server`` speaks WSGI; async views under it run through
``async_to_sync``. This runs the project's ASGI application under uvicorn on loopback, so
async views (adrf viewsets, async Ninja routes) run on an event loop as in production,
against the test database.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn
from django.core.asgi import get_asgi_application

# tests/BRIEF: this branch's port range is 18600-18649.
PORTS = range(18600, 18650)


def _free_port() -> int:
    for port in PORTS:
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {PORTS.start}-{PORTS.stop - 1}")


@contextmanager
def asgi_server(timeout: float = 15.0) -> Iterator[str]:
    """Serve Django's ASGI application with uvicorn; yields the base URL."""
    port = _free_port()
    config = uvicorn.Config(
        get_asgi_application(),
        host="127.0.0.1",
        port=port,
        lifespan="off",
        log_level="warning",
        access_log=False,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            raise RuntimeError(f"uvicorn did not start on 127.0.0.1:{port}")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=timeout)
        assert not thread.is_alive(), "uvicorn did not stop"
