"""HTML helpers of the admin integration (django_etag_lock/admin/html.py)."""

from __future__ import annotations

import re

from django.template import engines
from django.template.response import TemplateResponse
from django.test import RequestFactory

from django_etag_lock.admin.html import as_get, extend_response, hidden_input, insert_after


def _response(template: str = "admin/base.html") -> TemplateResponse:
    return TemplateResponse(RequestFactory().get("/"), template, {"title": "T"})


def test_hidden_input_escapes_name_and_value() -> None:
    assert hidden_input("a", '"><script>') == (
        '<input type="hidden" name="a" value="&quot;&gt;&lt;script&gt;">'
    )


def test_insert_after_adds_the_extra_after_each_anchor_once_rendered() -> None:
    template = engines["django"].from_string(
        '<form><input name="x" value="1"><input name="x" value="2"></form>'
    )
    response = TemplateResponse(RequestFactory().get("/"), template)

    insert_after(response, re.compile(r'<input name="x" value="(\d)">'), lambda a: f"[{a[-3]}]")
    response.render()

    assert response.content.decode() == (
        '<form><input name="x" value="1">[1]<input name="x" value="2">[2]</form>'
    )


def test_insert_after_a_missing_anchor_changes_nothing() -> None:
    template = engines["django"].from_string("<form></form>")
    response = TemplateResponse(RequestFactory().get("/"), template)

    insert_after(response, '<input name="post" value="yes">', lambda a: "extra")
    response.render()

    assert response.content.decode() == "<form></form>"


def test_extend_response_renders_ours_on_top_of_the_chosen_template() -> None:
    response = _response(["admin/missing.html", "admin/base.html"])  # type: ignore[arg-type]

    extend_response(response, "django_etag_lock/admin/change_form.html", extra="x")

    assert response.template_name == "django_etag_lock/admin/change_form.html"
    assert response.context_data is not None
    assert response.context_data["extra"] == "x"
    assert response.context_data["title"] == "T"
    assert response.context_data["etag_lock_base_template"].origin.template_name == (
        "admin/base.html"
    )


def test_as_get_is_the_same_request_without_its_post_data() -> None:
    request = RequestFactory().post("/delete/?next=1", {"post": "yes"})

    clone = as_get(request)

    assert (clone.method, dict(clone.POST), clone.GET["next"]) == ("GET", {}, "1")
    assert (request.method, request.POST["post"]) == ("POST", "yes")
