"""Move revision 1's ledger (one ``Transaction`` row per wallet change) into the double-entry ledger.

Each wallet becomes a ``wallet`` account with the same owner; each old row
becomes a journal entry of the same kind with two lines: the wallet's line
(same id, number, amount and balance after, so API ids and cursors stay
valid) and the other side on a system account — ``channel:legacy`` for the
unpaid top-ups of revision 1, ``revenue:payments`` for payments and refunds,
``adjustments`` for staff corrections. Stored idempotent responses are
re-pointed at the entry they answered for (a replay renders it again).

The triggers of 0005 move each account's balance as the lines go in and
refuse any line whose number or balance after does not follow, so a ledger
that did not audit clean before cannot be moved silently.
"""

import uuid

from django.db import migrations

from wallet.conf import wallet_settings

BATCH = 2000

COUNTER = {
    "top_up": ("channel:legacy", "channel", "legacy"),
    "payment": ("revenue:payments", "revenue", "payments"),
    "refund": ("revenue:payments", "revenue", "payments"),
    "adjustment": ("adjustments", "adjustments", ""),
}


def forward(apps, schema_editor):
    Wallet = apps.get_model("wallet", "Wallet")
    Transaction = apps.get_model("wallet", "Transaction")
    LedgerAccount = apps.get_model("wallet", "LedgerAccount")
    JournalEntry = apps.get_model("wallet", "JournalEntry")
    LedgerLine = apps.get_model("wallet", "LedgerLine")
    IdempotencyRecord = apps.get_model("wallet", "IdempotencyRecord")

    currency = wallet_settings.CURRENCY
    counters = {}
    for kind, (key, account_kind, name) in COUNTER.items():
        counters[kind] = LedgerAccount.objects.get_or_create(
            key=key, defaults={"kind": account_kind, "name": name, "currency": currency}
        )[0]

    accounts = {}
    for wallet in Wallet.objects.order_by("pk").iterator(chunk_size=BATCH):
        accounts[wallet.pk] = LedgerAccount.objects.create(
            key=f"wallet:{wallet.user_id}",
            kind="wallet",
            user_id=wallet.user_id,
            currency=wallet.currency,
            created_at=wallet.created_at,
            updated_at=wallet.created_at,
        ).pk

    entry_of_transaction = {}
    entries, lines = [], []

    def flush():
        JournalEntry.objects.bulk_create(entries)
        LedgerLine.objects.bulk_create(lines)
        entries.clear()
        lines.clear()

    rows = Transaction.objects.order_by("wallet_id", "seq").iterator(chunk_size=BATCH)
    for row in rows:
        entry = JournalEntry(
            id=uuid.uuid4(),
            kind=row.kind,
            reference="",
            description=row.description,
            actor_id=row.actor_id,
            reason=row.reason,
            created_at=row.created_at,
        )
        entries.append(entry)
        entry_of_transaction[row.pk] = entry.id
        lines.append(
            LedgerLine(
                id=row.pk,
                entry_id=entry.id,
                account_id=accounts[row.wallet_id],
                seq=row.seq,
                amount=row.amount,
                balance_after=row.balance_after,
                created_at=row.created_at,
            )
        )
        lines.append(
            LedgerLine(
                id=uuid.uuid4(),
                entry_id=entry.id,
                account_id=counters.get(row.kind, counters["adjustment"]).pk,
                amount=-row.amount,
                created_at=row.created_at,
            )
        )
        if len(entries) >= BATCH:
            flush()
    flush()

    for record in IdempotencyRecord.objects.all().iterator(chunk_size=BATCH):
        transaction_id = ((record.body or {}).get("transaction") or {}).get("id")
        try:
            entry_id = entry_of_transaction.get(uuid.UUID(str(transaction_id)))
        except ValueError:
            entry_id = None
        if entry_id is None:  # nothing to replay from: the key is forgotten (24 h records anyway)
            record.delete()
        else:
            record.entry_id = entry_id
            record.save(update_fields=["entry"])


class Migration(migrations.Migration):
    dependencies = [("wallet", "0005_ledger_triggers")]

    operations = [migrations.RunPython(forward, migrations.RunPython.noop, elidable=False)]
