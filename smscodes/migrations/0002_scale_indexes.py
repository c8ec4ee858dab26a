"""Reserved: SMS log indexes."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ('smscodes', '0001_initial'),
    ]

    operations: list = []
