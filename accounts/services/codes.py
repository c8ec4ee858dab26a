"""Sending a code to a phone for an account flow: the account rule of each purpose, then the generic send.

smscodes issues and checks codes for any number and knows nothing of
accounts; whether a number may get a code for a purpose is an account rule,
and it lives here. The send endpoint (``POST /api/v1/sms/codes/``) and the
send-code button of every page call ``phone_code_send``.
"""

from accounts import conf
from accounts.errors import PhoneNotRegistered, PhoneTaken
from accounts.models import User
from config.origin import Origin
from smscodes.models import Purpose
from smscodes.services import SmsCodeSent, sms_code_send
from smscodes.validators import sms_phone_validate, sms_purpose_validate

# The account rule of each purpose: the number must be free, or must belong to an account.
NEEDS_FREE_NUMBER = frozenset({Purpose.REGISTER, Purpose.CHANGE_PHONE})
# delete_account: the code goes to the account's own number (the deletion
# service checks it is the caller's), so the number must be registered.
NEEDS_ACCOUNT = frozenset({Purpose.LOGIN, Purpose.RESET_PASSWORD, Purpose.DELETE_ACCOUNT})


def needs_account(purpose: str) -> bool:
    """Whether a code for ``purpose`` goes only to a registered number.

    With ``ACCOUNTS_CODE_LOGIN_SIGNS_UP`` on (the default) a ``login`` code goes
    to any number (signing in with it creates the account), so the send
    endpoint answers the same for every number and tells nobody who has an account.
    """
    if purpose == Purpose.LOGIN and conf.code_login_signs_up():
        return False
    return purpose in NEEDS_ACCOUNT


def phone_code_rule_check(*, phone: str, purpose: str) -> None:
    """Raise PhoneTaken (register, change_phone) or PhoneNotRegistered (reset_password, delete_account, and login
    with ``ACCOUNTS_CODE_LOGIN_SIGNS_UP`` off).

    ``phone`` in E.164. One query (``EXISTS``) for the purposes with a rule,
    and for ``login`` whatever the setting: the work is then the same for a
    new and a registered number (no timing difference to read), and a
    database outage stops the send with a 503 before an SMS is paid for that
    the send log could not record.
    """
    if purpose not in NEEDS_FREE_NUMBER | NEEDS_ACCOUNT:
        return
    exists = User.objects.filter(phone=phone).exists()
    if purpose in NEEDS_FREE_NUMBER and exists:
        raise PhoneTaken()
    if needs_account(purpose) and not exists:
        raise PhoneNotRegistered()


def phone_code_send(*, phone: str, purpose: str, origin: Origin) -> SmsCodeSent:
    """Send a code for ``purpose`` to ``phone`` (any format), if the purpose's account rule allows it.

    Checks, in this order: the number (``InvalidPhone``,
    ``PhoneRegionNotAllowed``), the purpose (``InvalidInput`` on ``purpose``),
    the account rule (``PhoneTaken`` / ``PhoneNotRegistered``, each on
    ``phone``), then everything ``smscodes.services.sms_code_send`` checks
    (cooldown, limits, provider). Cost: 2 SQL queries (the rule, the send log)
    and the send's cache round trips.
    """
    e164 = sms_phone_validate(phone)
    purpose = sms_purpose_validate(purpose)
    phone_code_rule_check(phone=e164, purpose=purpose)
    return sms_code_send(phone=e164, purpose=purpose, origin=origin)
