"""The demo project: ``manage.py demo``, the start page at ``/`` and ``conflict_walkthrough``."""

from __future__ import annotations

import html
import io
import json
import os
import re
import shlex
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from customers.management.commands.conflict_walkthrough import ALICE_NOTES, BOB_EMAIL
from customers.models import Customer
from django.contrib.auth import get_user_model
from django.contrib.staticfiles import finders
from django.core.management import CommandError, call_command
from django.http import HttpResponse
from django.test import Client, override_settings

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


def test_start_page_names_the_interpreter_that_runs_the_demo():
    seed()
    commands = shell_commands_on(Client().get("/").content.decode())
    walkthrough = [command for command in commands if "conflict_walkthrough" in command]
    assert walkthrough == [f"{sys.executable} testproject/manage.py conflict_walkthrough"]
    assert all(not command.startswith("python ") for command in commands)
    docs = [command for command in commands if "mkdocs" in command]
    assert docs == [
        f"{sys.executable} -m pip install -e '.[docs]' && {sys.executable} -m mkdocs serve"
    ]


def test_start_page_walkthrough_and_seed_commands_run_as_written(tmp_path):
    database = {"DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"}
    seed_command = shell_commands_on(Client().get("/").content.decode())
    [seed_line] = [command for command in seed_command if "--no-serve" in command]
    seeded = run_manage(
        *shlex.split(seed_line)[2:],
        env={**database, "DEMO_PASSWORD_FILE": str(tmp_path / "pw")},
    )
    assert seeded.returncode == 0, seeded.stderr
    seed()
    [walkthrough] = [
        command
        for command in shell_commands_on(Client().get("/").content.decode())
        if "conflict_walkthrough" in command
    ]
    argv = shlex.split(walkthrough)
    assert argv[:2] == [sys.executable, "testproject/manage.py"]
    played = run_manage(*argv[2:], env=database)
    assert played.returncode == 0, played.stderr
    assert "No update was lost." in played.stdout


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
