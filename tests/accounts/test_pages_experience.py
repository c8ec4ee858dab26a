"""What a person meets on the account pages, server side (issue 14): no JavaScript needed.

The countdown survives a failed submit, every error shows at once, a right
code is not asked for twice, the first invalid field gets focus, the
password says its rules up front and its errors in one message, phone
numbers read as people write them.
"""

import re

import pytest
from django.urls import reverse

from accounts.models import User
from config.phone_display import phone_display, phone_masked
from tests.accounts.test_pages_auth import AGREE, field_errors, send_code, verification_token_in, wrong, zh
from tests.factories import UserFactory
from tests.smscodes.utils import last_code_for

pytestmark = pytest.mark.django_db

SIGNUP = reverse("accounts:signup")
LOGIN = reverse("accounts:login")
RESET = reverse("accounts:password_reset")
NEW_PHONE = "+8613700000001"


def resend_in(response) -> int:
    return int(re.search(r'data-resend-in="(\d+)"', response.content.decode()).group(1))


def test_after_a_failed_signup_the_send_button_keeps_the_real_remaining_seconds(frozen_clock, client):
    code = send_code(client, SIGNUP, NEW_PHONE)
    frozen_clock.shift(15)

    response = client.post(SIGNUP, {**AGREE, "phone": NEW_PHONE, "code": wrong(code), "password": "123"})

    assert response.status_code == 200
    assert resend_in(response) == 45  # the server's own cooldown, not a fresh "send code"
    assert "45 秒后可重新获取验证码。" in response.content.decode()  # said in words for the page without JavaScript


def test_after_a_failed_code_login_the_countdown_is_kept_too(frozen_clock, client):
    user = UserFactory()
    code = send_code(client, LOGIN + "?method=code", str(user.phone), method="code")
    frozen_clock.shift(50)

    response = client.post(LOGIN, {"method": "code", "phone": str(user.phone), "code": wrong(code)})

    assert resend_in(response) == 10


def test_once_the_cooldown_is_over_the_button_is_ready_again(frozen_clock, client):
    code = send_code(client, SIGNUP, NEW_PHONE)
    frozen_clock.shift(61)

    response = client.post(SIGNUP, {**AGREE, "phone": NEW_PHONE, "code": wrong(code)})

    assert resend_in(response) == 0


def test_signup_shows_every_error_at_once(client):
    response = client.post(SIGNUP, {**AGREE, "phone": "123", "code": "", "password": "12345678", "username": "a b"})

    assert field_errors(response, "phone")
    assert field_errors(response, "code")
    assert field_errors(response, "password")
    assert field_errors(response, "username")


def test_a_wrong_code_and_a_weak_password_are_reported_together(client):
    code = send_code(client, SIGNUP, NEW_PHONE)

    response = client.post(SIGNUP, {**AGREE, "phone": NEW_PHONE, "code": wrong(code), "password": "12345678"})

    assert "验证码错误" in field_errors(response, "code")
    assert field_errors(response, "password")
    assert not User.objects.filter(phone=NEW_PHONE).exists()


def test_a_right_code_with_a_weak_password_is_not_asked_for_again(client):
    code = send_code(client, SIGNUP, NEW_PHONE)

    refused = client.post(SIGNUP, {**AGREE, "phone": NEW_PHONE, "code": code, "password": "12345678"})
    assert field_errors(refused, "password")
    assert 'data-testid="code-verified"' in refused.content.decode()
    assert 'name="code"' not in refused.content.decode()

    token = verification_token_in(refused)
    accepted = client.post(
        SIGNUP, {**AGREE, "phone": NEW_PHONE, "verification_token": token, "password": "N3w-secret-pw"}
    )

    assert accepted.status_code == 302
    assert User.objects.get(phone=NEW_PHONE).check_password("N3w-secret-pw")


def test_a_verification_token_for_another_number_is_refused(client):
    code = send_code(client, SIGNUP, NEW_PHONE)
    refused = client.post(SIGNUP, {**AGREE, "phone": NEW_PHONE, "code": code, "password": "12345678"})
    token = verification_token_in(refused)

    response = client.post(
        SIGNUP, {**AGREE, "phone": "+8613700000002", "verification_token": token, "password": "N3w-secret-pw"}
    )

    assert response.status_code == 200
    assert field_errors(response, "code")
    assert not User.objects.filter(phone="+8613700000002").exists()


def test_the_password_reset_reports_code_and_password_together(client):
    user = UserFactory()
    code = send_code(client, RESET, str(user.phone))

    response = client.post(RESET, {"phone": str(user.phone), "code": wrong(code), "new_password": "123"})

    assert field_errors(response, "code")
    assert field_errors(response, "new_password")


def test_the_error_summary_links_every_field_and_the_first_invalid_field_has_focus(client):
    response = client.post(SIGNUP, {**AGREE, "phone": "123", "code": "", "password": "12345678"})
    html = response.content.decode()

    summary = re.search(r'<div class="error-summary".*?</div>', html, re.S).group(0)
    assert 'href="#id_phone"' in summary and 'href="#id_code"' in summary and 'href="#id_password"' in summary
    assert "请修正以下 3 处问题" in summary
    # autofocus: the browser scrolls to it and puts the cursor there, JavaScript or not.
    phone_input = re.search(r'<input[^>]*name="phone"[^>]*>', html).group(0)
    assert "autofocus" in phone_input
    assert html.count("autofocus") == 1


def test_profile_errors_far_down_the_page_are_summarised_at_the_top(client, user):
    client.force_login(user)
    html = client.post(reverse("accounts:account"), {"email": "not-an-email"}).content.decode()

    assert html.index('data-testid="form-errors"') < html.index('name="nickname"')
    assert 'href="#id_email"' in html
    assert "autofocus" in re.search(r'<input[^>]*name="email"[^>]*>', html).group(0)


