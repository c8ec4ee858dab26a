import pytest

from accounts.services import phone_code_send
from config.origin import Origin
from smscodes.backends import locmem
from tests.smscodes.utils import last_code_for


@pytest.fixture
def origin() -> Origin:
    """The caller of a service in these tests: a client address and a browser."""
    return Origin(ip="203.0.113.10", user_agent="Tests/1.0")


@pytest.fixture(autouse=True)
def _sms_outbox(settings):
    settings.SMS_BACKEND = "locmem"
    locmem.outbox.clear()
    yield
    locmem.outbox.clear()


@pytest.fixture
def code_for(origin):
    """``code_for(phone, purpose)``: send a real code for an account flow and return it (from the locmem outbox)."""

    def send(phone: str, purpose: str) -> str:
        phone_code_send(phone=phone, purpose=purpose, origin=origin)
        return last_code_for(phone)

    return send
