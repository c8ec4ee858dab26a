"""sms_code_send / sms_code_verify / verification_consume: the rules of the issue, against the real cache."""

import datetime
import re
import threading
from collections import Counter

import pytest
import time_machine
from django.db import transaction

from config.errors import InvalidInput
from config.origin import Origin
from smscodes import services
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
from smscodes.models import Purpose, SmsMessage, SmsStatus
from smscodes.services import sms_code_send, sms_code_verify, verification_consume
from tests.smscodes.conftest import cache_dump
from tests.smscodes.utils import last_code_for, sent_to

pytestmark = pytest.mark.django_db

PHONE = "+8613800138000"
OTHER = "+8613800138001"
IP = "198.51.100.7"
ORIGIN = Origin(ip=IP, user_agent="tests")
START = datetime.datetime(2026, 11, 21, 10, 0, 0, tzinfo=datetime.UTC)


def send(phone=PHONE, purpose=Purpose.REGISTER, client_ip=IP):
    return sms_code_send(phone=phone, purpose=purpose, origin=Origin(ip=client_ip, user_agent=""))


def wrong(code: str) -> str:
    return str((int(code) + 1) % 10 ** len(code)).zfill(len(code))


@pytest.fixture
def clock():
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


# --- send ---------------------------------------------------------------------------------


def test_send_returns_timers_from_settings(settings):
    settings.SMS_CODE_TTL = 300
    settings.SMS_RESEND_INTERVAL = 45
    assert send(phone="138 0013 8000") == services.SmsCodeSent(
        phone=PHONE, purpose="register", expires_in=300, resend_in=45
    )


def test_code_ttl_is_capped_at_ten_minutes(settings):
    settings.SMS_CODE_TTL = 3600
    assert send().expires_in == 600


@pytest.mark.parametrize("length", [4, 6, 8])
def test_code_has_the_configured_length(settings, length):
    settings.SMS_CODE_LENGTH = length
    send()
    code = last_code_for(PHONE)
    assert len(code) == length and code.isdigit()
    verification_consume(phone=PHONE, purpose="register", code=code, origin=ORIGIN)


def test_message_is_in_the_active_language():
    from django.utils import translation

    with translation.override("en"):
        send(purpose=Purpose.REGISTER)
    with translation.override("zh-hans"):
        send(purpose=Purpose.CHANGE_PHONE)
    english, chinese = sent_to(PHONE)
    assert english.text.startswith("Your verification code is " + english.code)
    assert "验证码" in chinese.text and chinese.code in chinese.text
    assert (english.language, chinese.language) == ("en", "zh-hans")


def test_codes_are_sent_for_every_purpose_without_asking_about_accounts(django_assert_num_queries):
    # Which numbers may get a code for which purpose is an account rule
    # (tests/accounts/services/test_codes.py); here only the log row is written.
    for purpose in Purpose.values:
        with django_assert_num_queries(1):
            assert send(purpose=purpose).purpose == purpose


@pytest.mark.parametrize("phone", ["", "abc", "010-65529988", "+1 415 555 2671", None, 13800138000])
def test_bad_numbers_are_refused_before_anything_is_counted(phone):
    with pytest.raises((InvalidPhone, PhoneRegionNotAllowed)):
        send(phone=phone)
    assert not SmsMessage.objects.exists()


def test_other_allowed_regions_can_be_configured(settings):
    settings.SMS_ALLOWED_REGIONS = ["CN", "US"]
    assert send(phone="+1 415 555 2671").phone == "+14155552671"


def test_unknown_purpose_is_a_field_error():
    with pytest.raises(InvalidInput) as caught:
        send(purpose="close_account")
    assert "purpose" in caught.value.fields


def test_a_new_code_replaces_the_previous_one(clock):
    send()
    first = last_code_for(PHONE)
    clock.shift(61)
    send()
    second = last_code_for(PHONE)
    if first != second:
        with pytest.raises(CodeInvalid):
            sms_code_verify(phone=PHONE, purpose="register", code=first, origin=ORIGIN)
    sms_code_verify(phone=PHONE, purpose="register", code=second, origin=ORIGIN)


