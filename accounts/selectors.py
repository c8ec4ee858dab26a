from django.db.models import Q, QuerySet

from accounts.models import Device, User
from config.phones import phone_to_e164


def user_search_q(term: str) -> Q:
    """Q for finding a user by phone (any format, or its last 4 to 10 digits), username, nickname or email.

    Every branch has an index on PostgreSQL (accounts migration 0008), so
    the OR is a BitmapOr of index scans, never a scan of the table: a term
    that parses as a phone number searches the phone column only;
    ``username__iexact`` and ``email__iexact`` use the ``Upper`` indexes;
    ``nickname__icontains`` and ``phone__endswith`` the trigram ones.
    """
    term = term.strip()
    e164 = phone_to_e164(term)
    if e164:
        return Q(phone=e164)
    q = Q(username__iexact=term) | Q(nickname__icontains=term) | Q(email__iexact=term)
    digits = term.replace(" ", "").replace("-", "")
    if digits.isdigit() and 4 <= len(digits) < 11:
        # Support asks for "the number ending in 8000": the last digits find it (E.164 ends the same way).
        q |= Q(phone__endswith=digits)
    return q


def user_ids_for_search(term: str, *, limit: int = 20) -> list[int]:
    """The ids of the people a staff member means by ``term``: one indexed query, at most ``limit`` ids.

    A term that parses as a phone number (any format) matches that number
    only; otherwise the username (any case) or, for digits, the id. Admin
    lists of big tables (events, the ledger, top-ups, charges) resolve the
    person first and then filter their own rows by id, instead of an OR
    across joined user columns evaluated for every row.
    """
    term = term.strip()
    if not term:
        return []
    e164 = phone_to_e164(term)
    if e164:
        q = Q(phone=e164)
    else:
        q = Q(username__iexact=term)
        if term.isdigit() and len(term) <= 18:
            q |= Q(pk=int(term))
    return list(User.objects.filter(q).order_by().values_list("pk", flat=True)[:limit])


def user_get_by_login(login: str) -> User | None:
    """The active-or-not user whose phone (any format) or username is ``login``."""
    e164 = phone_to_e164(login)
    query: QuerySet = User.objects.filter(phone=e164) if e164 else User.objects.filter(username__iexact=login.strip())
    # Both are unique: no ORDER BY (``first()`` would add one by id, a sort in every login's plan).
    return next(iter(query.order_by()[:1]), None)


def devices_live(*, user: User) -> QuerySet[Device]:
    """``user``'s signed-in devices that have not ended, newest first."""
    return Device.objects.filter(user=user, ended_at__isnull=True).order_by("-created_at")
