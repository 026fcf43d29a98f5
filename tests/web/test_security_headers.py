"""Security headers on every response: a CSP that allows only our own scripts and styles."""

from __future__ import annotations

import json
import re
from pathlib import Path

from flask.testing import FlaskClient
from sqlalchemy import select

from support.extensions import db
from support.models import Attachment
from support.security import CONTENT_SECURITY_POLICY
from tests.conftest import Auth, close_database, make_app
from tests.factories import Factory
from tests.web.portal import PNG, file_ticket

ROOT = Path(__file__).resolve().parents[2]
HTMX = {"HX-Request": "true"}


def assert_protected(response) -> None:
    assert response.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["X-Frame-Options"] == "DENY"


def test_policy_allows_only_our_own_scripts_and_styles() -> None:
    directives = dict(part.strip().split(" ", 1) for part in CONTENT_SECURITY_POLICY.split(";"))
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    assert "unsafe" not in CONTENT_SECURITY_POLICY


def test_pages_errors_fragments_and_static_files_carry_the_headers(
    client: FlaskClient, make: Factory, auth: Auth
) -> None:
    for url in ("/", "/login", "/kb/", "/no-such-page", "/healthz", "/static/css/app.css"):
        response = client.get(url)
        assert_protected(response)
        response.close()
    assert_protected(client.get("/kb/search?q=refund", headers=HTMX))
    agent = make.agent()
    auth.login(agent)
    assert_protected(client.get("/board"))


def test_no_hsts_outside_production(client: FlaskClient) -> None:
    assert "Strict-Transport-Security" not in client.get("/").headers


def test_hsts_in_production(tmp_path: Path, redis_url: str) -> None:
    app = make_app(tmp_path, redis_url, SUPPORT_ENV="production")
    try:
        response = app.test_client().get("/login")
        assert response.headers["Strict-Transport-Security"].startswith("max-age=31536000")
        assert_protected(response)
    finally:
        with app.app_context():
            close_database()


def test_attachment_downloads_keep_their_stricter_policy(
    client: FlaskClient, make: Factory, auth: Auth
) -> None:
    auth.login(make.customer())
    file_ticket(client, files=[(PNG, "receipt.png")])
    attachment = db.session.scalars(select(Attachment)).one()
    ref = attachment.ticket.ref
    response = client.get(f"/tickets/{ref}/attachments/{attachment.id}/receipt.png")
    assert response.headers["Content-Security-Policy"] == "default-src 'none'; sandbox"
    assert response.headers["X-Frame-Options"] == "DENY"
    response.close()


def test_templates_and_scripts_have_nothing_inline_the_policy_would_block() -> None:
    inline = re.compile(
        r"<script(?![^>]*\bsrc=)[^>]*>|<style\b|\sstyle=|\son[a-z]+=|hx-on|javascript:|js:",
        re.IGNORECASE,
    )
    for path in sorted((ROOT / "templates").rglob("*.html")):
        if path.parent.name == "emails":
            continue  # never served as a page: email clients need inline styles (see below)
        found = inline.findall(path.read_text())
        assert not found, f"{path.relative_to(ROOT)} has inline code or style: {found}"
    for path in sorted((ROOT / "static" / "js").glob("*.js")):
        text = path.read_text()
        for banned in ("eval(", "new Function", 'setAttribute("style"', "setAttribute('style'"):
            assert banned not in text, f"{path.relative_to(ROOT)} uses {banned}"


def test_email_templates_have_no_scripts_handlers_or_remote_content() -> None:
    banned = re.compile(
        r"<script|<iframe|<object|<embed|<link\b|<img\b|\son[a-z]+=|javascript:|url\(|@import",
        re.IGNORECASE,
    )
    for path in sorted((ROOT / "templates" / "emails").glob("*.html")):
        found = banned.findall(path.read_text())
        assert not found, f"{path.relative_to(ROOT)} loads or runs something: {found}"


def test_htmx_does_not_inject_its_indicator_style() -> None:
    base = (ROOT / "templates" / "base.html").read_text()
    match = re.search(r"<meta name=\"htmx-config\" content='([^']*)'>", base)
    assert match
    assert json.loads(match.group(1))["includeIndicatorStyles"] is False
    css = (ROOT / "static" / "css" / "app.css").read_text()
    assert ".htmx-request .htmx-indicator" in css
