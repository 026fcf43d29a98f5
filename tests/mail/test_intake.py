"""Storing comes first and happens once; filing turns a stored message into a ticket."""

from __future__ import annotations

from sqlalchemy import func, select

from support.extensions import db
from support.mail.inbound import intake
from support.models import InboundMessage, InboundStatus, Outcome, Ticket
from support.models.ticket import Channel
from tests.mail.conftest import email, ingest


def test_a_new_message_files_a_ticket_on_the_email_channel(app) -> None:
    row = ingest(email())
    assert row.status == InboundStatus.FILED and row.outcome == Outcome.NEW
    ticket = db.session.get(Ticket, row.ticket_id)
    assert ticket.channel == Channel.EMAIL
    assert ticket.customer.email == "dana@example.com"
    assert row.reason == f"{ticket.ref} acknowledged"


def test_the_same_message_twice_is_one_row_and_one_ticket(app) -> None:
    raw = email(message_id="<same@client.example>")
    first = ingest(raw)
    second = ingest(raw, source="webhook")
    assert first.id == second.id
    assert db.session.scalar(select(func.count(Ticket.id))) == 1


def test_same_bytes_without_message_id_are_one_row(app) -> None:
    raw = b"From: a@example.com\r\nSubject: hi\r\n\r\nhello\r\n"
    assert intake.store(raw, "pipe").id == intake.store(raw, "imap").id
    assert db.session.scalar(select(func.count(InboundMessage.id))) == 1


def test_too_large_is_quarantined_unparsed(app) -> None:
    app.config["MAIL_MAX_BYTES"] = 1000
    row = ingest(email(body="x" * 5000))
    assert row.status == InboundStatus.QUARANTINED
    assert row.reason.startswith("too large")
