"""The agent's tools in a real browser: a similar resolved ticket in the panel whose
resolution goes into the reply box, and two tickets merged from the queue."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page, expect

from support.extensions import db
from support.models import Status, Ticket
from support.tickets import service
from support.tickets.service import Then
from tests.browser.test_board import log_in
from tests.factories import Factory

RESOLUTION = "Card refunds take five working days; we reissued yours today."


def show_similar(page: Page) -> None:
    """Scroll the panel to the section (in one step in the page: the placeholder may be
    swapped for the section at any moment)."""
    page.wait_for_selector("#panel-host .panel-similar", state="attached")
    page.evaluate("() => document.querySelector('#panel-host .panel-similar').scrollIntoView()")


def test_agent_inserts_the_resolution_of_a_similar_ticket(
    page: Page, live_server, tmp_path: Path
) -> None:
    base = live_server.url
    with live_server.app.app_context():
        make = Factory()
        agent = make.agent(name="Alex Agent")
        customer = make.customer(name="Casey Customer")
        ticket = make.ticket(
            customer=customer,
            subject="Refund for a cancelled order never arrived",
            description="The seller cancelled my order and promised a refund to my card.",
        )
        past = make.ticket(
            subject="Refund after a cancelled order", description="Still no refund on my card."
        )
        service.respond(past, agent=agent, body=RESOLUTION, public=True, then=Then(Status.RESOLVED))
        ref, past_ref, agent_email = ticket.ref, past.ref, agent.email
        db.session.remove()

    log_in(page, base, agent_email)
    page.goto(f"{base}/board")
    page.locator(f"#card-{ref} .card-title").click()
    panel = page.locator("#panel-host .ticket-panel")
    show_similar(page)  # fetched when seen
    section = panel.locator("#similar-tickets")
    expect(section.get_by_role("heading", name="Similar past tickets")).to_be_visible()
    item = section.locator(f"#similar-{past_ref}")
    expect(item).to_contain_text("Refund after a cancelled order")
    expect(item).to_contain_text(RESOLUTION)
    expect(item).to_contain_text("Resolved")
    item.screenshot(path=tmp_path / "similar-item.png")
    page.screenshot(path=tmp_path / "panel-similar.png", full_page=True)

    # What was typed stays; the resolution follows it; nothing is sent.
    box = panel.locator("#composer").get_by_label("Message")
    box.fill("Hello Casey,")
    item.get_by_role("button", name=f"Insert reply of {past_ref}").click()
    expect(panel.locator("#composer").get_by_label("Message")).to_have_value(
        f"Hello Casey,\n\n{RESOLUTION}"
    )
    expect(panel.locator(".timeline")).not_to_contain_text(RESOLUTION)

    # Link: both timelines say so (internally).
    show_similar(page)
    section = panel.locator("#similar-tickets")
    section.locator(f"#similar-{past_ref}").get_by_role("button", name=f"Link {past_ref}").click()
    expect(panel).to_contain_text(f"Linked {past_ref} to {ref}.")
    expect(panel.locator(".timeline")).to_contain_text(f"linked the related request {past_ref}")
    expect(panel.locator("#composer").get_by_label("Message")).to_have_value(
        f"Hello Casey,\n\n{RESOLUTION}"
    )  # the draft stays
    show_similar(page)
    section = panel.locator("#similar-tickets")
    expect(section.locator(f"#similar-{past_ref} .similar-linked")).to_have_text("Linked")
    page.screenshot(path=tmp_path / "panel-similar-linked.png", full_page=True)


def test_agent_merges_two_tickets_from_the_queue(page: Page, live_server, tmp_path: Path) -> None:
    base = live_server.url
    with live_server.app.app_context():
        make = Factory()
        agent = make.agent(name="Alex Agent")
        customer = make.customer(name="Casey Customer")
        first = make.ticket(customer=customer, subject="Parcel damaged")
        second = make.ticket(customer=customer, subject="Parcel damaged (photos)")
        first_ref, second_ref, agent_email = first.ref, second.ref, agent.email
        db.session.remove()

    log_in(page, base, agent_email)
    page.goto(f"{base}/queue")
    for ref in (second_ref, first_ref):
        page.get_by_label(f"Select {ref}").check()
    page.get_by_role("button", name="Merge", exact=True).click()
    summary = page.locator(".bulk-summary")
    expect(summary).to_contain_text(f"Merge into {first_ref}: 1 changed, 1 already so")
    expect(summary).to_be_focused()
    expect(page.locator(f"#row-{second_ref}")).to_have_count(0)  # closed: not open work
    expect(page.locator(f"#row-{first_ref}")).to_be_visible()
    page.screenshot(path=tmp_path / "queue-merge.png", full_page=True)

    with live_server.app.app_context():
        merged = db.session.query(Ticket).filter_by(ref=second_ref).one()
        assert merged.status == Status.CLOSED and merged.merged_into.ref == first_ref
        db.session.remove()
