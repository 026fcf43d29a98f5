"""Forgot password end to end: the browser asks for a link, a real RQ worker writes and
sends the email to a real SMTP server (aiosmtpd), the browser opens the link from it."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from rq import SimpleWorker

from support.extensions import db
from support.jobs import queue
from support.jobs.redis import connection
from tests.browser.conftest import LiveServer, serving
from tests.conftest import close_database, make_app
from tests.factories import PASSWORD, Factory
from tests.smtp import SmtpServer, text_part

NEW_PASSWORD = "marble lantern violin"


@pytest.fixture
def mail_server(tmp_path: Path, redis_url: str, smtp: SmtpServer) -> Iterator[LiveServer]:
    """The live server, sending its mail to `smtp`; links in emails point at it."""
    app = make_app(
        tmp_path,
        redis_url,
        WTF_CSRF_ENABLED=True,
        **smtp.settings,
    )
    try:
        with serving(app) as live:
            app.config["BASE_URL"] = live.url
            yield live
    finally:
        with app.app_context():
            redis = connection(app)
            for key in redis.scan_iter(f"rq:*{app.config['RQ_QUEUE']}*"):
                redis.delete(key)
            close_database()


def run_worker(server: LiveServer) -> None:
    """A real RQ worker, in burst mode: the reset job, then the email's delivery."""
    with server.app.app_context():
        worker = SimpleWorker([queue.queue(server.app)], connection=connection(server.app))
        worker.work(burst=True, with_scheduler=False, logging_level="WARNING")


def wait_for_mail(smtp: SmtpServer, address: str, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while not (mails := smtp.mailbox.to(address)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert mails, f"no email to {address}"
    return mails[-1]


def test_forgot_password_by_email_then_log_in_with_the_new_one(
    page: Page, mail_server: LiveServer, smtp: SmtpServer
) -> None:
    base = mail_server.url
    with mail_server.app.app_context():
        email = Factory().customer(name="Robin Buyer", email="robin@example.com").email
        db.session.remove()

    # Ask for a link from the login page.
    page.goto(f"{base}/login")
    page.get_by_role("link", name="Forgot your password?").click()
    page.get_by_label("Email").fill(email)
    page.get_by_role("button", name="Send me a link").click()
    expect(page.get_by_role("heading", name="Check your email")).to_be_visible()
    expect(page.get_by_text("If an account exists for that address")).to_be_visible()

    # The worker sends it; read the link from the email the SMTP server received.
    run_worker(mail_server)
    mail = wait_for_mail(smtp, email)
    assert mail["Subject"] == "Reset your Support Desk password"
    link = re.search(r"https?://\S+/password/reset/\S+", text_part(mail))
    assert link, text_part(mail)
    assert link.group(0).startswith(base)

    # Open it, try a weak password, then a good one: signed in.
    page.goto(link.group(0))
    expect(page.get_by_role("heading", name="Choose a new password")).to_be_visible()
    page.get_by_label("New password", exact=True).fill("short")
    page.get_by_label("Repeat new password").fill("short")
    page.get_by_role("button", name="Save new password").click()
    expect(page.get_by_text("Use at least 10 characters.")).to_be_visible()
    # htmx focuses the swapped form's autofocus field as it settles: wait for that, or
    # it could take the focus away half-way through typing into the next field.
    expect(page.get_by_label("New password", exact=True)).to_be_focused()
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("Repeat new password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Save new password").click()
    expect(page.get_by_text("Your password is changed and you're signed in.")).to_be_visible()
    expect(page).to_have_url(f"{base}/tickets/")

    # The link worked once.
    page.goto(link.group(0))
    expect(page.get_by_role("heading", name="This link has already been used")).to_be_visible()

    # Log out, then in with the new password (the old one no longer works).
    page.goto(f"{base}/logout")
    page.locator("main").get_by_role("button", name="Log out").click()
    expect(page.get_by_text("You are logged out.")).to_be_visible()
    page.goto(f"{base}/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.locator("main").get_by_role("button", name="Log in").click()
    expect(page.get_by_text("don't match an account")).to_be_visible()
    expect(page.get_by_label("Email")).to_be_focused()  # the swapped form has settled
    page.get_by_label("Password").fill(NEW_PASSWORD)
    page.locator("main").get_by_role("button", name="Log in").click()
    expect(page).to_have_url(f"{base}/tickets/")
