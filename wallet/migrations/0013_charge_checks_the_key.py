"""The one-statement charge re-checks the calling API key (issue 12): ``wallet_charge_create(…, p_key_id)``.

The charge POST authenticates its key from a per-process entry up to a
minute old (``wallet.clients.client_key_authenticate_local``), with no cache
read. What that entry cannot know — the key revoked or expired, the
application switched off or its ``charge`` scope removed since — the
function checks first, before it locks anything, and answers without
writing: ``key_invalid`` (the API answers 401 api_key_invalid) or
``scope_missing`` (403 permission_denied). So those changes still take effect
at once, in every process. ``p_key_id`` NULL skips the check (a charge made
in code, not through the API: the caller vouches for the application).

Everything after the check is migration 0012's function, unchanged.
"""

import importlib

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
    p_revenue_line_id uuid,
    p_key_id varchar
) RETURNS TABLE (outcome text, charge_id varchar, balance numeric, currency varchar)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    w_id bigint;
    w_balance numeric;
    w_count integer;
    w_currency varchar;
    known varchar;
    inserted varchar;
    k_usable boolean;
    k_may_charge boolean;
BEGIN
    IF p_key_id IS NOT NULL THEN
        SELECT NOT k.revoked AND (k.expiry_date IS NULL OR k.expiry_date > p_now) AND a.active,
               a.scopes ? 'charge'
          INTO k_usable, k_may_charge
          FROM wallet_clientapplicationkey k
          JOIN wallet_clientapplication a ON a.id = k.application_id
         WHERE k.id = p_key_id AND k.application_id = p_application_id;
        IF NOT FOUND OR NOT k_usable THEN
            RETURN QUERY SELECT 'key_invalid'::text, NULL::varchar, NULL::numeric, NULL::varchar;
            RETURN;
        END IF;
        IF NOT k_may_charge THEN
            RETURN QUERY SELECT 'scope_missing'::text, NULL::varchar, NULL::numeric, NULL::varchar;
            RETURN;
        END IF;
    END IF;
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
    bigint, bigint, bigint, varchar, varchar, numeric, varchar, jsonb, timestamptz, uuid, uuid, uuid, varchar
);
"""

_previous = importlib.import_module("wallet.migrations.0012_charge_in_one_statement")


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return  # SQLite: the ORM path in wallet.charges
    schema_editor.execute(_previous.POSTGRESQL_DROP, params=None)  # another signature: not replaced, dropped
    user_table = apps.get_model(settings.AUTH_USER_MODEL)._meta.db_table
    schema_editor.execute(POSTGRESQL_CREATE % {"user_table": schema_editor.quote_name(user_table)}, params=None)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRESQL_DROP, params=None)
        _previous.create(apps, schema_editor)


class Migration(migrations.Migration):
    dependencies = [
        ("wallet", "0012_charge_in_one_statement"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [migrations.RunPython(create, drop)]
