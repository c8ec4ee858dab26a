"""accounts.services.password: reset by code and change by the owner, called directly."""

import pytest

from accounts.errors import AccountLocked, InvalidCredentials, PasswordIncorrect, PhoneNotRegistered
from accounts.models import SecurityEvent
from accounts.services import user_login_password, user_password_change, user_password_reset
from config.errors import InvalidInput
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db
PHONE = "+8613900139000"


def test_reset_sets_the_password_revokes_older_tokens_and_lifts_the_lockout(origin, code_for, settings):
    settings.ACCOUNTS_LOCKOUT_RATE = "1/15m"
    user = UserFactory(phone=PHONE)
    with pytest.raises(InvalidCredentials):
        user_login_password(login=PHONE, password="Wrong-pass-1", origin=origin)
    with pytest.raises(AccountLocked):
        user_login_password(login=PHONE, password=PASSWORD, origin=origin)
    user = user_password_reset(
        phone=PHONE, code=code_for(PHONE, "reset_password"), new_password="Blue-Kettle-42", origin=origin
    )
    assert user.check_password("Blue-Kettle-42") and user.tokens_valid_after is not None
    assert user_login_password(login=PHONE, password="Blue-Kettle-42", origin=origin) == user
    assert SecurityEvent.objects.filter(kind="password_reset", user=user).exists()


def test_reset_of_an_unknown_number_or_with_a_weak_password(origin, code_for):
    with pytest.raises(PhoneNotRegistered):
        user_password_reset(phone=PHONE, code="123456", new_password="Blue-Kettle-42", origin=origin)
    UserFactory(phone=PHONE)
    code = code_for(PHONE, "reset_password")
    with pytest.raises(InvalidInput) as weak:
        user_password_reset(phone=PHONE, code=code, new_password="short", origin=origin)
    assert set(weak.value.fields) == {"new_password"}
    # The weak password did not burn the code.
    assert user_password_reset(phone=PHONE, code=code, new_password="Blue-Kettle-42", origin=origin)


def test_change_needs_the_old_password_which_counts_towards_the_lockout(origin, settings):
    settings.ACCOUNTS_LOCKOUT_RATE = "2/15m"
    user = UserFactory(phone=PHONE)
    with pytest.raises(InvalidInput) as missing:
        user_password_change(user=user, new_password="Blue-Kettle-42", origin=origin)
    assert set(missing.value.fields) == {"old_password"}
    for _ in range(2):
        with pytest.raises(PasswordIncorrect) as wrong:
            user_password_change(user=user, old_password="nope", new_password="Blue-Kettle-42", origin=origin)
        assert set(wrong.value.fields) == {"old_password"}
    with pytest.raises(AccountLocked):
        user_password_change(user=user, old_password=PASSWORD, new_password="Blue-Kettle-42", origin=origin)


def test_a_code_only_account_sets_its_first_password_without_an_old_one(origin):
    user = UserFactory(phone=PHONE, password=None)
    user = user_password_change(user=user, new_password="Blue-Kettle-42", origin=origin)
    assert user.check_password("Blue-Kettle-42")
    assert SecurityEvent.objects.filter(kind="password_changed", user=user).exists()
