"""A customer typing a ticket is shown the article that answers it, and stops there."""

from __future__ import annotations

from playwright.sync_api import Page, expect
from sqlalchemy import func, select

from support.extensions import db
from support.models import Ticket
from support.models.kb import Deflection
from tests.factories import PASSWORD, Factory


def test_suggested_article_answers_the_question_and_files_nothing(page: Page, live_server):
    with live_server.app.app_context():
        email = Factory().customer().email
        db.session.remove()

    page.goto(f"{live_server.url}/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.locator("main").get_by_role("button", name="Log in").click()
    page.wait_for_url("**/tickets/")
    page.goto(f"{live_server.url}/tickets/new")

    page.get_by_label("Subject").fill("I was charged twice")
    page.get_by_label("What happened?").fill(
        "My card statement shows the same payment two times for one order."
    )
    panel = page.locator("#kb-suggestions")
    expect(panel.get_by_role("link", name="Charged twice")).to_be_visible(timeout=10000)

    panel.locator(".kb-suggestion").first.get_by_role(
        "button", name="This answered my question"
    ).click()
    expect(page.get_by_text("Glad that answered your question")).to_be_visible()
    expect(page.get_by_label("Subject")).to_have_value("I was charged twice")

    with live_server.app.app_context():
        assert db.session.scalar(select(func.count(Ticket.id))) == 0
        deflection = db.session.scalar(select(Deflection))
        assert deflection.slug == "charged-twice"
        assert "charged twice" in deflection.typed_text.lower()
        db.session.remove()
