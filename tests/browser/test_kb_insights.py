"""Issue 15 end to end: what a customer does in the help centre and on the ticket form
shows up in the agents' knowledge-base insights (real browser, real app)."""

from __future__ import annotations

import os

from playwright.sync_api import Page, expect
from sqlalchemy import select

from support.extensions import db
from support.models import KbSearch, SuggestionShown, Ticket
from tests.factories import PASSWORD, Factory


def _log_in(page: Page, url: str, email: str) -> None:
    page.goto(f"{url}/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.locator("main").get_by_role("button", name="Log in").click()
    page.wait_for_url(lambda now: "/login" not in now)


def test_searches_clicks_and_suggestions_reach_the_report(page: Page, live_server) -> None:
    with live_server.app.app_context():
        factory = Factory()
        customer, agent = factory.customer().email, factory.agent().email
        db.session.remove()

    # Typing in the search box (results as you type) is one search; opening a result clicks it.
    page.goto(f"{live_server.url}/kb/search")
    page.get_by_label("Search the help centre").press_sequentially("refund not received")
    result = page.locator("#search-results").get_by_role("link", name="Refund timelines")
    expect(result).to_be_visible(timeout=10000)
    result.click()
    page.wait_for_url("**/kb/refund-timelines*")
    with live_server.app.app_context():
        searches = db.session.execute(select(KbSearch.query_text, KbSearch.clicked)).all()
        assert searches == [("refund not received", True)]

    # Suggestions seen on the ticket form, then the ticket filed anyway.
    _log_in(page, live_server.url, customer)
    page.goto(f"{live_server.url}/tickets/new")
    page.get_by_label("Subject").fill("I was charged twice")
    page.get_by_label("What happened?").fill("My card shows the same payment two times.")
    expect(page.locator("#kb-suggestions").get_by_role("link", name="Charged twice")).to_be_visible(
        timeout=10000
    )
    page.get_by_label("Topic").select_option("payments")
    page.get_by_role("button", name="Send request").click()
    page.wait_for_url(lambda now: "/tickets/new" not in now)
    with live_server.app.app_context():
        token = db.session.scalar(select(Ticket.client_token))
        shown = db.session.scalars(select(SuggestionShown.form_token)).all()
        assert token and set(shown) == {token}

    page.context.clear_cookies()
    _log_in(page, live_server.url, agent)
    page.goto(f"{live_server.url}/reports/kb")
    expect(page.get_by_role("heading", name="Knowledge-base insights")).to_be_visible()
    expect(page.get_by_role("cell", name="refund not received")).to_be_visible()
    suggestions = page.locator("#suggestions-title").locator("xpath=..")
    expect(suggestions.get_by_role("row", name="Charged twice")).to_contain_text("1")
    if shot := os.environ.get("KB_INSIGHTS_SCREENSHOT"):
        page.set_viewport_size({"width": 1280, "height": 900})
        page.screenshot(path=shot, full_page=True)
