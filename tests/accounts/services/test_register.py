"""accounts.services.register.user_register, called directly."""

import pytest

from accounts.errors import PhoneTaken, UsernameTaken
from accounts.models import Role, SecurityEvent, User
from accounts.services import user_register
from config.errors import InvalidInput
from smscodes.errors import CodeInvalid
from tests.factories import UserFactory
from tests.helpers import CONSENT

pytestmark = pytest.mark.django_db
PHONE = "+8613800138000"


def test_a_verified_phone_makes_an_account_with_its_role_group_and_an_event(origin, code_for):
    code = code_for(PHONE, "register")
    user = user_register(consent=CONSENT, phone="138 0013 8000", code=code, nickname=" Ann ", origin=origin)
    user.refresh_from_db()
    assert (str(user.phone), user.nickname, user.role, user.has_usable_password()) == (
        PHONE,
        "Ann",
        Role.NORMAL_USER,
        False,
    )
    assert list(user.groups.values_list("name", flat=True)) == [Role.NORMAL_USER]
    event = SecurityEvent.objects.get(user=user, kind="registered")
    assert (event.kind, event.ip, event.user_agent) == ("registered", origin.ip, origin.user_agent)


def test_every_field_is_checked_before_the_code_is_consumed(origin, code_for):
    code = code_for(PHONE, "register")
    with pytest.raises(InvalidInput) as weak:
        user_register(consent=CONSENT, phone=PHONE, code=code, password="123", origin=origin)
    assert "password" in weak.value.fields
    with pytest.raises(InvalidInput) as shaped:
        user_register(consent=CONSENT, phone=PHONE, code=code, username="13900139000", origin=origin)
    assert "username" in shaped.value.fields
    assert user_register(
        consent=CONSENT, phone=PHONE, code=code, password="Blue-Kettle-42", origin=origin
    ).check_password("Blue-Kettle-42")


def test_taken_number_and_username_name_their_field(origin, code_for):
    UserFactory(phone=PHONE, username="Alice")
    with pytest.raises(PhoneTaken) as taken:
        user_register(consent=CONSENT, phone=PHONE, code="123456", origin=origin)
    assert set(taken.value.fields) == {"phone"}
    code = code_for("+8613900139000", "register")
    with pytest.raises(UsernameTaken) as name:
        user_register(consent=CONSENT, phone="+8613900139000", code=code, username="alice", origin=origin)
    assert set(name.value.fields) == {"username"}


def test_a_wrong_code_creates_nothing(origin, code_for):
    code = code_for(PHONE, "register")
    with pytest.raises(CodeInvalid):
        user_register(consent=CONSENT, phone=PHONE, code="000000" if code != "000000" else "111111", origin=origin)
    assert not User.objects.exists()


def test_without_the_phone_requirement_a_username_and_password_will_do(origin, settings):
    settings.ACCOUNTS_PHONE_REQUIRED = True
    with pytest.raises(InvalidInput) as missing:
        user_register(consent=CONSENT, phone=None, username="bob", password="Blue-Kettle-42", origin=origin)
    assert set(missing.value.fields) == {"phone"}
    settings.ACCOUNTS_PHONE_REQUIRED = False
    with pytest.raises(InvalidInput) as half:
        user_register(consent=CONSENT, phone=None, username="bob", origin=origin)
    assert set(half.value.fields) == {"password"}
    user = user_register(consent=CONSENT, phone=None, username="bob", password="Blue-Kettle-42", origin=origin)
    assert user.phone is None and user.username == "bob"
