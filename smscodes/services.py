"""Sending and checking SMS codes: the only code that touches them.

Generic: a code is issued and verified for a phone number and a purpose, and
nothing here knows whether an account uses that number. The account rules of
each purpose (a free number to sign up, a registered one to reset a password…)
are the accounts app's, which calls ``sms_code_send`` once they pass and
``verification_consume`` in its flows; the verify endpoint calls
``sms_code_verify``. The live code is in the cache (``smscodes.store``) as an
HMAC; the database only keeps the send log.
"""

from __future__ import annotations

import contextlib
import logging
import math
import secrets
import time
import unicodedata
from dataclasses import dataclass

from django.core import signing
from django.db import InterfaceError, OperationalError, transaction
from django.utils.crypto import salted_hmac
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from config import metrics
from config.errors import InvalidInput
from config.origin import Origin
from smscodes import conf, limits
from smscodes.backends import BaseSmsBackend, SmsBackendError, SmsOutgoing, get_backend
from smscodes.errors import (
    CodeAttemptsExceeded,
    CodeInvalid,
    InvalidPhone,
    PhoneRegionNotAllowed,
    SmsCooldown,
    SmsLimitExceeded,
    SmsSendFailed,
    VerificationTokenInvalid,
)
from smscodes.models import SmsMessage, SmsStatus
from smscodes.store import Counter, get_store
from smscodes.validators import sms_phone_validate, sms_purpose_validate

logger = logging.getLogger("smscodes")

VERIFICATION_TOKEN_TTL = 600
_TOKEN_SALT = "smscodes.verification"  # noqa: S105 - a signing salt, not a secret


@dataclass(frozen=True)
class SmsCodeSent:
    phone: str
    purpose: str
    expires_in: int
    resend_in: int


@dataclass(frozen=True)
class Verification:
    phone: str
    purpose: str
    verification_token: str
    expires_in: int


# --- small pieces -------------------------------------------------------------------------


def code_generate(length: int | None = None) -> str:
    """A uniformly random string of ``length`` digits (leading zeros kept), from ``secrets``."""
    length = length or conf.code_length()
    return f"{secrets.randbelow(10**length):0{length}d}"


def code_digest(*, purpose: str, phone: str, code: str) -> str:
    """What the cache keeps instead of the code: an HMAC keyed with the secret key."""
    return salted_hmac("smscodes.code", f"{purpose}:{phone}:{code}", algorithm="sha256").hexdigest()


def code_normalize(code: str) -> str:
    """The code as typed, with full-width digits (a Chinese input method's "１２３４５６") made ASCII."""
    return unicodedata.normalize("NFKC", code).strip()


def _code_clean(code: object, *, phone: str) -> str:
    code = code_normalize(code) if isinstance(code, str) else ""
    lengths = {conf.code_length()}
    test_code = conf.test_numbers().get(phone)
    if test_code:
        lengths.add(len(test_code))
    if not (code.isascii() and code.isdigit() and len(code) in lengths):
        message = _("Enter the %(length)d-digit code from the text message.") % {"length": conf.code_length()}
        raise InvalidInput(fields={"code": [message]})
    return code


def _scrub(text: str, code: str) -> str:
    """A provider's error text, cut short and without the code (some echo the request)."""
    return str(text).replace(code, "*" * len(code))[:255]


def _in_callers_transaction() -> bool:
    """True inside an atomic block opened by a caller: the send must then wait for its commit.

    Why not always ``transaction.on_commit(send)``? Outside a transaction it
    runs at once, so a provider failure could still be the synchronous 502
    API.md promises. But a test wrapped in a transaction (pytest-django's
    ``django_db``, Django's ``TestCase``) never commits: every test that sends
    a code, here and in the account flows, would need
    ``django_capture_on_commit_callbacks`` and could not see that 502. So a
    test case's own blocks are skipped, recognised by the ``_from_testcase``
    mark Django sets on them for the same purpose (``atomic(durable=True)``
    makes this check). Production has no such blocks: there only the public
    ``in_atomic_block`` decides, and if Django renamed the mark the suite
    would fail loudly (``test_a_test_cases_own_transaction_is_not_a_callers``)
    rather than production behave differently.
    """
    connection = transaction.get_connection()
    return connection.in_atomic_block and any(
        not getattr(block, "_from_testcase", False) for block in connection.atomic_blocks
    )


def _message_text(*, code: str, minutes: int) -> str:
    return _("Your verification code is %(code)s, valid for %(minutes)d minutes. Never share it with anyone.") % {
        "code": code,
        "minutes": minutes,
    }


