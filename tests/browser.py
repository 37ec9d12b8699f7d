"""Headless Debian Chromium for the browser tests (``pytest -m browser``).

Selenium is pointed at /usr/bin/chromedriver, so Selenium Manager never downloads
anything; ``apt-get install chromium chromium-driver`` provides both.
"""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
    "--window-size=1280,1300",
]

_missing = [str(path) for path in (CHROMIUM, CHROMEDRIVER) if not path.exists()]

browser_marks = [
    pytest.mark.browser,
    pytest.mark.skipif(
        bool(_missing),
        reason=f"needs {' and '.join(_missing)} (apt-get install chromium chromium-driver)",
    ),
]


def start_browser(profile: str) -> webdriver.Chrome:
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for arg in [*CHROMIUM_ARGS, f"--user-data-dir={profile}"]:
        options.add_argument(arg)
    return webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)


def free_port(first: int = 18400, last: int = 18449) -> int:
    """A loopback port nothing listens on, from this suite's range (not the 8000 of a demo)."""
    for port in range(first, last + 1):
        with socket.socket() as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port on 127.0.0.1 between {first} and {last}")
