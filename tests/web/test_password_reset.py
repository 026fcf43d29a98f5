"""Forgot password: the same answer for every address, an email with a signed link that
works once for an hour, and every other session ended when it is used.

The emails go through the real outbox, a real RQ worker (burst) and a real SMTP server."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from rq import SimpleWorker
from sqlalchemy import select

from support import clock
from support.auth import reset
from support.extensions import db
from support.jobs import queue
from support.jobs.redis import connection
from support.models import EmailKind, OutboxMessage, User
from support.survey.tokens import _serializer as survey_serializer
from tests.conftest import make_app, running
from tests.factories import PASSWORD, Factory
from tests.smtp import SmtpServer, text_part

HTMX = {"HX-Request": "true"}
NEW_PASSWORD = "violet kettle orbit"
SENT = "If an account exists for that address, we've sent it a link"
NOT_VALID = "This link is not valid"
EXPIRED = "This link has expired — ask for a new one"
USED = "This link has already been used"
T0 = datetime(2032, 3, 1, 9, 0)


@pytest.fixture
def app(tmp_path: Path, redis_url: str, smtp: SmtpServer) -> Iterator[Flask]:
    app = make_app(
        tmp_path,
        redis_url,
        **smtp.settings,
        BASE_URL="http://support.test",
    )
    with running(app):
        yield app
        redis = connection(app)
        for key in redis.scan_iter(f"rq:*{app.config['RQ_QUEUE']}*"):
            redis.delete(key)


def run_jobs(app: Flask) -> None:
    worker = SimpleWorker([queue.queue(app)], connection=connection(app))
    worker.work(burst=True, with_scheduler=False, logging_level="WARNING")
    db.session.expire_all()


def ask(client: FlaskClient, email: str, **kwargs):
    return client.post("/password/reset", data={"email": email}, **kwargs)


def link_in(smtp: SmtpServer, address: str) -> str:
    """The path of the reset link in the one email `address` received."""
    [mail] = smtp.mailbox.to(address)
    found = re.search(r"http://support\.test(/password/reset/\S+)", text_part(mail))
    assert found, text_part(mail)
    return found.group(1)


def choose(client: FlaskClient, path: str, password: str = NEW_PASSWORD, **kwargs):
    return client.post(path, data={"password": password, "confirm": password}, **kwargs)


def is_logged_in(client: FlaskClient) -> bool:
    return client.get("/tickets/").status_code == 200


def can_log_in(app: Flask, user: User, password: str) -> bool:
    response = app.test_client().post("/login", data={"email": user.email, "password": password})
    return response.status_code == 303


# --- asking for a link --------------------------------------------------------------------


def test_the_login_page_links_to_the_form(client: FlaskClient) -> None:
    assert 'href="/password/reset"' in client.get("/login").text
    page = client.get("/password/reset")
    assert page.status_code == 200
    assert "Forgot your password?" in page.text
    assert 'name="email"' in page.text


def test_the_same_answer_whether_or_not_the_address_has_an_account(
    app: Flask, client: FlaskClient, make: Factory, smtp: SmtpServer
) -> None:
    user = make.customer()
    known = ask(client, user.email)
    unknown = ask(client, "nobody@example.com")
    assert known.status_code == unknown.status_code == 303
    assert known.headers["Location"] == unknown.headers["Location"] == "/password/reset?sent=1"
    assert known.get_data() == unknown.get_data()
    page = client.get(known.headers["Location"])
    assert SENT in page.text
    assert "1 hour" in page.text
    assert user.email not in page.text

    run_jobs(app)
    [mail] = smtp.mailbox.messages
    assert mail["To"] == user.email
    assert mail["Subject"] == "Reset your Support Desk password"
    assert mail["Auto-Submitted"] == "auto-generated"
    assert "works once, for 1 hour" in text_part(mail)
    assert mail.get_body(("html",)) is not None
    [row] = db.session.scalars(select(OutboxMessage)).all()
    assert row.kind == EmailKind.ACCOUNT


def test_other_spellings_of_the_address_find_the_account(
    app: Flask, client: FlaskClient, make: Factory, smtp: SmtpServer
) -> None:
    user = make.customer()
    ask(client, f"  {user.email.upper()} ")
    run_jobs(app)
    assert len(smtp.mailbox.to(user.email)) == 1


def test_no_email_for_an_unknown_or_deactivated_account(
    app: Flask, client: FlaskClient, make: Factory, smtp: SmtpServer
) -> None:
    gone = make.customer()
    gone.is_active = False
    db.session.commit()
    assert ask(client, gone.email).status_code == 303
    assert ask(client, "nobody@example.com").status_code == 303
    run_jobs(app)
    assert smtp.mailbox.messages == []
    assert db.session.scalars(select(OutboxMessage)).all() == []


def test_a_malformed_address_gets_a_field_error(client: FlaskClient) -> None:
    response = ask(client, "not-an-address")
    assert response.status_code == 422
    assert "Enter an email address like name@example.com." in response.text
    htmx = ask(client, "", headers=HTMX)
    assert htmx.status_code == 422
    assert "<html" not in htmx.text
    assert "Enter your email address." in htmx.text


def test_htmx_is_sent_to_the_answer_page(client: FlaskClient, make: Factory) -> None:
    response = ask(client, make.customer().email, headers=HTMX)
    assert response.status_code == 204
    assert response.headers["HX-Redirect"] == "/password/reset?sent=1"


def test_with_redis_down_the_email_is_still_written(
    app: Flask, client: FlaskClient, make: Factory, monkeypatch
) -> None:
    """The request does the job's work itself; the sweep delivers the email later."""
    user = make.customer()
    monkeypatch.setattr(queue, "enqueue", lambda *args, **kwargs: False)
    assert ask(client, user.email).status_code == 303
    [row] = db.session.scalars(select(OutboxMessage)).all()
    assert row.to_address == user.email


