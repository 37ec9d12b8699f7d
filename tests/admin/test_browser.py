"""Two real browsers edit the same customer in the admin (headless Debian Chromium).

Run with ``pytest -m browser``; needs /usr/bin/chromium and /usr/bin/chromedriver
(``apt-get install chromium chromium-driver``). Selenium is pointed at that driver,
so Selenium Manager never downloads anything. Screenshots of the conflict page go
to tests/artifacts/.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

from customers.models import Customer
from django.conf import settings
from django.contrib.auth.models import User
from django.contrib.staticfiles.testing import StaticLiveServerTestCase
from django.test import Client
from django.urls import reverse
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

from tests.browser import browser_marks, start_browser

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"

pytestmark = browser_marks


class TestTwoEditorsInTwoBrowsers(StaticLiveServerTestCase):
    host = "127.0.0.1"
    browsers: dict[str, webdriver.Chrome]
    profiles: list[str]

    @classmethod
    def setUpClass(cls) -> None:
        super().setUpClass()
        cls.profiles = [tempfile.mkdtemp(prefix="etag-lock-chromium-") for _ in range(2)]
        cls.browsers = {}
        try:
            for name, profile in zip(("alice", "bob"), cls.profiles, strict=True):
                cls.browsers[name] = start_browser(profile)
        except Exception:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls) -> None:
        for browser in cls.browsers.values():
            browser.quit()
        for profile in cls.profiles:
            shutil.rmtree(profile, ignore_errors=True)
        super().tearDownClass()

    def setUp(self) -> None:
        self.ada = Customer.objects.create(
            customer_id="A375",
            given_name="Ada",
            family_name="Lovelace",
            email="ada@example.com",
            notes="Prefers email.",
        )
        self.url = self.live_server_url + reverse(
            "admin:customers_customer_change", args=[self.ada.pk]
        )
        for name, browser in self.browsers.items():
            user = User.objects.create_superuser(name, f"{name}@example.com", "pw")
            client = Client()
            client.force_login(user)
            browser.get(self.live_server_url + "/admin/login/")
            browser.delete_all_cookies()
            browser.add_cookie(
                {
                    "name": settings.SESSION_COOKIE_NAME,
                    "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                    "path": "/",
                }
            )

    # -- helpers

    def open_change_form(self, name: str) -> webdriver.Chrome:
        browser = self.browsers[name]
        browser.get(self.url)
        self.wait(browser, (By.ID, "customer_form"))
        return browser

    def wait(self, browser: webdriver.Chrome, locator: tuple[str, str]) -> WebElement:
        element: WebElement = WebDriverWait(browser, 10).until(
            expected_conditions.presence_of_element_located(locator)
        )
        return element

    def type_into(self, browser: webdriver.Chrome, **values: str) -> None:
        for field, value in values.items():
            element = browser.find_element(By.NAME, field)
            element.clear()
            element.send_keys(value)

    def click_and_wait(
        self, browser: webdriver.Chrome, button: WebElement, then: tuple[str, str]
    ) -> None:
        button.click()
        WebDriverWait(browser, 10).until(expected_conditions.staleness_of(button))
        self.wait(browser, then)

    def save(self, browser: webdriver.Chrome, then: tuple[str, str]) -> None:
        self.click_and_wait(browser, browser.find_element(By.NAME, "_save"), then)

    def field_values(self, browser: webdriver.Chrome, *names: str) -> dict[str, Any]:
        return {name: browser.find_element(By.NAME, name).get_attribute("value") for name in names}

    def conflict_rows(self, browser: webdriver.Chrome) -> dict[str, tuple[str, ...]]:
        rows = {}
        for row in browser.find_elements(By.CSS_SELECTOR, "#etag-lock-changes tbody tr"):
            cells = row.find_elements(By.TAG_NAME, "td")
            rows[str(row.get_attribute("data-field"))] = tuple(cell.text for cell in cells[:3])
        return rows

    def screenshot(self, browser: webdriver.Chrome, name: str) -> Path:
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / name
        browser.find_element(By.ID, "container").screenshot(str(path))
        return path

    # -- the story

    def test_second_editor_sees_the_conflict_and_each_way_forward(self) -> None:
        conflict = (By.ID, "etag-lock-conflict")
        alice, bob = self.open_change_form("alice"), self.open_change_form("bob")
        self.type_into(alice, given_name="Adeline", family_name="King")
        self.type_into(bob, given_name="Augusta", email="aug@example.com")

        self.save(alice, then=(By.ID, "changelist"))
        self.save(bob, then=conflict)

        headline = bob.find_element(By.ID, "etag-lock-headline").text
        assert "changed by alice after you opened it" in headline
        assert "Nothing was saved" in headline
        rows = self.conflict_rows(bob)
        assert rows["given_name"] == ("Ada", "Adeline", "Augusta")
        assert rows["family_name"] == ("Lovelace", "King", "Lovelace")
        assert rows["email"] == ("ada@example.com", "ada@example.com", "aug@example.com")
        assert self.field_values(bob, "given_name", "family_name", "email") == {
            "given_name": "Augusta",
            "family_name": "King",
            "email": "aug@example.com",
        }
        assert self.screenshot(bob, "admin-conflict.png").stat().st_size > 10_000

        # Enter in a field is a plain Save: it conflicts again, it never overwrites.
        field = bob.find_element(By.NAME, "given_name")
        field.send_keys(Keys.ENTER)
        WebDriverWait(bob, 10).until(expected_conditions.staleness_of(field))
        self.wait(bob, conflict)
        self.ada.refresh_from_db()
        assert (self.ada.given_name, self.ada.version) == ("Adeline", 2)

        # Way forward 1: save my values over the current version.
        self.click_and_wait(
            bob,
            bob.find_element(By.ID, "etag-lock-overwrite"),
            (By.CSS_SELECTOR, ".messagelist .success"),
        )
        self.ada.refresh_from_db()
        assert (self.ada.given_name, self.ada.family_name, self.ada.email, self.ada.version) == (
            "Augusta",
            "King",
            "aug@example.com",
            3,
        )

        # Way forward 2: both edit the notes again; bob discards his and loads alice's.
        alice = self.open_change_form("alice")
        self.type_into(alice, notes="Call after 5pm.")
        self.type_into(bob, notes="Email only.")
        self.save(alice, then=(By.ID, "changelist"))
        self.save(bob, then=conflict)
        assert self.conflict_rows(bob)["notes"] == (
            "Prefers email.",
            "Call after 5pm.",
            "Email only.",
        )
        self.screenshot(bob, "admin-conflict-notes.png")

        self.click_and_wait(
            bob, bob.find_element(By.ID, "etag-lock-discard"), (By.ID, "customer_form")
        )
        assert not bob.find_elements(*conflict)
        self.ada.refresh_from_db()
        assert (self.ada.notes, self.ada.given_name, self.ada.version) == (
            "Call after 5pm.",
            "Augusta",
            4,
        )
        assert self.field_values(bob, "notes", "given_name", "email") == {
            "notes": "Call after 5pm.",
            "given_name": "Augusta",
            "email": "aug@example.com",
        }

    def test_delete_from_a_stale_change_form_is_refused_on_the_confirmation_page(self) -> None:
        # bob opens A375; alice edits and saves it; bob clicks Delete, then "Yes, I'm sure".
        bob = self.open_change_form("bob")
        alice = self.open_change_form("alice")
        self.type_into(alice, email="countess@example.com")
        self.save(alice, then=(By.ID, "changelist"))

        self.click_and_wait(
            bob, bob.find_element(By.CSS_SELECTOR, "a.deletelink"), (By.ID, "etag-lock-conflict")
        )
        headline = bob.find_element(By.ID, "etag-lock-headline").text
        assert "changed by alice after you opened it" in headline
        assert "Nothing was deleted" in headline
        assert Customer.objects.filter(pk=self.ada.pk).exists()

        # Confirming now deletes the version the page shows now.
        self.click_and_wait(
            bob,
            bob.find_element(By.CSS_SELECTOR, '#content form input[type="submit"]'),
            (By.ID, "changelist"),
        )
        assert not Customer.objects.filter(pk=self.ada.pk).exists()
