# The AddField that makemigrations generated, applied as two metadata-only statements:
# ADD COLUMN with a constant default (no table rewrite on PostgreSQL 11+) and the
# CHECK (version >= 0) of PositiveBigIntegerField added NOT VALID, so PostgreSQL does
# not read every row while it holds the ACCESS EXCLUSIVE lock.
from django.db import migrations

import django_etag_lock.models


class Migration(migrations.Migration):
    dependencies = [("shop", "0007_previous")]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AddField(
                    model_name="order",
                    name="version",
                    field=django_etag_lock.models.VersionField(db_default=1),
                ),
            ],
            database_operations=[
                # Give up rather than queue behind a long transaction: every query on
                # the table would queue behind this ALTER while it waits.
                migrations.RunSQL("SET LOCAL lock_timeout = '5s'", migrations.RunSQL.noop),
                migrations.RunSQL(
                    'ALTER TABLE "shop_order" ADD COLUMN "version" bigint DEFAULT 1 NOT NULL',
                    'ALTER TABLE "shop_order" DROP COLUMN "version"',
                ),
                migrations.RunSQL(
                    'ALTER TABLE "shop_order" ADD CONSTRAINT "shop_order_version_check" '
                    'CHECK ("version" >= 0) NOT VALID',
                    migrations.RunSQL.noop,
                ),
            ],
        ),
    ]
