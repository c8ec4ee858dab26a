"""Reserved: ledger indexes in the lists' natural order."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ('wallet', '0010_refund_processing'),
    ]

    operations: list = []
