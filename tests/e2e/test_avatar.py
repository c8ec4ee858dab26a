"""Upload an avatar on /account/ in real Chromium and see it shown."""

import io

import pytest
from playwright.sync_api import expect

from tests.accounts.avatar_images import image_bytes
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_upload_an_avatar_on_the_account_page_and_see_it(browser_page, browser_login, settings):
    # Media is served by Django only with DEBUG on (production: the web
    # server or the object store); the live server needs it to show the image.
    settings.DEBUG = True
    page = browser_page
    browser_login(page, UserFactory(nickname="Mei"))
    page.set_viewport_size({"width": 375, "height": 740})
    page.goto("/account/")
    expect(page.get_by_test_id("avatar-placeholder")).to_have_text("M")

    # Picking the file is enough: it is shown at once and uploaded (no Upload button with JavaScript).
    expect(page.get_by_test_id("avatar-upload")).to_be_hidden()
    with page.expect_navigation():
        page.get_by_test_id("avatar-input").set_input_files(
            {"name": "me.png", "mimeType": "image/png", "buffer": image_bytes("PNG", size=(300, 300))}
        )
    page.wait_for_url("**/account/")
    image = page.get_by_test_id("avatar-image")
    expect(image).to_be_visible()
    # Actually decoded by the browser: served as an image it understands.
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=image.element_handle())
    assert image.evaluate("img => img.naturalWidth") == 128
    assert page.evaluate("document.documentElement.scrollWidth") <= 375

    # An SVG is refused: back on /account/ with the error next to the form, in
    # view on a phone screen, and the current avatar stays.
    with page.expect_navigation():
        page.get_by_test_id("avatar-input").set_input_files(
            {"name": "x.png", "mimeType": "image/png", "buffer": b"<svg xmlns='http://www.w3.org/2000/svg'/>"}
        )
    page.wait_for_url("**/account/#avatar")
    expect(page.get_by_test_id("avatar-error")).to_be_in_viewport()
    expect(page.get_by_test_id("avatar-image")).to_be_visible()


def test_picking_a_file_shows_a_preview_before_the_upload_ends(browser_page, browser_login):
    page = browser_page
    browser_login(page, UserFactory(nickname="Mei"))
    page.goto("/account/")
    # Registered after site.js: keeps the page here so the preview can be seen.
    page.evaluate("() => document.addEventListener('submit', e => e.preventDefault())")
    page.get_by_test_id("avatar-input").set_input_files(
        {"name": "me.png", "mimeType": "image/png", "buffer": image_bytes("PNG", size=(300, 300))}
    )
    preview = page.get_by_test_id("avatar-preview")
    expect(preview).to_be_visible()
    assert preview.get_attribute("src").startswith("blob:")
    page.wait_for_function("img => img.complete && img.naturalWidth === 300", arg=preview.element_handle())


def test_removing_the_avatar_asks_first(browser_page, browser_login, settings):
    from accounts.services.avatar import avatar_set

    settings.DEBUG = True
    user = UserFactory(nickname="Mei")
    avatar_set(user=user, file=io.BytesIO(image_bytes("PNG", size=(100, 100))))
    page = browser_page
    browser_login(page, user)
    page.goto("/account/")
    confirm = page.get_by_test_id("avatar-remove-confirm")
    expect(confirm).to_be_hidden()
    page.get_by_test_id("avatar-remove").click()
    expect(confirm).to_be_visible()
    with page.expect_navigation():
        confirm.click()
    expect(page.get_by_test_id("avatar-placeholder")).to_have_text("M")
