"""accounts.recent_auth: one rule for "recently authenticated", for the API and the pages."""

import datetime

import pytest
from django.utils import timezone

from accounts.recent_auth import auth_is_recent, auth_time_after_password_change

pytestmark = pytest.mark.django_db


def test_recent_is_within_the_configured_seconds(settings, frozen_clock):
    settings.ACCOUNTS_RECENT_LOGIN_SECONDS = 600
    now = timezone.now()
    assert auth_is_recent(now - datetime.timedelta(seconds=599))
    assert auth_is_recent(now - datetime.timedelta(seconds=600))
    assert not auth_is_recent(now - datetime.timedelta(seconds=601))
    assert not auth_is_recent(None)


def test_only_the_old_password_makes_a_password_change_a_fresh_authentication(frozen_clock):
    before = timezone.now() - datetime.timedelta(hours=3)
    assert auth_time_after_password_change(proved_old_password=True, previous=before) == timezone.now()
    assert auth_time_after_password_change(proved_old_password=False, previous=before) == before
    assert auth_time_after_password_change(proved_old_password=False, previous=None) is None


def test_setting_a_first_password_on_the_page_does_not_renew_the_login(client, settings, frozen_clock):
    # The page and the API agree (the API keeps the token's auth_time the same way).
    from accounts.sessions import SESSION_AUTH_TIME_KEY
    from tests.factories import UserFactory

    user = UserFactory(phone="+8613900139000", password=None)
    client.force_login(user)
    session = client.session
    old = timezone.now().timestamp() - 3600
    session[SESSION_AUTH_TIME_KEY] = old
    session.save()
    response = client.post("/account/password/", {"new_password": "Blue-Kettle-42"})
    assert response.status_code == 302
    assert client.session[SESSION_AUTH_TIME_KEY] == old
    assert client.get("/account/").status_code == 200  # still signed in
