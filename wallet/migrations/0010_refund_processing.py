"""Reserved: top-up refunds the channel is still processing."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ('wallet', '0009_reconciliation'),
    ]

    operations: list = []