def test_a_weak_password_gets_one_message_and_the_rules_are_shown_up_front(client):
    page = client.get(SIGNUP).content.decode()
    assert "至少 8 个字符，包含字母和数字，不能是常见密码。" in page
    assert "（选填）" not in page.split('data-field="password"')[1].split("</div>")[0].split("</label>")[1]

    html = client.post(SIGNUP, {**AGREE, "phone": NEW_PHONE, "code": "123456", "password": "1234"}).content.decode()
    errors = re.search(r'<ul class="errorlist" id="id_password_error">(.*?)</ul>', html, re.S).group(1)
    assert errors.count("<li>") == 1  # too short, too common, digits only: one message
    assert re.sub(r"\s+", " ", errors).strip() == "<li>密码太弱：至少 8 个字符，包含字母和数字，不能是常见密码。</li>"
    summary = re.search(r'<div class="error-summary".*?</div>', html, re.S).group(0)
    assert "密码：密码太弱：至少 8 个字符，包含字母和数字，不能是常见密码。" in summary


def test_the_phone_input_has_a_placeholder_and_the_fixed_prefix(client):
    html = client.get(SIGNUP).content.decode()
    assert 'placeholder="请输入手机号"' in html
    assert 'data-testid="phone-prefix">+86<' in html
    assert "13800138000" not in html

    english = client.get(SIGNUP, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'placeholder="Enter your phone number"' in english


def test_with_several_regions_the_prefix_is_a_region_list(client, settings):
    settings.SMS_ALLOWED_REGIONS = ["CN", "HK"]
    html = client.get(SIGNUP).content.decode()
    assert 'name="phone_region"' in html and ">+852</option>" in html
    assert 'data-testid="phone-prefix"' not in html


def test_numbers_are_shown_as_people_write_them_and_masked_in_the_header(client):
    user = UserFactory(phone="+8613800138000", nickname="")
    client.force_login(user)
    home = client.get("/").content.decode()
    assert 'data-testid="current-user">138****8000<' in home
    assert "你好，138****8000。" in home
    assert "+8613800138000" not in home
    assert "13800138000" not in home

    account = client.get(reverse("accounts:account")).content.decode()
    assert 'data-testid="account-phone">138 0013 8000<' in account


@pytest.mark.parametrize(
    ("number", "shown", "masked"),
    [
        ("+8613800138000", "138 0013 8000", "138****8000"),
        ("+85251234567", "+852 5123 4567", "+852 ****67"),
        ("", "", ""),
        (None, "", ""),
    ],
)
def test_phone_display_and_mask(number, shown, masked):
    assert phone_display(number) == shown
    assert phone_masked(number) == masked


def test_the_brand_is_one_setting(client, settings):
    settings.SITE_BRAND = "小蓝账号"
    html = client.get("/").content.decode()
    assert 'data-testid="brand">小蓝账号<' in html
    assert "<title>欢迎 · 小蓝账号</title>" in html or "· 小蓝账号</title>" in html


def test_consumer_pages_have_no_api_docs_link_and_the_admin_does(admin_client, client):
    assert "/api/docs/" not in client.get("/").content.decode()
    assert "/api/docs/" not in client.get(SIGNUP).content.decode()
    assert 'data-testid="admin-api-docs"' in admin_client.get("/admin/").content.decode()


def test_token_blacklist_names_are_chinese_in_the_admin(admin_client):
    html = admin_client.get("/admin/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "Blacklisted" not in html and "Outstanding" not in html
    assert "已吊销的令牌" in html and "未过期的令牌" in html


def test_the_csrf_failure_page_leads_back_to_the_form(db):
    from django.test import Client

    browser = Client(enforce_csrf_checks=True)
    response = browser.post(
        LOGIN, {"login": "x", "password": "y"}, HTTP_REFERER="http://testserver/login/?next=/wallet/"
    )
    assert response.status_code == 403
    html = response.content.decode()
    assert 'data-testid="csrf-back"' in html
    assert 'href="http://testserver/login/?next=/wallet/"' in html
    assert "你" in html or "您" not in html

    # A foreign referrer is never a link target: back to the URL that was posted to.
    foreign = browser.post(LOGIN, {"login": "x"}, HTTP_REFERER="https://evil.example/").content.decode()
    assert "evil.example" not in foreign
    assert 'href="/login/" data-testid="csrf-back"' in foreign


def test_chinese_pages_say_ni_not_nin(client):
    for path in ("/", "/no-such-page/", SIGNUP, LOGIN):
        assert "您" not in client.get(path).content.decode(), path
    assert "您" not in zh("You do not have permission to do this.")


def test_the_profile_reports_a_bad_email_and_a_bad_username_together(client, user):
    client.force_login(user)
    response = client.post(reverse("accounts:account"), {"email": "not-an-email", "username": "!"})
    assert field_errors(response, "email")
    assert field_errors(response, "username")


def test_a_number_typed_with_the_region_picker_is_read_in_that_region(client, settings):
    settings.SMS_ALLOWED_REGIONS = ["CN", "HK"]
    response = client.post(SIGNUP, {**AGREE, "phone_region": "HK", "phone": "5123 4567", "send_code": "1"})
    assert "验证码已发送至 +852 5123 4567" in response.content.decode()
    assert last_code_for("+85251234567")


def test_the_region_picker_cannot_pick_a_region_outside_the_allowed_ones(client, settings):
    settings.SMS_ALLOWED_REGIONS = ["CN", "HK"]
    client.post(SIGNUP, {**AGREE, "phone_region": "US", "phone": "137 0000 0001", "send_code": "1"})
    assert last_code_for(NEW_PHONE)
