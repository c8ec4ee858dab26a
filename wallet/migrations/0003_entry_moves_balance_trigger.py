"""Inserting a ledger entry moves its wallet's balance, in the same statement.

``wallet.services`` computes ``balance_after`` (in Decimal, under the wallet
row lock) and inserts the entry; this AFTER INSERT trigger copies
``balance_after``, ``seq`` and ``created_at`` onto the wallet row. That saves
the separate ``UPDATE wallet_wallet`` round trip while the row lock is held
(the hot-wallet throughput is bounded by how long the lock is held), and the
wallet can never disagree with its newest entry. The wallet's check
constraint ``balance >= 0`` still applies to the copied value.

The trigger copies rather than adds: SQLite stores decimals with REAL
affinity, so arithmetic there would not be exact.
"""

from django.db import migrations

POSTGRESQL_CREATE = """
CREATE OR REPLACE FUNCTION wallet_transaction_moves_balance() RETURNS trigger AS $$
BEGIN
    UPDATE wallet_wallet
       SET balance = NEW.balance_after, entry_count = NEW.seq, updated_at = NEW.created_at
     WHERE id = NEW.wallet_id;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER wallet_transaction_moves_balance
    AFTER INSERT ON wallet_transaction
    FOR EACH ROW EXECUTE FUNCTION wallet_transaction_moves_balance();
"""
POSTGRESQL_DROP = """
DROP TRIGGER IF EXISTS wallet_transaction_moves_balance ON wallet_transaction;
DROP FUNCTION IF EXISTS wallet_transaction_moves_balance();
"""

SQLITE_CREATE = """
CREATE TRIGGER wallet_transaction_moves_balance AFTER INSERT ON wallet_transaction
FOR EACH ROW BEGIN
    UPDATE wallet_wallet
       SET balance = NEW.balance_after, entry_count = NEW.seq, updated_at = NEW.created_at
     WHERE id = NEW.wallet_id;
END
"""
SQLITE_DROP = "DROP TRIGGER IF EXISTS wallet_transaction_moves_balance"


def create(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(POSTGRESQL_CREATE, params=None)
    elif vendor == "sqlite":
        schema_editor.execute(SQLITE_CREATE, params=None)
    else:  # without the trigger balances would silently stop moving
        raise NotImplementedError(f"wallet: no balance trigger for the {vendor} database")


def drop(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(POSTGRESQL_DROP, params=None)
    elif vendor == "sqlite":
        schema_editor.execute(SQLITE_DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [("wallet", "0002_ledger_append_only_trigger")]

    operations = [migrations.RunPython(create, drop)]
