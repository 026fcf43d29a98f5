# ruff: noqa: F811  (the app and run_jobs fixtures are imported: parameters shadow them)
"""The links /account sends by email: confirm a new address (and tell the old one), verify
an address after registering, claim an account made for someone; spent, tampered and
expired links say so.

Emails go through the real outbox, a real RQ worker (burst) and a real SMTP server."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from support.auth import verify
from support.extensions import db
from support.models import OutboxMessage, User
from tests.factories import PASSWORD, Factory
from tests.smtp import SmtpServer, text_part
from tests.web.account import (  # noqa: F401 (fixtures)
    EXPIRED,
    NEW_PASSWORD,
    NOT_VALID,
    USED,
    browser,
    customer,
    frozen,
    link_in,
    log_in,
    signed_in,
    text,
)
from tests.web.test_password_reset import app, run_jobs  # noqa: F401 (fixtures)

HTMX = {"HX-Request": "true"}
T0 = datetime(2032, 3, 1, 9, 0)


# --- changing the email address ----------------------------------------------------------------


def ask_to_change(client: FlaskClient, email: str, password: str = PASSWORD, **kw):
    return client.post(
        "/account/email", data={"email-email": email, "email-password": password}, **kw
    )


def test_an_email_change_is_confirmed_by_the_new_address_and_told_to_the_old(
    app: Flask,
    customer: User,
    browser: FlaskClient,
    smtp: SmtpServer,
) -> None:
    old = customer.email
    response = ask_to_change(browser, "casey.new@example.com", headers=HTMX)
    assert response.status_code == 200
    assert "We've sent a link to casey.new@example.com" in text(response)
    run_jobs(app)
    assert customer.email == old  # nothing changes until the link is opened
    path = link_in(smtp, "casey.new@example.com", "/email/change")
    page = browser.get(path)
    assert page.status_code == 200
    assert "casey.new@example.com" in text(page)
    assert customer.email == old  # opening the link (a mail scanner may) changes nothing
    response = browser.post(path)
    assert response.status_code == 303
    assert response.location == "/account"
    db.session.refresh(customer)
    assert customer.email == "casey.new@example.com"
    assert customer.email_verified_at is not None
    run_jobs(app)
    [notice] = smtp.mailbox.to(old)
    assert "was changed from" in text_part(notice)
    # Used: says so.
    again = browser.get(path)
    assert again.status_code == 410
    assert USED in text(again)


def test_an_address_already_taken_gets_the_same_answer(
    app: Flask,
    make: Factory,
    browser: FlaskClient,
    smtp: SmtpServer,
) -> None:
    other = make.customer(email="taken@example.com")
    taken = ask_to_change(browser, "Taken@example.com")
    free = ask_to_change(browser, "free@example.com")
    assert taken.status_code == free.status_code == 303
    assert "We've sent a link to taken@example.com" in text(browser.get("/account"))
    run_jobs(app)
    [notice] = smtp.mailbox.to(other.email)
    assert "nothing was changed" in text_part(notice)
    assert "/email/change/" not in text_part(notice)
    assert db.session.get(User, other.id).email == "taken@example.com"


@pytest.mark.parametrize(
    ("email", "password", "message"),
    [
        ("not-an-address", PASSWORD, "Enter an email address like name@example.com."),
        ("", PASSWORD, "Enter the new address."),
        ("new@example.com", "wrong password here", "That isn't your current password."),
        ("new@example.com", "", "Enter your current password."),
    ],
)
def test_email_change_errors_are_next_to_the_field(
    app: Flask,
    browser: FlaskClient,
    smtp: SmtpServer,
    email: str,
    password: str,
    message: str,
) -> None:
    response = ask_to_change(browser, email, password)
    assert response.status_code == 422
    assert message in text(response)
    assert db.session.scalar(select(func.count(OutboxMessage.id))) == 0


def test_a_change_link_taken_meanwhile_says_so(app: Flask, make: Factory, customer: User) -> None:
    token = verify.EMAIL_CHANGE.token(customer, "late@example.com")
    make.customer(email="late@example.com")
    client = app.test_client()
    response = client.post(f"/email/change/{token}")
    assert response.status_code == 409
    assert "Another account uses that address now" in text(response)


def test_change_links_tampered_or_expired_say_so(app: Flask, customer: User) -> None:
    client = app.test_client()
    with frozen(T0):
        token = verify.EMAIL_CHANGE.token(customer, "new@example.com")
    tampered = client.get(f"/email/change/{token[:-3]}abc")
    assert tampered.status_code == 404 and NOT_VALID in text(tampered)
    # A reset token is not a change link (each purpose has its own salt).
    from support.auth import reset

    assert client.get(f"/email/change/{reset.token_for(customer)}").status_code == 404
    with frozen(T0 + timedelta(hours=25)):
        expired = client.get(f"/email/change/{token}")
    assert expired.status_code == 410 and EXPIRED in text(expired)


# --- verifying after registering ----------------------------------------------------------------


def register(client: FlaskClient, email: str, **kw):
    data = {
        "name": "Robin Buyer",
        "email": email,
        "password": NEW_PASSWORD,
        "confirm": NEW_PASSWORD,
    }
    return client.post("/register", data=data, **kw)


def test_registering_sends_a_link_that_confirms_and_signs_in(
    app: Flask,
    client: FlaskClient,
    smtp: SmtpServer,
) -> None:
    assert register(client, "robin@example.com").location == "/register?sent=1"
    run_jobs(app)
    path = link_in(smtp, "robin@example.com", "/email/verify")
    user = db.session.scalar(select(User).where(User.email == "robin@example.com"))
    assert user.email_verified_at is None
    # Unconfirmed accounts can file requests already.
    assert log_in(app, user, NEW_PASSWORD).get("/tickets/new").status_code == 200
    response = client.get(path)
    assert response.status_code == 303
    assert "your email address is confirmed" in text(client.get("/tickets/"))
    assert signed_in(client)
    db.session.refresh(user)
    assert user.email_verified_at is not None
    again = app.test_client().get(path)
    assert again.status_code == 410 and USED in text(again)
    assert "Confirmed" in text(client.get("/account"))


def test_registering_a_taken_address_tells_its_owner_instead(
    app: Flask,
    client: FlaskClient,
    make: Factory,
    smtp: SmtpServer,
) -> None:
    owner = make.customer(email="owner@example.com")
    response = register(client, "Owner@Example.com")
    assert response.location == "/register?sent=1"
    assert not signed_in(client)
    run_jobs(app)
    [notice] = smtp.mailbox.to("owner@example.com")
    assert "already has an account: yours" in text_part(notice)
    assert "/email/verify/" not in text_part(notice)
    assert db.session.scalar(select(func.count(User.id))) == 1
    log_in(app, owner)  # nothing about the account changed


def test_registering_an_address_an_email_made_sends_a_claim_link(
    app: Flask,
    client: FlaskClient,
    make: Factory,
    smtp: SmtpServer,
) -> None:
    """Someone who first wrote to us by email has an account they never chose a
    password for: registering sends them the link that lets them claim it."""
    owner = make.customer(email="mailed@example.com")
    owner.leave_unclaimed()
    db.session.commit()
    assert register(client, "mailed@example.com").location == "/register?sent=1"
    run_jobs(app)
    path = link_in(smtp, "mailed@example.com", "/welcome")
    assert client.get(path).status_code == 200
    assert db.session.scalar(select(func.count(User.id))) == 1


def test_verification_links_tampered_expired_and_resent(
    app: Flask,
    customer: User,
    browser: FlaskClient,
    smtp: SmtpServer,
) -> None:
    with frozen(T0):
        token = verify.VERIFY.token(customer)
    tampered = browser.get(f"/email/verify/x{token}")
    assert tampered.status_code == 404 and NOT_VALID in text(tampered)
    with frozen(T0 + timedelta(days=8)):
        expired = browser.get(f"/email/verify/{token}")
    assert expired.status_code == 410 and EXPIRED in text(expired)
    assert 'href="/account"' in text(expired)
    assert "Not confirmed yet" in text(browser.get("/account"))
    response = browser.post("/account/verify", headers=HTMX)
    assert f"We've sent a new link to {customer.email}" in text(response)
    run_jobs(app)
    assert browser.get(link_in(smtp, customer.email, "/email/verify")).status_code == 303
    assert "Confirmed" in text(browser.get("/account"))


# --- claiming an account made for someone --------------------------------------------------------


def test_an_account_made_for_someone_is_claimed_by_its_link(
    app: Flask,
    make: Factory,
    smtp: SmtpServer,
) -> None:
    from support.auth import accounts

    user = accounts.create_user(email="by-mail@example.com", name="Mo Mail", password=None)
    verify.send_claim_link(user)
    run_jobs(app)
    path = link_in(smtp, "by-mail@example.com", "/welcome")
    client = app.test_client()
    assert "Choose a password" in text(client.get(path))
    weak = client.post(path, data={"password": "short", "confirm": "short"})
    assert weak.status_code == 422
    response = client.post(path, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert response.status_code == 303
    assert signed_in(client)
    db.session.refresh(user)
    assert user.email_verified_at is not None
    log_in(app, user, NEW_PASSWORD)
    again = app.test_client().get(path)
    assert again.status_code == 410 and USED in text(again)
