"""Helpers shared by the /account tests: signing in, reading emails' links, the clock."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from support import clock
from support.extensions import db
from support.models import OutboxMessage, User
from tests.factories import PASSWORD, Factory
from tests.smtp import SmtpServer, text_part

NEW_PASSWORD = "violet kettle orbit"
# What a spent, broken or old link's page says.
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
