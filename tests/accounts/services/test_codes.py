"""accounts.services.codes: the account rule of each purpose, then the generic send."""

import pytest

from accounts.errors import PhoneNotRegistered, PhoneTaken
from accounts.services import phone_code_send
from config.errors import InvalidInput
from smscodes.errors import InvalidPhone
from smscodes.models import Purpose, SmsMessage
from tests.factories import UserFactory
from tests.smscodes.utils import sent_to

pytestmark = pytest.mark.django_db

PHONE = "+8613800138000"
OTHER = "+8613900139000"


def test_purpose_rules_follow_the_account_table(origin, settings):
    settings.ACCOUNTS_CODE_LOGIN_SIGNS_UP = False  # the table as it was: login codes for accounts only
    UserFactory(phone=PHONE)
    for purpose in (Purpose.REGISTER, Purpose.CHANGE_PHONE):
        with pytest.raises(PhoneTaken) as caught:
            phone_code_send(phone=PHONE, purpose=purpose, origin=origin)
        assert caught.value.fields == {"phone": [PhoneTaken.default_message]}
    for purpose in (Purpose.LOGIN, Purpose.RESET_PASSWORD):
        with pytest.raises(PhoneNotRegistered):
            phone_code_send(phone=OTHER, purpose=purpose, origin=origin)
    assert not SmsMessage.objects.exists()  # a refused number costs no SMS
    assert phone_code_send(phone="138 0013 8000", purpose=Purpose.LOGIN, origin=origin).phone == PHONE
    assert phone_code_send(phone=PHONE, purpose=Purpose.RESET_PASSWORD, origin=origin).purpose == "reset_password"
    assert phone_code_send(phone=OTHER, purpose=Purpose.REGISTER, origin=origin).phone == OTHER
    assert len(sent_to(PHONE)) == 2 and len(sent_to(OTHER)) == 1


def test_the_number_is_checked_before_the_purpose_and_the_rule(origin):
    with pytest.raises(InvalidPhone):
        phone_code_send(phone="12", purpose="nonsense", origin=origin)
    with pytest.raises(InvalidInput) as caught:
        phone_code_send(phone=PHONE, purpose="nonsense", origin=origin)
    assert set(caught.value.fields) == {"purpose"}


def test_the_send_is_logged_with_the_callers_address(origin):
    phone_code_send(phone=PHONE, purpose=Purpose.REGISTER, origin=origin)
    assert SmsMessage.objects.get().client_ip == origin.ip


def test_send_costs_2_queries(origin, django_assert_num_queries):
    with django_assert_num_queries(2):  # the account rule, the send log
        phone_code_send(phone=PHONE, purpose=Purpose.REGISTER, origin=origin)


def test_with_sign_up_by_code_a_login_code_goes_to_any_number_at_the_same_cost(origin, django_assert_num_queries):
    # ACCOUNTS_CODE_LOGIN_SIGNS_UP (the default): the answer tells nobody whether the number has an account.
    UserFactory(phone=PHONE)
    with django_assert_num_queries(2):  # the same look-up and send log as for a registered number
        unknown = phone_code_send(phone=OTHER, purpose=Purpose.LOGIN, origin=origin)
    with django_assert_num_queries(2):
        known = phone_code_send(phone=PHONE, purpose=Purpose.LOGIN, origin=origin)
    assert (unknown.expires_in, unknown.resend_in) == (known.expires_in, known.resend_in)
    assert len(sent_to(OTHER)) == 1 and len(sent_to(PHONE)) == 1
    with pytest.raises(PhoneNotRegistered):  # reset_password still needs an account
        phone_code_send(phone=OTHER, purpose=Purpose.RESET_PASSWORD, origin=origin)
