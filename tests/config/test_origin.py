"""Origin: who is calling, built once per request."""

import pytest
from django.contrib.auth.models import AnonymousUser

from config.origin import Origin


def test_origin_from_request_reads_ip_and_user_agent_once(rf, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    request = rf.get("/", REMOTE_ADDR="10.0.0.9", HTTP_X_FORWARDED_FOR="1.2.3.4, 203.0.113.7", HTTP_USER_AGENT="UA/1")
    request.user = AnonymousUser()
    origin = Origin.from_request(request)
    assert origin == Origin(ip="203.0.113.7", user_agent="UA/1", actor=None)
    request.META["HTTP_USER_AGENT"] = "changed"
    assert Origin.from_request(request) is origin  # cached on the request


@pytest.mark.django_db
def test_origin_actor_is_the_authenticated_user(rf, user):
    request = rf.get("/", REMOTE_ADDR="not-an-ip", HTTP_USER_AGENT="x" * 1000)
    request.user = user
    origin = Origin.from_request(request)
    assert origin.actor == user
    assert origin.ip == ""  # junk is never passed on as an address
    assert len(origin.user_agent) == 500


def test_system_origin_has_no_address():
    assert Origin.system() == Origin(ip="", user_agent="", actor=None)
