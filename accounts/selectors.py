from django.db.models import Q, QuerySet

from accounts.models import Device, User
from config.phones import phone_to_e164
from config.sql import Prepared


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
# Compiled once (config.sql.Prepared): the same SQL, columns and converters as
# ``User.objects.filter(pk=…)``, without building the query on every request.
# No ORDER BY: the id is unique.

_user_by_id = Prepared(User, lambda pk: User.objects.filter(pk=pk))


def user_by_id(user_id: object) -> User | None:
    """The user with primary key ``user_id`` (any int-like), or None; one query, compiled once."""
    try:
        pk = int(user_id)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return None
    rows, names, alias = _user_by_id.rows(pk)
    return User.from_db(alias, names, rows[0]) if rows else None
