"""The basic customer flows on a phone-sized screen with JavaScript switched off:
plain forms and links carry everything, and no page scrolls sideways."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from support.extensions import db
from support.models import Ticket
from support.tickets import service
from tests.factories import PASSWORD, Factory

PHONE = {"width": 375, "height": 740}


@pytest.fixture
def phone(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport=PHONE, java_script_enabled=False, is_mobile=True)
    try:
        yield context.new_page()
    finally:
        context.close()


def fits_the_screen(page: Page) -> None:
    """Nothing wider than the phone: no sideways scrolling (measured over CDP, which
    works with the page's own JavaScript off)."""
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{page.url} is {width}px wide on a {PHONE['width']}px phone"


def every_control_is_labelled(page: Page) -> None:
    unlabelled = page.evaluate(
        """() => [...document.querySelectorAll(
                'main input:not([type=hidden]), main select, main textarea')]
            .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label'))
            .map(el => el.name || el.id)"""
    )
    assert unlabelled == [], f"{page.url}: controls without a label: {unlabelled}"


def test_file_follow_reply_resolve_and_rate_on_a_phone_without_javascript(
    phone: Page, live_server
) -> None:
    base = live_server.url
    with live_server.app.app_context():
        email = Factory().customer(name="Pat Phone").email
        db.session.remove()

    phone.goto(f"{base}/")
    fits_the_screen(phone)
    phone.get_by_role("searchbox").first.fill("refund")
    phone.get_by_role("searchbox").first.press("Enter")
    expect(phone.locator("main")).to_contain_text("refund")
    fits_the_screen(phone)

    phone.goto(f"{base}/login")
    every_control_is_labelled(phone)
    phone.get_by_label("Email").fill(email)
    phone.get_by_label("Password").fill(PASSWORD)
    phone.locator("main").get_by_role("button", name="Log in").click()
    phone.wait_for_url("**/tickets/")
    fits_the_screen(phone)

    phone.goto(f"{base}/tickets/new")
    fits_the_screen(phone)
    every_control_is_labelled(phone)
    phone.get_by_label("Subject").fill("Parcel marked delivered but not here")
    phone.get_by_label("What happened?").fill("Tracking says delivered yesterday; no parcel.")
    phone.get_by_role("button", name="Send request").click()
    expect(phone.get_by_role("heading", name="We've got your request")).to_be_visible()
    ref = phone.locator(".big-ref").inner_text()
    fits_the_screen(phone)

    phone.get_by_role("button", name="Follow your request").click()
    expect(phone.locator(".timeline")).to_contain_text("Tracking says delivered")
    fits_the_screen(phone)
    every_control_is_labelled(phone)

    # An agent answers; without JavaScript the customer sees it on the next page load.
    with live_server.app.app_context():
        ticket = db.session.scalar(select(Ticket).where(Ticket.ref == ref))
        service.reply(ticket, author=Factory().agent(), body="We have asked the courier.")
        db.session.remove()
    phone.reload()
    expect(phone.locator(".timeline")).to_contain_text("We have asked the courier.")

    phone.get_by_label("Your reply").fill("Thank you, I will wait.")
    phone.get_by_role("button", name="Send reply").click()
    expect(phone.locator(".timeline")).to_contain_text("Thank you, I will wait.")

    phone.get_by_role("button", name="My problem is solved").click()
    expect(phone.locator(".ticket-summary")).to_contain_text("Resolved")
    fits_the_screen(phone)
    phone.get_by_label("4 — Good").check()
    phone.get_by_role("button", name="Send rating").click()
    expect(phone.locator(".ticket-summary")).to_contain_text("Your rating")
    expect(phone.locator(".timeline")).to_contain_text("rated the support 4/5")
    fits_the_screen(phone)