# --- send -------------------------------------------------------------------------------------


def sms_code_send(*, phone: str, purpose: str, origin: Origin) -> SmsCodeSent:
    """Send a new code for ``purpose`` to ``phone`` (any format) and log the attempt.

    Checks the number (``InvalidPhone``, ``PhoneRegionNotAllowed``) and the
    purpose (``InvalidInput``), then takes the cooldown
    and every limit in one atomic step (``SmsCooldown`` / ``SmsLimitExceeded``
    with the real ``retry_after``). The code replaces the previous one for the
    same purpose and number; its failed attempts carry over while the failure
    window is open. A test number (``SMS_TEST_NUMBERS``) gets its fixed code and
    nothing is sent.

    The provider is called outside any transaction of ours: this function
    writes nothing to the database before the send, and the single log row
    after it. When a caller calls it inside its own transaction, the send
    waits for that transaction to commit (and is skipped if it rolls back);
    a failure is then only logged. Otherwise a failure raises ``SmsSendFailed``
    and gives back the cooldown and quota it took.

    Callers apply their own rules first (``accounts.services.codes``). The
    per-IP cap counts ``origin.ip``.

    Cost: 1 SQL query (the log row) and 2 cache round trips with Redis (at
    most 4 with the local-memory cache).
    """
    phone = sms_phone_validate(phone)
    purpose = sms_purpose_validate(purpose)

    test_code = conf.test_numbers().get(phone)
    backend = None if test_code else get_backend()  # a misconfiguration fails before any quota is taken

    ttl, interval = conf.code_ttl(), conf.resend_interval()
    now = time.time()
    cooldown_key = limits.cooldown_key(purpose=purpose, phone=phone)
    cooldown_until = now + interval
    counters = limits.send_counters(phone=phone, client_ip=origin.ip, now=now)
    store = get_store()
    reservation = store.reserve(
        cooldown_key=cooldown_key, cooldown_until=cooldown_until, cooldown_ttl=interval, now=now, counters=counters
    )
    if not reservation.ok:
        retry_after = max(1, math.ceil(reservation.until - now))
        backend_name = backend.name if backend is not None else "test"
        metrics.sms_sent(backend=backend_name, purpose=purpose, outcome=reservation.blocked_by or "limited")
        if reservation.blocked_by == "cooldown":
            raise SmsCooldown(retry_after=retry_after)
        raise SmsLimitExceeded(retry_after=retry_after)

    code = test_code or code_generate()
    outgoing = SmsOutgoing(
        phone=phone,
        purpose=purpose,
        code=code,
        text=_message_text(code=code, minutes=math.ceil(ttl / 60)),
        language=get_language() or "",
        ttl_minutes=math.ceil(ttl / 60),
    )
    delivery = _Delivery(
        backend=backend,
        outgoing=outgoing,
        client_ip=origin.ip or None,
        sent_at=now,
        cooldown_key=cooldown_key,
        cooldown_until=cooldown_until,
        counters=counters,
    )
    if test_code:
        delivery.store_code()
        delivery.log(backend="test", status=SmsStatus.TEST)
        metrics.sms_sent(backend="test", purpose=purpose, outcome="test")
    elif _in_callers_transaction():
        transaction.on_commit(delivery.run_quietly)
    else:
        delivery.run()
    return SmsCodeSent(phone=phone, purpose=purpose, expires_in=ttl, resend_in=interval)


