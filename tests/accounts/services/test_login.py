"""accounts.services.login: password and code sign-in, called directly."""

import pytest

from accounts.errors import AccountDisabled, AccountLocked, InvalidCredentials, PhoneNotRegistered
from accounts.models import SecurityEvent
from accounts.services import user_login_code, user_login_password
from config.errors import RateLimited
from smscodes.errors import CodeInvalid
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db
PHONE = "+8613900139000"


def test_password_login_by_any_form_of_the_number_or_the_username(origin):
    user = UserFactory(phone=PHONE, username="Carol")
    assert user_login_password(login="139 0013 9000", password=PASSWORD, origin=origin) == user
    assert user_login_password(login="carol", password=PASSWORD, origin=origin) == user
    user.refresh_from_db()
    assert user.last_login is not None
    event = SecurityEvent.objects.filter(kind="login_succeeded").first()
    assert event.detail == {"method": "password"} and event.ip == origin.ip


def test_every_failure_is_the_same_error_and_leaves_an_event(origin):
    UserFactory(phone=PHONE)
    for login in ("13900139000", "nobody"):
        with pytest.raises(InvalidCredentials):
            user_login_password(login=login, password="Wrong-pass-1", origin=origin)
    reasons = sorted(SecurityEvent.objects.filter(kind="login_failed").values_list("detail__reason", flat=True))
    assert reasons == ["unknown_account", "wrong_password"]


def test_a_disabled_account_is_refused_only_after_the_right_password(origin):
    UserFactory(phone=PHONE, is_active=False)
    with pytest.raises(InvalidCredentials):
        user_login_password(login=PHONE, password="Wrong-pass-1", origin=origin)
    with pytest.raises(AccountDisabled):
        user_login_password(login=PHONE, password=PASSWORD, origin=origin)


def test_the_lockout_refuses_even_the_right_password(origin, settings, frozen_clock):
    settings.ACCOUNTS_LOCKOUT_RATE = "2/5m"
    UserFactory(phone=PHONE)
    for _ in range(2):
        with pytest.raises(InvalidCredentials):
            user_login_password(login=PHONE, password="Wrong-pass-1", origin=origin)
    with pytest.raises(AccountLocked) as locked:
        user_login_password(login=PHONE, password=PASSWORD, origin=origin)
    assert locked.value.retry_after == 300
    frozen_clock.shift(301)
    assert user_login_password(login=PHONE, password=PASSWORD, origin=origin).phone == PHONE


def test_password_checks_are_limited_per_client_ip(origin, settings, frozen_clock):
    settings.ACCOUNTS_LOGIN_IP_RATE = "3/m"
    for _ in range(3):
        with pytest.raises(InvalidCredentials):
            user_login_password(login=f"user{_}", password="x", origin=origin)
    with pytest.raises(RateLimited) as limited:
        user_login_password(login="someone", password="x", origin=origin)
    assert limited.value.retry_after == 55  # the clock stands 5 s into its minute


def test_code_login_and_its_failures(origin, code_for, settings):
    user = UserFactory(phone=PHONE)
    code = code_for(PHONE, "login")
    with pytest.raises(CodeInvalid):
        user_login_code(phone=PHONE, code="000000" if code != "000000" else "111111", origin=origin)
    assert SecurityEvent.objects.get(kind="login_failed").detail["reason"] == "code_invalid"
    assert user_login_code(phone="13900139000", code=code, origin=origin).user == user
    settings.ACCOUNTS_CODE_LOGIN_SIGNS_UP = False
    with pytest.raises(PhoneNotRegistered) as unknown:
        user_login_code(phone="+8613700137000", code="123456", origin=origin)
    assert set(unknown.value.fields) == {"phone"}
