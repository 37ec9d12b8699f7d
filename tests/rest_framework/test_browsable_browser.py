"""The browsable API writes through its own forms, in a real headless Chromium.

DRF's HTML form, its raw-data form and its DELETE button send the tag of the version the
page shows in If-Match; a stale write is refused with a readable 412 page that offers a
reload. Run with ``pytest -m browser`` (Debian's chromium and chromedriver).
"""

from __future__ import annotations

import json
import shutil
import tempfile

from customers.models import Customer
from django.contrib.staticfiles.testing import StaticLiveServerTestCase
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

from tests import browser

pytestmark = browser.browser_marks


class TestBrowsableAPIWrites(StaticLiveServerTestCase):
    host = "127.0.0.1"
    chromium: webdriver.Chrome
    profile: str

    @classmethod
    def setUpClass(cls) -> None:
        super().setUpClass()
        cls.profile = tempfile.mkdtemp(prefix="etag-lock-chromium-")
        try:
            cls.chromium = browser.start_browser(cls.profile)
        except Exception:
            shutil.rmtree(cls.profile, ignore_errors=True)
            super().tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls) -> None:
        cls.chromium.quit()
        shutil.rmtree(cls.profile, ignore_errors=True)
        super().tearDownClass()

    def setUp(self) -> None:
        self.ada = Customer.objects.create(
            customer_id="A375",
            given_name="Ada",
            family_name="Lovelace",
            email="ada@example.com",
            notes="Prefers email.",
        )
        self.url = f"{self.live_server_url}/api/customers/{self.ada.pk}/"

    # -- helpers

    def wait(self, locator: tuple[str, str]) -> WebElement:
        element: WebElement = WebDriverWait(self.chromium, 10).until(
            expected_conditions.presence_of_element_located(locator)
        )
        return element

    def open_page(self) -> None:
        self.chromium.get(self.url)
        self.wait((By.ID, "etag-lock-if-match"))

    def shown_tag(self) -> str:
        element = self.chromium.find_element(By.ID, "etag-lock-if-match")
        tag: str = json.loads(element.get_attribute("textContent") or "null")
        return tag

    def send(self, button: WebElement, then: tuple[str, str]) -> None:
        """Click a form button; wait until DRF's script has replaced the page."""
        marker = self.chromium.find_element(By.TAG_NAME, "body")
        button.click()
        WebDriverWait(self.chromium, 10).until(expected_conditions.staleness_of(marker))
        self.wait(then)

    def tab(self, name: str) -> None:
        self.chromium.find_element(By.NAME, name).click()

    def put_from_the_html_form(self, then: tuple[str, str], **values: str) -> None:
        self.tab("html-tab")
        form = self.chromium.find_element(By.CSS_SELECTOR, "#put-object-form form")
        for name, value in values.items():
            field = form.find_element(By.NAME, name)
            field.clear()
            field.send_keys(value)
        self.send(form.find_element(By.TAG_NAME, "button"), then)

    def patch_from_the_raw_form(self, then: tuple[str, str], body: dict[str, str]) -> None:
        self.tab("raw-tab")
        form = self.chromium.find_element(By.CSS_SELECTOR, "#put-generic-content-form form")
        content = form.find_element(By.NAME, "_content")
        content.clear()
        content.send_keys(json.dumps(body))
        self.send(form.find_element(By.CSS_SELECTOR, 'button[data-method="PATCH"]'), then)

    def delete(self, then: tuple[str, str]) -> None:
        self.chromium.find_element(By.CSS_SELECTOR, 'button[data-target="#deleteModal"]').click()
        button = WebDriverWait(self.chromium, 10).until(
            expected_conditions.element_to_be_clickable(
                (By.CSS_SELECTOR, '#deleteModal form[data-method="DELETE"] button')
            )
        )
        self.send(button, then)

    def stored(self) -> Customer:
        return Customer.objects.get(pk=self.ada.pk)

    # -- the story

    def test_forms_send_the_shown_tag_and_a_stale_write_gets_a_readable_412(self) -> None:
        self.open_page()
        assert self.shown_tag() == '"1"'

        self.put_from_the_html_form((By.ID, "etag-lock-if-match"), notes="Call after 5pm.")
        assert (self.stored().version, self.stored().notes) == (2, "Call after 5pm.")
        assert self.shown_tag() == '"2"'  # the replaced page carries the new tag

        self.patch_from_the_raw_form((By.ID, "etag-lock-if-match"), {"email": "ada@raw.example"})
        assert (self.stored().version, self.stored().email) == (3, "ada@raw.example")
        assert self.shown_tag() == '"3"'

        # Someone else saves; this page still shows version 3.
        other = self.stored()
        other.given_name = "Augusta"
        other.save()

        self.put_from_the_html_form((By.ID, "etag-lock-problem"), notes="Stale write.")
        problem = self.chromium.find_element(By.ID, "etag-lock-problem").text
        assert "412 Precondition Failed" in problem
        assert "Nothing was written" in problem
        assert self.chromium.find_element(By.ID, "etag-lock-sent").text == '"3"'
        assert self.chromium.find_element(By.ID, "etag-lock-current").text == '"4"'
        assert not self.chromium.find_elements(By.ID, "etag-lock-if-match")  # no stale forms
        assert not self.chromium.find_elements(By.CSS_SELECTOR, "form[data-method]")
        stored = self.stored()
        assert (stored.version, stored.notes, stored.given_name) == (
            4,
            "Call after 5pm.",
            "Augusta",
        )

        reload = self.chromium.find_element(By.ID, "etag-lock-reload")
        self.send(reload, (By.ID, "etag-lock-if-match"))
        assert self.chromium.current_url == self.url
        assert self.shown_tag() == '"4"'
        self.put_from_the_html_form((By.ID, "etag-lock-if-match"), notes="Retried.")
        assert (self.stored().version, self.stored().notes) == (5, "Retried.")
        assert self.stored().given_name == "Augusta"  # the other change survived

    def test_delete_button_sends_the_shown_tag_and_is_refused_when_stale(self) -> None:
        self.open_page()
        other = self.stored()
        other.notes = "Changed elsewhere."
        other.save()

        self.delete((By.ID, "etag-lock-problem"))
        assert "412" in self.chromium.find_element(By.ID, "etag-lock-problem-title").text
        assert Customer.objects.filter(pk=self.ada.pk).exists()

        self.send(
            self.chromium.find_element(By.ID, "etag-lock-reload"), (By.ID, "etag-lock-if-match")
        )
        self.delete((By.CSS_SELECTOR, ".response-info"))
        assert (
            "HTTP 204 No Content" in self.chromium.find_element(By.CLASS_NAME, "response-info").text
        )
        assert not Customer.objects.filter(pk=self.ada.pk).exists()
