"""Admin pieces shared by the apps."""

from collections.abc import Callable, Iterable
from typing import Any, ClassVar

from django.contrib import admin
from django.core.paginator import Paginator
from django.db import connections
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.functional import cached_property


class ReadOnlyAdminMixin:
    """For records nobody edits by hand: logs, audit trails, ledger entries.

    Corrections happen through services (a new ledger entry, a new event),
    never by changing or deleting a row in the admin.
    """

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


# --- Lists that cost the same at ten thousand rows and at ten million ------------------------
#
# What makes a changelist slow on a big table, and what replaces it here:
# - two exact COUNT(*) per page (the paginator's and "N total"): one count,
#   and for an unfiltered list PostgreSQL's own row estimate;
# - ``date_hierarchy`` (SELECT DISTINCT date_trunc(...) over every row): a
#   date range filter (Django's DateFieldListFilter: this month, past 7 days…);
# - a list filter on a plain column (SELECT DISTINCT column on every view):
#   a filter with a fixed list of choices (:func:`fixed_choices_filter`);
# - ``icontains`` search over unindexed text: each admin resolves the term
#   first (a phone number, a user) and filters on indexed columns.

#: below this many rows an exact count is cheap, and exact is what people expect
ESTIMATE_ABOVE = 100_000
#: a filtered list counts at most this many rows (100 pages of 100): nobody pages further, and
#: counting the half of a 1M-row log a filter matches would cost a scan of it on every page
COUNT_AT_MOST = 10_000


class EstimatedCountPaginator(Paginator):
    """A paginator that, for an unfiltered list on PostgreSQL, counts with ``pg_class.reltuples``.

    The estimate is what ANALYZE (and autovacuum) last measured: close
    enough for "about 2,000,000 results" and the number of pages, and read
    in one index lookup instead of a scan of the table. A small table and
    other databases get the exact count. A filtered or searched list counts
    at most ``COUNT_AT_MOST`` of its rows (``SELECT COUNT(*) FROM (… LIMIT
    n)``): exact below that, and never a scan of everything a broad filter
    matches.
    """

    @cached_property
    def count(self) -> int:
        queryset = self.object_list
        if not isinstance(queryset, QuerySet):
            return super().count
        query = queryset.query
        if query.where or query.distinct or query.group_by is not None or query.annotations or query.combinator:
            return queryset.order_by()[:COUNT_AT_MOST].count()
        if connections[queryset.db].vendor != "postgresql":
            return super().count
        database = connections[queryset.db]
        table = database.ops.quote_name(queryset.model._meta.db_table)
        with database.cursor() as cursor:
            # One query either way: the estimate for a big table, the exact count for a small one
            # (reltuples is -1 before the first ANALYZE).
            sql = f"SELECT CASE WHEN reltuples >= %s THEN reltuples::bigint ELSE (SELECT COUNT(*) FROM {table}) END"  # noqa: S608, E501 - the model's own table, quoted
            cursor.execute(sql + " FROM pg_class WHERE oid = %s::regclass", [ESTIMATE_ABOVE, table])
            row = cursor.fetchone()
        return int(row[0]) if row else super().count


class ScaleSafeAdminMixin:
    """For changelists over tables that grow without bound (events, logs, the ledger, users).

    One count per page (estimated when unfiltered, see EstimatedCountPaginator);
    never the "N total" count; no date hierarchy. Each admin keeps its own
    indexed ordering and its search in ``get_search_results``.
    """

    paginator: ClassVar[type] = EstimatedCountPaginator
    show_full_result_count: ClassVar[bool] = False
    date_hierarchy: ClassVar[str | None] = None


def fixed_choices_filter(field: str, title: Any, choices: Callable[[], Iterable[tuple[str, Any]]]) -> type:
    """A list filter on ``field`` offering ``choices()`` (e.g. the configured channels).

    Django's filter for a plain column asks the table for its distinct
    values on every view (SELECT DISTINCT over millions of rows); the values
    a column can hold are known from the configuration, so list them.
    """

    class FixedChoicesFilter(admin.SimpleListFilter):
        parameter_name = f"{field}__exact"  # the same URL as Django's own filter on the field

        def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
            return list(choices())

        def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
            value = self.value()
            return queryset.filter(**{field: value}) if value else queryset

    FixedChoicesFilter.title = title
    return FixedChoicesFilter
