from typing import Any

from django.db import connections, router
from django.db.models import Q, QuerySet

from accounts.models import Device, User
from config.phones import phone_to_e164


def user_search_q(term: str) -> Q:
    """Q for finding a user by phone (any format, or its last 4 to 10 digits), username, nickname or email."""
    term = term.strip()
    q = Q(username__iexact=term) | Q(nickname__icontains=term) | Q(email__iexact=term)
    e164 = phone_to_e164(term)
    if e164:
        q |= Q(phone=e164)
    digits = term.replace(" ", "").replace("-", "")
    if digits.isdigit() and 4 <= len(digits) < 11:
        # Support asks for "the number ending in 8000": the last digits find it (E.164 ends the same way).
        q |= Q(phone__endswith=digits)
    return q


def user_get_by_login(login: str) -> User | None:
    """The active-or-not user whose phone (any format) or username is ``login``."""
    e164 = phone_to_e164(login)
    query: QuerySet = User.objects.filter(phone=e164) if e164 else User.objects.filter(username__iexact=login.strip())
    return query.first()


def devices_live(*, user: User) -> QuerySet[Device]:
    """``user``'s signed-in devices that have not ended, newest first."""
    return Device.objects.filter(user=user, ended_at__isnull=True).order_by("-created_at")


# --- The user row by id, the query of every authenticated API call --------------------------
# Building and compiling ``User.objects.filter(pk=…).first()`` costs more CPU
# than the rest of a ``GET /api/v1/me/`` together (issue 15's profile). The
# statement is the same every time but for the id, so it is compiled once per
# database connection settings (vendor, alias) and process, and only executed
# after that: the same SQL, the same columns (every concrete field, so a field
# added to User is selected too), the same database converters, the same
# model instance (``Model.from_db``), the same execute wrappers (metrics) and
# query counting. No ORDER BY: the id is unique.

_user_by_id_plans: dict[tuple[str, str], tuple[str, list[str], list[tuple[int, list, Any]]]] = {}


def _user_by_id_plan(connection: Any) -> tuple[str, list[str], list[tuple[int, list, Any]]]:
    key = (connection.alias, connection.vendor)
    plan = _user_by_id_plans.get(key)
    if plan is None:
        compiler = User.objects.filter(pk=0).query.get_compiler(connection=connection)
        sql, params = compiler.as_sql()
        if list(params) != [0]:  # pragma: no cover - a backend that rewrites the id: never compiled
            raise RuntimeError(f"unexpected parameters for the user query: {params!r}")
        names = [column.target.attname for column, _sql, _alias in compiler.select]
        converters = compiler.get_converters([column for column, _sql, _alias in compiler.select])
        plan = (sql, names, [(index, functions, expression) for index, (functions, expression) in converters.items()])
        _user_by_id_plans[key] = plan  # a race compiles the same plan twice
    return plan


def user_by_id(user_id: object) -> User | None:
    """The user with primary key ``user_id`` (any int-like), or None; one query, compiled once."""
    try:
        pk = int(user_id)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return None
    connection = connections[router.db_for_read(User)]
    sql, names, converters = _user_by_id_plan(connection)
    with connection.cursor() as cursor:
        cursor.execute(sql, [pk])
        row = cursor.fetchone()
    if row is None:
        return None
    if converters:
        values = list(row)
        for index, functions, expression in converters:
            for convert in functions:
                values[index] = convert(values[index], expression, connection)
        row = values
    return User.from_db(connection.alias, names, row)
