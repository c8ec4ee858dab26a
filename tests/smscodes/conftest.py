import pytest

from smscodes.backends import locmem


@pytest.fixture(autouse=True)
def _sms_outbox(settings):
    settings.SMS_BACKEND = "locmem"
    locmem.outbox.clear()
    yield
    locmem.outbox.clear()
    locmem.fail_with = None


@pytest.fixture
def provider_down(monkeypatch):
    """The locmem "provider" refuses every message while this fixture is active."""
    monkeypatch.setattr(locmem, "fail_with", "isv.BUSINESS_LIMIT_CONTROL")
