"""Session and remember-me cookies: Secure in production (behind HTTPS), HttpOnly always."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest

from tests.conftest import make_app, running
from tests.factories import PASSWORD, Factory


def login_cookies(tmp_path: Path, redis_url: str, env: str) -> dict[str, str]:
    """Sign in with "keep me signed in" on an app for `env`: each cookie's Set-Cookie line."""
    app = make_app(tmp_path, redis_url, SUPPORT_ENV=env, SECRET_KEY=secrets.token_urlsafe(48))
    with running(app):
        agent = Factory().agent()
        response = app.test_client().post(
            "/login",
            data={"email": agent.email, "password": PASSWORD, "remember": "y"},
            base_url="https://localhost" if env == "production" else "http://localhost",
        )
        assert response.status_code == 303
        lines = response.headers.getlist("Set-Cookie")
    return {line.split("=", 1)[0]: line for line in lines}


def attributes(line: str) -> set[str]:
    return {part.strip().split("=", 1)[0].lower() for part in line.split(";")[1:]}


def test_production_cookies_are_secure_and_http_only(tmp_path: Path, redis_url: str) -> None:
    cookies = login_cookies(tmp_path, redis_url, "production")
    assert {"session", "remember_token"} <= set(cookies)
    for name in ("session", "remember_token"):
        assert {"secure", "httponly", "samesite"} <= attributes(cookies[name]), cookies[name]
        assert "SameSite=Lax" in cookies[name]


@pytest.mark.parametrize("env", ["development", "testing"])
def test_development_cookies_are_not_secure(tmp_path: Path, redis_url: str, env: str) -> None:
    """A laptop serves plain http://127.0.0.1: a Secure cookie would never come back."""
    cookies = login_cookies(tmp_path, redis_url, env)
    for name in ("session", "remember_token"):
        assert "secure" not in attributes(cookies[name]), cookies[name]
        assert "httponly" in attributes(cookies[name])
