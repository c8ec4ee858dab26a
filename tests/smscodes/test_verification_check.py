"""verification_check: the code (or token) is proved without being used up; a wrong one counts as ever.

Runs against the cache of the run (local memory here, Redis in CI's second
pass: the Lua script's ``consume`` argument).
"""

import pytest

from config.origin import Origin
from smscodes.errors import CodeAttemptsExceeded, CodeInvalid, VerificationTokenInvalid
from smscodes.models import Purpose
from smscodes.services import sms_code_send, sms_code_verify, verification_check, verification_consume
from tests.smscodes.utils import last_code_for

pytestmark = pytest.mark.django_db

PHONE = "+8613800138000"
ORIGIN = Origin(ip="198.51.100.9", user_agent="tests")


def _code() -> str:
    sms_code_send(phone=PHONE, purpose=Purpose.LOGIN, origin=ORIGIN)
    return last_code_for(PHONE)


def _wrong(code: str) -> str:
    return str((int(code) + 1) % 10 ** len(code)).zfill(len(code))


def test_a_right_code_is_checked_again_and_again_then_consumed_once():
    code = _code()
    for _ in range(3):
        assert verification_check(phone="138 0013 8000", purpose=Purpose.LOGIN, code=code, origin=ORIGIN) == PHONE
    assert verification_consume(phone=PHONE, purpose=Purpose.LOGIN, code=code, origin=ORIGIN) == PHONE
    with pytest.raises(CodeInvalid):
        verification_check(phone=PHONE, purpose=Purpose.LOGIN, code=code, origin=ORIGIN)


def test_wrong_codes_checked_count_towards_the_attempts(settings):
    code = _code()
    for _ in range(settings.SMS_CODE_MAX_ATTEMPTS):
        with pytest.raises(CodeInvalid):
            verification_check(phone=PHONE, purpose=Purpose.LOGIN, code=_wrong(code), origin=ORIGIN)
    with pytest.raises(CodeAttemptsExceeded):
        verification_check(phone=PHONE, purpose=Purpose.LOGIN, code=code, origin=ORIGIN)


def test_a_code_for_another_purpose_is_refused():
    code = _code()
    with pytest.raises(CodeInvalid):
        verification_check(phone=PHONE, purpose=Purpose.REGISTER, code=code, origin=ORIGIN)


def test_a_token_is_checked_without_being_used_and_refused_once_used():
    token = sms_code_verify(phone=PHONE, purpose=Purpose.LOGIN, code=_code(), origin=ORIGIN).verification_token
    assert verification_check(phone=PHONE, purpose=Purpose.LOGIN, verification_token=token, origin=ORIGIN) == PHONE
    verification_consume(phone=PHONE, purpose=Purpose.LOGIN, verification_token=token, origin=ORIGIN)
    with pytest.raises(VerificationTokenInvalid):
        verification_check(phone=PHONE, purpose=Purpose.LOGIN, verification_token=token, origin=ORIGIN)
    with pytest.raises(VerificationTokenInvalid):
        verification_check(phone="+8613800138001", purpose=Purpose.LOGIN, verification_token="forged", origin=ORIGIN)
