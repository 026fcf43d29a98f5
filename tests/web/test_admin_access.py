"""/admin: one rule for every page of every admin blueprint (support.admin.access).

The pages are found from the URL map, so a page or blueprint added under /admin
later is checked without this file changing.
"""

from __future__ import annotations

import re

import pytest
from flask import Flask

from support.admin import access

ADMIN_BLUEPRINTS = {
    "admin",
    "people_admin",
    "routing_admin",
    "triage_admin",
    "operations",
    "webhooks_admin",
    "privacy_admin",
    "mail_admin",
}


def admin_urls(app: Flask) -> list[tuple[str, str, str]]:
    """(endpoint, method, path) for every admin route, with sample values in its arguments."""
    found = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/admin"):
            continue
        path = re.sub(
            r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>",
            lambda m: "1" if m.group(1) == "int" else "normal",
            rule.rule,
        )
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            found.append((rule.endpoint, method, path))
    return found


def test_every_admin_url_belongs_to_a_guarded_blueprint(app) -> None:
    blueprints = {endpoint.split(".")[0] for endpoint, _, _ in admin_urls(app)}
    assert blueprints == ADMIN_BLUEPRINTS
    for name in blueprints:
        assert access._admins_only in app.before_request_funcs.get(name, []), name


def test_anonymous_visitors_are_sent_to_log_in(app, client) -> None:
    for endpoint, method, path in admin_urls(app):
        response = client.open(path, method=method)
        assert response.status_code == 302, (endpoint, method)
        assert "/login" in response.headers["Location"], (endpoint, method)


@pytest.mark.parametrize("role", ["customer", "agent"])
def test_customers_and_agents_are_refused_everywhere(app, client, auth, make, role) -> None:
    auth.login(make.customer() if role == "customer" else make.agent())
    for endpoint, method, path in admin_urls(app):
        assert client.open(path, method=method).status_code == 403, (endpoint, method)


def test_admins_see_every_admin_page(app, client, auth, make) -> None:
    auth.login(make.admin())
    pages = [
        (endpoint, path)
        for endpoint, method, path in admin_urls(app)
        if method == "GET" and "normal" not in path and "/1" not in path
    ]
    assert len(pages) >= 6  # the index, canned responses, people, SLA, triage, routing, jobs ...
    for endpoint, path in pages:
        assert client.get(path).status_code == 200, endpoint


def test_options_is_answered_without_an_error_or_data(app, client) -> None:
    """Flask answers OPTIONS itself (the allowed methods); the guard must not turn it into a
    500 for anonymous visitors (it once did on the admin index)."""
    for endpoint, _, path in admin_urls(app):
        response = client.options(path)
        assert response.status_code == 200, endpoint
        assert response.data == b"", endpoint
