"""Top-up refunds the channel is still processing: wallet_sync asks about them (``queried_at``).

The partial index covers only pending refunds, the few wallet_sync claims;
finished ones (nearly all) cost it nothing.
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ('wallet', '0009_reconciliation'),
    ]

    operations: list = [
        migrations.AddField(
            model_name='topuprefund',
            name='queried_at',
            field=models.DateTimeField(blank=True, null=True, verbose_name='last queried at'),
        ),
        migrations.AddIndex(
            model_name='topuprefund',
            index=models.Index(
                condition=models.Q(('status', 'pending')), fields=['created_at'], name='wallet_topuprefund_pending'
            ),
        ),
    ]
