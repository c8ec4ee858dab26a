from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from django.db.models import OuterRef, Q, QuerySet, Subquery

from accounts import conf
from accounts.models import Device, LegalDocument, User
from config.phones import phone_to_e164
from config.sql import SENTINEL, Prepared


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
    """The active-or-not user whose phone (any format) or username is ``login``; one query, compiled once."""
    e164 = phone_to_e164(login)
    if e164:
        return _user_from(_user_by_phone, e164)
    return _user_from(_user_by_username, login.strip())


def devices_live(*, user: User) -> QuerySet[Device]:
    """``user``'s signed-in devices that have not ended, newest first."""
    return Device.objects.filter(user=user, ended_at__isnull=True).order_by("-created_at")


# --- Legal documents and consent ----------------------------------------------------------

LEGAL_KINDS: tuple[str, ...] = tuple(LegalDocument.Kind.values)  # terms first, as the API lists them
_LEGAL_ATTR = "_legal_current_{}"


def legal_documents_current() -> list[LegalDocument]:
    """The current (highest) version of each legal document, terms first; one query."""
    newest = LegalDocument.objects.filter(kind=OuterRef("kind")).order_by("-version").values("version")[:1]
    documents = {doc.kind: doc for doc in LegalDocument.objects.filter(version=Subquery(newest))}
    return [documents[kind] for kind in LEGAL_KINDS if kind in documents]


def legal_document_get(*, kind: str, version: int | None = None) -> LegalDocument | None:
    """One published version of ``kind`` (the current one when ``version`` is None), or None."""
    documents = LegalDocument.objects.filter(kind=kind)
    if version is not None:
        documents = documents.filter(version=version)
    return documents.order_by("-version").first()


def users_with_legal_versions() -> QuerySet[User]:
    """Users, each row carrying the current version of every legal document (subqueries, no extra query).

    Whoever loads the signed-in user (JWT authentication, the session
    backend, the login flows) loads it through this, so ``consent_outstanding``
    costs nothing: ``GET /api/v1/me/`` stays one query, and a version
    published a moment ago is seen by the very next request (no cache).
    """
    newest = {
        _LEGAL_ATTR.format(kind): Subquery(
            LegalDocument.objects.filter(kind=kind).order_by("-version").values("version")[:1]
        )
        for kind in LEGAL_KINDS
    }
    return User.objects.annotate(**newest)


def legal_versions_current(user: User | None = None) -> dict[str, int]:
    """``{"terms": 3, "privacy": 5}``: from ``user``'s row when it was loaded with them, else one query."""
    if user is not None and all(hasattr(user, _LEGAL_ATTR.format(kind)) for kind in LEGAL_KINDS):
        values = {kind: getattr(user, _LEGAL_ATTR.format(kind)) for kind in LEGAL_KINDS}
        return {kind: int(version) for kind, version in values.items() if version is not None}
    versions = {doc.kind: doc.version for doc in legal_documents_current()}
    if user is not None:  # remembered on the instance: a second call costs nothing
        for kind in LEGAL_KINDS:
            setattr(user, _LEGAL_ATTR.format(kind), versions.get(kind))
    return versions


def consent_outstanding(*, user: User) -> list[str]:
    """The ``"<kind>:<version>"`` documents ``user`` still has to agree to (none with ACCOUNTS_CONSENT_REQUIRED off)."""
    if not conf.consent_required():
        return []
    accepted = user.consents_accepted or {}
    return [
        f"{kind}:{version}"
        for kind, version in legal_versions_current(user).items()
        if int(accepted.get(kind) or 0) < version
    ]


# --- The user row by id, the query of every authenticated API call --------------------------
# Compiled once (config.sql.Prepared): the same SQL, columns and converters as
# ``User.objects.filter(pk=…)``, without building the query on every request.
# No ORDER BY: the id is unique.

# The row carries the legal documents' current versions (``users_with_legal_versions``),
# so ``consent_required`` costs no query of its own.
_user_by_id = Prepared(User, lambda pk: users_with_legal_versions().filter(pk=pk))
# The password login's lookups, the same way (the Session answered after a login shows
# consent_required for free). Both columns are unique: no ORDER BY.
_user_by_phone = Prepared(
    User, lambda phone: users_with_legal_versions().filter(phone=phone).order_by()[:1], sentinel="+14155550123"
)
_user_by_username = Prepared(
    User,
    lambda username: users_with_legal_versions().filter(username__iexact=username).order_by()[:1],
    sentinel="prepared-sentinel",
)
# Every API call with an access token: the user row and, in the same statement, the token's
# device's last_seen_at if that device is the user's and has not ended (else NULL).
_user_with_device = Prepared(
    User,
    lambda pk, device_id: (
        users_with_legal_versions()
        .filter(pk=pk)
        .annotate(
            _device_seen=Subquery(
                Device.objects.filter(pk=device_id, user_id=OuterRef("pk"), ended_at__isnull=True)
                .order_by()
                .values("last_seen_at")[:1]
            )
        )
    ),
    sentinel=(SENTINEL, "prepared-device-sentinel"),
    values=2,
)
_USER_COLUMNS = frozenset(field.attname for field in User._meta.concrete_fields)


@dataclass(frozen=True)
class AlsoRead:
    """Columns another app reads in the access token's own statement (``user_with_device_seen``).

    ``annotations()`` gives ``QuerySet.annotate`` arguments on the User query
    (``OuterRef("pk")`` is the user): typically one-row subqueries of that
    app's tables. They arrive as attributes of the user object. A hot read
    whose only other query is keyed by the user saves a round trip this way
    (``GET /api/v1/wallet/``: the balance), and accounts needs to know nothing
    of the app. ``name`` tells the compiled statements apart.
    """

    name: str
    annotations: Callable[[], Mapping[str, Any]]


_user_with_device_also: dict[str, Prepared] = {}


def _statement_with(also: AlsoRead) -> Prepared:
    statement = _user_with_device_also.get(also.name)
    if statement is None:
        statement = Prepared(
            User,
            lambda pk, device_id: _user_with_device.build(pk, device_id).annotate(**also.annotations()),
            sentinel=_user_with_device.sentinels,
            values=2,
        )
        _user_with_device_also[also.name] = statement  # a race builds the same statement twice
    return statement


def _user_from(statement: Prepared, *values: object) -> User | None:
    rows, names, alias = statement.rows(*values)
    if not rows:
        return None
    columns = [(name, value) for name, value in zip(names, rows[0], strict=True) if name in _USER_COLUMNS]
    user = User.from_db(alias, [name for name, _ in columns], [value for _, value in columns])
    for name, value in zip(names, rows[0], strict=True):
        if name not in _USER_COLUMNS:  # the annotations, as the ORM sets them
            setattr(user, name, value)
    return user


def user_by_id(user_id: object) -> User | None:
    """The user with primary key ``user_id`` (any int-like), or None; one query, compiled once."""
    try:
        pk = int(user_id)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return None
    return _user_from(_user_by_id, pk)


def user_with_device_seen(user_id: object, device_id: str, *, also: AlsoRead | None = None) -> User | None:
    """The user with ``user_id``, or None, with ``_device_seen``: the last_seen_at of ``device_id`` if it is
    this user's and live, else None. One query, compiled once: the whole check of an access token.
    With ``also``, that statement reads those columns too (see ``AlsoRead``)."""
    try:
        pk = int(user_id)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return None
    return _user_from(_user_with_device if also is None else _statement_with(also), pk, str(device_id))
