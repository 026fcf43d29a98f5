"""/account/tokens: agents and admins make personal API tokens, see each secret once,
and revoke them; customers and strangers can't."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select, text

from support import clock
from support.api import tokens
from support.extensions import db
from support.models import ApiToken, TokenScope, User
from tests.conftest import Auth, make_app, running
from tests.factories import Factory

PAGE = "/account/tokens"
SECRET = re.compile(r"sd_[A-Za-z0-9_-]{40}")


@pytest.fixture
def agent(make: Factory, auth: Auth) -> User:
    user = make.agent()
    auth.login(user)
    return user


def create(client: FlaskClient, **data: str):
    form = {"name": "Nightly report", "scope": "read", "expiry": "never", **data}
    return client.post(PAGE, data=form)


def secret_in(html: str) -> str:
    found = SECRET.findall(html)
    assert len(set(found)) == 1, found
    return found[0]


def stored() -> list[ApiToken]:
    return list(db.session.scalars(select(ApiToken)))


def test_an_agent_sees_a_new_token_once_and_only_its_hash_is_stored(
    client: FlaskClient, agent: User
) -> None:
    response = create(client)
    assert response.status_code == 200
    assert "it will not be shown again" in response.text
    secret = secret_in(response.text)

    [token] = stored()
    assert token.user_id == agent.id
    assert token.name == "Nightly report"
    assert token.token_hash == tokens.digest(secret)
    assert token.prefix == secret[: tokens.SHOWN_PREFIX]
    # Not in any column of any row: only the hash and the first characters are kept.
    for row in db.session.execute(text("SELECT * FROM api_tokens")):
        assert not any(secret in str(value) for value in row)

    again = client.get(PAGE)
    assert again.status_code == 200
    assert secret not in again.text
    assert not SECRET.search(again.text)
    assert f"{token.prefix}…" in again.text
    assert "Nightly report" in again.text
    assert "never used" in again.text


def test_the_new_token_authenticates(client: FlaskClient, agent: User) -> None:
    secret = secret_in(create(client).text)
    token = tokens.authenticate("Bearer " + secret)
    assert token.user_id == agent.id
    assert "never used" not in client.get(PAGE).text


def test_the_secret_is_in_no_session_cookie_redirect_or_cache(
    client: FlaskClient, agent: User
) -> None:
    response = create(client)
    secret = secret_in(response.text)
    assert "no-store" in response.headers["Cache-Control"]
    assert "Location" not in response.headers
    assert all(secret not in value for _, value in response.headers.items())
    with client.session_transaction() as session:
        assert secret not in repr(dict(session))


@pytest.mark.parametrize(
    ("scope", "expiry", "days"),
    [("read", "never", None), ("write", "30", 30), ("read", "90", 90), ("write", "365", 365)],
)
def test_scope_and_expiry_are_stored(
    client: FlaskClient, agent: User, scope: str, expiry: str, days: int | None
) -> None:
    now = clock.now().replace(microsecond=0)
    clock.freeze(now)
    try:
        assert create(client, scope=scope, expiry=expiry).status_code == 200
    finally:
        clock.freeze(None)
    [token] = stored()
    assert token.scope == TokenScope(scope)
    assert token.expires_at == (now + timedelta(days=days) if days else None)
    page = client.get(PAGE).text
    assert token.scope.label in page
    assert ("never" if days is None else f"{token.expires_at.day} ") in page


def test_an_admin_has_tokens_too(client: FlaskClient, make: Factory, auth: Auth) -> None:
    auth.login(make.admin())
    assert client.get(PAGE).status_code == 200
    assert create(client).status_code == 200
    assert len(stored()) == 1


def test_the_page_lists_active_expired_and_revoked_tokens(client: FlaskClient, agent: User) -> None:
    empty = client.get(PAGE).text
    assert "You have no API tokens yet" in empty
    assert "/api/v1/docs" in empty
    tokens.create(agent, name="Current", scope=TokenScope.READ)
    old = tokens.create(agent, name="Old one", scope=TokenScope.WRITE, expires_at=clock.now())
    gone = tokens.create(agent, name="Gone", scope=TokenScope.READ).token
    tokens.revoke(gone)
    page = client.get(PAGE).text
    assert "You have no API tokens yet" not in page
    rows = {
        re.search(r'class="token-name">([^<]+)<', row).group(1): row
        for row in page.split('<li class="token-row')[1:]
    }
    assert list(rows) == ["Gone", "Old one", "Current"]  # newest first
    for name, status in (("Current", "Active"), ("Old one", "Expired"), ("Gone", "Revoked")):
        assert f">{status}<" in rows[name], name
    # Only the active one can be revoked.
    assert len(re.findall(r'action="/account/tokens/\d+/revoke"', page)) == 1
    assert f"/account/tokens/{old.token.id}/revoke" not in page


def test_revoke_stops_the_token(client: FlaskClient, agent: User) -> None:
    secret = secret_in(create(client).text)
    [token] = stored()
    response = client.post(f"{PAGE}/{token.id}/revoke")
    assert response.status_code == 303
    assert response.headers["Location"].endswith(PAGE)
    page = client.get(PAGE).text
    assert "is revoked" in page
    assert "Revoked" in page
    db.session.refresh(token)
    assert token.revoked_at is not None
    with pytest.raises(tokens.TokenRefused):
        tokens.authenticate("Bearer " + secret)


def test_revoke_with_htmx_answers_the_fragment(client: FlaskClient, agent: User) -> None:
    token = tokens.create(agent, name="Bot", scope=TokenScope.READ).token
    response = client.post(f"{PAGE}/{token.id}/revoke", headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert "<html" not in response.text
    assert 'id="tokens"' in response.text
    assert "“Bot” is revoked" in response.text


def test_create_with_htmx_answers_the_fragment_with_the_secret(
    client: FlaskClient, agent: User
) -> None:
    response = client.post(
        PAGE, data={"name": "Bot", "scope": "write", "expiry": "30"}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 200
    assert "<html" not in response.text
    assert "no-store" in response.headers["Cache-Control"]
    assert tokens.authenticate("Bearer " + secret_in(response.text)).name == "Bot"


def test_another_agent_cannot_revoke_or_see_it(
    client: FlaskClient, make: Factory, auth: Auth
) -> None:
    owner = make.agent()
    token = tokens.create(owner, name="Owner's bot", scope=TokenScope.WRITE).token
    auth.login(make.agent())
    assert client.post(f"{PAGE}/{token.id}/revoke").status_code == 404
    assert client.post(f"{PAGE}/{token.id + 1000}/revoke").status_code == 404
    assert "Owner's bot" not in client.get(PAGE).text
    db.session.refresh(token)
    assert token.revoked_at is None


def test_a_customer_gets_403_and_cannot_create(
    client: FlaskClient, make: Factory, auth: Auth
) -> None:
    auth.login(make.customer())
    page = client.get(PAGE)
    assert page.status_code == 403
    assert "This page is not for your account" in page.text
    assert create(client).status_code == 403
    assert stored() == []
    assert "API tokens" not in client.get("/tickets/").text


def test_agents_find_the_page_from_my_account(client: FlaskClient, agent: User) -> None:
    assert 'href="/account"' in client.get("/board").text
    assert f'href="{PAGE}"' in client.get("/account").text


@pytest.mark.parametrize(
    ("method", "path"), [("GET", PAGE), ("POST", PAGE), ("POST", f"{PAGE}/1/revoke")]
)
def test_signed_out_visitors_are_sent_to_log_in(
    client: FlaskClient, method: str, path: str
) -> None:
    response = client.open(path, method=method)
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


@pytest.mark.parametrize(
    ("name", "error"),
    [("", "Give the token a name."), ("   ", "Give the token a name."), ("x" * 81, "at most 80")],
)
def test_a_bad_name_is_explained_next_to_the_field(
    client: FlaskClient, agent: User, name: str, error: str
) -> None:
    response = create(client, name=name)
    assert response.status_code == 422
    assert re.search(rf'id="name-error"[^>]*>[^<]*{error}', response.text)
    assert 'aria-invalid="true"' in response.text
    assert stored() == []
    assert not SECRET.search(response.text)


def test_a_name_of_80_characters_is_fine(client: FlaskClient, agent: User) -> None:
    assert create(client, name="x" * 80).status_code == 200
    assert stored()[0].name == "x" * 80


@pytest.mark.parametrize(("field", "value"), [("scope", "admin"), ("expiry", "forever")])
def test_an_unknown_choice_is_refused(
    client: FlaskClient, agent: User, field: str, value: str
) -> None:
    assert create(client, **{field: value}).status_code == 422
    assert stored() == []


# --- CSRF --------------------------------------------------------------------------------


@pytest.fixture
def csrf_app(tmp_path: Path, redis_url: str) -> Iterator[Flask]:
    with running(make_app(tmp_path, redis_url, WTF_CSRF_ENABLED=True)) as app:
        yield app


def test_csrf_is_enforced(csrf_app: Flask) -> None:
    from tests.web.test_csrf import EXPIRED, log_in, page_token

    client = csrf_app.test_client()
    agent = Factory().agent()
    log_in(client, agent)
    token = tokens.create(agent, name="Bot", scope=TokenScope.READ).token
    count = db.session.scalar(select(func.count(ApiToken.id)))

    refused = client.post(PAGE, data={"name": "No token", "scope": "read", "expiry": "never"})
    assert refused.status_code == 400
    assert EXPIRED in refused.text
    assert client.post(f"{PAGE}/{token.id}/revoke").status_code == 400
    assert db.session.scalar(select(func.count(ApiToken.id))) == count
    db.session.refresh(token)
    assert token.revoked_at is None

    csrf = page_token(client, PAGE)
    made = client.post(
        PAGE, data={"name": "With token", "scope": "read", "expiry": "never", "csrf_token": csrf}
    )
    assert made.status_code == 200
    revoked = client.post(f"{PAGE}/{token.id}/revoke", data={"csrf_token": csrf})
    assert revoked.status_code == 303
