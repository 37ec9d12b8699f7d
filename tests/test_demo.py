"""The demo project: ``manage.py demo``, the start page at ``/`` and ``conflict_walkthrough``."""

from __future__ import annotations

import html
import http.server
import io
import json
import os
import re
import runpy
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import tomllib
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from corsheaders.defaults import default_headers
from customers.management.commands.conflict_walkthrough import ALICE_NOTES, BOB_EMAIL
from customers.models import Customer
from django.contrib.auth import get_user_model
from django.contrib.staticfiles import finders
from django.core.management import CommandError, call_command
from django.http import HttpResponse
from django.test import Client, override_settings

from testproject import commands as commands_module
from tests import browser

pytestmark = pytest.mark.django_db


def seed() -> Customer:
    call_command("demo", no_serve=True, password="pw", stdout=io.StringIO())
    return Customer.objects.get(customer_id="A375")


# -- manage.py demo -------------------------------------------------------------------


def test_demo_without_serving_seeds_customers_and_creates_the_superuser():
    out = io.StringIO()
    call_command("demo", no_serve=True, password="s3cret", port=8123, stdout=out)
    assert set(Customer.objects.values_list("customer_id", flat=True)) == {
        "A375",
        "B112",
        "C501",
        "D240",
    }
    user = get_user_model().objects.get(username="demo")
    assert user.is_superuser
    assert user.is_staff
    assert user.check_password("s3cret")
    assert "password: s3cret" in out.getvalue()
    assert "http://127.0.0.1:8123/" in out.getvalue()


def test_demo_run_twice_keeps_the_customers_and_their_edits():
    customer = seed()
    customer.notes = "edited"
    customer.save()
    seed()
    assert Customer.objects.count() == 4
    assert Customer.objects.get(customer_id="A375").notes == "edited"


# -- the start page -------------------------------------------------------------------


def commands_on(page: str) -> list[list[str]]:
    """The curl commands shown on the page, split like a shell would."""
    blocks = re.findall(r"<pre><code>(curl .*?)</code></pre>", page, flags=re.S)
    return [shlex.split(html.unescape(block).replace("\\\n", " ")) for block in blocks]


def replay(client: Client, argv: list[str]) -> HttpResponse:
    """Run one of the page's curl commands through the test client."""
    assert argv[:2] == ["curl", "-i"]
    method, url, headers, data = "GET", "", {}, None
    rest = iter(argv[2:])
    for arg in rest:
        if arg == "-X":
            method = next(rest)
        elif arg == "-H":
            name, _, value = next(rest).partition(": ")
            headers[name] = value
        elif arg == "-d":
            data = next(rest)
        else:
            url = arg
    assert url.startswith("http://testserver/")
    content_type = headers.pop("Content-Type", "application/octet-stream")
    return client.generic(
        method, url.removeprefix("http://testserver"), data or "", content_type, headers=headers
    )


def test_start_page_links_the_admin_change_page_of_a375_and_the_api():
    customer = seed()
    response = Client().get("/")
    assert response.status_code == 200
    page = response.content.decode()
    assert f"http://testserver/admin/customers/customer/{customer.pk}/change/" in page
    assert f"http://testserver/api/customers/{customer.pk}/" in page
    assert "http://testserver/api/schema/" in page
    assert "http://testserver/admin/customers/customer/" in page
    assert "conflict_walkthrough" in page
    assert f"is at version <strong>{customer.version}</strong>" in page
    assert "DRF's browsable API" in page