def test_a_retried_job_sends_one_email(app: Flask, make: Factory) -> None:
    user = make.customer()
    assert reset.send_link(user.email, "same-nonce") is not None
    assert reset.send_link(user.email, "same-nonce") is None
    assert len(db.session.scalars(select(OutboxMessage)).all()) == 1


# --- using the link -----------------------------------------------------------------------


def test_the_link_sets_a_new_password_and_signs_in(
    app: Flask, client: FlaskClient, make: Factory, smtp: SmtpServer
) -> None:
    user = make.customer()
    ask(client, user.email)
    run_jobs(app)
    path = link_in(smtp, user.email)

    form = client.get(path)
    assert form.status_code == 200
    assert "Choose a new password" in form.text
    assert form.headers["Cache-Control"] == "no-store"
    response = choose(client, path)
    assert response.status_code == 303
    assert response.headers["Location"] == "/tickets/"
    assert "Your password is changed" in client.get("/tickets/").text
    assert is_logged_in(client)
    assert can_log_in(app, user, NEW_PASSWORD)
    assert not can_log_in(app, user, PASSWORD)


def test_a_link_works_once(app: Flask, client: FlaskClient, make: Factory) -> None:
    user = make.customer()
    path = f"/password/reset/{reset.token_for(user)}"
    assert choose(client, path).status_code == 303
    again = app.test_client()
    used = again.get(path)
    assert used.status_code == 410
    assert USED in used.text
    assert 'href="/password/reset"' in used.text
    # Posting the form again (a second tab) changes nothing and shows the same page.
    response = choose(again, path, "another fine password")
    assert response.status_code == 303
    assert response.headers["Location"] == path
    assert can_log_in(app, user, NEW_PASSWORD)


def test_any_password_change_makes_earlier_links_stale(app: Flask, make: Factory) -> None:
    user = make.customer()
    first, second = reset.token_for(user), reset.token_for(user)
    assert choose(app.test_client(), f"/password/reset/{second}").status_code == 303
    assert USED in app.test_client().get(f"/password/reset/{first}").text


def test_an_expired_link_says_so(app: Flask, client: FlaskClient, make: Factory) -> None:
    user = make.customer()
    try:
        clock.freeze(T0)
        path = f"/password/reset/{reset.token_for(user)}"
        clock.freeze(T0 + timedelta(minutes=59))
        assert client.get(path).status_code == 200
        clock.freeze(T0 + timedelta(minutes=61))
        response = client.get(path)
        assert response.status_code == 410
        assert EXPIRED in response.text
        assert 'href="/password/reset"' in response.text
        assert choose(client, path).status_code == 303  # back to the page that says so
    finally:
        clock.freeze(None)
    assert can_log_in(app, user, PASSWORD)


