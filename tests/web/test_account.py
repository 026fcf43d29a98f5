# ruff: noqa: F811  (the app and run_jobs fixtures are imported: parameters shadow them)
"""/account: name and time zone, the password, notification emails, sign out everywhere,
and CSRF on every form (the links it sends by email: test_account_links.py).

Emails go through the real outbox, a real RQ worker (burst) and a real SMTP server."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from support.extensions import db
from support.models import EmailKind, Notification, Status, User
from support.tickets import service
from tests.factories import PASSWORD, Factory
from tests.smtp import SmtpServer, text_part
from tests.web.account import (  # noqa: F401 (fixtures)
    NEW_PASSWORD,
    browser,
    customer,
    frozen,
    log_in,
    outbox_to,
    signed_in,
    text,
)
from tests.web.test_password_reset import app, run_jobs  # noqa: F401 (fixtures)

HTMX = {"HX-Request": "true"}
T0 = datetime(2032, 3, 1, 9, 0)


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