def test_start_page_curl_commands_answer_200_then_412_then_428_as_the_page_says():
    customer = seed()
    page = Client().get("/").content.decode()
    commands = commands_on(page)
    assert len(commands) == 5  # four on the JSON API, one on the HAL API
    client = Client()

    read = replay(client, commands[0])
    assert read.status_code == 200
    assert read["ETag"] == f'"{customer.version}"'

    write = replay(client, commands[1])
    assert write.status_code == 200
    assert write["ETag"] == f'"{customer.version + 1}"'

    stale = replay(client, commands[2])
    assert stale.status_code == 412
    assert stale["Content-Type"] == "application/problem+json"
    assert json.loads(stale.content)["status"] == 412

    unconditional = replay(client, commands[3])
    assert unconditional.status_code == 428

    hal = replay(client, commands[4])
    assert hal.status_code == 200
    assert hal["Content-Type"] == "application/hal+json"
    assert hal["ETag"] == write["ETag"]

    row = Customer.objects.get(pk=customer.pk)
    assert row.version == customer.version + 1
    assert row.email == customer.email  # neither refused write got through
    # The page promises a 304 for If-None-Match with the new tag.
    assert f"If-None-Match: {write['ETag']}" in html.unescape(page)
    conditional = client.get(
        f"/api/customers/{customer.pk}/", headers={"If-None-Match": write["ETag"]}
    )
    assert conditional.status_code == 304


def test_start_page_commands_follow_the_current_version():
    customer = seed()
    customer.save()
    customer.save()
    page = html.unescape(Client().get("/").content.decode())
    assert f'If-Match: "{customer.version}"' in page


