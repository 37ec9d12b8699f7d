"""``manage.py demo``: migrate, seed customers, create a superuser, serve on loopback."""

from __future__ import annotations

import errno
import os
import secrets
import socket
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError, connection

from customers.models import Customer
from testproject.commands import manage, password_file, shown

SEED = [
    ("A375", "Ada", "Lovelace", "ada@example.com", "Prefers email."),
    ("B112", "Grace", "Hopper", "grace@example.com", ""),
    ("C501", "Alan", "Turing", "alan@example.com", "Call before 10am."),
    ("D240", "Katherine", "Johnson", "katherine@example.com", ""),
]
HOST = "127.0.0.1"


def check_port(port: int) -> None:
    """Refuse a port something already listens on, before anything is set up or printed."""
    probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    # As runserver binds (SO_REUSEADDR): a port left in TIME_WAIT is free, a listener is not.
    probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        probe.bind((HOST, port))
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise CommandError(
                f"Port {port} on {HOST} is already in use (another demo or server is running "
                f"there). Stop it, or pick another port: {manage('demo', '--port', str(port + 1))}"
            ) from exc
        if exc.errno == errno.EACCES:
            raise CommandError(
                f"Port {port} on {HOST} needs privileges this user lacks; pick one above "
                f"1023: {manage('demo', '--port', '8000')}"
            ) from exc
        raise
    finally:
        probe.close()


def database_problem(exc: DatabaseError) -> str:
    """One sentence: which database could not be used, and how to fix it."""
    config = settings.DATABASES["default"]
    name, vendor = config["NAME"], connection.vendor
    host = f"{config.get('HOST') or 'localhost'}:{config.get('PORT') or ''}".rstrip(":")
    text = str(exc)
    server = config.get("HOST") or "localhost"
    if vendor == "postgresql" and "does not exist" in text and f'"{name}"' in text:
        return (
            f'The PostgreSQL database "{name}" on {host} does not exist: create it with '
            f"createdb -h {server} -U {config.get('USER') or 'postgres'} {name} "
            "(or point DATABASE_URL at an existing database), then run the demo again."
        )
    if vendor == "mysql" and exc.args and exc.args[0] == 1049:
        return (
            f'The MariaDB/MySQL database "{name}" on {host} does not exist: create it with '
            f"mariadb -h {server} -u {config.get('USER') or 'root'} "
            f'-e "CREATE DATABASE {name} CHARACTER SET utf8mb4" (or point DATABASE_URL at an '
            f"existing database), then run the demo again."
        )
    first_line = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
    return (
        f"Cannot use the {vendor} database {name!r} on {host} ({first_line}); check that the "
        "server is running and DATABASE_URL is right, then run the demo again."
    )


class Command(BaseCommand):
    help = (
        "Set up and run the django-etag-lock demo: migrate the database, seed a few "
        "customers (A375 among them), create the superuser 'demo' and print its "
        "password (kept in testproject/.demo-password), then serve on 127.0.0.1."
    )
    # Run in handle() once the database answers: Django 6.1's model checks connect to
    # MySQL/MariaDB, and a missing database should get one sentence, not a traceback.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--port", type=int, default=8000, help="Port on 127.0.0.1.")
        parser.add_argument(
            "--password",
            default=None,
            help=(
                "Password for the 'demo' superuser. Without it, the password of the last run "
                "is kept (a random one the first time)."
            ),
        )
        parser.add_argument(
            "--no-serve", action="store_true", help="Set up only; do not start the server."
        )

    def handle(
        self, *args: Any, port: int, password: str | None, no_serve: bool, **options: Any
    ) -> None:
        if not no_serve:
            check_port(port)
        try:
            connection.ensure_connection()
        except DatabaseError as exc:
            raise CommandError(database_problem(exc)) from exc
        self.check(databases=[connection.alias])
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
        password, kept_in = self.demo_password(password)
        User = get_user_model()
        user, _ = User.objects.get_or_create(
            username="demo", defaults={"email": "demo@example.com"}
        )
        user.is_staff = user.is_superuser = True
        user.set_password(password)
        user.save()
        base = f"http://{HOST}:{port}"
        self.stdout.write(
            self.style.SUCCESS(f"Demo ready: {Customer.objects.count()} customers ({created} new).")
        )
        self.stdout.write(f"  Admin:  {base}/admin/   user: demo   password: {password}")
        self.stdout.write(f"          (the password is kept in {kept_in}; --password sets another)")
        if no_serve:
            self.stdout.write(
                f"Nothing is serving (--no-serve). Start the server with: {manage('demo')}"
                + ("" if port == 8000 else f" --port {port}")
            )
            return
        self.stdout.write(f"  Start:  {base}/  (what to try)")
        call_command("runserver", f"{HOST}:{port}", use_reloader=False)

    def demo_password(self, given: str | None) -> tuple[str, str]:
        """The superuser's password and where it is kept: ``given``, else the last run's."""
        path = password_file()
        password = given
        if password is None and path.exists():
            password = path.read_text(encoding="utf-8").strip() or None
        if password is None:
            password = secrets.token_urlsafe(9)
        if not path.exists() or path.read_text(encoding="utf-8").strip() != password:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(password + "\n", encoding="utf-8")
            os.chmod(path, 0o600)
        return password, shown(path)