@pytest.mark.parametrize(
    "tamper",
    [
        lambda token: token[:-2] + ("AA" if not token.endswith("AA") else "BB"),
        lambda token: token.replace(".", ".x", 1),
        lambda token: "x" * 300,
        lambda token: token.split(".")[0],
    ],
)
def test_a_tampered_link_is_not_valid(app: Flask, client: FlaskClient, make: Factory, tamper):
    user = make.customer()
    bad = tamper(reset.token_for(user))
    response = client.get(f"/password/reset/{bad}")
    assert response.status_code == 404
    assert NOT_VALID in response.text
    assert choose(client, f"/password/reset/{bad}").status_code == 303
    assert can_log_in(app, user, PASSWORD)


def test_another_accounts_id_in_a_token_is_not_valid(app: Flask, make: Factory) -> None:
    """The payload is readable but signed: changing the id breaks the signature; a token
    signed for another purpose (a survey link) doesn't pass for a reset link either."""
    make.customer()
    victim = make.customer()
    forged = survey_serializer().dumps([victim.id, "0" * 32])
    assert app.test_client().get(f"/password/reset/{forged}").status_code == 404


def test_a_deactivated_accounts_link_does_not_work(
    app: Flask, client: FlaskClient, make: Factory
) -> None:
    user = make.customer()
    path = f"/password/reset/{reset.token_for(user)}"
    user.is_active = False
    db.session.commit()
    assert client.get(path).status_code == 404
    assert choose(client, path).status_code == 303
    db.session.refresh(user)
    assert user.check_password(PASSWORD)


def test_using_the_link_signs_out_every_other_session(
    app: Flask, client: FlaskClient, make: Factory
) -> None:
    user = make.customer()
    elsewhere = app.test_client()
    response = elsewhere.post(
        "/login", data={"email": user.email, "password": PASSWORD, "remember": "y"}
    )
    assert response.status_code == 303
    remembered = app.test_client()
    remembered.set_cookie("remember_token", elsewhere.get_cookie("remember_token").value)
    assert is_logged_in(elsewhere) and is_logged_in(remembered)

    assert choose(client, f"/password/reset/{reset.token_for(user)}").status_code == 303
    assert is_logged_in(client)
    assert not is_logged_in(elsewhere)
    assert not is_logged_in(remembered)


def test_the_browser_that_used_the_link_gets_a_fresh_session(
    app: Flask, client: FlaskClient, make: Factory
) -> None:
    """Someone else signed in on this browser before: afterwards it is the link's owner."""
    other = make.customer()
    client.post("/login", data={"email": other.email, "password": PASSWORD})
    user = make.customer()
    assert choose(client, f"/password/reset/{reset.token_for(user)}").status_code == 303
    assert f'title="{user.email}"' in client.get("/tickets/").text


@pytest.mark.parametrize(
    ("password", "confirm", "message"),
    [
        ("short", "short", "Use at least 10 characters."),
        ("password123", "password123", "too easy to guess"),
        (NEW_PASSWORD, "something else entirely", "The two passwords don't match."),
        ("", "", "Choose a password."),
    ],
)
def test_a_weak_password_gets_a_field_error(
    app: Flask, client: FlaskClient, make: Factory, password: str, confirm: str, message: str
) -> None:
    user = make.customer()
    path = f"/password/reset/{reset.token_for(user)}"
    response = client.post(path, data={"password": password, "confirm": confirm})
    assert response.status_code == 422
    assert message in html.unescape(response.text)
    assert 'class="field-error"' in response.text
    htmx = client.post(path, data={"password": password, "confirm": confirm}, headers=HTMX)
    assert htmx.status_code == 422
    assert "<html" not in htmx.text
    # Nothing changed: the link still works, the old password too.
    assert client.get(path).status_code == 200
    assert can_log_in(app, user, PASSWORD)


def test_the_email_in_the_password_is_refused(
    app: Flask, client: FlaskClient, make: Factory
) -> None:
    user = make.customer(email="marguerite@example.com")
    path = f"/password/reset/{reset.token_for(user)}"
    response = choose(client, path, "marguerite-2032!")
    assert response.status_code == 422
    assert "Don't use your email address" in html.unescape(response.text)
