"""Migration operations shared by the apps' index migrations (accounts 0008, wallet 0011, smscodes 0002)."""

from django.db import migrations


class AlterIndexOnlyField(migrations.AlterField):
    """An ``AlterField`` that only adds or drops a field's index: applied to the schema except on SQLite.

    SQLite cannot drop a column's index in place, so Django rebuilds the
    whole table there, and a rebuild drops the table's triggers (the
    ledger's append-only ones, wallet migration 0005). An unused spare index
    on an embedded database costs nothing; the state changes everywhere, so
    ``makemigrations --check`` stays clean.
    """

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor != "sqlite":
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor != "sqlite":
            super().database_backwards(app_label, schema_editor, from_state, to_state)

    def describe(self):
        return super().describe() + " (index only; not on SQLite)"
