"""SMS log indexes: the admin list's order, (-created_at, -id), replaces the index on created_at alone."""

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
        AlterIndexOnlyField(
            model_name="smsmessage",
            name="created_at",
            field=models.DateTimeField(default=django.utils.timezone.now, verbose_name="time"),
        ),
    ]
