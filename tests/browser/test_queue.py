"""An agent finds a ticket in the queue by a phrase from a reply, then bulk assigns three."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page, expect

from support.extensions import db
from support.models import Ticket
from support.tickets import service
from tests.browser.test_board import log_in
from tests.factories import Factory


def test_agent_searches_then_bulk_assigns(page: Page, live_server, tmp_path: Path) -> None:
    base = live_server.url
    with live_server.app.app_context():
        make = Factory()
        agent = make.agent(name="Alex Agent")
        make.agent(name="Sam Senior")
        customer = make.customer(name="Casey Customer")
        wanted = make.ticket(customer=customer, subject="Where is my order?")
        service.customer_reply(
            wanted, customer=customer, body="The courier left it with a neighbour in Rotterdam."
        )
        others = [make.ticket(subject=f"Refund question {n}") for n in range(3)]
        refs = [t.ref for t in others]
        wanted_ref, agent_email = wanted.ref, agent.email
        db.session.remove()

    log_in(page, base, agent_email)
    page.get_by_role("link", name="Queue").click()
    expect(page.get_by_role("heading", name="Queue")).to_be_visible()
    for ref in [wanted_ref, *refs]:
        expect(page.locator(f"#row-{ref}")).to_be_visible()
    page.screenshot(path=tmp_path / "queue.png", full_page=True)

    # Typing searches as you type; the phrase is marked in the snippet.
    page.get_by_label("Search tickets").fill("neighbour rotterdam")
    expect(page.locator(f"#row-{wanted_ref}")).to_be_visible()
    for ref in refs:
        expect(page.locator(f"#row-{ref}")).to_have_count(0)
    expect(page.locator(f"#row-{wanted_ref} mark").first).to_have_text("neighbour")
    assert "q=neighbour" in page.url  # shareable: the search is in the address
    page.screenshot(path=tmp_path / "queue-search.png", full_page=True)

    # Back to everything, select three and assign them to Sam.
    page.get_by_label("Search tickets").fill("")
    expect(page.locator(f"#row-{refs[0]}")).to_be_visible()
    for ref in refs:
        page.get_by_label(f"Select {ref}").check()
    page.get_by_label("Assign to").select_option(label="Sam Senior")
    page.get_by_role("button", name="Assign", exact=True).click()
    summary = page.locator(".bulk-summary")
    expect(summary).to_contain_text("Assign to Sam Senior: 3 changed")
    expect(summary).to_be_focused()
    for ref in refs:
        expect(page.locator(f"#row-{ref} .col-assignee")).to_have_text("Sam Senior")
    expect(page.locator(f"#row-{wanted_ref} .col-assignee")).to_have_text("Unassigned")
    page.screenshot(path=tmp_path / "queue-bulk.png", full_page=True)

    with live_server.app.app_context():
        assigned = db.session.query(Ticket).filter(Ticket.ref.in_(refs)).all()
        assert {t.assignee.name for t in assigned} == {"Sam Senior"}
        db.session.remove()