def test_start_page_without_the_demo_customer_says_how_to_seed():
    response = Client().get("/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "manage.py demo --no-serve" in page
    assert commands_on(page) == []


def test_start_page_links_the_hal_api_and_a375_there():
    customer = seed()
    page = Client().get("/").content.decode()
    assert 'href="http://testserver/hal/"' in page
    assert f"http://testserver/hal/customers/{customer.customer_id}/" in page


def test_start_page_leaves_out_the_hal_api_when_it_is_not_served():
    import testproject.urls

    seed()

    class WithoutHal:  # a URLconf may be any (hashable) object with urlpatterns
        urlpatterns = [
            pattern
            for pattern in testproject.urls.urlpatterns
            if not str(pattern.pattern).startswith("hal")
        ]

    with override_settings(ROOT_URLCONF=WithoutHal):
        response = Client().get("/")
    assert response.status_code == 200
    assert "/hal/" not in response.content.decode()


# -- manage.py conflict_walkthrough ---------------------------------------------------


def test_conflict_walkthrough_shows_200_then_412_then_428_and_loses_nothing():
    customer = seed()
    out = io.StringIO()
    call_command("conflict_walkthrough", stdout=out)
    text = out.getvalue()
    statuses = re.findall(r"-> (\d{3}) ", text)
    assert statuses == ["200", "200", "200", "412", "428", "200", "200"]
    assert "urn:django-etag-lock:problem:precondition-failed" in text
    assert "urn:django-etag-lock:problem:precondition-required" in text
    assert "No update was lost." in text
    row = Customer.objects.get(pk=customer.pk)
    assert (row.notes, row.email) == (ALICE_NOTES, BOB_EMAIL)
    assert row.version == customer.version + 2  # Alice's write and Bob's retry, nothing else


def test_conflict_walkthrough_can_run_again():
    customer = seed()
    call_command("conflict_walkthrough", stdout=io.StringIO())
    call_command("conflict_walkthrough", stdout=io.StringIO())
    assert Customer.objects.get(pk=customer.pk).version == customer.version + 4


def test_conflict_walkthrough_on_another_customer():
    seed()
    call_command("conflict_walkthrough", customer="C501", stdout=io.StringIO())
    assert Customer.objects.get(customer_id="C501").email == BOB_EMAIL


def test_conflict_walkthrough_without_the_customer_says_how_to_seed():
    with pytest.raises(CommandError, match=r"manage.py demo --no-serve"):
        call_command("conflict_walkthrough", stdout=io.StringIO())


# -- manage.py demo: port, --no-serve, the database, the password ---------------------

REPOSITORY = Path(__file__).resolve().parent.parent


def run_manage(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``python testproject/manage.py ...`` in a fresh process, from the repository's root."""
    environment = {**os.environ, "PYTHONPATH": str(REPOSITORY), **(env or {})}
    environment.pop("DJANGO_SETTINGS_MODULE", None)
    return subprocess.run(
        [sys.executable, "testproject/manage.py", *args],
        cwd=REPOSITORY,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def password_file(settings, tmp_path):
    settings.DEMO_PASSWORD_FILE = tmp_path / "demo-password"
    return settings.DEMO_PASSWORD_FILE


def test_demo_on_a_busy_port_says_so_before_anything_else_and_suggests_another(password_file):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        out = io.StringIO()
        with pytest.raises(CommandError) as info:
            call_command("demo", port=port, stdout=out)
    message = str(info.value)
    assert f"Port {port} on 127.0.0.1 is already in use" in message
    assert f"testproject/manage.py demo --port {port + 1}" in message
    assert out.getvalue() == ""  # no "Demo ready", no password
    assert not Customer.objects.exists()
    assert not password_file.exists()


def test_demo_without_serving_says_nothing_is_serving_and_how_to_start(password_file):
    out = io.StringIO()
    call_command("demo", no_serve=True, port=8123, stdout=out)
    text = out.getvalue()
    assert "Nothing is serving (--no-serve)" in text
    assert "testproject/manage.py demo --port 8123" in text
    assert "Start:" not in text


def test_demo_keeps_its_generated_password_across_runs_and_says_where(password_file):
    first, second = io.StringIO(), io.StringIO()
    call_command("demo", no_serve=True, stdout=first)
    password = password_file.read_text().strip()
    assert len(password) >= 12
    assert f"password: {password}" in first.getvalue()
    assert f"kept in {password_file}" in first.getvalue()
    call_command("demo", no_serve=True, stdout=second)
    assert f"password: {password}" in second.getvalue()
    assert get_user_model().objects.get(username="demo").check_password(password)
    assert password_file.stat().st_mode & 0o077 == 0


def test_demo_password_option_replaces_the_kept_one(password_file):
    call_command("demo", no_serve=True, stdout=io.StringIO())
    call_command("demo", no_serve=True, password="chosen", stdout=io.StringIO())
    call_command("demo", no_serve=True, stdout=io.StringIO())
    assert password_file.read_text().strip() == "chosen"
    assert get_user_model().objects.get(username="demo").check_password("chosen")


def missing_database_url(vendor: str) -> str:
    url = os.environ.get("DATABASE_URL", "")
    if vendor == "sqlite":
        return "sqlite:////nonexistent-dir-test-h14-first/db.sqlite3"
    return url.rsplit("/", 1)[0] + "/test_h14_first_never_created"


def test_demo_with_a_missing_database_says_in_one_sentence_how_to_create_it(vendor):
    result = run_manage("demo", "--no-serve", env={"DATABASE_URL": missing_database_url(vendor)})
    assert result.returncode == 1
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr  # no traceback
    message = lines[0]
    if vendor == "postgresql":
        assert 'database "test_h14_first_never_created"' in message
        assert "does not exist: create it with createdb" in message
    elif vendor == "mysql":
        assert "does not exist: create it with mariadb" in message
        assert "CREATE DATABASE test_h14_first_never_created CHARACTER SET utf8mb4" in message
    else:
        assert "Cannot use the sqlite database" in message
        assert "DATABASE_URL is right" in message


# -- the start page's other commands, run as written ----------------------------------


def shell_commands_on(page: str) -> list[str]:
    """The non-curl commands the page shows in <pre> or <code>."""
    text = html.unescape(page)
    return re.findall(r"<code>([^<]*(?:manage\.py|mkdocs)[^<]*)</code>", text)


def run_as_shown(command: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """A command exactly as the page shows it, from the repository's root."""
    environment = {**os.environ, "PYTHONPATH": str(REPOSITORY), **env}
    environment.pop("DJANGO_SETTINGS_MODULE", None)
    return subprocess.run(
        shlex.split(command),
        cwd=REPOSITORY,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_start_page_names_the_interpreter_that_runs_the_demo():
    seed()
    commands = shell_commands_on(Client().get("/").content.decode())
    python = shlex.quote(commands_module.python())
    walkthrough = [command for command in commands if "conflict_walkthrough" in command]
    assert walkthrough == [f"{python} testproject/manage.py conflict_walkthrough"]
    assert all(not command.startswith("python ") for command in commands)
    docs = [command for command in commands if "mkdocs" in command]
    assert docs == [f"{python} -m pip install -e '.[docs]' && {python} -m mkdocs serve"]


def test_interpreter_inside_the_repository_is_shown_relative_to_it(monkeypatch):
    monkeypatch.setattr(sys, "executable", str(REPOSITORY / ".venv" / "bin" / "python"))
    assert commands_module.python() == ".venv/bin/python"
    assert commands_module.manage("demo") == ".venv/bin/python testproject/manage.py demo"
    monkeypatch.setattr(sys, "executable", "/opt/my python/bin/python3")
    assert commands_module.python() == "'/opt/my python/bin/python3'"


def test_start_page_walkthrough_and_seed_commands_run_as_written(tmp_path):
    database = {"DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"}
    [seed_line] = [
        command
        for command in shell_commands_on(Client().get("/").content.decode())
        if "--no-serve" in command
    ]
    seeded = run_as_shown(seed_line, {**database, "DEMO_PASSWORD_FILE": str(tmp_path / "pw")})
    assert seeded.returncode == 0, seeded.stderr
    assert "Demo ready: 4 customers (4 new)." in seeded.stdout
    seed()
    [walkthrough] = [
        command
        for command in shell_commands_on(Client().get("/").content.decode())
        if "conflict_walkthrough" in command
    ]
    played = run_as_shown(walkthrough, database)
    assert played.returncode == 0, played.stderr
    assert "No update was lost." in played.stdout


def test_start_page_asgi_command_serves_the_async_api_as_written(tmp_path):
    database = {"DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"}
    [seed_line] = [
        command
        for command in shell_commands_on(Client().get("/").content.decode())
        if "--no-serve" in command
    ]
    seeded = run_as_shown(seed_line, {**database, "DEMO_PASSWORD_FILE": str(tmp_path / "pw")})
    assert seeded.returncode == 0, seeded.stderr
    seed()
    page = html.unescape(Client().get("/").content.decode())
    [asgi_command] = re.findall(r"<code>([^<]*uvicorn[^<]*)</code>", page)
    assert asgi_command.endswith(" --port 8001")
    assert "send the same request to port 8001" in " ".join(page.split())
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    environment = {**os.environ, "PYTHONPATH": str(REPOSITORY), **database}
    environment.pop("DJANGO_SETTINGS_MODULE", None)
    log = tmp_path / "uvicorn.log"
    with log.open("wb") as output:
        server = subprocess.Popen(
            shlex.split(asgi_command.replace("--port 8001", f"--port {port}")),
            cwd=REPOSITORY,
            env=environment,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(
                    f"http://127.0.0.1:{port}/async-api/customers/1/", timeout=5
                ) as response:
                    break
            except OSError:
                assert server.poll() is None, log.read_text()
                assert time.monotonic() < deadline, "the ASGI command did not serve in 30 s"
                time.sleep(0.3)
        assert response.status == 200
        assert response.headers["ETag"] == '"1"'
        assert response.headers["server"] == "uvicorn"
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_demo_extra_installs_the_asgi_server_the_start_page_names():
    pyproject = tomllib.loads((REPOSITORY / "pyproject.toml").read_text())
    demo = pyproject["project"]["optional-dependencies"]["demo"]
    assert any(requirement.startswith("uvicorn") for requirement in demo)


# -- the API documentation page -------------------------------------------------------


def test_start_page_links_the_api_documentation_page():
    seed()
    page = Client().get("/").content.decode()
    assert 'href="http://testserver/api/docs/"' in page


def test_api_documentation_page_is_swagger_ui_served_without_internet():
    response = Client().get("/api/docs/")
    assert response.status_code == 200
    page = response.content.decode()
    assets = re.findall(r'(?:src|href)="([^"]+\.(?:js|css|png))"', page)
    assert any(asset.endswith("swagger-ui-bundle.js") for asset in assets)
    for asset in assets:
        assert asset.startswith("/static/drf_spectacular_sidecar/"), asset  # no CDN
        assert finders.find(asset.removeprefix("/static/")), asset
    assert "/api/schema/" in page


# -- CORS: a browser app on another loopback origin uses the demo API ------------------

CLIENTS_MD = (REPOSITORY / "docs" / "clients.md").read_text(encoding="utf-8")


def docs_fetch_sample(api: str) -> str:
    """The load() and patch() functions of docs/clients.md's fetch sample, for ``api``."""
    sample = CLIENTS_MD.split("## JavaScript (`fetch`)", 1)[1].split("```javascript\n", 1)[1]
    functions = sample.split("\nconst { customer, etag } = await load(1);", 1)[0]
    old_api = 'const API = "http://127.0.0.1:8000/api/customers/";'
    assert old_api in functions
    return functions.replace(old_api, f"const API = {json.dumps(api)};")


CORS_PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>SPA</title></head>
<body><pre id="log"></pre><script>
%(sample)s
async function play(id) {
  const steps = [];
  const first = await load(id);
  steps.push({step: "get", etag: first.etag});
  const saved = await patch(id, first.etag, {notes: "Saved from another origin."});
  steps.push({step: "patch", etag: saved.etag, notes: saved.customer.notes});
  try {
    await patch(id, first.etag, {notes: "Stale write."});
    steps.push({step: "stale", error: "no conflict"});
  } catch (error) {
    steps.push({step: "stale", detail: error.message, currentEtag: error.conflict?.currentEtag});
  }
  const raw = await fetch(`${API}${id}/`, {
    method: "PATCH",
    headers: {"Content-Type": "application/json", "If-Match": first.etag},
    body: JSON.stringify({notes: "Stale write."}),
  });
  steps.push({step: "stale-raw", status: raw.status, type: raw.headers.get("Content-Type"),
              etag: raw.headers.get("ETag"), body: await raw.json()});
  const fresh = await load(id);
  steps.push({step: "reload", etag: fresh.etag, notes: fresh.customer.notes});
  const retried = await patch(id, fresh.etag, {notes: fresh.customer.notes + " Retried."});
  steps.push({step: "retry", etag: retried.etag, notes: retried.customer.notes});
  return steps;
}
</script></body></html>"""


class _Page(http.server.BaseHTTPRequestHandler):
    body = b""

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, format: str, *args: object) -> None:
        pass


def wait_for(url: str, process: subprocess.Popen[str], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the demo exited: {process.communicate()}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.3)
    raise AssertionError(f"{url} did not answer within {seconds}s")


@pytest.mark.browser
@pytest.mark.skipif(bool(browser._missing), reason="needs Debian chromium and chromedriver")
def test_browser_app_on_another_origin_reads_tags_and_gets_200_412_then_200(tmp_path):
    page_server = http.server.ThreadingHTTPServer(("127.0.0.1", browser.free_port()), _Page)
    page_origin = f"http://localhost:{page_server.server_address[1]}"
    port = browser.free_port()
    api = f"http://127.0.0.1:{port}/api/customers/"
    _Page.body = (CORS_PAGE % {"sample": docs_fetch_sample(api)}).encode()
    environment = {
        **os.environ,
        "PYTHONPATH": str(REPOSITORY),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "DEMO_PASSWORD_FILE": str(tmp_path / "password"),
        "DEMO_CORS_ORIGINS": page_origin,
    }
    environment.pop("DJANGO_SETTINGS_MODULE", None)
    demo = subprocess.Popen(
        [sys.executable, "testproject/manage.py", "demo", "--port", str(port)],
        cwd=REPOSITORY,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    threading.Thread(target=page_server.serve_forever, daemon=True).start()
    profile = tempfile.mkdtemp(prefix="etag-lock-chromium-")
    chromium = None
    try:
        wait_for(api, demo)
        with urllib.request.urlopen(api) as response:
            [ada] = [c for c in json.load(response) if c["customer_id"] == "A375"]
        chromium = browser.start_browser(profile)
        chromium.set_script_timeout(30)
        chromium.get(page_origin + "/")
        steps = chromium.execute_async_script(
            "play(arguments[0]).then(arguments[1], e => arguments[1]({error: String(e)}))",
            ada["id"],
        )
    finally:
        if chromium is not None:
            chromium.quit()
        shutil.rmtree(profile, ignore_errors=True)
        page_server.shutdown()
        page_server.server_close()
        demo.terminate()
        demo.communicate(timeout=30)
    assert isinstance(steps, list), steps
    get, saved, stale, raw, reload, retry = steps
    assert get["etag"] == ada["etag"]  # the ETag header is readable cross-origin
    assert saved["etag"] == f'"{ada["version"] + 1}"'
    assert saved["notes"] == "Saved from another origin."
    assert stale["currentEtag"] == saved["etag"]
    assert "changed since you read it" in stale["detail"]
    assert raw["status"] == 412
    assert raw["type"] == "application/problem+json"
    assert raw["etag"] == saved["etag"]
    assert raw["body"]["current_etag"] == saved["etag"]
    assert raw["body"]["reason"] == "if-match-failed"
    assert (reload["etag"], reload["notes"]) == (saved["etag"], "Saved from another origin.")
    assert retry["etag"] == f'"{ada["version"] + 2}"'
    assert retry["notes"] == "Saved from another origin. Retried."


def docs_cors_settings() -> dict[str, Any]:
    """What docs/clients.md#cors tells users to write in settings.py."""
    section = CLIENTS_MD.split("\n## CORS\n", 1)[1].split("\n## ", 1)[0]
    [block] = re.findall(r"```python\n# settings.py\n(.*?)```", section, flags=re.S)
    assert '    "corsheaders",\n' in block
    assert '    "corsheaders.middleware.CorsMiddleware",  # first' in block
    assignments = re.findall(r"^(CORS_\w+) = (.*)$", block, flags=re.M)
    namespace: dict[str, Any] = {"default_headers": default_headers}
    return {name: eval(value, namespace) for name, value in assignments}


def demo_settings(monkeypatch: pytest.MonkeyPatch, origins: str | None) -> dict[str, Any]:
    if origins is None:
        monkeypatch.delenv("DEMO_CORS_ORIGINS", raising=False)
    else:
        monkeypatch.setenv("DEMO_CORS_ORIGINS", origins)
    return runpy.run_path(str(REPOSITORY / "testproject" / "testproject" / "settings.py"))


def test_demo_cors_is_set_up_exactly_as_the_docs_say(monkeypatch):
    documented = docs_cors_settings()
    assert set(documented) == {"CORS_ALLOWED_ORIGINS", "CORS_ALLOW_HEADERS", "CORS_EXPOSE_HEADERS"}
    demo = demo_settings(monkeypatch, "http://localhost:5173, http://127.0.0.1:5173")
    assert "corsheaders" in demo["INSTALLED_APPS"]
    assert demo["MIDDLEWARE"][0] == "corsheaders.middleware.CorsMiddleware"
    assert demo["CORS_ALLOWED_ORIGINS"] == ["http://localhost:5173", "http://127.0.0.1:5173"]
    assert demo["CORS_ALLOW_HEADERS"] == documented["CORS_ALLOW_HEADERS"]
    assert demo["CORS_EXPOSE_HEADERS"] == documented["CORS_EXPOSE_HEADERS"]


def test_demo_without_cors_origins_has_no_cors(monkeypatch):
    demo = demo_settings(monkeypatch, None)
    assert "corsheaders" not in demo["INSTALLED_APPS"]
    assert not any("corsheaders" in name for name in demo["MIDDLEWARE"])
    assert demo["CORS_ALLOWED_ORIGINS"] == []


def test_demo_api_answers_if_match_null_with_a_400_that_points_to_cors():
    customer = seed()
    response = Client().patch(
        f"/api/customers/{customer.pk}/",
        '{"notes": "x"}',
        content_type="application/json",
        headers={"If-Match": "null"},
    )
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    detail = response.json()["detail"]
    assert "could not read the ETag response header" in detail
    assert "Access-Control-Expose-Headers" in detail
    assert Customer.objects.get(pk=customer.pk).version == customer.version
