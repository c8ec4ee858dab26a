"""Reserved for the consent work: publishes version 1 of the user agreement and the privacy policy."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ('accounts', '0005_lifecycle'),
    ]

    operations: list = []