def test_send_inside_a_callers_transaction_waits_for_the_commit(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks, transaction.atomic():
        send()
        assert sent_to(PHONE) == []
    assert len(callbacks) == 1
    assert len(sent_to(PHONE)) == 1
    sms_code_verify(phone=PHONE, purpose="register", code=last_code_for(PHONE), origin=ORIGIN)


def test_send_inside_a_rolled_back_transaction_sends_nothing(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        try:
            with transaction.atomic():
                send()
                raise RuntimeError("the caller's transaction fails")
        except RuntimeError:
            pass
    assert callbacks == []
    assert sent_to(PHONE) == []


def test_provider_failure_after_the_callers_commit_is_logged_and_gives_the_quota_back(
    clock, django_capture_on_commit_callbacks, provider_down, settings
):
    settings.SMS_PHONE_HOURLY_LIMIT = 1
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        send()  # the caller's answer is decided before the provider is called: nothing to raise into
    assert SmsMessage.objects.get().status == SmsStatus.FAILED
    with pytest.raises(SmsSendFailed):
        send()  # no cooldown and no hourly quota were used up by the failed attempt


def test_a_test_cases_own_transaction_is_not_a_callers():
    # pytest-django runs this test inside Django's TestCase blocks; sends must still go out at once.
    assert transaction.get_connection().in_atomic_block
    assert not services._in_callers_transaction()
    with transaction.atomic():
        assert services._in_callers_transaction()


# --- limits -----------------------------------------------------------------------------------


def test_cooldown_retry_after_counts_down_to_the_real_remaining_seconds(clock, settings):
    settings.SMS_RESEND_INTERVAL = 60
    send()
    seen = []
    for elapsed in (0, 1, 25, 59):
        clock.move_to(START + datetime.timedelta(seconds=elapsed, milliseconds=200))
        with pytest.raises(SmsCooldown) as caught:
            send()
        seen.append(caught.value.retry_after)
    assert seen == [60, 59, 35, 1]
    clock.move_to(START + datetime.timedelta(seconds=60))
    send()


def test_cooldown_is_per_purpose_and_per_number(clock):
    send(phone=PHONE, purpose=Purpose.REGISTER)
    send(phone=OTHER, purpose=Purpose.LOGIN)
    send(phone=OTHER, purpose=Purpose.RESET_PASSWORD)
    send(phone=PHONE, purpose=Purpose.CHANGE_PHONE)
    with pytest.raises(SmsCooldown):
        send(phone=OTHER, purpose=Purpose.LOGIN)


def test_number_hourly_cap_and_its_window(clock, settings):
    settings.SMS_RESEND_INTERVAL = 0
    for _ in range(5):
        send()
    with pytest.raises(SmsLimitExceeded) as caught:
        send()
    assert caught.value.retry_after == 3600  # windows are clock hours; START is on the hour
    send(phone=OTHER)  # another number is not affected
    clock.shift(3600)
    send()


def test_caps_in_rate_syntax_replace_the_older_counts(clock, settings):
    settings.SMS_RESEND_INTERVAL = 0
    settings.SMS_PHONE_HOURLY_LIMIT = 1  # ignored once SMS_PHONE_RATES is set
    settings.SMS_PHONE_RATES = ["3/h", "4/d"]
    for _ in range(3):
        send()
    with pytest.raises(SmsLimitExceeded) as caught:
        send()
    assert caught.value.retry_after == 3600
    clock.shift(3600)
    send()  # the 4th of the day
    with pytest.raises(SmsLimitExceeded):
        send()


def test_number_daily_cap(clock, settings):
    settings.SMS_RESEND_INTERVAL = 0
    for hour in range(2):
        clock.move_to(START + datetime.timedelta(hours=hour))
        for _ in range(5):
            send()
    clock.move_to(START + datetime.timedelta(hours=2))
    with pytest.raises(SmsLimitExceeded) as caught:
        send()
    assert caught.value.retry_after == 12 * 3600  # until midnight UTC
    clock.move_to(START + datetime.timedelta(hours=14))
    send()


def test_ip_hourly_cap(clock):
    for n in range(20):
        send(phone=f"+86139{n:08d}")
    with pytest.raises(SmsLimitExceeded):
        send(phone="+8613700000000")
    send(phone="+8613700000000", client_ip="198.51.100.8")


def test_global_daily_cap(clock, settings):
    settings.SMS_DAILY_LIMIT = 3
    for n in range(3):
        send(phone=f"+86139{n:08d}", client_ip=f"198.51.100.{n}")
    with pytest.raises(SmsLimitExceeded) as caught:
        send(phone="+8613700000000", client_ip="203.0.113.1")
    assert caught.value.retry_after == 14 * 3600
    clock.shift(14 * 3600)
    send(phone="+8613700000000", client_ip="203.0.113.1")


def test_refused_sends_use_up_no_quota(clock, settings):
    settings.SMS_PHONE_HOURLY_LIMIT = 2
    send()
    for _ in range(5):
        with pytest.raises(SmsCooldown):
            send()
    clock.shift(60)
    send()  # the cooldown refusals above did not count


def test_provider_failure_uses_up_no_quota_nor_cooldown(clock, settings, monkeypatch):
    from smscodes.backends import locmem

    settings.SMS_PHONE_HOURLY_LIMIT = 1
    settings.SMS_DAILY_LIMIT = 1
    monkeypatch.setattr(locmem, "fail_with", "provider says no")
    for _ in range(3):
        with pytest.raises(SmsSendFailed):
            send()
    monkeypatch.setattr(locmem, "fail_with", None)
    send()
    statuses = list(SmsMessage.objects.order_by("id").values_list("status", "error"))
    assert statuses == [(SmsStatus.FAILED, "provider says no")] * 3 + [(SmsStatus.SENT, "")]


def test_limits_are_checked_by_the_concurrent_sends_atomically(settings):
    """50 threads racing for 5 slots of one number: exactly 5 get through."""
    settings.SMS_RESEND_INTERVAL = 0
    from smscodes.store import LockedStore, RedisStore, get_store

    store = get_store()
    assert isinstance(store, (LockedStore, RedisStore))
    from smscodes import limits

    results = []
    barrier = threading.Barrier(50)

    def worker():
        barrier.wait()
        now = __import__("time").time()
        reservation = get_store().reserve(
            cooldown_key="sms:cool:test",
            cooldown_until=now,
            cooldown_ttl=0,
            now=now,
            counters=limits.send_counters(phone=PHONE, client_ip="", now=now),
        )
        results.append(reservation.ok)

    threads = [threading.Thread(target=worker) for _ in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results.count(True) == 5


# --- verify ----------------------------------------------------------------------------------------


def test_code_is_accepted_at_9_59_and_refused_at_10_01(clock):
    send()
    code = last_code_for(PHONE)
    clock.shift(9 * 60 + 59)
    verification_consume(phone=PHONE, purpose="register", code=code, origin=ORIGIN)

    clock.move_to(START + datetime.timedelta(minutes=20))
    send()
    code = last_code_for(PHONE)
    clock.shift(10 * 60 + 1)
    with pytest.raises(CodeInvalid):
        verification_consume(phone=PHONE, purpose="register", code=code, origin=ORIGIN)


def test_attempts_are_exhausted_after_max_wrong_codes(settings):
    settings.SMS_CODE_MAX_ATTEMPTS = 5
    send()
    code = last_code_for(PHONE)
    for _ in range(5):
        with pytest.raises(CodeInvalid):
            sms_code_verify(phone=PHONE, purpose="register", code=wrong(code), origin=ORIGIN)
    with pytest.raises(CodeAttemptsExceeded):
        sms_code_verify(phone=PHONE, purpose="register", code=code, origin=ORIGIN)


def test_attempt_exhaustion_survives_a_resend_inside_the_window(clock):
    send()
    code = last_code_for(PHONE)
    for _ in range(3):
        with pytest.raises(CodeInvalid):
            sms_code_verify(phone=PHONE, purpose="register", code=wrong(code), origin=ORIGIN)
    clock.shift(61)
    send()
    code = last_code_for(PHONE)
    for _ in range(2):  # 3 + 2 = 5: the new code did not reset the count
        with pytest.raises(CodeInvalid):
            sms_code_verify(phone=PHONE, purpose="register", code=wrong(code), origin=ORIGIN)
    with pytest.raises(CodeAttemptsExceeded):
        sms_code_verify(phone=PHONE, purpose="register", code=code, origin=ORIGIN)

    clock.shift(61)
    send()  # still inside the window opened by the first code: the new code is born burned
    with pytest.raises(CodeAttemptsExceeded):
        sms_code_verify(phone=PHONE, purpose="register", code=last_code_for(PHONE), origin=ORIGIN)

    clock.move_to(START + datetime.timedelta(minutes=10, seconds=1))
    send()  # the window is over: a fresh start
    sms_code_verify(phone=PHONE, purpose="register", code=last_code_for(PHONE), origin=ORIGIN)


def test_code_is_only_valid_for_its_own_purpose_and_number():
    send(phone=PHONE, purpose=Purpose.REGISTER)
    code = last_code_for(PHONE)
    with pytest.raises(CodeInvalid):
        verification_consume(phone=PHONE, purpose="change_phone", code=code, origin=ORIGIN)
    with pytest.raises(CodeInvalid):
        verification_consume(phone=OTHER, purpose="register", code=code, origin=ORIGIN)
    send(phone=OTHER, purpose=Purpose.LOGIN)
    with pytest.raises(CodeInvalid):
        verification_consume(
            phone=OTHER, purpose="login", code=code if code != last_code_for(OTHER) else wrong(code), origin=ORIGIN
        )
    assert verification_consume(phone="138 0013 8000", purpose="register", code=code, origin=ORIGIN) == PHONE


def test_code_is_single_use():
    send()
    code = last_code_for(PHONE)
    verification_consume(phone=PHONE, purpose="register", code=code, origin=ORIGIN)
    with pytest.raises(CodeInvalid):
        verification_consume(phone=PHONE, purpose="register", code=code, origin=ORIGIN)


def test_malformed_codes_are_field_errors_and_cost_no_attempt(settings):
    settings.SMS_CODE_MAX_ATTEMPTS = 1
    send()
    for bad in ("12345", "1234567", "12a456", "١٢٣٤٥٦", " "):
        with pytest.raises(InvalidInput) as caught:
            verification_consume(phone=PHONE, purpose="register", code=bad, origin=ORIGIN)
        assert "code" in caught.value.fields
    verification_consume(phone=PHONE, purpose="register", code=last_code_for(PHONE), origin=ORIGIN)


@pytest.mark.parametrize(("code", "token"), [(None, None), ("", ""), ("123456", "token")])
def test_verification_consume_needs_exactly_one_proof(code, token):
    with pytest.raises(InvalidInput) as caught:
        verification_consume(phone=PHONE, purpose="register", code=code, verification_token=token, origin=ORIGIN)
    assert set(caught.value.fields) == {"code", "verification_token"}


def _concurrently(n, target):
    barrier = threading.Barrier(n)
    outcomes = []

    def run():
        barrier.wait()
        try:
            target()
            outcomes.append("ok")
        except (CodeInvalid, CodeAttemptsExceeded, VerificationTokenInvalid) as exc:
            outcomes.append(exc.code)

    threads = [threading.Thread(target=run) for _ in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return Counter(outcomes)


@pytest.mark.redis
def test_twenty_concurrent_verifies_of_the_right_code_give_one_success_on_redis():
    send()
    code = last_code_for(PHONE)
    outcomes = _concurrently(20, lambda: sms_code_verify(phone=PHONE, purpose="register", code=code, origin=ORIGIN))
    assert outcomes["ok"] == 1, outcomes
    assert sum(outcomes.values()) == 20


def test_twenty_concurrent_verifies_give_one_success_on_any_cache():
    send()
    code = last_code_for(PHONE)
    outcomes = _concurrently(20, lambda: sms_code_verify(phone=PHONE, purpose="register", code=code, origin=ORIGIN))
    assert outcomes["ok"] == 1, outcomes


@pytest.mark.redis
def test_concurrent_wrong_guesses_cannot_exceed_the_attempt_limit_on_redis():
    send()
    code = last_code_for(PHONE)
    outcomes = _concurrently(
        20, lambda: sms_code_verify(phone=PHONE, purpose="register", code=wrong(code), origin=ORIGIN)
    )
    assert outcomes == Counter({"code_invalid": 5, "code_attempts_exceeded": 15})
    with pytest.raises(CodeAttemptsExceeded):
        sms_code_verify(phone=PHONE, purpose="register", code=code, origin=ORIGIN)


# --- verification tokens -----------------------------------------------------------------------


def _token(phone=PHONE, purpose="register"):
    send(phone=phone, purpose=purpose)
    return sms_code_verify(phone=phone, purpose=purpose, code=last_code_for(phone), origin=ORIGIN).verification_token


def test_token_stands_in_for_the_code_once():
    token = _token()
    assert (
        verification_consume(phone="13800138000", purpose="register", verification_token=token, origin=ORIGIN) == PHONE
    )
    with pytest.raises(VerificationTokenInvalid):
        verification_consume(phone=PHONE, purpose="register", verification_token=token, origin=ORIGIN)


def test_token_is_bound_to_number_and_purpose():
    token = _token()
    with pytest.raises(VerificationTokenInvalid):
        verification_consume(phone=PHONE, purpose="change_phone", verification_token=token, origin=ORIGIN)
    with pytest.raises(VerificationTokenInvalid):
        verification_consume(phone=OTHER, purpose="register", verification_token=token, origin=ORIGIN)
    verification_consume(phone=PHONE, purpose="register", verification_token=token, origin=ORIGIN)


def test_token_expires_after_ten_minutes(clock):
    token = _token()
    clock.shift(601)
    with pytest.raises(VerificationTokenInvalid):
        verification_consume(phone=PHONE, purpose="register", verification_token=token, origin=ORIGIN)


@pytest.mark.parametrize("token", ["garbage", "x" * 600, "a:b:c", 12])
def test_bad_tokens_are_invalid(token):
    with pytest.raises(VerificationTokenInvalid):
        verification_consume(phone=PHONE, purpose="register", verification_token=token, origin=ORIGIN)


def test_tampered_token_is_invalid():
    token = _token()
    with pytest.raises(VerificationTokenInvalid):
        verification_consume(phone=PHONE, purpose="register", verification_token=token[:-2] + "xx", origin=ORIGIN)


def test_twenty_concurrent_uses_of_a_token_give_one_success():
    token = _token()
    outcomes = _concurrently(
        20, lambda: verification_consume(phone=PHONE, purpose="register", verification_token=token, origin=ORIGIN)
    )
    assert outcomes == Counter({"ok": 1, "verification_token_invalid": 19})


# --- codes and storage ---------------------------------------------------------------------------------


def test_ten_thousand_codes_have_the_right_length_and_near_uniform_digits():
    codes = [services.code_generate(6) for _ in range(10_000)]
    assert all(len(code) == 6 and code.isdigit() for code in codes)
    counts = Counter("".join(codes))
    expected = 60_000 / 10
    chi_square = sum((counts[digit] - expected) ** 2 / expected for digit in "0123456789")
    # 9 degrees of freedom: P(chi2 > 33.7) = 0.0001, so an honest generator fails once in 10,000 runs.
    assert chi_square < 33.7, (chi_square, counts)
    first_digits = Counter(code[0] for code in codes)
    assert first_digits["0"] > 800  # leading zeros are kept, not dropped


def test_the_cache_never_holds_a_plaintext_code(settings):
    settings.SMS_CODE_LENGTH = 8  # long codes make an accidental match in a digest vanishingly unlikely
    send()
    code = last_code_for(PHONE)
    with pytest.raises(CodeInvalid):
        sms_code_verify(phone=PHONE, purpose="register", code=wrong(code), origin=ORIGIN)
    dump = cache_dump()
    assert dump, "the code record should be in the cache"
    assert not [key for key, value in dump.items() if code in key or code in value]
    digest = services.code_digest(purpose="register", phone=PHONE, code=code)
    assert any(digest in value for value in dump.values())


def test_no_log_record_holds_the_code_even_when_the_provider_echoes_it(caplog, monkeypatch):
    from smscodes.backends import SmsBackendError, locmem

    def echo(self, message):
        raise SmsBackendError(f"rejected: {message.text}")

    caplog.set_level("DEBUG")
    send()
    code = last_code_for(PHONE)
    sms_code_verify(phone=PHONE, purpose="register", code=code, origin=ORIGIN)
    monkeypatch.setattr(locmem.LocmemBackend, "send", echo)
    with pytest.raises(SmsSendFailed):
        send(phone=OTHER)
    assert "failed via locmem" in caplog.text  # the failure is logged...
    failed = SmsMessage.objects.get(status=SmsStatus.FAILED)
    assert "rejected" in failed.error
    for record in caplog.records:  # ...but no code, not even the one the provider echoed
        assert not re.search(r"\d{6}", record.getMessage()), record.getMessage()
    assert not re.search(r"\d{6}", failed.error)


def test_log_and_outbox_never_in_the_response_of_the_service():
    sent = send()
    assert last_code_for(PHONE) not in repr(sent)


# --- test numbers ---------------------------------------------------------------------------------------


@pytest.fixture
def test_numbers(settings):
    settings.SMS_TEST_NUMBERS = "+8613800000001:246810,+8613800000002:135790"


def test_test_number_accepts_its_fixed_code_and_sends_nothing(test_numbers):
    send(phone="13800000001")
    assert sent_to("+8613800000001") == []
    log = SmsMessage.objects.get()
    assert (log.status, log.backend) == (SmsStatus.TEST, "test")
    assert (
        verification_consume(phone="13800000001", purpose="register", code="246810", origin=ORIGIN) == "+8613800000001"
    )


def test_test_number_obeys_limits_and_attempts(test_numbers, settings):
    settings.SMS_CODE_MAX_ATTEMPTS = 2
    send(phone="+8613800000002")
    with pytest.raises(SmsCooldown):
        send(phone="+8613800000002")
    for _ in range(2):
        with pytest.raises(CodeInvalid):
            verification_consume(phone="+8613800000002", purpose="register", code="246810", origin=ORIGIN)
    with pytest.raises(CodeAttemptsExceeded):
        verification_consume(phone="+8613800000002", purpose="register", code="135790", origin=ORIGIN)


def test_test_number_code_needs_a_send_first(test_numbers):
    with pytest.raises(CodeInvalid):
        verification_consume(phone="+8613800000001", purpose="register", code="246810", origin=ORIGIN)


# --- budget ---------------------------------------------------------------------------------------------------


def test_send_costs_1_query_and_at_most_4_cache_round_trips(django_assert_max_num_queries, cache_round_trips):
    with django_assert_max_num_queries(1):
        send(purpose=Purpose.LOGIN)
    assert cache_round_trips.count <= 4, cache_round_trips.commands


def test_verify_costs_no_query_and_at_most_3_cache_round_trips(django_assert_num_queries, cache_round_trips):
    send()
    code = last_code_for(PHONE)
    cache_round_trips.reset()
    with django_assert_num_queries(0):
        sms_code_verify(phone=PHONE, purpose="register", code=code, origin=ORIGIN)
    assert cache_round_trips.count <= 3, cache_round_trips.commands

    token = _token(phone=OTHER)
    cache_round_trips.reset()
    with django_assert_num_queries(0):
        verification_consume(phone=OTHER, purpose="register", verification_token=token, origin=ORIGIN)
    assert cache_round_trips.count <= 3, cache_round_trips.commands


def test_wrong_code_costs_no_query_and_at_most_3_cache_round_trips(django_assert_num_queries, cache_round_trips):
    send()
    cache_round_trips.reset()
    with django_assert_num_queries(0), pytest.raises(CodeInvalid):
        sms_code_verify(phone=PHONE, purpose="register", code=wrong(last_code_for(PHONE)), origin=ORIGIN)
    assert cache_round_trips.count <= 3, cache_round_trips.commands
