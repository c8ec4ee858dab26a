"""PostgreSQL refuses UPDATE and DELETE on ledger rows, whoever asks.

The model and its queryset already refuse; this also stops raw SQL and
bulk paths. TRUNCATE (test database flushes) is not a row-level event.
Other databases (SQLite for development) rely on the model alone.
"""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION wallet_transaction_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'wallet_transaction is append-only (% refused)', TG_OP
        USING ERRCODE = 'restrict_violation';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER wallet_transaction_append_only
    BEFORE UPDATE OR DELETE ON wallet_transaction
    FOR EACH ROW EXECUTE FUNCTION wallet_transaction_append_only();
"""

DROP = """
DROP TRIGGER IF EXISTS wallet_transaction_append_only ON wallet_transaction;
DROP FUNCTION IF EXISTS wallet_transaction_append_only();
"""


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE, params=None)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [("wallet", "0001_initial")]

    operations = [migrations.RunPython(create, drop)]
