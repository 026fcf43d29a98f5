"""Email end to end in a real browser: a customer's email becomes a ticket on the board,
the agent replies in the panel, the reply reaches the customer's SMTP inbox threaded, and
the customer's emailed answer appears on the timeline."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import Page, expect
from rq import SimpleWorker

from support.extensions import db
from support.jobs import queue
from support.jobs.redis import connection
from support.mail.inbound import intake
from tests.browser.conftest import serving
from tests.browser.test_board import log_in
from tests.conftest import make_app
from tests.factories import Factory
from tests.mail.conftest import email
from tests.smtp import SmtpServer, text_part


@pytest.fixture
def server(tmp_path: Path, redis_url: str, smtp: SmtpServer) -> Iterator[tuple[Flask, str]]:
    app = make_app(
        tmp_path,
        redis_url,
        TIMELINE_POLL_SECONDS=1,
        WTF_CSRF_ENABLED=True,
        **smtp.settings,
    )
    with serving(app) as live:
        yield app, live.url


def _work(app: Flask) -> None:
    """Run the queued jobs (filing, emails) with a real RQ worker in burst mode."""
    with app.app_context():
        for _ in range(2):  # filing queues the acknowledgement: a second pass sends it
            worker = SimpleWorker([queue.queue(app)], connection=connection(app))
            worker.work(burst=True, with_scheduler=False, logging_level="WARNING")
        db.session.remove()


def _receive(app: Flask, raw: bytes) -> None:
    with app.app_context():
        intake.store(raw, "webhook")
        db.session.remove()
    _work(app)


def test_email_to_board_reply_and_back(page: Page, server, smtp: SmtpServer) -> None:
    app, base = server
    with app.app_context():
        agent_email = Factory().agent(name="Alex Agent").email
        db.session.remove()

    _receive(app, email(subject="Charged twice for order 4821", body="Please refund one."))
    [ack] = smtp.mailbox.to("dana@example.com")
    ref = ack["X-Support-Ref"]

    # The email is a ticket on the board, marked as email, with the customer's words.
    log_in(page, base, agent_email)
    card = page.locator(f"#card-{ref}")
    expect(card).to_be_visible()
    expect(card.locator(".card-channel")).to_have_attribute("title", "Came in by email")
    card.locator(".card-title").click()
    panel = page.locator("#panel-host .ticket-panel")
    expect(panel).to_contain_text("Please refund one.")
    expect(panel).to_contain_text("via email")

    # The agent replies in the panel; the reply reaches the customer's inbox, threaded.
    panel.get_by_label("Message").fill("We refunded the second charge.")
    panel.get_by_role("button", name="Send reply").click()
    expect(panel).to_contain_text("Reply sent to the customer.")
    _work(app)
    reply = next(m for m in smtp.mailbox.to("dana@example.com") if m is not ack)
    assert reply["In-Reply-To"] == ack["Message-ID"]
    assert ack["Message-ID"] in reply["References"]
    assert f"[{ref}]" in reply["Subject"]
    assert "We refunded the second charge." in text_part(reply)

    # The customer answers from their mail client: it lands on the timeline.
    _receive(
        app,
        email(
            to=reply["Reply-To"],
            subject=f"Re: {reply['Subject']}",
            body="Thank you, I see it.\n\nOn Tuesday Support Desk wrote:\n> We refunded",
            In_Reply_To=reply["Message-ID"],
            References=f"{ack['Message-ID']} {reply['Message-ID']}",
        ),
    )
    page.goto(f"{base}/board/tickets/{ref}")
    timeline = page.locator("ol.timeline")
    expect(timeline).to_contain_text("Thank you, I see it.")
    last = timeline.locator("li.from-customer").last
    expect(last.locator(".channel-email")).to_be_visible()
    expect(last.locator(".unverified")).to_have_count(0)
    last.get_by_text("Show the whole message").click()
    expect(last.locator(".email-quoted")).to_contain_text("> We refunded")
