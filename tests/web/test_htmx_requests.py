"""The two htmx questions in support.web: "did htmx send this?" and "just the block?"."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient

from support import web
from support.models import Status, User
from tests.factories import Factory

HTMX = {"HX-Request": "true"}
BOOSTED = {**HTMX, "HX-Boosted": "true"}
HISTORY = {**HTMX, "HX-History-Restore-Request": "true"}


@pytest.mark.parametrize(
    ("headers", "sent", "fragment"),
    [({}, False, False), (HTMX, True, True), (BOOSTED, True, False), (HISTORY, True, False)],
)
def test_a_boosted_or_history_request_is_htmx_but_wants_the_whole_page(
    app: Flask, headers: dict, sent: bool, fragment: bool
) -> None:
    with app.test_request_context("/", headers=headers):
        assert web.sent_by_htmx() is sent
        assert web.wants_fragment() is fragment


def test_a_boosted_portal_action_loads_the_whole_page(
    client: FlaskClient, make: Factory, customer: User
) -> None:
    """Not the summary block into a whole-page swap: a full load with the message."""
    ticket = make.ticket(customer)
    response = client.post(f"/tickets/{ticket.ref}/resolve", headers=BOOSTED)
    assert response.status_code == 204
    assert response.headers["HX-Redirect"] == f"/tickets/{ticket.ref}"
    assert ticket.status == Status.RESOLVED
    assert "We marked your request as resolved" in client.get(f"/tickets/{ticket.ref}").text


def test_a_boosted_portal_reply_loads_the_whole_page(
    client: FlaskClient, make: Factory, customer: User
) -> None:
    ticket = make.ticket(customer)
    response = client.post(
        f"/tickets/{ticket.ref}/reply", data={"body": "Any news?"}, headers=BOOSTED
    )
    assert response.status_code == 204
    assert response.headers["HX-Redirect"] == f"/tickets/{ticket.ref}#latest"
