"""The send log in the admin: read-only, filterable, searchable by a number in any format, no code."""

import pytest

from config.origin import Origin
from smscodes.models import SmsMessage, SmsStatus
from smscodes.services import sms_code_send
from tests.smscodes.utils import last_code_for

pytestmark = pytest.mark.django_db

URL = "/admin/smscodes/smsmessage/"
PHONE = "+8613800138000"


@pytest.fixture
def staff_client(client, django_user_model):
    admin = django_user_model.objects.create_superuser(username="boss", password="Passw0rd!x")
    client.force_login(admin)
    return client


@pytest.fixture
def log():
    sms_code_send(phone=PHONE, purpose="register", origin=Origin(ip="203.0.113.5", user_agent=""))
    SmsMessage.objects.create(phone="+8613900000000", purpose="login", backend="aliyun", status=SmsStatus.FAILED)
    return last_code_for(PHONE)


@pytest.mark.parametrize("term", ["13800138000", "138 0013 8000", "+86 138-0013-8000", "008613800138000"])
def test_search_finds_a_number_typed_in_any_format(staff_client, log, term):
    response = staff_client.get(URL, {"q": term})
    assert response.status_code == 200
    rows = list(response.context["cl"].result_list)
    assert [row.phone for row in rows] == [PHONE]


def test_filters_by_purpose_status_and_backend(staff_client, log):
    rows = staff_client.get(URL, {"status__exact": "failed"}).context["cl"].result_list
    assert [row.backend for row in rows] == ["aliyun"]
    rows = staff_client.get(URL, {"purpose__exact": "register", "backend__exact": "locmem"}).context["cl"].result_list
    assert [row.phone for row in rows] == [PHONE]


def test_log_is_read_only_and_never_shows_a_code(staff_client, log):
    listing = staff_client.get(URL).content.decode()
    assert PHONE in listing and log not in listing
    message = SmsMessage.objects.get(phone=PHONE)
    detail = staff_client.get(f"{URL}{message.pk}/change/")
    assert detail.status_code == 200  # viewable...
    assert log not in detail.content.decode()
    assert 'name="_save"' not in detail.content.decode()  # ...but not editable
    assert staff_client.get(f"{URL}add/").status_code == 403
    assert staff_client.post(f"{URL}{message.pk}/delete/", {"post": "yes"}).status_code == 403
    assert SmsMessage.objects.filter(pk=message.pk).exists()
