# A migration of its own, so it runs in a new transaction: VALIDATE CONSTRAINT reads
# every row under a SHARE UPDATE EXCLUSIVE lock, which lets reads and writes go on.
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("shop", "0008_order_version")]

    operations = [
        migrations.RunSQL(
            'ALTER TABLE "shop_order" VALIDATE CONSTRAINT "shop_order_version_check"',
            migrations.RunSQL.noop,
        ),
    ]
