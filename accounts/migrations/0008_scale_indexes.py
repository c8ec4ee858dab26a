"""Reserved: indexes that match the queries Django emits at scale."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ('accounts', '0007_support_finance_groups'),
    ]

    operations: list = []
