"""Real Chromium through the live server."""

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_home_page_switches_language(browser_page):
    page = browser_page
    page.goto("/")
    assert page.get_by_test_id("home-title").inner_text() == "欢迎"
    assert page.locator("html").get_attribute("lang") == "zh-hans"

    page.get_by_test_id("lang-en").click()
    page.wait_for_load_state()
    assert page.get_by_test_id("home-title").inner_text() == "Welcome"
    assert page.locator("html").get_attribute("lang") == "en"

    page.get_by_test_id("lang-zh-hans").click()
    page.wait_for_load_state()
    assert page.get_by_test_id("home-title").inner_text() == "欢迎"


def test_home_page_fits_a_phone_screen(browser_page):
    page = browser_page
    page.set_viewport_size({"width": 375, "height": 700})
    page.goto("/")
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
