"""Reserved: the support and finance groups' permissions."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ('accounts', '0006_legal_documents_v1'),
    ]

    operations: list = []
