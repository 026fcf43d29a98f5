# ruff: noqa: F811  (the mail_server fixture is imported: parameters shadow it)
"""Register, confirm the address and change it, in a real browser: a real RQ worker sends
each email to a real SMTP server (aiosmtpd), and the browser opens the link from it."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from support.extensions import db
from support.models import User
from tests.browser.conftest import LiveServer
from tests.browser.test_password_reset import mail_server, run_worker, wait_for_mail  # noqa: F401
from tests.smtp import SmtpServer, text_part

PASSWORD = "marble lantern violin"


def link_from(smtp: SmtpServer, address: str, path: str) -> str:
    mail = wait_for_mail(smtp, address)
    found = re.search(rf"https?://\S+{path}/\S+", text_part(mail))
    assert found, text_part(mail)
    return found.group(0)


def test_register_confirm_then_change_the_email(
    page: Page,
    mail_server: LiveServer,
    smtp: SmtpServer,
) -> None:
    base = mail_server.url

    # Register: "check your email", nobody signed in yet.
    page.goto(f"{base}/register")
    page.get_by_label("Your name").fill("Robin Buyer")
    page.get_by_label("Email").fill("robin@example.com")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Repeat password").fill(PASSWORD)
    page.locator("main").get_by_role("button", name="Create account").click()
    expect(page.get_by_role("heading", name="Check your email")).to_be_visible()

    # The link in the email confirms the address and signs in.
    run_worker(mail_server)
    page.goto(link_from(smtp, "robin@example.com", "/email/verify"))
    expect(page.get_by_text("your email address is confirmed")).to_be_visible()

    # My account, from the header: the address is confirmed; ask to change it.
    page.get_by_role("link", name="My account").click()
    expect(page.get_by_role("heading", name="My account")).to_be_visible()
    email_section = page.locator("#email")
    expect(email_section.get_by_text("Confirmed")).to_be_visible()
    email_section.get_by_label("New email address").fill("robin.new@example.com")
    email_section.get_by_label("Current password").fill("not my password")
    email_section.get_by_role("button", name="Change email address").click()
    expect(email_section.get_by_text("That isn't your current password.")).to_be_visible()
    email_section = page.locator("#email")
    email_section.get_by_label("Current password").fill(PASSWORD)
    email_section.get_by_role("button", name="Change email address").click()
    expect(page.get_by_text("We've sent a link to robin.new@example.com")).to_be_visible()

    # The new address's link asks, then changes; the old address gets a notice.
    run_worker(mail_server)
    page.goto(link_from(smtp, "robin.new@example.com", "/email/change"))
    page.get_by_role("button", name="Use robin.new@example.com").click()
    expect(
        page.get_by_text("your account's email address is now robin.new@example.com")
    ).to_be_visible()
    expect(page.get_by_text("Signed in as robin.new@example.com")).to_be_visible()
    run_worker(mail_server)
    notice = [m for m in smtp.mailbox.to("robin@example.com") if "changed" in m["Subject"]]
    assert notice and "robin.new@example.com" in text_part(notice[0])
    with mail_server.app.app_context():
        assert db.session.query(User).one().email == "robin.new@example.com"
        db.session.remove()
