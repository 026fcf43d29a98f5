"""CSRF: a POST without a valid token is refused with a page that keeps what was typed."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from werkzeug.routing import IntegerConverter

from support.extensions import csrf, db
from support.models import Status, Ticket, User
from support.tickets import service
from tests.conftest import make_app, running
from tests.factories import PASSWORD, Factory

EXPIRED = "This form has expired"


@pytest.fixture
def app(tmp_path: Path, redis_url: str) -> Iterator[Flask]:
    """The real app with CSRF protection on (the shared fixture turns it off);
    the shared `client` and `make` fixtures use this one."""
    with running(make_app(tmp_path, redis_url, WTF_CSRF_ENABLED=True)) as app:
        yield app


def page_token(client: FlaskClient, path: str = "/login") -> str:
    """The token the page gives htmx (in <body hx-headers>) and its forms."""
    html = client.get(path).text
    header = re.search(r'hx-headers=\'\{"X-CSRFToken": "([^"]+)"\}\'', html)
    assert header, "every page hands htmx its CSRF token"
    return header.group(1)


def log_in(client: FlaskClient, user: User) -> str:
    """Log in through the real form; returns the token the login page carried."""
    token = page_token(client)
    response = client.post(
        "/login", data={"email": user.email, "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 303
    return token


@pytest.fixture
def owner(client: FlaskClient, make: Factory) -> User:
    user = make.customer()
    log_in(client, user)
    return user


@pytest.fixture
def ticket(make: Factory, owner: User) -> Ticket:
    return make.ticket(owner)


def tickets() -> int:
    return db.session.scalar(select(func.count(Ticket.id)))


# --- anonymous forms ---------------------------------------------------------------------


def test_login_without_token_is_refused_and_keeps_the_email(
    client: FlaskClient, make: Factory
) -> None:
    user = make.customer()
    response = client.post("/login", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 400
    assert EXPIRED in response.text
    assert user.email in response.text
    assert PASSWORD not in response.text
    assert client.get("/tickets/").status_code == 302


def test_register_without_token_keeps_name_and_email_but_not_passwords(
    client: FlaskClient,
) -> None:
    response = client.post(
        "/register",
        data={
            "name": "Casey Typed-This",
            "email": "casey@example.com",
            "password": "secret words here",
            "confirm": "secret words here",
        },
    )
    assert response.status_code == 400
    assert EXPIRED in response.text
    assert "Casey Typed-This" in response.text
    assert "casey@example.com" in response.text
    assert "secret words here" not in response.text
    assert db.session.scalar(select(func.count(User.id))) == 0


def test_login_with_form_token_succeeds(client: FlaskClient, make: Factory) -> None:
    log_in(client, make.customer())
    assert client.get("/tickets/").status_code == 200


def test_token_from_another_session_is_refused(
    app: Flask, client: FlaskClient, make: Factory
) -> None:
    user = make.customer()
    stranger_token = page_token(app.test_client())
    page_token(client)
    response = client.post(
        "/login", data={"email": user.email, "password": PASSWORD, "csrf_token": stranger_token}
    )
    assert response.status_code == 400


def test_garbage_token_is_refused(client: FlaskClient, make: Factory) -> None:
    user = make.customer()
    page_token(client)
    response = client.post(
        "/login", data={"email": user.email, "password": PASSWORD}, headers={"X-CSRFToken": "x"}
    )
    assert response.status_code == 400


# --- the customer's forms ----------------------------------------------------------------

# (path, form data, the text the error page must show back)
OWNER_POSTS = [
    (
        "/tickets/new",
        {"subject": "Typed subject", "description": "A long typed story", "impact": "just_me"},
        ["Typed subject", "A long typed story"],
    ),
    ("/tickets/{ref}/reply", {"body": "My typed reply"}, ["My typed reply"]),
    ("/tickets/{ref}/resolve", {}, []),
    ("/tickets/{ref}/reopen", {}, []),
    ("/tickets/{ref}/rating", {"score": "4", "comment": "Typed comment"}, ["Typed comment"]),
    ("/logout", {}, []),
]
OWNER_IDS = ["new", "reply", "resolve", "reopen", "rating", "logout"]


@pytest.mark.parametrize(("path", "data", "typed"), OWNER_POSTS, ids=OWNER_IDS)
def test_post_without_token_is_refused_and_shows_what_was_typed(
    client: FlaskClient, ticket: Ticket, path: str, data: dict, typed: list[str]
) -> None:
    version = ticket.version
    response = client.post(path.format(ref=ticket.ref), data=data)
    assert response.status_code == 400
    assert EXPIRED in response.text
    assert "Traceback" not in response.text
    for text in typed:
        assert text in response.text
    db.session.refresh(ticket)
    assert ticket.version == version
    assert tickets() == 1
    assert client.get("/tickets/").status_code == 200  # still logged in


@pytest.mark.parametrize(("path", "data", "typed"), OWNER_POSTS, ids=OWNER_IDS)
def test_htmx_post_without_token_gets_a_short_toast(
    client: FlaskClient, ticket: Ticket, path: str, data: dict, typed: list[str]
) -> None:
    response = client.post(path.format(ref=ticket.ref), data=data, headers={"HX-Request": "true"})
    assert response.status_code == 400
    assert EXPIRED in response.text
    assert "<html" not in response.text


@pytest.mark.parametrize(("path", "data", "typed"), OWNER_POSTS, ids=OWNER_IDS)
def test_post_with_htmx_header_token_succeeds(
    client: FlaskClient, ticket: Ticket, path: str, data: dict, typed: list[str]
) -> None:
    token = page_token(client, f"/tickets/{ticket.ref}")
    if path.endswith("/rating"):
        service.resolve_by_customer(ticket, customer=ticket.customer)
    response = client.post(
        path.format(ref=ticket.ref),
        data=data,
        headers={"X-CSRFToken": token, "HX-Request": "true"},
    )
    assert response.status_code in (200, 204)


def test_filing_with_header_token_creates_the_ticket(client: FlaskClient, owner: User) -> None:
    token = page_token(client, "/tickets/new")
    response = client.post(
        "/tickets/new",
        data={"subject": "S", "description": "D", "impact": "just_me"},
        headers={"X-CSRFToken": token},
    )
    assert response.status_code == 303
    assert tickets() == 1


def test_resolve_with_form_token_from_the_page(client: FlaskClient, ticket: Ticket) -> None:
    html = client.get(f"/tickets/{ticket.ref}").text
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)
    response = client.post(f"/tickets/{ticket.ref}/resolve", data={"csrf_token": token})
    assert response.status_code == 303
    assert ticket.status == Status.RESOLVED


def test_a_form_from_before_signing_out_has_expired(
    client: FlaskClient, owner: User, ticket: Ticket
) -> None:
    # A page left open while someone signs out, then in again, must not post for them.
    before = page_token(client, f"/tickets/{ticket.ref}")
    client.post("/logout", data={"csrf_token": before})
    log_in(client, owner)
    response = client.post(f"/tickets/{ticket.ref}/resolve", data={"csrf_token": before})
    assert response.status_code == 400
    assert EXPIRED in response.text
    assert ticket.status != Status.RESOLVED
    fresh = page_token(client, f"/tickets/{ticket.ref}")
    assert fresh != before
    response = client.post(f"/tickets/{ticket.ref}/resolve", data={"csrf_token": fresh})
    assert response.status_code == 303


def test_typed_text_on_the_expired_page_is_escaped(client: FlaskClient, owner: User) -> None:
    response = client.post(
        "/tickets/new", data={"subject": "<script>alert(1)</script>", "description": "d"}
    )
    assert response.status_code == 400
    assert "<script>alert(1)" not in response.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in response.text


def test_pages_carry_tokens_for_forms_and_htmx(client: FlaskClient, ticket: Ticket) -> None:
    html = client.get(f"/tickets/{ticket.ref}").text
    forms = html.count("<form ")
    assert forms >= 3  # log out, reply, resolve
    assert html.count('name="csrf_token"') >= forms
    assert 'hx-headers=\'{"X-CSRFToken": "' in html


# --- every POST route the app has --------------------------------------------------------


def _example_url(app: Flask, rule, ref: str) -> str:
    values = {}
    for name in rule.arguments:
        converter = rule._converters[name]
        values[name] = 1 if isinstance(converter, IntegerConverter) else ref
    return app.url_map.bind("localhost").build(rule.endpoint, values, method="POST")


def _exempt(app: Flask, endpoint: str) -> bool:
    view = app.view_functions[endpoint]
    blueprint = endpoint.rsplit(".", 1)[0] if "." in endpoint else None
    return f"{view.__module__}.{view.__name__}" in csrf._exempt_views or blueprint in {
        exempt.name for exempt in csrf._exempt_blueprints
    }


def test_every_post_route_requires_a_token(app: Flask, client: FlaskClient, ticket: Ticket) -> None:
    rules = [r for r in app.url_map.iter_rules() if "POST" in (r.methods or ())]
    assert len(rules) >= 8
    refused = []
    for rule in rules:
        if _exempt(app, rule.endpoint):
            continue
        response = client.post(_example_url(app, rule, ticket.ref), data={"typed": "Words I typed"})
        if response.status_code == 400 and EXPIRED in response.text:
            assert "Words I typed" in response.text, rule.rule
        else:
            refused.append((rule.rule, response.status_code))
    assert refused == []


def test_portal_and_account_forms_are_not_exempt(app: Flask) -> None:
    for endpoint in app.view_functions:
        if endpoint.startswith(("portal.", "auth.")):
            assert not _exempt(app, endpoint), endpoint
