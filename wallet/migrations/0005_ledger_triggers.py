"""The database keeps the ledger's rules, whoever writes to it.

PostgreSQL:
- journal entries and lines refuse UPDATE and DELETE (TRUNCATE, used by test
  database flushes, is not a row-level event);
- inserting a line on a tracked account (``wallet``, ``frozen``) adds its
  amount to the account row in the same statement and refuses the line unless
  its ``seq`` and ``balance_after`` are exactly the account's new line count
  and balance — so a tracked balance is always the sum of its lines, and the
  account's ``balance >= 0`` check constraint refuses an overdraft; a line on
  an untracked account must carry neither;
- at commit (a deferred constraint trigger) every entry's lines sum to zero.

SQLite (development): the line trigger copies ``balance_after`` and ``seq``
onto the account (SQLite stores decimals with REAL affinity, so it cannot add
exactly); ``wallet.ledger.ledger_post`` checks the sums in Python. No
append-only trigger there: Django flushes SQLite test databases with DELETE.
"""

from django.db import migrations

POSTGRESQL_CREATE = """
CREATE OR REPLACE FUNCTION wallet_ledger_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '% is append-only (% refused)', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'restrict_violation';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER wallet_journalentry_append_only
    BEFORE UPDATE OR DELETE ON wallet_journalentry
    FOR EACH ROW EXECUTE FUNCTION wallet_ledger_append_only();
CREATE TRIGGER wallet_ledgerline_append_only
    BEFORE UPDATE OR DELETE ON wallet_ledgerline
    FOR EACH ROW EXECUTE FUNCTION wallet_ledger_append_only();

CREATE OR REPLACE FUNCTION wallet_ledgerline_moves_balance() RETURNS trigger AS $$
DECLARE
    new_balance numeric;
    new_count integer;
BEGIN
    UPDATE wallet_ledgeraccount
       SET balance = balance + NEW.amount, line_count = line_count + 1, updated_at = NEW.created_at
     WHERE id = NEW.account_id AND kind IN ('wallet', 'frozen')
    RETURNING balance, line_count INTO new_balance, new_count;
    IF FOUND THEN
        IF NEW.seq IS DISTINCT FROM new_count OR NEW.balance_after IS DISTINCT FROM new_balance THEN
            RAISE EXCEPTION 'ledger line on account %: seq %, balance_after % but the account is at %, %',
                NEW.account_id, NEW.seq, NEW.balance_after, new_count, new_balance
                USING ERRCODE = 'check_violation';
        END IF;
    ELSIF NEW.seq IS NOT NULL OR NEW.balance_after IS NOT NULL THEN
        RAISE EXCEPTION 'ledger line on untracked account % carries seq/balance_after', NEW.account_id
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER wallet_ledgerline_moves_balance
    AFTER INSERT ON wallet_ledgerline
    FOR EACH ROW EXECUTE FUNCTION wallet_ledgerline_moves_balance();

CREATE OR REPLACE FUNCTION wallet_journalentry_balanced() RETURNS trigger AS $$
DECLARE
    total numeric;
BEGIN
    SELECT COALESCE(SUM(amount), 0) INTO total FROM wallet_ledgerline WHERE entry_id = NEW.entry_id;
    IF total <> 0 THEN
        RAISE EXCEPTION 'journal entry % does not balance: its lines sum to %', NEW.entry_id, total
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE CONSTRAINT TRIGGER wallet_journalentry_balanced
    AFTER INSERT ON wallet_ledgerline
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION wallet_journalentry_balanced();
"""
POSTGRESQL_DROP = """
DROP TRIGGER IF EXISTS wallet_journalentry_balanced ON wallet_ledgerline;
DROP FUNCTION IF EXISTS wallet_journalentry_balanced();
DROP TRIGGER IF EXISTS wallet_ledgerline_moves_balance ON wallet_ledgerline;
DROP FUNCTION IF EXISTS wallet_ledgerline_moves_balance();
DROP TRIGGER IF EXISTS wallet_ledgerline_append_only ON wallet_ledgerline;
DROP TRIGGER IF EXISTS wallet_journalentry_append_only ON wallet_journalentry;
DROP FUNCTION IF EXISTS wallet_ledger_append_only();
"""

SQLITE_CREATE = """
CREATE TRIGGER wallet_ledgerline_moves_balance AFTER INSERT ON wallet_ledgerline
FOR EACH ROW WHEN NEW.seq IS NOT NULL BEGIN
    UPDATE wallet_ledgeraccount
       SET balance = NEW.balance_after, line_count = NEW.seq, updated_at = NEW.created_at
     WHERE id = NEW.account_id;
END
"""
SQLITE_DROP = "DROP TRIGGER IF EXISTS wallet_ledgerline_moves_balance"


def create(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(POSTGRESQL_CREATE, params=None)
    elif vendor == "sqlite":
        schema_editor.execute(SQLITE_CREATE, params=None)
    else:  # without the trigger balances would silently stop moving
        raise NotImplementedError(f"wallet: no ledger triggers for the {vendor} database")


def drop(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(POSTGRESQL_DROP, params=None)
    elif vendor == "sqlite":
        schema_editor.execute(SQLITE_DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [("wallet", "0004_ledger_top_ups_notifications")]

    operations = [migrations.RunPython(create, drop)]
