"""``manage.py demo``: migrate, seed customers, create a superuser, serve on loopback."""

from __future__ import annotations

import secrets
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser

from customers.models import Customer

SEED = [
    ("A375", "Ada", "Lovelace", "ada@example.com", "Prefers email."),
    ("B112", "Grace", "Hopper", "grace@example.com", ""),
    ("C501", "Alan", "Turing", "alan@example.com", "Call before 10am."),
    ("D240", "Katherine", "Johnson", "katherine@example.com", ""),
]


class Command(BaseCommand):
    help = (
        "Set up and run the django-etag-lock demo: migrate the database, seed a few "
        "customers (A375 among them), create the superuser 'demo' and print its "
        "password, then serve on 127.0.0.1."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--port", type=int, default=8000, help="Port on 127.0.0.1.")
        parser.add_argument(
            "--password",
            default=None,
            help="Password for the 'demo' superuser (random if omitted).",
        )
        parser.add_argument(
            "--no-serve", action="store_true", help="Set up only; do not start the server."
        )

    def handle(
        self, *args: Any, port: int, password: str | None, no_serve: bool, **options: Any
    ) -> None:
        call_command("migrate", interactive=False, verbosity=0)
        created = 0
        for customer_id, given, family, email, notes in SEED:
            _, was_created = Customer.objects.get_or_create(
                customer_id=customer_id,
                defaults={
                    "given_name": given,
                    "family_name": family,
                    "email": email,
                    "notes": notes,
                },
            )
            created += was_created
        password = password or secrets.token_urlsafe(9)
        User = get_user_model()
        user, _ = User.objects.get_or_create(
            username="demo", defaults={"email": "demo@example.com"}
        )
        user.is_staff = user.is_superuser = True
        user.set_password(password)
        user.save()
        base = f"http://127.0.0.1:{port}"
        self.stdout.write(
            self.style.SUCCESS(f"Demo ready: {Customer.objects.count()} customers ({created} new).")
        )
        self.stdout.write(f"  Admin:  {base}/admin/   user: demo   password: {password}")
        self.stdout.write(f"  Start:  {base}/  (what to try)")
        if no_serve:
            return
        call_command("runserver", f"127.0.0.1:{port}", use_reloader=False)
