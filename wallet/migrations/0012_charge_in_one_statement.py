"""A charge in one statement on PostgreSQL: ``wallet_charge_create(...)`` (issues 12 and 15).

The hot wallet's throughput is bounded by how long its row lock is held.
With the ORM path the lock lasted from ``SELECT … FOR UPDATE`` over three
INSERTs to the COMMIT — five round trips, each also waiting for the GIL in a
threaded gunicorn worker. This function does the whole write inside the
server, so ``wallet.charges`` calls it in autocommit: the lock lasts one
statement and its implicit commit, with no Python in between.

What it does, in this order (each statement sees what committed before it:
a VOLATILE PL/pgSQL function takes a fresh snapshot per statement under READ
COMMITTED):

1. locks the active person's wallet account (``no_wallet`` if there is none);
2. looks for the application's charge with this ``order_id`` (``replay`` and
   its id: the caller compares the request with it, nothing is written);
3. refuses an overdraft (``insufficient`` with the balance, nothing written);
4. inserts the charge under the id the caller drew; ``ON CONFLICT DO NOTHING``
   waits for a concurrent same-order insert, so a conflict is either that
   order (``replay``) or an id clash (``id_clash``: the caller draws again);
5. inserts the journal entry and its two lines — the wallet line numbered
   and carrying ``balance_after``, the revenue line untracked — so migration
   0005's triggers move the balance, check seq/balance_after and, at the
   commit, that the entry sums to zero, exactly as for the ORM path.

SQLite keeps the ORM path (``wallet.charges._charge_write``), which the same
tests run against.
"""

from django.conf import settings
from django.db import migrations

POSTGRESQL_CREATE = """
CREATE OR REPLACE FUNCTION wallet_charge_create(
    p_user_id bigint,
    p_application_id bigint,
    p_revenue_account_id bigint,
    p_charge_id varchar,
    p_order_id varchar,
    p_amount numeric,
    p_description varchar,
    p_origin jsonb,
    p_now timestamptz,
    p_entry_id uuid,
    p_wallet_line_id uuid,
    p_revenue_line_id uuid
) RETURNS TABLE (outcome text, charge_id varchar, balance numeric, currency varchar)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    w_id bigint;
    w_balance numeric;
    w_count integer;
    w_currency varchar;
    known varchar;
    inserted varchar;
BEGIN
    SELECT a.id, a.balance, a.line_count, a.currency INTO w_id, w_balance, w_count, w_currency
      FROM wallet_ledgeraccount a
     WHERE a.user_id = p_user_id AND a.kind = 'wallet'
       AND EXISTS (SELECT 1 FROM %(user_table)s u WHERE u.id = p_user_id AND u.is_active)
       FOR UPDATE OF a;
    IF NOT FOUND THEN
        RETURN QUERY SELECT 'no_wallet'::text, NULL::varchar, NULL::numeric, NULL::varchar;
        RETURN;
    END IF;
    SELECT c.id INTO known FROM wallet_charge c
     WHERE c.application_id = p_application_id AND c.order_id = p_order_id;
    IF FOUND THEN
        RETURN QUERY SELECT 'replay'::text, known, NULL::numeric, w_currency;
        RETURN;
    END IF;
    IF w_balance - p_amount < 0 THEN
        RETURN QUERY SELECT 'insufficient'::text, NULL::varchar, w_balance, w_currency;
        RETURN;
    END IF;
    INSERT INTO wallet_charge
        (id, application_id, user_id, order_id, amount, currency, description, refunded_amount, balance_after,
         created_at)
    VALUES
        (p_charge_id, p_application_id, p_user_id, p_order_id, p_amount, w_currency, p_description, 0,
         w_balance - p_amount, p_now)
    ON CONFLICT DO NOTHING
    RETURNING id INTO inserted;
    IF inserted IS NULL THEN
        SELECT c.id INTO known FROM wallet_charge c
         WHERE c.application_id = p_application_id AND c.order_id = p_order_id;
        IF FOUND THEN
            RETURN QUERY SELECT 'replay'::text, known, NULL::numeric, w_currency;
        ELSE
            RETURN QUERY SELECT 'id_clash'::text, NULL::varchar, NULL::numeric, w_currency;
        END IF;
        RETURN;
    END IF;
    INSERT INTO wallet_journalentry (id, kind, reference, description, actor_id, reason, origin, created_at)
    VALUES (p_entry_id, 'charge', p_charge_id, p_description, NULL, '', p_origin, p_now);
    INSERT INTO wallet_ledgerline (id, entry_id, account_id, seq, amount, balance_after, created_at)
    VALUES
        (p_wallet_line_id, p_entry_id, w_id, w_count + 1, -p_amount, w_balance - p_amount, p_now),
        (p_revenue_line_id, p_entry_id, p_revenue_account_id, NULL, p_amount, NULL, p_now);
    RETURN QUERY SELECT 'created'::text, p_charge_id, w_balance - p_amount, w_currency;
END;
$$;
"""
POSTGRESQL_DROP = """
DROP FUNCTION IF EXISTS wallet_charge_create(
    bigint, bigint, bigint, varchar, varchar, numeric, varchar, jsonb, timestamptz, uuid, uuid, uuid
);
"""


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return  # SQLite: the ORM path in wallet.charges
    user_table = apps.get_model(settings.AUTH_USER_MODEL)._meta.db_table
    sql = POSTGRESQL_CREATE % {"user_table": schema_editor.quote_name(user_table)}
    schema_editor.execute(sql, params=None)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRESQL_DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("wallet", "0011_scale_indexes"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [migrations.RunPython(create, drop)]
