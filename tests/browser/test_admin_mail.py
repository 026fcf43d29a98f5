"""An admin works the mail quarantine in a real browser (htmx, CSRF on): a wrong ticket
reference is an error next to the field, the right one files the message in place."""

from __future__ import annotations

import os
from pathlib import Path

from playwright.sync_api import Page, expect
from sqlalchemy import select

from support.extensions import db
from support.mail.inbound import quarantine
from support.mail.inbound.settings import Rules
from support.models import InboundMessage, InboundStatus
from tests.browser.conftest import LiveServer
from tests.browser.test_board import log_in
from tests.factories import Factory
from tests.mail.conftest import email, ingest


def shot(page: Page, name: str, tmp_path: Path) -> None:
    """A screenshot to look at (SCREENSHOT_DIR to keep it)."""
    folder = Path(os.environ.get("SCREENSHOT_DIR") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / name), full_page=True)


def test_admin_attaches_and_discards_held_mail(
    page: Page, live_server: LiveServer, tmp_path
) -> None:
    with live_server.app.app_context():
        make = Factory()
        admin = make.admin(name="Ada Admin")
        ticket = make.ticket()
        quarantine.save_settings(Rules(only_known_customers=True), admin)
        for i, subject in enumerate(
            ["Where is my refund?", "Invoice copy please", "Account locked"]
        ):
            ingest(email(sender=f"Stranger {i} <stranger{i}@example.net>", subject=subject))
        ids = db.session.scalars(select(InboundMessage.id).order_by(InboundMessage.id)).all()
        admin_email, ref = admin.email, ticket.ref

    log_in(page, live_server.url, admin_email)
    page.goto(f"{live_server.url}/admin/")
    page.get_by_role("link", name="Incoming mail").click()
    expect(page.get_by_role("heading", name="Incoming mail")).to_be_visible()
    expect(page.locator(".mail-message")).to_have_count(3)
    shot(page, "admin-mail.png", tmp_path)

    row = page.locator(f"#inbound-{ids[0]}")
    row.get_by_label("Ticket reference for this message").fill("SUP-ZZZZZZ")
    row.get_by_role("button", name="Add to ticket").click()
    expect(row.locator(".field-error")).to_contain_text("No ticket has the reference")
    shot(page, "admin-mail-error.png", tmp_path)

    row.get_by_label("Ticket reference for this message").fill(ref)
    row.get_by_role("button", name="Add to ticket").click()
    expect(row).to_contain_text("✓ Message added as an internal note")
    expect(row.get_by_role("link", name=f"Open {ref}")).to_be_visible()
    expect(page.locator("#waiting-count")).to_have_text("2")  # the rest of the page follows
    expect(page.locator("#mail-handled")).to_contain_text("Ada Admin")

    page.once("dialog", lambda dialog: dialog.accept())
    discard_row = page.locator(f"#inbound-{ids[1]}")
    discard_row.get_by_role("button", name="Discard").click()
    expect(discard_row).to_contain_text("Discarded")

    page.get_by_label("New tickets per sender and hour").fill("-3")
    page.get_by_role("button", name="Save settings").click()
    expect(page.locator("#max_new_tickets_per_hour-error")).to_be_visible()
    page.get_by_label("New tickets per sender and hour").fill("4")
    page.get_by_role("button", name="Save settings").click()
    expect(page.locator("#mail-settings")).to_contain_text("Saved.")
    shot(page, "admin-mail-after.png", tmp_path)

    page.once("dialog", lambda dialog: dialog.accept())
    page.locator(f"#inbound-{ids[2]}").get_by_role("button", name="Discard").click()
    expect(page.locator("#waiting-count")).to_be_hidden()
    page.reload()
    expect(page.get_by_role("heading", name="Nothing is waiting")).to_be_visible()
    shot(page, "admin-mail-empty.png", tmp_path)

    with live_server.app.app_context():
        statuses = [db.session.get(InboundMessage, i).status for i in ids]
        assert statuses == [InboundStatus.FILED, InboundStatus.DISCARDED, InboundStatus.DISCARDED]
        assert quarantine.current_settings().max_new_tickets_per_hour == 4
