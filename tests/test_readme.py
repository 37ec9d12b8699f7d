"""The README's quickstart, run as written: its model, serializer, views, URLs and curl agree."""

from __future__ import annotations

import ast
import re
import shlex
from pathlib import Path
from typing import Any

import pytest
from django.test import Client, override_settings

from tests.testapp.models import Shelf

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
QUICKSTART = README.split("## Quickstart", 1)[1].split("\n## ", 1)[0]


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", QUICKSTART, flags=re.S)


def python_block(first_line: str) -> str:
    [block] = [block for block in blocks("python") if block.startswith(f"# {first_line}")]
    return block


def model_fields(source: str) -> set[str]:
    [model] = [node for node in ast.walk(ast.parse(source)) if isinstance(node, ast.ClassDef)]
    assert model.name == "Customer"
    assert [ast.unparse(base) for base in model.bases] == ["VersionedModel"]
    return {
        target.id
        for node in model.body
        if isinstance(node, ast.Assign)
        for target in node.targets
        if isinstance(target, ast.Name)
    }


def curl_commands() -> list[tuple[list[str], int]]:
    """Each curl of the quickstart, split like a shell would, with the status it promises."""
    [block] = blocks("sh")[1:]
    commands = []
    for command in re.split(r"\n(?=curl )", block.strip()):
        status = re.search(r"# (\d{3})", command)
        assert status, f"no expected status in {command!r}"
        line = re.sub(r"\s*#[^\n]*", "", command).replace("\\\n", " ")
        commands.append((shlex.split(line), int(status.group(1))))
    return commands


def replay(client: Client, argv: list[str]) -> Any:
    assert argv[:2] == ["curl", "-i"]
    method, url, headers, data = "GET", "", {}, ""
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
    assert url.startswith("http://127.0.0.1:8000/"), f"{argv} names no full URL"
    content_type = headers.pop("Content-Type", "application/octet-stream")
    path = url.removeprefix("http://127.0.0.1:8000")
    return client.generic(method, path, data, content_type, headers=headers)


def test_quickstart_defines_every_name_it_uses():
    source = "\n".join(blocks("python"))
    for name in ("Customer", "CustomerSerializer", "CustomerViewSet", "router"):
        assert re.search(rf"^(class {name}\b|{name} = )", source, flags=re.M), name


def test_quickstart_curl_sends_only_fields_the_model_and_serializer_have():
    fields = model_fields(python_block("models.py"))
    serializer = python_block("serializers.py")
    for argv, _ in curl_commands():
        if "-d" in argv:
            body = ast.literal_eval(argv[argv.index("-d") + 1].replace("true", "True"))
            assert set(body) <= fields, body
            assert all(f'"{name}"' in serializer for name in body)


@pytest.mark.django_db
def test_quickstart_api_answers_each_curl_as_its_comment_says():
    # testapp's Shelf is the README's Customer: a VersionedModel with only `name`.
    assert model_fields(python_block("models.py")) == {"name"}
    assert {field.name for field in Shelf._meta.concrete_fields} == {"id", "version", "name"}
    namespace: dict[str, Any] = {"Customer": Shelf, "__name__": "readme_quickstart"}
    for name in ("serializers.py", "views.py", "urls.py"):
        exec(compile(python_block(name), f"README.md ({name})", "exec"), namespace)

    class QuickstartURLs:
        urlpatterns = namespace["urlpatterns"]

    Shelf.objects.create(pk=1, name="Ada Lovelace")
    client = Client()
    with override_settings(ROOT_URLCONF=QuickstartURLs):
        statuses = [(replay(client, argv).status_code, want) for argv, want in curl_commands()]
        read = client.get("/api/customers/1/")
    assert [status for status, _ in statuses] == [expected for _, expected in statuses]
    assert [expected for _, expected in statuses] == [200, 200, 412, 428]
    assert read.json() == {"id": 1, "name": "Ada", "version": 2, "etag": '"2"'}
