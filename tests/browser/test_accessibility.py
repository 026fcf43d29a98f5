"""axe-core on the agent's pages, at desktop and phone widths: no serious or critical
violation (the customer side was already clean)."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page

from support.extensions import db
from support.models import CannedResponse, Status
from support.tickets import service
from tests.browser.test_board import log_in
from tests.factories import Factory

AXE = (Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js").read_text()
WIDTHS = {"desktop": (1280, 900), "phone": (390, 844)}


def violations(page: Page) -> list[str]:
    """Serious and critical violations on the page, as "rule: first element" lines."""
    page.evaluate(AXE)  # through the devtools protocol: the page's CSP does not apply
    result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    assert result["testEngine"] == {"name": "axe-core", "version": "4.14.1"}
    assert result["passes"] or result["violations"] or result["incomplete"]  # it looked
    return [
        f"{v['id']} ({v['impact']}): {v['nodes'][0]['target']} {v['help']}"
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


@pytest.mark.parametrize("width", WIDTHS)
def test_agent_pages_have_no_serious_violations(page: Page, live_server, width: str) -> None:
    base = live_server.url
    with live_server.app.app_context():
        make = Factory()
        admin = make.admin(name="Ada Admin", tier=3)
        ticket = make.ticket(subject="Charged twice for order 4821")
        # A similar resolved ticket, so the panel's "Similar past tickets" lists one.
        past = make.ticket(subject="Charged twice for one order")
        service.respond(past, agent=admin, body="We refunded the second charge.", public=True)
        service.change_status(past, Status.RESOLVED, actor=admin)
        db.session.add(CannedResponse(title="Thanks", body="Thanks, {{ customer.first_name }}!"))
        db.session.commit()
        ref, email = ticket.ref, admin.email
        db.session.remove()
    page.set_viewport_size(dict(zip(("width", "height"), WIDTHS[width], strict=True)))
    log_in(page, base, email)
    found = {}
    for path in (
        "/board",
        f"/board/tickets/{ref}",
        f"/board/tickets/{ref}/similar",
        "/board/tickets/new",
        "/notifications/",
        "/admin/",
        "/admin/canned/new",
        "/admin/sla",
    ):
        page.goto(base + path)
        page.wait_for_load_state("networkidle")
        if problems := violations(page):
            found[path] = problems
    assert found == {}
