"""The composer in a real browser: an internal note never reaches the customer; a reply
with a file and "Send and set to Resolved" does; switching modes with text asks first."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Browser, Page, expect

from support.extensions import db
from tests.browser.test_board import log_in
from tests.factories import Factory

NOTE = "Issuer says the refund batch runs Friday."
REPLY = "Your refund is on its way; the receipt is attached."


def test_note_stays_internal_and_reply_with_file_resolves(
    page: Page, browser: Browser, live_server, tmp_path: Path
) -> None:
    base = live_server.url
    with live_server.app.app_context():
        make = Factory()
        agent = make.agent(name="Alex Agent")
        customer = make.customer(name="Casey Customer")
        ticket = make.ticket(customer=customer, subject="Refund not received")
        ref, agent_email, customer_email = ticket.ref, agent.email, customer.email
        db.session.remove()
    receipt = tmp_path / "receipt.txt"
    receipt.write_text("Refund 48213: 24.90 EUR\n")

    log_in(page, base, agent_email)
    page.goto(f"{base}/board/tickets/{ref}")
    composer = page.locator("#composer")
    send = composer.locator(".send-button")
    expect(send).to_have_accessible_name("Send reply")

    # Note mode: another colour and label, the send button says what it does.
    composer.get_by_label("Internal note").check()
    expect(send).to_have_accessible_name("Add internal note")
    expect(composer).to_contain_text("Only the team sees this note.")
    expect(composer.get_by_role("button", name="Send and set to Resolved")).to_be_hidden()
    composer.get_by_label("Message").fill(NOTE)

    # Switching to Reply with text typed asks first; saying no keeps the note.
    asked = []
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.dismiss()))
    composer.get_by_label("Reply to Casey").click()
    assert asked == ["Turn this note into a reply? The customer will read it when you send it."]
    expect(composer.get_by_label("Internal note")).to_be_checked()
    expect(send).to_have_accessible_name("Add internal note")
    send.click()
    panel = page.locator("#ticket-panel")
    expect(panel).to_contain_text("Internal note added.")
    expect(panel.locator(".timeline")).to_contain_text(NOTE)

    # A reply with a file, and the ticket resolved with it.
    composer = page.locator("#composer")
    expect(composer.get_by_label("Reply to Casey")).to_be_checked()  # a fresh composer
    composer.get_by_label("Message").fill(REPLY)
    composer.locator("summary", has_text="Attach files").click()
    composer.get_by_label("Attach files").set_input_files(str(receipt))
    composer.get_by_role("button", name="Send and set to Resolved").click()
    expect(panel).to_contain_text("Reply sent to the customer.")
    expect(panel.locator(".panel-meta")).to_contain_text("Resolved")
    expect(panel.locator(".timeline")).to_contain_text("receipt.txt")

    # The customer sees the reply and the file, never the note: not on the page, not in
    # their notifications.
    context = browser.new_context()
    try:
        customer_page = context.new_page()
        log_in(customer_page, base, customer_email)
        customer_page.goto(f"{base}/tickets/{ref}")
        timeline = customer_page.locator(".timeline")
        expect(timeline).to_contain_text(REPLY)
        expect(timeline).to_contain_text("receipt.txt")
        expect(customer_page.locator("body")).not_to_contain_text(NOTE)
        customer_page.goto(f"{base}/notifications")
        expect(customer_page.locator("main")).not_to_contain_text("Issuer says")
    finally:
        context.close()
