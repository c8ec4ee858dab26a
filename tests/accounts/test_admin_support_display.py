"""The user admin as support reads it (issue 14 item 13): one local time, words, devices, the lock, search."""

import datetime
import re

import pytest
import time_machine
from rest_framework.test import APIClient

from accounts.models import SecurityEvent
from config.user_agents import user_agent_label
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PHONE = "+8613800138000"
CHROME = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/156.0.0.0 Safari/537.36"
IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.4 Mobile/15E148 Safari/604.1"
)


def wrong_login():
    return APIClient().post("/api/v1/auth/login/", {"login": PHONE, "password": "Wrong-pass-1"}, HTTP_USER_AGENT=CHROME)


def test_a_security_event_shows_one_local_time_words_and_a_device(support_client):
    target = UserFactory(phone=PHONE)
    # 18:50 UTC is 02:50 the next day in Beijing: the page says only the local one, with its zone.
    with time_machine.travel("2026-12-01 18:50:55+00:00", tick=False):
        wrong_login()
    html = support_client.get(f"/admin/accounts/user/{target.pk}/change/").content.decode()
    events = html[html.index("security_events") :]

    assert "2026-12-02 02:50:55 CST" in events
    assert "18:50" not in events
    assert "密码错误" in events
    assert '{"reason"' not in events and "&quot;reason&quot;" not in events
    assert "Linux · HeadlessChrome 156" in events
    assert f'title="{CHROME}"' in events  # the whole header one hover away


def test_the_event_list_reads_the_same(support_client, admin_client):
    target = UserFactory(phone=PHONE)
    SecurityEvent.objects.create(
        user=target,
        kind=SecurityEvent.Kind.LOGIN_FAILED,
        user_agent=IPHONE,
        detail={"reason": "code_invalid", "method": "code"},
    )
    html = admin_client.get("/admin/accounts/securityevent/").content.decode()
    assert "验证码错误或已过期 · 方式：短信验证码" in html
    assert "iPhone · iOS 17 · Mobile Safari 17" in html


def test_staff_actions_name_the_staff_member_in_words(admin_client):
    target = UserFactory(phone=PHONE)
    admin_client.post(f"/admin/accounts/user/{target.pk}/revoke-sessions/")
    html = admin_client.get(f"/admin/accounts/user/{target.pk}/change/").content.decode()
    assert re.search(r"操作人：\S+", html)
    assert "actor_id" not in html


def test_a_locked_user_has_a_locked_until_badge(support_client, settings):
    target = UserFactory(phone=PHONE)
    with time_machine.travel("2026-12-01 18:00:00+00:00", tick=False):
        for _ in range(5):  # the default lockout: 5 failures
            wrong_login()
        change = support_client.get(f"/admin/accounts/user/{target.pk}/change/").content.decode()
        listing = support_client.get("/admin/accounts/user/").content.decode()
    assert re.search(r'data-testid="lock-badge">锁定至 2026-12-02 02:\d\d:\d\d CST<', change)
    assert 'data-testid="lock-badge"' in listing

    unlocked = UserFactory()
    assert (
        'data-testid="lock-badge"'
        not in support_client.get(f"/admin/accounts/user/{unlocked.pk}/change/").content.decode()
    )


def test_phone_search_by_the_last_digits(support_client):
    match = UserFactory(phone=PHONE)
    other = UserFactory(phone="+8613900138001")
    html = support_client.get("/admin/accounts/user/", {"q": "8000"}).content.decode()
    assert f"/admin/accounts/user/{match.pk}/change/" in html
    assert f"/admin/accounts/user/{other.pk}/change/" not in html
    assert "138 0013 8000" in html or PHONE in html


def test_revoke_all_sessions_asks_first(support_client):
    target = UserFactory(phone=PHONE)
    page = support_client.get(f"/admin/accounts/user/{target.pk}/change/").content.decode()
    link = re.search(r'<a class="button" href="([^"]+)" data-testid="revoke-sessions">', page).group(1)
    before = type(target).objects.get(pk=target.pk).tokens_valid_after

    confirm = support_client.get(link)
    assert "撤销全部会话？" in confirm.content.decode()
    assert type(target).objects.get(pk=target.pk).tokens_valid_after == before

    done = support_client.post(link)
    assert done.status_code == 302
    assert type(target).objects.get(pk=target.pk).tokens_valid_after != before


@pytest.mark.parametrize(
    ("header", "label"),
    [
        (CHROME, "Linux · HeadlessChrome 156"),
        (IPHONE, "iPhone · iOS 17 · Mobile Safari 17"),
        ("okhttp/4.9.0", "okhttp 4"),
        ("", ""),
    ],
)
def test_user_agent_labels(header, label):
    assert user_agent_label(header) == label


def test_event_string_is_local_time_too():
    moment = datetime.datetime(2026, 12, 1, 18, 51, 30, tzinfo=datetime.UTC)
    event = SecurityEvent(kind=SecurityEvent.Kind.LOGOUT, login="x", created_at=moment)
    assert "2026-12-02 02:51:30 CST" in str(event)


def test_numbers_are_shown_as_people_write_them_in_the_admin(support_client):
    """Item 4: never raw E.164 as identity, the admin included (staff see the whole number)."""
    target = UserFactory(phone=PHONE, username=None, nickname="")
    listing = support_client.get("/admin/accounts/user/").content.decode()
    assert ">138 0013 8000</a>" in listing
    assert PHONE not in listing

    change = support_client.get(f"/admin/accounts/user/{target.pk}/change/").content.decode()
    title = re.search(r"<title>(.*?)</title>", change).group(1)
    assert title.startswith("138 0013 8000 |")
