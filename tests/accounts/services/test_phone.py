"""accounts.services.phone.user_phone_change, called directly."""

import datetime

import pytest
from django.utils import timezone

from accounts.errors import PhoneTaken, RecentLoginRequired
from accounts.models import SecurityEvent
from accounts.services import user_phone_change
from config.errors import InvalidInput
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db
OLD, NEW = "+8613900139000", "+8613800138000"


def _ago(seconds: int) -> datetime.datetime:
    return timezone.now() - datetime.timedelta(seconds=seconds)


def test_a_recent_login_moves_the_account_and_records_both_numbers(origin, code_for):
    user = UserFactory(phone=OLD)
    code = code_for(NEW, "change_phone")
    user_phone_change(user=user, phone="138 0013 8000", code=code, authenticated_at=_ago(60), origin=origin)
    user.refresh_from_db()
    assert str(user.phone) == NEW
    event = SecurityEvent.objects.get(kind="phone_changed")
    assert event.detail == {"old_phone": OLD, "new_phone": NEW} and event.ip == origin.ip


def test_an_old_login_needs_the_password(origin, code_for, settings):
    settings.ACCOUNTS_RECENT_LOGIN_SECONDS = 600
    user = UserFactory(phone=OLD)
    code = code_for(NEW, "change_phone")
    for authenticated_at in (None, _ago(601)):
        with pytest.raises(RecentLoginRequired) as old:
            user_phone_change(user=user, phone=NEW, code=code, authenticated_at=authenticated_at, origin=origin)
        assert set(old.value.fields) == {"password"}
    user_phone_change(user=user, phone=NEW, code=code, password=PASSWORD, authenticated_at=None, origin=origin)
    assert str(user.phone) == NEW


def test_the_same_or_a_taken_number_is_refused(origin):
    user = UserFactory(phone=OLD)
    UserFactory(phone=NEW)
    with pytest.raises(InvalidInput) as same:
        user_phone_change(user=user, phone=OLD, code="123456", authenticated_at=_ago(1), origin=origin)
    assert set(same.value.fields) == {"phone"}
    with pytest.raises(PhoneTaken):
        user_phone_change(user=user, phone=NEW, code="123456", authenticated_at=_ago(1), origin=origin)
