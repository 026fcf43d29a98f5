# ruff: noqa: F811  (the app and run_jobs fixtures are imported: parameters shadow them)
"""/account and the links by email behind it: verify an address after registering, claim
an account made for someone, change the email (link to the new address, notice to the
old), change the password, time zone, notification emails, sign out everywhere.

Emails go through the real outbox, a real RQ worker (burst) and a real SMTP server."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from support import clock
from support.auth import verify
from support.extensions import db
from support.models import EmailKind, Notification, OutboxMessage, Status, User
from support.tickets import service
from tests.factories import PASSWORD, Factory
from tests.smtp import SmtpServer, text_part
from tests.web.test_password_reset import app, run_jobs  # noqa: F401 (fixtures)

HTMX = {"HX-Request": "true"}
NEW_PASSWORD = "violet kettle orbit"
T0 = datetime(2032, 3, 1, 9, 0)
USED = "This link has already been used"
NOT_VALID = "This link is not valid"
EXPIRED = "This link has expired"


@contextmanager
def frozen(at: datetime) -> Iterator[None]:
    clock.freeze(at)
    try:
        yield
    finally:
        clock.freeze(None)


def text(response) -> str:
    """What the page says (entities such as &#39; decoded)."""
    return html.unescape(response.text)


def link_in(smtp: SmtpServer, address: str, path: str) -> str:
    """The path of our link in the last email `address` received."""
    mails = smtp.mailbox.to(address)
    assert mails, f"no email to {address}"
    found = re.search(rf"http://support\.test({path}/\S+)", text_part(mails[-1]))
    assert found, text_part(mails[-1])
    return found.group(1)


def log_in(app: Flask, user: User, password: str = PASSWORD) -> FlaskClient:
    client = app.test_client()
    response = client.post("/login", data={"email": user.email, "password": password})
    assert response.status_code == 303
    return client


def signed_in(client: FlaskClient) -> bool:
    return client.get("/tickets/").status_code == 200


def outbox_to(address: str) -> list[OutboxMessage]:
    return list(
        db.session.scalars(select(OutboxMessage).where(OutboxMessage.to_address == address))
    )


@pytest.fixture
def customer(app: Flask, make: Factory) -> User:
    return make.customer(name="Casey Customer")


@pytest.fixture
def browser(app: Flask, customer: User) -> FlaskClient:
    return log_in(app, customer)


# --- the page ------------------------------------------------------------------------------


def test_every_signed_in_person_finds_my_account(app: Flask, make: Factory) -> None:
    for user in (make.customer(), make.agent()):
        client = log_in(app, user)
        assert 'href="/account"' in text(client.get("/tickets/", follow_redirects=True))
        page = client.get("/account")
        assert page.status_code == 200
        for heading in ("Name and time zone", "Email address", "Password", "Notifications"):
            assert heading in text(page)
        assert ("API tokens" in text(page)) == user.is_agent
        assert "Tickets escalated to your tier" in text(page) if user.is_agent else True


def test_signed_out_visitors_are_sent_to_log_in(client: FlaskClient) -> None:
    for method, path in [("GET", "/account"), ("POST", "/account/password")]:
        response = client.open(path, method=method)
        assert response.status_code == 302
        assert "/login" in response.location


def test_the_page_costs_the_same_queries_for_anyone(
    app: Flask,
    make: Factory,
    count_queries,
) -> None:
    agent = make.agent()
    for _ in range(5):
        make.ticket(make.customer())
    client = log_in(app, agent)
    with count_queries() as counter:
        assert client.get("/account").status_code == 200
    assert counter.count <= 4


# --- name and time zone --------------------------------------------------------------------


def test_name_and_time_zone_are_saved(browser: FlaskClient, customer: User) -> None:
    response = browser.post(
        "/account/profile", data={"profile-name": "Casey Q", "profile-time_zone": "Europe/Paris"}
    )
    assert response.status_code == 303
    assert response.location == "/account#profile"
    db.session.refresh(customer)
    assert (customer.name, customer.time_zone) == ("Casey Q", "Europe/Paris")
    assert "Times are now shown in Europe/Paris time" in text(browser.get("/account"))


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"profile-name": "  ", "profile-time_zone": "UTC"}, "Tell us what to call you."),
        ({"profile-name": "x" * 121, "profile-time_zone": "UTC"}, "Use at most 120 characters."),
        (
            {"profile-name": "Casey", "profile-time_zone": "Mars/Olympus_Mons"},
            "Choose a time zone from the list",
        ),
        (
            {"profile-name": "Casey", "profile-time_zone": "../../etc/passwd"},
            "Choose a time zone from the list",
        ),
        ({"profile-name": "Casey"}, "Choose a time zone from the list"),
    ],
)
def test_profile_errors_are_next_to_the_field(
    browser: FlaskClient, customer: User, fields: dict, message: str
) -> None:
    response = browser.post("/account/profile", data=fields)
    assert response.status_code == 422
    assert message in text(response)
    assert 'class="field-error"' in text(response)
    db.session.refresh(customer)
    assert customer.name == "Casey Customer" and customer.time_zone is None


