"""An admin sets the desk's business hours in a real browser (CSRF on): a closing time
before the opening is an error beside it, the fixed form is saved and shown again."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page, expect

from support.tickets import schedule
from tests.browser.conftest import LiveServer
from tests.browser.test_admin_mail import shot
from tests.browser.test_board import log_in
from tests.factories import Factory


def test_admin_sets_business_hours(page: Page, live_server: LiveServer, tmp_path: Path) -> None:
    with live_server.app.app_context():
        admin_email = Factory().admin(name="Ada Admin").email

    log_in(page, live_server.url, admin_email)
    page.goto(f"{live_server.url}/admin/sla")
    expect(page.get_by_label("Monday opens")).to_have_value("09:00")
    page.get_by_label("Time zone").fill("Europe/Berlin")
    page.get_by_label("Saturday opens").fill("10:00")
    page.get_by_label("Saturday closes").fill("09:30")
    page.get_by_label("Holidays (closed all day)").fill("2031-12-25 Christmas Day")
    page.get_by_role("button", name="Save business hours").click()
    error = page.locator("#hours-day5_close-error")
    expect(error).to_have_text("Saturday must close after it opens (10:00).")
    shot(page, "admin-business-hours-error.png", tmp_path)

    page.get_by_label("Saturday closes").fill("13:30")
    page.get_by_role("button", name="Save business hours").click()
    expect(page.get_by_text("Saved the business hours.")).to_be_visible()
    expect(page.get_by_label("Saturday closes")).to_have_value("13:30")
    expect(page.get_by_label("Time zone")).to_have_value("Europe/Berlin")
    shot(page, "admin-business-hours.png", tmp_path)
    with live_server.app.app_context():
        saved = schedule.current()
    assert saved.zone == "Europe/Berlin" and saved.week[5] == (600, 810)
