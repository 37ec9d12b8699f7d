"""Migrate the stress database and seed customers through the ORM; print their pks as JSON.

Run by the harness as ``python -m tests.stress.prepare --rows N`` with ``DATABASE_URL`` set
and ``DJANGO_SETTINGS_MODULE=tests.stress.server_settings``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, required=True)
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT / "testproject"))

    import django

    django.setup()
    from customers.models import Customer
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)
    Customer.objects.bulk_create(
        Customer(
            customer_id=f"S{index:05d}",
            given_name="Seed",
            family_name=f"Row {index}",
            email=f"seed{index}@stress.example",
            notes="seed",
        )
        for index in range(args.rows)
    )
    pks = list(Customer.objects.order_by("pk").values_list("pk", flat=True))
    print(json.dumps(pks))
    return 0


if __name__ == "__main__":
    sys.exit(main())
