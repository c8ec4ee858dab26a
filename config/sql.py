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
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import connections, router
from django.db.models import Model, QuerySet

# A value no real query uses: its place among the compiled parameters is where the real one goes.
SENTINEL = -730_451_279


class Prepared:
    """``build(value)`` (a QuerySet) compiled once per database; ``rows(value)`` runs it with ``value``."""

    def __init__(self, model: type[Model], build: Callable[[Any], QuerySet]) -> None:
        self.model = model
        self.build = build
        self._plans: dict[tuple[str, str], tuple[str, list[Any], int, list[str], list[tuple[int, list, Any]]]] = {}

    def _plan(self, connection: Any) -> tuple[str, list[Any], int, list[str], list[tuple[int, list, Any]]]:
        key = (connection.alias, connection.vendor)
        plan = self._plans.get(key)
        if plan is None:
            compiler = self.build(SENTINEL).query.get_compiler(connection=connection)
            sql, params = compiler.as_sql()
            params = list(params)
            if params.count(SENTINEL) != 1:  # pragma: no cover - a query that transforms the value
                raise RuntimeError(f"the value must appear once, as it is, among the parameters: {params!r}")
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
            plan = (sql, params, params.index(SENTINEL), names, converters)
            self._plans[key] = plan  # a race compiles the same plan twice
        return plan

    def rows(self, value: Any) -> tuple[list[tuple], list[str], str]:
        """The rows for ``value`` (converted like the ORM's), the selected fields' attnames
        (annotations by their alias), the alias of the database."""
        connection = connections[router.db_for_read(self.model)]
        sql, params, index, names, converters = self._plan(connection)
        params = list(params)
        params[index] = value
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
        if converters:
            converted = []
            for row in rows:
                values = list(row)
                for position, functions, expression in converters:
                    for convert in functions:
                        values[position] = convert(values[position], expression, connection)
                converted.append(tuple(values))
            rows = converted
        return rows, names, connection.alias
