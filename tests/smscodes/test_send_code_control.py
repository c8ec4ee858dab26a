"""The "send code" control of the account pages: without JavaScript, and (one browser test) with it."""

import re

import pytest

from accounts.views import send_code_from_form
from tests.smscodes.utils import last_code_for, sent_to

pytestmark = pytest.mark.urls("tests.smscodes.urls")

PAGE = "/_test/send-code/"
PHONE = "+8613800138000"


@pytest.mark.django_db
def test_control_renders_a_submit_button_that_skips_browser_validation(client):
    html = client.get(PAGE).content.decode()
    button = re.search(r"<button[^>]*data-sms-send[^>]*>", html, re.S).group()
    assert 'type="submit"' in button and 'name="send_code"' in button and "formnovalidate" in button
    assert 'data-url="/api/v1/sms/codes/"' in button and 'data-purpose="register"' in button
    assert 'data-phone-field="phone"' in button
    assert "js/sms-code.js" in html


@pytest.mark.django_db
def test_without_javascript_the_form_sends_and_shows_the_countdown(client):
    response = client.post(PAGE, {"phone": "138 0013 8000", "send_code": "1"}, HTTP_ACCEPT_LANGUAGE="en")
    html = response.content.decode()
    # The button stays enabled without JavaScript, so the page says how long to wait.
    assert "A code was sent to 138 0013 8000. You can ask for another one in 60 seconds." in html
    assert 'data-resend-in="60"' in html
    assert 'value="138 0013 8000"' in html  # the form keeps what was typed
    assert len(sent_to(PHONE)) == 1
    assert last_code_for(PHONE) not in html

    again = client.post(PAGE, {"phone": PHONE, "send_code": "1"}, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    seconds = int(re.search(r'data-resend-in="(\d+)"', again).group(1))
    assert 55 <= seconds <= 60
    assert f"Please wait {seconds} seconds before asking for another code." in again


@pytest.mark.django_db
def test_without_javascript_the_chinese_page_says_when_to_ask_again(client):
    html = client.post(PAGE, {"phone": PHONE, "send_code": "1"}, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "验证码已发送至 138 0013 8000，60 秒后可重新获取" in html


@pytest.mark.django_db
def test_script_labels_are_translated(client):
    button = re.search(
        r"<button[^>]*data-sms-send[^>]*>", client.get(PAGE, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    )
    assert 'data-wait-label="{seconds} 秒后重发"' in button.group()
    assert 'data-sent-message="验证码已发送至 {phone}。"' in button.group()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "phone", ["", "\x00", "138\x000138000", "1" * 100_000, "１３８\x00", "<script>alert(1)</script>"]
)
def test_without_javascript_odd_numbers_are_answered_on_the_page(client, phone):
    response = client.post(PAGE, {"phone": phone, "send_code": "1"}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert "Enter a valid mobile phone number." in response.content.decode()
    assert "<script>alert" not in response.content.decode()
    assert sent_to(PHONE) == []


@pytest.mark.django_db
def test_send_code_from_form_returns_the_field_message_for_a_bad_number(rf):
    from django.utils import translation

    request = rf.post(PAGE, REMOTE_ADDR="192.0.2.1")
    with translation.override("zh-hans"):
        ok, message, resend_in = send_code_from_form(request, phone="010 6552 9988", purpose="register")
    assert (ok, resend_in) == (False, 0)
    assert message == "请输入有效的手机号。"


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_with_javascript_the_button_sends_by_fetch_and_counts_down(browser_page):
    page = browser_page
    page.set_viewport_size({"width": 375, "height": 700})
    page.goto(PAGE)
    page.fill("#id_phone", "13800138000")
    button = page.get_by_test_id("send-code")
    button.click()
    status = page.get_by_test_id("sms-send-status")
    status.wait_for()
    assert (
        status.inner_text() == "验证码已发送至 138 0013 8000。"
    )  # as people write it; the page's language (zh-CN browser)
    assert page.url.endswith(PAGE)  # no page load: the form was not submitted
    assert button.is_disabled()
    assert "秒后重发" in button.inner_text()
    first = int(re.search(r"\d+", button.inner_text()).group())
    assert 55 <= first <= 60
    page.wait_for_function(
        "n => parseInt(document.querySelector('[data-testid=send-code]').textContent.match(/\\d+/)[0]) < n", arg=first
    )
    assert len(sent_to(PHONE)) == 1
    assert page.evaluate("document.documentElement.scrollWidth") <= 375


@pytest.mark.django_db
def test_without_javascript_the_hourly_cap_says_when_to_try_again(frozen_clock, client, settings):
    settings.SMS_PHONE_HOURLY_LIMIT = 1
    settings.SMS_RESEND_INTERVAL = 0
    client.post(PAGE, {"phone": PHONE, "send_code": "1"})
    html = client.post(PAGE, {"phone": PHONE, "send_code": "1"}, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "请求验证码次数过多，请 60 分钟后再试。" in html, html  # the hour ends at 11:00:00
