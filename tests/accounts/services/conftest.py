import pytest

from config.origin import Origin
from smscodes.backends import locmem


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
