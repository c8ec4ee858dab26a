"""Hot read queries compiled once per process, then only executed.

Building and compiling a QuerySet (``filter()``, ``values_list()``, the SQL
compiler) costs more CPU than everything else of a small authenticated read
such as ``GET /api/v1/me/`` (issue 15's profile), and the statement is the
same on every request but for one value. ``Prepared`` compiles the query once
per database (alias, vendor) with a sentinel for that value, then executes
the same SQL with the real value: the same columns (a field added to the
model is selected too, since the query is built from the model), the same
database converters (phone numbers, JSON), the same execute wrappers
(metrics) and query counting as the ORM. Use it for reads only.

On PostgreSQL the statement is also prepared on the server, once per
connection (psycopg's ``prepare=True`` on a server-binding cursor): Django
binds parameters on the client and never prepares, so PostgreSQL would parse
and plan the same statement on every request — about half of its CPU for a
one-row read (pgbench on this project's user query: 5.6k → 11.2k tps with
``-M prepared``). Persistent connections (``CONN_MAX_AGE``) keep the
prepared statement for the connection's life. Behind PgBouncer in transaction
mode this needs PgBouncer 1.21 or newer (``max_prepared_statements``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

from django.db import connections, router
from django.db.models import Model, QuerySet

# A value no real query uses: its place among the compiled parameters is where the real one goes.
SENTINEL = -730_451_279


class Prepared:
    """``build(value)`` (a QuerySet) compiled once per database; ``rows(value)`` runs it with ``value``."""

    def __init__(
        self, model: type[Model], build: Callable[..., QuerySet], *, sentinel: Any = SENTINEL, values: int = 1
    ) -> None:
        # ``sentinel``: of the value's type, and one the field passes through unchanged (a phone number
        # field parses what it is given; its database value is the E.164 text). With ``values`` > 1,
        # ``build`` takes that many values and ``sentinel`` is a tuple of as many distinct sentinels.
        self.model = model
        self.build = build
        self.sentinels: tuple[Any, ...] = tuple(sentinel) if values > 1 else (sentinel,)
        if len(self.sentinels) != values or len(set(self.sentinels)) != values:
            raise ValueError("one distinct sentinel per value")
        self._plans: dict[
            tuple[str, str], tuple[str, list[Any], list[int], list[str], list[tuple[int, list, Any]]]
        ] = {}

    def _plan(self, connection: Any) -> tuple[str, list[Any], list[int], list[str], list[tuple[int, list, Any]]]:
        key = (connection.alias, connection.vendor)
        plan = self._plans.get(key)
        if plan is None:
            compiler = self.build(*self.sentinels).query.get_compiler(connection=connection)
            sql, params = compiler.as_sql()
            params = list(params)
            if any(params.count(sentinel) != 1 for sentinel in self.sentinels):  # pragma: no cover
                # a query that transforms a value, or uses it twice
                raise RuntimeError(f"each value must appear once, as it is, among the parameters: {params!r}")
            columns = [column for column, _sql, _alias in compiler.select]
            # A model column by its attname; an annotation (a subquery, say) by its alias.
            names = [
                getattr(getattr(column, "target", None), "attname", "") or (alias or "")
                for column, _sql, alias in compiler.select
            ]
            converters = [
                (index, functions, expression)
                for index, (functions, expression) in compiler.get_converters(columns).items()
            ]
            plan = (sql, params, [params.index(sentinel) for sentinel in self.sentinels], names, converters)
            self._plans[key] = plan  # a race compiles the same plan twice
        return plan

    def rows(self, *values: Any) -> tuple[list[tuple], list[str], str]:
        """The rows for ``values`` (converted like the ORM's), the selected fields' attnames
        (annotations by their alias), the alias of the database."""
        connection = connections[router.db_for_read(self.model)]
        sql, params, indexes, names, converters = self._plan(connection)
        params = list(params)
        for index, value in zip(indexes, values, strict=True):
            params[index] = value
        cursor = prepared_cursor(connection)
        cursor.execute(sql, params)
        rows = cursor.fetchall()
        if converters:
            converted = []
            for row in rows:
                cells = list(row)
                for position, functions, expression in converters:
                    for convert in functions:
                        cells[position] = convert(cells[position], expression, connection)
                converted.append(tuple(cells))
            rows = converted
        return rows, names, connection.alias


@functools.cache
def _preparing_classes() -> tuple[type, type]:
    # Imported on first use: the module exists only with psycopg 3 installed (the project's driver).
    from django.db.backends.postgresql.base import CursorDebugWrapper, ServerBindingCursor

    cursor_base: Any = ServerBindingCursor
    debug_base: Any = CursorDebugWrapper

    class PreparingCursor(cursor_base):
        """Server-side binding, and every statement prepared (psycopg keeps the 100 most recent per connection)."""

        def execute(
            self, query: Any, params: Any = None, *, prepare: bool | None = None, binary: bool | None = None
        ) -> Any:
            return super().execute(query, params, prepare=True, binary=binary)

    class PreparingDebugWrapper(debug_base):
        """Logs (tests, DEBUG) the statement with its values in place, as Django logs its own statements,
        rather than the ``$1`` text the server was sent."""

        def debug_sql(
            self, sql: Any = None, params: Any = None, use_last_executed_query: bool = False, many: bool = False
        ) -> Any:
            if use_last_executed_query and not many:
                sql, use_last_executed_query = self.db.ops.compose_sql(sql, params), False
            return super().debug_sql(sql, params, use_last_executed_query, many)

    return PreparingCursor, PreparingDebugWrapper


def prepared_cursor(connection: Any) -> Any:
    """A cursor for a hot statement: on PostgreSQL one per connection, reused, whose statements the
    server prepares once per connection; elsewhere a new plain one. ``Prepared`` reads use it, and
    so does the one-statement charge (``wallet.charges``). Do not close it; read its rows at once.

    Wrapped as ``connection.cursor()`` wraps Django's own (execute wrappers,
    query logging, database error translation), so metrics and query counting
    see these statements as any other. Reusing the psycopg cursor keeps the
    result loaders it looked up for the previous row (a third of a read's
    client CPU); it is never closed, and a new one is made for a new
    connection. Django's connections are per thread, so is the cursor.
    """
    if connection.vendor != "postgresql":
        return connection.cursor()
    cursor_class, debug_wrapper = _preparing_classes()
    # What connection.cursor() does, with our cursor in place of a new client-binding one.
    connection.close_if_health_check_failed()
    connection.ensure_connection()
    connection.validate_thread_sharing()
    raw = getattr(connection, "_prepared_reads_cursor", None)
    if raw is None or raw.connection is not connection.connection or raw.closed:
        with connection.wrap_database_errors:
            raw = cursor_class(connection.connection)
        connection._prepared_reads_cursor = raw
    return debug_wrapper(raw, connection) if connection.queries_logged else connection.make_cursor(raw)


def rows_write_together(*, inserts: Sequence[Model], update: Model, update_fields: Sequence[str]) -> None:
    """INSERT each of ``inserts`` and UPDATE ``update_fields`` of ``update`` (by its pk), in one statement.

    For a hot write path that would otherwise send one statement per row,
    each its own transaction in autocommit (a commit, a WAL flush and a
    round trip each): on PostgreSQL, data-modifying CTEs make it one
    statement, hence one implicit transaction (all the rows or none). The
    values go through the fields exactly as ``save()`` sends them
    (``pre_save`` defaults, ``get_db_prep_save``). Elsewhere (SQLite in
    tests) each statement in turn, as ``save()`` would. No model signals
    are sent, and an inserted row with a database-made primary key does not
    learn it: use it only where nothing listens and nobody needs that key.

    The PostgreSQL statement goes through ``prepared_cursor``: its text is the
    same on every call for the same models and fields, so the server parses
    and plans it once per connection (on the password login, PostgreSQL's CPU
    per login fell from 1.33 to 0.95 ms, and the client's by ~0.3 ms:
    server-side binding sends the values as they are instead of quoting them
    into the text).
    """
    connection = connections[router.db_for_write(type(update))]
    quote = connection.ops.quote_name
    statements: list[tuple[str, list[Any]]] = []
    for row in inserts:
        meta = row._meta
        fields = [field for field in meta.local_concrete_fields if not (field.primary_key and row.pk is None)]
        params = [field.get_db_prep_save(field.pre_save(row, add=True), connection) for field in fields]
        # Only identifiers from the model's own metadata go into the text; values are parameters.
        sql = (
            f"INSERT INTO {quote(meta.db_table)} ({', '.join(quote(str(f.column)) for f in fields)}) "  # noqa: S608
            f"VALUES ({', '.join(['%s'] * len(fields))})"
        )
        statements.append((sql, params))
    meta = update._meta
    columns = [field for field in meta.concrete_fields if field.name in update_fields]
    assignments = ", ".join(f"{quote(str(field.column))} = %s" for field in columns)
    params = [field.get_db_prep_save(getattr(update, field.attname), connection) for field in columns]
    params.append(meta.pk.get_db_prep_value(update.pk, connection))
    statements.append(
        (f"UPDATE {quote(meta.db_table)} SET {assignments} WHERE {quote(str(meta.pk.column))} = %s", params)  # noqa: S608
    )
    if connection.vendor == "postgresql" and len(statements) > 1:
        *ctes, (last_sql, last_params) = statements
        sql = "WITH " + ", ".join(f"w{n} AS ({text})" for n, (text, _) in enumerate(ctes)) + " " + last_sql
        # The text is the same on every call for the same models and fields: prepared once per connection.
        prepared_cursor(connection).execute(sql, [value for _, values in ctes for value in values] + last_params)
    else:
        with connection.cursor() as cursor:
            for text, values in statements:
                cursor.execute(text, values)
    for row in inserts:
        row._state.adding = False
        row._state.db = connection.alias