def test_htmx_gets_just_the_section(browser: FlaskClient) -> None:
    bad = browser.post(
        "/account/profile", data={"profile-name": "", "profile-time_zone": "UTC"}, headers=HTMX
    )
    assert bad.status_code == 422
    assert bad.text.lstrip().startswith('<section class="settings-card" id="profile"')
    good = browser.post(
        "/account/profile",
        data={"profile-name": "Casey", "profile-time_zone": "Asia/Tokyo"},
        headers=HTMX,
    )
    assert good.status_code == 200
    assert "<html" not in text(good)
    assert "Times are now shown in Asia/Tokyo time" in text(good)


def test_times_on_pages_are_in_the_readers_zone_and_say_which(
    app: Flask,
    make: Factory,
    customer: User,
    browser: FlaskClient,
) -> None:
    with frozen(T0):  # 09:00 UTC in winter: 10:00 in Paris
        ticket = make.ticket(customer)
    page = browser.get(f"/tickets/{ticket.ref}").text
    assert "09:00 UTC" in page
    browser.post(
        "/account/profile", data={"profile-name": "Casey", "profile-time_zone": "Europe/Paris"}
    )
    page = browser.get(f"/tickets/{ticket.ref}").text
    assert "10:00 CET (Europe/Paris)" in page
    assert "09:00 UTC" not in page


def test_the_default_zone_is_a_setting(app: Flask, make: Factory, customer: User, browser) -> None:
    app.config["DEFAULT_TIME_ZONE"] = "America/New_York"
    with frozen(T0):
        ticket = make.ticket(customer)
    assert "04:00 EST (America/New_York)" in text(browser.get(f"/tickets/{ticket.ref}"))


def test_emails_show_times_in_the_recipients_zone(
    app: Flask,
    make: Factory,
    smtp: SmtpServer,
) -> None:
    customer = make.customer()
    customer.time_zone = "Asia/Kolkata"
    db.session.commit()
    with frozen(T0):  # the drain sends what is due by the clock: run it at T0 too
        ticket = make.ticket(customer)
        run_jobs(app)
    [ack] = smtp.mailbox.to(customer.email)
    due = ticket.first_response_due
    expected = due + timedelta(hours=5, minutes=30)
    assert f"{expected:%H:%M} IST (Asia/Kolkata)" in text_part(ack)
    assert "UTC" not in text_part(ack)


# --- password --------------------------------------------------------------------------------


def change_password(client: FlaskClient, current: str = PASSWORD, new: str = NEW_PASSWORD, **kw):
    return client.post(
        "/account/password",
        data={"password-current": current, "password-password": new, "password-confirm": new},
        **kw,
    )


