"""Every route, sent the values that used to answer 500: huge numbers, digits that are
not ASCII ("²", "٣"), in path parts, query parameters and form fields, as an admin (who
reaches every page) and signed out. Each answer is a 4xx or a page, never a 5xx."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.routing import IntegerConverter

from tests.conftest import Auth
from tests.factories import Factory

ODD_VALUES = [str(2**70), "99999999999999999999", "²", "٣", "-1", "1.5", "x" * 300, "\u0000"]
QUERY_NAMES = [
    "team",
    "page",
    "q",
    "show_new",
    "show_open",
    "canned",
    "after",
    "before",
    "priority",
    "category",
    "role",
    "tag",
    "mine",
    "status",
    "limit",
    "cursor",
]
# Not the point here, and logging out would make the rest of the run anonymous.
SKIP = {"static", "auth.logout"}


def _urls(app: Flask, ref: str, odd: str) -> Iterator[tuple[str, str]]:
    """(method, url) for each route, its arguments filled with `odd` where they take it."""
    adapter = app.url_map.bind("localhost")
    for rule in app.url_map.iter_rules():
        if rule.endpoint in SKIP:
            continue
        values = {}
        for name in rule.arguments:
            converter = rule._converters[name]
            if isinstance(converter, IntegerConverter):
                values[name] = 2**31 - 1
            else:  # a real ticket, so the route gets as far as reading its parameters
                values[name] = ref if name == "ref" else odd
        try:
            path = adapter.build(rule.endpoint, values)
        except Exception:
            values = {
                n: (1 if isinstance(rule._converters[n], IntegerConverter) else ref)
                for n in rule.arguments
            }
            path = adapter.build(rule.endpoint, values)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            yield method, path


@pytest.fixture
def admin(make: Factory, auth: Auth):
    user = make.admin()
    auth.login(user)
    return user


@pytest.mark.parametrize("odd", ODD_VALUES)
def test_no_route_answers_500_to_odd_values(
    app: Flask, client: FlaskClient, make: Factory, admin, odd: str
) -> None:
    ref = make.ticket().ref
    query = dict.fromkeys(QUERY_NAMES, odd)
    failures = []
    for method, path in _urls(app, ref, odd):
        for headers in ({}, {"HX-Request": "true"}):
            response = client.open(
                path, method=method, query_string=query, data=query, headers=headers
            )
            if response.status_code >= 500:
                failures.append((method, path, headers, response.status_code))
    assert failures == []


def test_the_same_signed_out(app: Flask, client: FlaskClient, make: Factory) -> None:
    ref = make.ticket().ref
    failures = []
    for odd in ODD_VALUES[:4]:
        query = dict.fromkeys(QUERY_NAMES, odd)
        for method, path in _urls(app, ref, odd):
            response = client.open(path, method=method, query_string=query, data=query)
            if response.status_code >= 500:
                failures.append((method, path, response.status_code))
    assert failures == []


def test_a_reply_restored_from_history_saves_once_and_answers(
    client: FlaskClient, make: Factory, auth: Auth
) -> None:
    """htmx sends both headers when it restores a page from history; the reply is saved,
    and the answer is a page or a redirect, not a 500."""
    from sqlalchemy import func, select

    from support.extensions import db
    from support.models import EventKind, TicketEvent

    ticket = make.ticket()
    auth.login(ticket.customer)
    headers = {"HX-Request": "true", "HX-History-Restore-Request": "true"}
    response = client.post(
        f"/tickets/{ticket.ref}/reply", data={"body": "Any news?"}, headers=headers
    )
    assert response.status_code < 500
    replies = select(func.count()).where(
        TicketEvent.ticket_id == ticket.id, TicketEvent.kind == EventKind.REPLY
    )
    assert db.session.scalar(replies) == 1
