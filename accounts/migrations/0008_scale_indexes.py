"""Indexes that match the queries Django emits at scale (issue 17).

- The case-insensitive username rule moves from ``Lower`` to ``Upper``:
  ``username__iexact`` emits ``UPPER(username) = UPPER(%s)``, so one unique
  expression index now enforces the rule and serves every lookup.
- ``Upper(email)`` for ``email__iexact``; ``(-date_joined, -id)`` for the
  admin's user list; ``(-created_at, -id)`` and ``(login, -created_at)`` for
  security events; ``(-created_at, -id)`` for devices and ``(-accepted_at, -id)``
  for consents (their admin lists).
- The plain foreign-key indexes of ``SecurityEvent.user`` and ``Device.user``
  go: ``(user, -created_at)`` leads with the same column.
- On PostgreSQL only: ``pg_trgm`` and trigram GIN indexes on
  ``UPPER(nickname)`` (``nickname__icontains``) and ``phone``
  (``phone__endswith``, "the number ending in 8000"). SQLite has no such
  index, so they live here and not in the model.
"""

import django.db.models.deletion
import django.db.models.functions.text
import django.utils.timezone
from django.conf import settings
from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations, models

from config.migration_operations import AlterIndexOnlyField

TRIGRAM_INDEXES = (
    # (name, expression SQL): the expressions Django's lookups emit.
    ("accounts_user_nickname_trgm", 'UPPER("nickname"::text) gin_trgm_ops'),
    ("accounts_user_phone_trgm", '("phone"::text) gin_trgm_ops'),
)


def trigram_indexes_create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, expression in TRIGRAM_INDEXES:
        schema_editor.execute(f'CREATE INDEX IF NOT EXISTS "{name}" ON "accounts_user" USING gin ({expression})')


def trigram_indexes_drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, _expression in TRIGRAM_INDEXES:
        schema_editor.execute(f'DROP INDEX IF EXISTS "{name}"')


class Migration(migrations.Migration):
    dependencies = [
        ('accounts', '0007_support_finance_groups'),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="user",
            name="accounts_user_username_ci_unique",
        ),
        migrations.AddConstraint(
            model_name="user",
            constraint=models.UniqueConstraint(
                django.db.models.functions.text.Upper("username"), name="accounts_user_username_ci_unique"
            ),
        ),
        migrations.AddIndex(
            model_name="user",
            index=models.Index(django.db.models.functions.text.Upper("email"), name="accounts_user_email_upper"),
        ),
        migrations.AddIndex(
            model_name="user",
            index=models.Index(fields=["-date_joined", "-id"], name="accounts_user_joined"),
        ),
        migrations.AddIndex(
            model_name="securityevent",
            index=models.Index(fields=["-created_at", "-id"], name="accounts_sec_time"),
        ),
        migrations.AddIndex(
            model_name="securityevent",
            index=models.Index(fields=["login", "-created_at"], name="accounts_sec_login_time"),
        ),
        migrations.AddIndex(
            model_name="device",
            index=models.Index(fields=["-created_at", "-id"], name="accounts_device_time"),
        ),
        migrations.AddIndex(
            model_name="consent",
            index=models.Index(fields=["-accepted_at", "-id"], name="accounts_consent_time"),
        ),
        AlterIndexOnlyField(
            model_name="securityevent",
            name="created_at",
            field=models.DateTimeField(default=django.utils.timezone.now, verbose_name="time"),
        ),
        AlterIndexOnlyField(
            model_name="securityevent",
            name="user",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="security_events",
                to=settings.AUTH_USER_MODEL,
                verbose_name="user",
            ),
        ),
        AlterIndexOnlyField(
            model_name="device",
            name="user",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="devices",
                to=settings.AUTH_USER_MODEL,
                verbose_name="user",
            ),
        ),
        # CREATE EXTENSION, itself skipped on other databases (pg_trgm is a trusted
        # extension: the database owner may create it, no superuser needed).
        TrigramExtension(),
        migrations.RunPython(trigram_indexes_create, trigram_indexes_drop, elidable=False),
    ]
