"""An agent works a ticket on the board in a real browser; the customer sees it happen."""

from __future__ import annotations

import re

from playwright.sync_api import Browser, Page, expect

from support.extensions import db
from tests.factories import PASSWORD, Factory


def log_in(page: Page, base: str, email: str) -> None:
    page.goto(f"{base}/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.locator("main").get_by_role("button", name="Log in").click()
    page.wait_for_url(lambda url: "/login" not in url)


def drag(page: Page, ref: str, status: str) -> None:
    """Drag a card into a column with real mouse moves (Sortable's fallback mode)."""
    # A board refresh may be swapping the cards in: wait until both are laid out.
    expect(page.locator(f"#card-{ref} .card-who")).to_be_visible()
    expect(page.locator(f'ol.cards[data-status="{status}"]')).to_be_visible()
    card = page.locator(f"#card-{ref} .card-who").bounding_box()
    column = page.locator(f'ol.cards[data-status="{status}"]').bounding_box()
    page.mouse.move(card["x"] + card["width"] / 2, card["y"] + card["height"] / 2)
    page.mouse.down()
    page.mouse.move(card["x"] + 30, card["y"] + 20, steps=5)
    page.mouse.move(column["x"] + column["width"] / 2, column["y"] + 20, steps=15)
    page.mouse.up()


def column(page: Page, status: str):
    return page.locator(f'#board ol.cards[data-status="{status}"]')


def test_agent_drags_replies_and_resolves(page: Page, browser: Browser, live_server) -> None:
    base = live_server.url
    with live_server.app.app_context():
        make = Factory()
        agent = make.agent(name="Alex Agent")
        customer = make.customer(name="Casey Customer")
        ticket = make.ticket(customer=customer, subject="Charged twice for order 4821")
        ref, agent_email, customer_email = ticket.ref, agent.email, customer.email
        db.session.remove()

    # The agent lands on the board; the new ticket waits in New.
    log_in(page, base, agent_email)
    expect(page).to_have_url(f"{base}/board")
    expect(column(page, "new").locator(f"#card-{ref}")).to_be_visible()

    # Drag it to Open.
    drag(page, ref, "open")
    expect(column(page, "open").locator(f"#card-{ref}")).to_be_visible()
    expect(page.locator("#col-open + .column-count")).to_have_text("1")

    # Resolving before anyone answered the customer is refused: the card snaps back.
    drag(page, ref, "resolved")
    expect(page.locator("#toasts")).to_contain_text("reply to the customer")
    expect(column(page, "open").locator(f"#card-{ref}")).to_be_visible()
    expect(column(page, "resolved").locator(f"#card-{ref}")).to_have_count(0)

    # Open the card: the panel slides over the board; reply from it.
    page.locator(f"#card-{ref} .card-title").click()
    panel = page.locator("#panel-host .ticket-panel")
    expect(panel).to_be_visible()
    expect(panel.get_by_role("heading", name="Charged twice for order 4821")).to_be_visible()
    panel.get_by_label("Message").fill("Sorry about that! The duplicate charge is refunded.")
    panel.get_by_role("button", name="Send reply").click()
    expect(panel.locator(".timeline")).to_contain_text("The duplicate charge is refunded.")
    expect(panel).to_contain_text("Reply sent to the customer.")
    page.keyboard.press("Escape")
    expect(panel).to_have_count(0)

    # Now it may be resolved.
    drag(page, ref, "resolved")
    expect(column(page, "resolved").locator(f"#card-{ref}")).to_be_visible()
    expect(column(page, "open").locator(f"#card-{ref}")).to_have_count(0)

    # The customer, in their own browser, sees the reply and both status changes.
    context = browser.new_context()
    try:
        customer_page = context.new_page()
        log_in(customer_page, base, customer_email)
        customer_page.goto(f"{base}/tickets/{ref}")
        timeline = customer_page.locator(".timeline")
        expect(timeline).to_contain_text("The duplicate charge is refunded.")
        changes = timeline.locator(".event-status_changed .event-what")
        expect(changes).to_have_count(2)
        expect(changes.nth(0)).to_contain_text(re.compile("changed the status to\\s+Open"))
        expect(changes.nth(1)).to_contain_text(re.compile("changed the status to\\s+Resolved"))
    finally:
        context.close()