def test_changing_the_password_ends_every_other_session(
    app: Flask,
    customer: User,
    browser: FlaskClient,
) -> None:
    elsewhere = log_in(app, customer)
    response = change_password(browser)
    assert response.status_code == 303
    assert "Your password is changed" in text(browser.get("/account"))
    assert signed_in(browser)  # this browser stays signed in
    assert not signed_in(elsewhere)
    log_in(app, customer, NEW_PASSWORD)


@pytest.mark.parametrize(
    ("current", "new", "confirm", "message"),
    [
        ("wrong password here", NEW_PASSWORD, NEW_PASSWORD, "That isn't your current password."),
        ("", NEW_PASSWORD, NEW_PASSWORD, "Enter your current password."),
        (PASSWORD, "short", "short", "Use at least 10 characters."),
        (PASSWORD, NEW_PASSWORD, "something else entirely", "The two passwords don"),
    ],
)
def test_password_errors_change_nothing(
    app: Flask,
    customer: User,
    browser: FlaskClient,
    current,
    new,
    confirm,
    message,
) -> None:
    response = browser.post(
        "/account/password",
        data={"password-current": current, "password-password": new, "password-confirm": confirm},
    )
    assert response.status_code == 422
    assert message in text(response)
    assert NEW_PASSWORD not in text(response)
    log_in(app, customer)  # the old password still works


# --- sign out everywhere -----------------------------------------------------------------------


def test_sign_out_everywhere_keeps_only_this_browser(
    app: Flask,
    customer: User,
    browser: FlaskClient,
) -> None:
    phone, laptop = log_in(app, customer), log_in(app, customer)
    response = browser.post("/account/sessions", headers=HTMX)
    assert response.status_code == 200
    assert "every other browser and device is signed out" in text(response)
    assert signed_in(browser)
    assert not signed_in(phone) and not signed_in(laptop)


# --- notification emails ---------------------------------------------------------------------


def email_on(client: FlaskClient, kind: str) -> bool:
    box = re.search(rf'<input[^>]*name="notify-email_{kind}"[^>]*>', client.get("/account").text)
    assert box, kind
    return "checked" in box.group(0)


def test_turned_off_emails_are_not_sent_but_in_app_notices_still_come(
    app: Flask,
    make: Factory,
    customer: User,
    browser: FlaskClient,
    smtp: SmtpServer,
) -> None:
    assert email_on(browser, "reply")
    response = browser.post(
        "/account/notifications", data={"notify-email_event": "y", "notify-email_follow_up": "y"}
    )
    assert response.status_code == 303
    ticket = make.ticket(customer)  # the receipt can't be turned off
    agent = make.agent()
    service.reply(ticket, author=agent, body="We're on it.")  # a REPLY: turned off
    service.assign(ticket, actor=agent, assignee=None)
    service.change_status(ticket, Status.ON_HOLD, actor=agent)  # an EVENT: still on
    run_jobs(app)
    kinds = [m.kind for m in outbox_to(customer.email)]
    assert EmailKind.REPLY not in kinds
    assert EmailKind.ACK in kinds and EmailKind.EVENT in kinds
    assert len(smtp.mailbox.to(customer.email)) == len(kinds)
    notices = db.session.scalars(
        select(Notification.text).where(Notification.user_id == customer.id)
    )
    assert any("replied" in text for text in notices)
    assert not email_on(browser, "reply")
    assert email_on(browser, "event")


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


# --- CSRF ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/account/profile",
        "/account/email",
        "/account/password",
        "/account/notifications",
        "/account/sessions",
        "/account/verify",
    ],
)
def test_every_account_form_needs_its_csrf_token(
    app: Flask,
    customer: User,
    browser: FlaskClient,
    path: str,
) -> None:
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        response = browser.post(path, data={"profile-name": "Mallory", "profile-time_zone": "UTC"})
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    assert response.status_code == 400
    db.session.refresh(customer)
    assert customer.name == "Casey Customer"
    assert signed_in(browser)
