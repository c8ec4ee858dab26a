"""Consent to the user agreement and the privacy policy (PIPL art. 13–14).

Two rules, one function each:

- ``consent_check``: does a ``consent`` list (``["terms:3", "privacy:5"]``)
  cover the current version of every document? Every door that creates an
  account calls it before anything is written (``ConsentRequired`` carrying
  the missing ``required`` labels otherwise); with ``ACCOUNTS_CONSENT_REQUIRED``
  off a missing one is allowed.
- ``consent_record``: store the acceptances, append-only (one ``Consent`` row
  per document: user, version, time, IP, user agent), keep
  ``User.consents_accepted`` (the newest accepted version per kind, read by
  ``GET /me`` without a query) in step, and write a security event.

``user_consent_give`` is the door of a signed-in person agreeing to a new
version (``POST /api/v1/me/consents/``, the consent page).
``legal_document_publish`` is staff publishing a new version (the admin).
"""

from collections.abc import Iterable
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext_lazy as _

from accounts import conf
from accounts.errors import ConsentRequired, StaffPermissionDenied
from accounts.models import Consent, LegalDocument, User
from accounts.selectors import legal_document_get, legal_documents_current
from accounts.services.common import Kind, security_event_record
from config.errors import InvalidInput
from config.origin import Origin

PERM_PUBLISH = "accounts.add_legaldocument"


def consent_labels(consent: Iterable[object] | str | None) -> set[str]:
    """The ``"<kind>:<version>"`` labels of a ``consent`` input (a list, or one space/comma-separated string)."""
    if consent is None:
        return set()
    items = [consent] if isinstance(consent, str) else consent
    return {label.lower() for item in items for label in str(item).replace(",", " ").split()}


def consent_check(
    *, consent: Iterable[object] | str | None, accepted: dict | None = None, required: bool | None = None
) -> list[LegalDocument]:
    """The current documents that ``consent`` agrees to, once it covers every one still needed.

    A document is needed when its current version is newer than the one in
    ``accepted`` (a user's ``consents_accepted``; nothing for a new account).
    Raises ``ConsentRequired`` (``required``: the missing labels) when one is
    missing and consent is required (``ACCOUNTS_CONSENT_REQUIRED``, unless
    ``required`` says otherwise). Labels of other versions are ignored: only
    the current text can be agreed to. One query; writes nothing.
    """
    required = conf.consent_required() if required is None else required
    given = consent_labels(consent)
    accepted = accepted or {}
    needed = [doc for doc in legal_documents_current() if int(accepted.get(doc.kind) or 0) < doc.version]
    missing = [doc.label for doc in needed if doc.label not in given]
    if missing and required:
        raise ConsentRequired(required=missing)
    return [doc for doc in needed if doc.label in given]


@transaction.atomic
def consent_record(*, user: User, documents: list[LegalDocument], origin: Origin) -> None:
    """Store ``user``'s acceptance of ``documents`` (append-only rows) and update ``consents_accepted``.

    Nothing when ``documents`` is empty. Costs one INSERT (all rows), one
    UPDATE of the user and one security event.
    """
    if not documents:
        return
    Consent.objects.bulk_create(
        Consent(user=user, document=doc, ip=origin.ip or None, user_agent=origin.user_agent[:300]) for doc in documents
    )
    accepted = dict(user.consents_accepted or {})
    for doc in documents:
        accepted[doc.kind] = max(int(accepted.get(doc.kind) or 0), doc.version)
    user.consents_accepted = accepted
    User.objects.filter(pk=user.pk).update(consents_accepted=accepted)
    security_event_record(Kind.CONSENT_GIVEN, user=user, origin=origin, documents=[doc.label for doc in documents])


@transaction.atomic
def user_consent_give(*, user: User, consent: Iterable[object] | str | None, origin: Origin) -> User:
    """``user`` agrees to the current documents they have not agreed to yet; returns ``user``.

    ``consent`` must cover every one of them (``ConsentRequired`` otherwise,
    whatever ``ACCOUNTS_CONSENT_REQUIRED`` says: agreeing is what was asked).
    Agreeing again to what was already agreed changes nothing.
    """
    documents = consent_check(consent=consent, accepted=user.consents_accepted, required=True)
    consent_record(user=user, documents=documents, origin=origin)
    return user


def legal_version_check(*, kind: str, version: int | None) -> int:
    """The version a new ``kind`` document must have: the next one (1, then the current + 1).

    A published version is what people agreed to, so versions only go up, one
    at a time, and none is skipped. Raises ``InvalidInput`` on ``version``
    for another number; ``None`` means "the next one". One query.
    """
    current = legal_document_get(kind=kind)
    expected = current.version + 1 if current is not None else 1
    if version is not None and version != expected:
        message = _("The next version of this document is %(version)d.") % {"version": expected}
        raise InvalidInput(fields={"version": [message]})
    return expected


@transaction.atomic
def legal_document_publish(*, kind: str, origin: Origin, version: int | None = None, **texts: Any) -> LegalDocument:
    """Publish a new version of ``kind`` (titles and texts in ``texts``); from now on it is the current one.

    The actor needs ``accounts.add_legaldocument`` (``StaffPermissionDenied``);
    the system (no actor: migrations, commands) may. The version is checked by
    ``legal_version_check``; every field is validated (``InvalidInput``). Two
    publications racing for one number: the unique constraint lets one
    through, the other gets ``InvalidInput`` on ``version``. Signed-in people
    are asked to agree on their next page; apps see it in ``consent_required``.
    """
    actor: Any = origin.actor
    if actor is not None and not actor.has_perm(PERM_PUBLISH):
        raise StaffPermissionDenied()
    version = legal_version_check(kind=kind, version=version)
    document = LegalDocument(kind=kind, version=version, **texts)
    try:
        document.full_clean(validate_unique=False)
    except DjangoValidationError as exc:
        raise InvalidInput(fields=exc.message_dict) from exc
    try:
        with transaction.atomic():
            document.save()
    except IntegrityError:
        legal_version_check(kind=kind, version=version)  # raises: someone published this number first
        raise
    return document