@dataclass
class _Delivery:
    """Stores one code, hands it to the backend, then logs the attempt or gives the quota back.

    The code is stored *before* the provider is called: if the cache fails,
    nothing has been sent (a 503, no SMS paid for a code nobody can use). If
    the provider then fails, the stored code was never delivered and is
    harmless; it replaces the previous one, as any new code does.
    """

    backend: BaseSmsBackend | None
    outgoing: SmsOutgoing
    client_ip: str | None
    sent_at: float
    cooldown_key: str
    cooldown_until: float
    counters: list[Counter]

    def run(self) -> None:
        backend = self.backend
        assert backend is not None
        self.store_code()
        try:
            provider_id = backend.send(self.outgoing)
        except SmsBackendError as exc:
            reason = _scrub(str(exc), self.outgoing.code)
            logger.warning(
                "SMS %s to %s failed via %s: %s",
                self.outgoing.purpose,
                _masked(self.outgoing.phone),
                backend.name,
                reason,
            )
            get_store().release(
                cooldown_key=self.cooldown_key, cooldown_until=self.cooldown_until, counters=self.counters
            )
            self.log(backend=backend.name, status=SmsStatus.FAILED, error=reason)
            metrics.sms_sent(backend=backend.name, purpose=self.outgoing.purpose, outcome="failed")
            raise SmsSendFailed() from None
        except Exception as exc:  # misconfiguration or a bug: give the quota back, then fail loudly
            get_store().release(
                cooldown_key=self.cooldown_key, cooldown_until=self.cooldown_until, counters=self.counters
            )
            self.log(
                backend=backend.name, status=SmsStatus.FAILED, error=_scrub(type(exc).__name__, self.outgoing.code)
            )
            metrics.sms_sent(backend=backend.name, purpose=self.outgoing.purpose, outcome="failed")
            raise
        metrics.sms_sent(backend=backend.name, purpose=self.outgoing.purpose, outcome="sent")
        try:
            self.log(backend=backend.name, status=SmsStatus.SENT, provider_message_id=str(provider_id or "")[:100])
        except (OperationalError, InterfaceError):
            # The code is stored and on its way: answering 503 now would make
            # the person ask for (and us pay for) another one. The send log
            # misses a row; say so loudly instead.
            logger.error(
                "SMS %s to %s sent via %s but its log row could not be written (database unavailable)",
                self.outgoing.purpose,
                _masked(self.outgoing.phone),
                backend.name,
            )

    def run_quietly(self) -> None:
        # Logged in run(); the caller's response has already been decided.
        with contextlib.suppress(SmsSendFailed):
            self.run()

    def store_code(self) -> None:
        get_store().put_code(
            key=limits.code_key(purpose=self.outgoing.purpose, phone=self.outgoing.phone),
            digest=code_digest(purpose=self.outgoing.purpose, phone=self.outgoing.phone, code=self.outgoing.code),
            now=self.sent_at,
            ttl=conf.code_ttl(),
        )

    def log(self, *, backend: str, status: str, provider_message_id: str = "", error: str = "") -> None:
        SmsMessage.objects.create(
            phone=self.outgoing.phone,
            purpose=self.outgoing.purpose,
            backend=backend[:50],
            status=status,
            provider_message_id=provider_message_id,
            error=error,
            client_ip=self.client_ip,
        )


def _masked(phone: str) -> str:
    return phone[:-8] + "****" + phone[-4:] if len(phone) > 8 else "****"


# --- verify -------------------------------------------------------------------------------------


def _code_consume(*, phone: str, purpose: str, code: str, origin: Origin, consume: bool = True) -> None:
    code = _code_clean(code, phone=phone)
    now = time.time()
    result = get_store().check_code(
        key=limits.code_key(purpose=purpose, phone=phone),
        digest=code_digest(purpose=purpose, phone=phone, code=code),
        now=now,
        ttl=conf.code_ttl(),
        limits=limits.guess_limits(purpose=purpose, phone=phone, client_ip=origin.ip, now=now),
        consume=consume,
    )
    if consume or result != "ok":
        metrics.sms_code_checked(purpose=purpose, outcome={"ok": "verified"}.get(result, result))
    if result == "exceeded":
        raise CodeAttemptsExceeded()
    if result != "ok":
        raise CodeInvalid()


def sms_code_verify(*, phone: str, purpose: str, code: str, origin: Origin) -> Verification:
    """Check and consume the code sent to ``phone`` for ``purpose``; return a verification token.

    A wrong code counts a failed attempt (``CodeInvalid``) for the calling
    client (``origin.ip``), not for the code as a whole, so a stranger's
    guesses never burn the owner's code:

    - per client and code: after ``SMS_CODE_MAX_ATTEMPTS`` (5) failures this
      client is refused (``CodeAttemptsExceeded``, even for the right code),
      also for the codes sent within ``SMS_CODE_TTL`` of its first failure;
    - per client and number: ``SMS_CODE_CLIENT_FAILURES`` (10 a UTC day);
    - per number over every client: ``SMS_CODE_NUMBER_FAILURES`` (20 a UTC
      day), after which nobody may guess until the day ends.

    One client on one network can therefore make at most 10 wrong guesses a
    day and never reaches the number's ceiling of 20 alone. The guesses
    against a number are at most 20 wrong ones a day (plus one right one), so
    the chance that guessing finds a 6-digit code within a day is at most
    20 / 10**6 = 0.002 % (1 in 50,000); over a year at most 0.73 %.

    Success deletes the code atomically, so only one of several concurrent
    callers succeeds. The token proves the verification for
    ``VERIFICATION_TOKEN_TTL`` seconds and works once (see
    ``verification_consume``). No SQL; 1 cache round trip with Redis (one script).
    """
    phone = sms_phone_validate(phone)
    purpose = sms_purpose_validate(purpose)
    _code_consume(phone=phone, purpose=purpose, code=code, origin=origin)
    token = signing.dumps({"p": phone, "u": purpose, "n": secrets.token_urlsafe(16)}, salt=_TOKEN_SALT)
    return Verification(phone=phone, purpose=purpose, verification_token=token, expires_in=VERIFICATION_TOKEN_TTL)


