"""Ledger indexes in the lists' natural order (issue 17).

Each admin list's order, ``(-created_at, -id)`` (``-received_at`` for
notifications), gets its own index so a page is an index scan at any size;
a person's top-ups get ``(user, -created_at, -id)``, the API's cursor order,
and an account's lines ``(account, -created_at, -id)``.
The plain foreign-key indexes covered by a composite one go:
``LedgerLine.account`` (``(account, seq)``, ``(account, -created_at)``),
``TopUp.user``, ``IdempotencyRecord.user`` (``(user, key)``), and the
single-column ``created_at`` / ``received_at`` ones. On SQLite only the state
changes for those (see config.migration_operations: a table rebuild there
would drop the ledger's triggers).
"""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

from config.migration_operations import AlterIndexOnlyField


class Migration(migrations.Migration):
    dependencies = [
        ('wallet', '0010_refund_processing'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddIndex(
            model_name="journalentry",
            index=models.Index(fields=["-created_at", "-id"], name="wallet_entry_created"),
        ),
        migrations.AddIndex(
            model_name="ledgerline",
            index=models.Index(fields=["-created_at", "-id"], name="wallet_line_created"),
        ),
        migrations.AddIndex(
            model_name="ledgerline",
            index=models.Index(fields=["account", "-created_at", "-id"], name="wallet_line_account_created_id"),
        ),
        migrations.RemoveIndex(
            model_name="ledgerline",
            name="wallet_line_account_created",
        ),
        migrations.AddIndex(
            model_name="paymentnotification",
            index=models.Index(fields=["-received_at", "-id"], name="wallet_notification_received"),
        ),
        migrations.AddIndex(
            model_name="topup",
            index=models.Index(fields=["user", "-created_at", "-id"], name="wallet_topup_user_created_id"),
        ),
        migrations.AddIndex(
            model_name="topup",
            index=models.Index(fields=["-created_at", "-id"], name="wallet_topup_created"),
        ),
        migrations.RemoveIndex(
            model_name="topup",
            name="wallet_topup_user_created",
        ),
        AlterIndexOnlyField(
            model_name="idempotencyrecord",
            name="user",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        AlterIndexOnlyField(
            model_name="journalentry",
            name="created_at",
            field=models.DateTimeField(default=django.utils.timezone.now, verbose_name="created at"),
        ),
        AlterIndexOnlyField(
            model_name="ledgerline",
            name="account",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="lines",
                to="wallet.ledgeraccount",
                verbose_name="account",
            ),
        ),
        AlterIndexOnlyField(
            model_name="paymentnotification",
            name="received_at",
            field=models.DateTimeField(default=django.utils.timezone.now, verbose_name="received at"),
        ),
        AlterIndexOnlyField(
            model_name="topup",
            name="created_at",
            field=models.DateTimeField(default=django.utils.timezone.now, verbose_name="created at"),
        ),
        AlterIndexOnlyField(
            model_name="topup",
            name="user",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="top_ups",
                to=settings.AUTH_USER_MODEL,
                verbose_name="owner",
            ),
        ),
    ]
