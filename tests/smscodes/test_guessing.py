"""Issue 10, item 7: a stranger cannot keep a person's SMS sign-in blocked.

Wrong guesses are counted per code *and per client IP* (SMS_CODE_MAX_ATTEMPTS
per client, carried over to the next code for SMS_CODE_TTL), per client and
number per day (SMS_CODE_CLIENT_FAILURES, 10/d), and per number per day over
every client (SMS_CODE_NUMBER_FAILURES, 20/d): one client burns only its own
attempts, and the total number of wrong guesses against a number stays bounded.
"""

import contextlib
import datetime

import pytest
import time_machine

from config.origin import Origin
from smscodes.errors import CodeAttemptsExceeded, CodeInvalid
from smscodes.services import sms_code_send, sms_code_verify
from tests.smscodes.utils import last_code_for

pytestmark = pytest.mark.django_db

PHONE = "+8613800138000"
OWNER = Origin(ip="203.0.113.1", user_agent="owner")
# Noon in Shanghai (04:00 UTC): the UTC day of the daily ceilings has 20 hours left.
START = datetime.datetime(2026, 12, 1, 4, 0, 0, tzinfo=datetime.UTC)


def stranger(n: int = 0) -> Origin:
    return Origin(ip=f"198.51.100.{n + 10}", user_agent="stranger")


def wrong(code: str) -> str:
    return str((int(code) + 1) % 10 ** len(code)).zfill(len(code))


@pytest.fixture
def clock():
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


def send(origin: Origin = OWNER) -> str:
    sms_code_send(phone=PHONE, purpose="login", origin=origin)
    return last_code_for(PHONE)


def guess(code: str, origin: Origin):
    return sms_code_verify(phone=PHONE, purpose="login", code=code, origin=origin)


def test_a_strangers_wrong_guesses_do_not_burn_the_owners_code(clock, settings):
    settings.SMS_CODE_MAX_ATTEMPTS = 5
    code = send()
    for _ in range(5):
        with pytest.raises(CodeInvalid):
            guess(wrong(code), stranger())
    with pytest.raises(CodeAttemptsExceeded):  # the stranger is done with this code…
        guess(code, stranger())
    assert guess(code, OWNER).verification_token  # …the owner is not


def test_a_stranger_who_keeps_asking_for_new_codes_still_cannot_lock_the_owner_out(clock, settings):
    settings.SMS_RESEND_INTERVAL = 0
    settings.SMS_PHONE_RATES = ["100/h", "100/d"]  # let the stranger send as many codes as they like
    for _window in range(6):  # 6 windows × 5 guesses: far past the client's daily 10
        code = send(stranger())
        for _ in range(5):
            with contextlib.suppress(CodeInvalid, CodeAttemptsExceeded):
                guess(wrong(code), stranger())
        clock.shift(601)  # a new failure window for this client
    with pytest.raises(CodeAttemptsExceeded):  # refused for the rest of the day
        guess(send(stranger()), stranger())
    assert guess(send(), OWNER).verification_token


def test_wrong_guesses_against_a_number_are_capped_per_day_over_every_client(clock, settings):
    settings.SMS_RESEND_INTERVAL = 0
    code = send()
    for n in range(4):  # 4 networks × 5 wrong guesses = the number's daily 20
        for _ in range(5):
            with pytest.raises(CodeInvalid):
                guess(wrong(code), stranger(n))
    with pytest.raises(CodeAttemptsExceeded):  # nobody may guess any more today, the owner included
        guess(code, OWNER)
    clock.move_to(datetime.datetime(2026, 12, 2, 0, 0, 1, tzinfo=datetime.UTC))  # the next UTC day
    assert guess(send(), OWNER).verification_token


def test_the_daily_ceilings_are_settings_in_rate_syntax(clock, settings):
    settings.SMS_CODE_NUMBER_FAILURES = "3/d"
    code = send()
    for _ in range(3):
        with pytest.raises(CodeInvalid):
            guess(wrong(code), stranger())
    with pytest.raises(CodeAttemptsExceeded):
        guess(code, OWNER)