def _token_consume(*, phone: str, purpose: str, token: object, consume: bool = True) -> None:
    if not isinstance(token, str) or len(token) > 500:
        raise VerificationTokenInvalid()
    try:
        data = signing.loads(token, salt=_TOKEN_SALT, max_age=VERIFICATION_TOKEN_TTL)
    except signing.BadSignature:  # includes SignatureExpired
        raise VerificationTokenInvalid() from None
    if not isinstance(data, dict) or data.get("p") != phone or data.get("u") != purpose or not data.get("n"):
        raise VerificationTokenInvalid()
    key = limits.token_used_key(str(data["n"]))
    if not consume:
        if get_store().was_used(key=key):
            raise VerificationTokenInvalid()
        return
    if not get_store().use_once(key=key, ttl=VERIFICATION_TOKEN_TTL + 60):
        raise VerificationTokenInvalid()


def verification_consume(
    *, phone: str, purpose: str, code: str | None = None, verification_token: str | None = None, origin: Origin
) -> str:
    """Prove that the caller controls ``phone`` for ``purpose``; return the number in E.164.

    Takes exactly one of ``code`` (checked and consumed as by
    ``sms_code_verify``) or ``verification_token`` (from the verify endpoint,
    for the same number and purpose, used at most once). Raises ``CodeInvalid``,
    ``CodeAttemptsExceeded``, ``VerificationTokenInvalid``, ``InvalidPhone``,
    ``PhoneRegionNotAllowed``, or ``InvalidInput`` naming both fields when
    neither or both are given.
    """
    code = code or None
    verification_token = verification_token or None
    if (code is None) == (verification_token is None):
        message = (
            _("Give either the code or the verification token, not both.")
            if code
            else _("Enter the code from the text message.")
        )
        raise InvalidInput(fields={"code": [message], "verification_token": [message]})
    phone = sms_phone_validate(phone)
    purpose = sms_purpose_validate(purpose)
    if code is not None:
        _code_consume(phone=phone, purpose=purpose, code=code, origin=origin)
    else:
        _token_consume(phone=phone, purpose=purpose, token=verification_token)
    return phone


def verification_check(
    *, phone: str, purpose: str, code: str | None = None, verification_token: str | None = None, origin: Origin
) -> str:
    """``verification_consume`` without the consuming: a right code or token stays usable; the number in E.164.

    For a flow that must prove the code before answering something else
    (accounts' one-step sign-in says ``consent_required`` only to whoever
    holds the right code) and then lets the person send the same code again.
    A wrong code counts as a failed attempt exactly as ``verification_consume``
    does; the same errors. Call ``verification_consume`` to act on it.
    """
    code = code or None
    verification_token = verification_token or None
    if (code is None) == (verification_token is None):
        # Neither or both: verification_consume refuses with its InvalidInput before touching anything.
        return verification_consume(
            phone=phone, purpose=purpose, code=code, verification_token=verification_token, origin=origin
        )
    phone = sms_phone_validate(phone)
    purpose = sms_purpose_validate(purpose)
    if code is not None:
        _code_consume(phone=phone, purpose=purpose, code=code, origin=origin, consume=False)
    else:
        _token_consume(phone=phone, purpose=purpose, token=verification_token, consume=False)
    return phone


def sms_resend_in(*, phone: object, purpose: str) -> int:
    """Seconds before another code may be sent to ``phone`` for ``purpose`` (0: now). A read, no write.

    What a page re-rendered after a failed submit shows on its send-code
    button, so the countdown does not restart at "send" while the server still
    refuses. A number that cannot receive codes answers 0. One cache read.
    """
    try:
        normalized = sms_phone_validate(phone)
    except (InvalidPhone, PhoneRegionNotAllowed):
        return 0
    until = get_store().cooldown_until(cooldown_key=limits.cooldown_key(purpose=str(purpose), phone=normalized))
    return max(0, math.ceil(until - time.time()))
