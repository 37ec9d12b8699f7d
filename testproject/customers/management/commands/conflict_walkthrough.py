"""``manage.py conflict_walkthrough``: a lost-update attempt, played against the demo API.

Two clients, Alice and Bob, talk to ``/api/customers/<pk>/`` in-process through Django's
test client, against the configured database: both read the customer, Alice writes first,
Bob's write with the same If-Match is refused with 412, a write without If-Match with
428, and Bob's retry on the fresh ETag succeeds. The writes are real.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.http import HttpResponse
from django.test import Client
from django.urls import reverse

from customers.models import Customer
from testproject.commands import manage

ALICE_NOTES = "Prefers phone calls (Alice)."
BOB_EMAIL = "ada@analytical.example"


class Command(BaseCommand):
    help = (
        "Play a lost-update attempt against the demo API, in-process: two clients read a "
        "customer, both PATCH it with the same If-Match; the first gets 200, the second 412, "
        "a PATCH without If-Match gets 428. Writes to the configured database."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--customer", default="A375", help="customer_id to play with (default: A375)."
        )

    def handle(self, *args: Any, customer: str, **options: Any) -> None:
        row = Customer.objects.filter(customer_id=customer).first()
        if row is None:
            raise CommandError(
                f"Customer {customer} does not exist in this database. Run "
                f"{manage('demo', '--no-serve')} to seed the demo customers, "
                "or pass --customer with an existing customer_id."
            )
        self.url = reverse("customer-detail", args=[row.pk])
        # The 412 and 428 are the point of the walkthrough, not warnings to log.
        request_logger = logging.getLogger("django.request")
        level = request_logger.level
        request_logger.setLevel(logging.ERROR)
        try:
            self.play(customer, row.pk)
        finally:
            request_logger.setLevel(level)

    def play(self, customer: str, pk: Any) -> None:
        alice, bob = Client(), Client()

        self.step(f"Alice and Bob both open customer {customer}.")
        first = self.request("Alice", alice, "GET")
        self.request("Bob", bob, "GET")
        etag = first["ETag"]
        self.say(f"Both hold ETag {etag}: the version they read.")

        self.step("Alice changes the notes and sends her change with If-Match.")
        saved = self.request("Alice", alice, "PATCH", {"notes": ALICE_NOTES}, if_match=etag)
        self.expect(saved, 200)
        before, after = etag.strip('"'), saved["ETag"].strip('"')
        self.say(
            f"Saved. The row went from version {before} to {after} in one statement: "
            f"UPDATE ... SET ..., version = {after} WHERE id = {pk} AND version = {before}."
        )

        self.step(
            "Bob, who read the customer before Alice saved, changes the email and sends it "
            f"with the ETag he read, {etag}."
        )
        refused = self.request("Bob", bob, "PATCH", {"email": BOB_EMAIL}, if_match=etag)
        self.expect(refused, 412)
        self.body(refused)
        self.say(
            "Refused: his copy is stale, so writing it would have erased Alice's notes. "
            "Nothing was written."
        )

        self.step("Bob tries again without If-Match.")
        required = self.request("Bob", bob, "PATCH", {"email": BOB_EMAIL})
        self.expect(required, 428)
        self.body(required)
        self.say("Refused too: a write must say which version it is based on.")

        self.step("Bob reads the customer again, sees Alice's notes, and reapplies his change.")
        fresh = self.request("Bob", bob, "GET")
        self.say(f"notes: {json.loads(fresh.content)['notes']!r}")
        retried = self.request("Bob", bob, "PATCH", {"email": BOB_EMAIL}, if_match=fresh["ETag"])
        self.expect(retried, 200)
        final = json.loads(retried.content)
        self.step("Both changes are kept:")
        self.say(f"notes: {final['notes']!r}, email: {final['email']!r}, ETag {retried['ETag']}.")
        self.stdout.write(self.style.SUCCESS("\nNo update was lost."))

    # -- narration --------------------------------------------------------------------

    def request(
        self,
        who: str,
        client: Client,
        method: str,
        data: dict[str, str] | None = None,
        *,
        if_match: str | None = None,
    ) -> HttpResponse:
        headers = {"If-Match": if_match} if if_match else {}
        shown = f"If-Match: {if_match}" if if_match else "no If-Match"
        line = f"  {who:<5}  {method} {self.url}"
        if method == "GET":
            response = client.get(self.url)
        else:
            line += f"  ({shown})  {json.dumps(data)}"
            response = client.generic(
                method,
                self.url,
                json.dumps(data),
                content_type="application/json",
                headers=headers,
            )
        self.stdout.write(line)
        status = f"{response.status_code} {response.reason_phrase}"
        etag = f"  ETag: {response['ETag']}" if response.has_header("ETag") else ""
        style = self.style.SUCCESS if response.status_code < 400 else self.style.ERROR
        self.stdout.write("         -> " + style(status) + etag)
        return response  # type: ignore[return-value]

    def expect(self, response: HttpResponse, status: int) -> None:
        if response.status_code != status:
            raise CommandError(
                f"Expected {status} from {self.url}, got {response.status_code}: "
                f"{response.content.decode(errors='replace')[:500]}"
            )

    def body(self, response: HttpResponse) -> None:
        self.stdout.write(f"         {response['Content-Type']}")
        text = json.dumps(json.loads(response.content), indent=2, ensure_ascii=False)
        for line in text.splitlines():
            self.stdout.write("         " + line)

    def step(self, text: str) -> None:
        self.stdout.write("\n" + self.style.MIGRATE_HEADING(text))

    def say(self, text: str) -> None:
        self.stdout.write("  " + text)
