"""SMS log indexes: the admin list's order, (-created_at, -id), replaces the index on created_at alone;
the provider's message id for the admin's search."""

import django.utils.timezone
from django.db import migrations, models

from config.migration_operations import AlterIndexOnlyField


class Migration(migrations.Migration):
    dependencies = [
        ('smscodes', '0001_initial'),
    ]

    operations = [
        migrations.AddIndex(
            model_name="smsmessage",
            index=models.Index(fields=["-created_at", "-id"], name="smscodes_msg_time"),
        ),
        migrations.AddIndex(
            model_name="smsmessage",
            index=models.Index(
                condition=models.Q(("provider_message_id", ""), _negated=True),
                fields=["provider_message_id"],
                name="smscodes_msg_provider_id",
            ),
        ),
        AlterIndexOnlyField(
            model_name="smsmessage",
            name="created_at",
            field=models.DateTimeField(default=django.utils.timezone.now, verbose_name="time"),
        ),
    ]
