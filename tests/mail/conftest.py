"""Inbound mail: messages built here or read from tests/mail/fixtures/, stored and filed
through the real intake (database, Redis, the ticket service)."""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path

from support import clock
from support.extensions import db
from support.mail.inbound import intake
from support.models import InboundMessage

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def email(
    *,
    sender: str = "Dana Customer <dana@example.com>",
    to: str = "support@localhost",
    subject: str = "My parcel never arrived",
    body: str = "Order 48213 was marked delivered but nothing came.",
    message_id: str | None = None,
    **headers: str,
) -> bytes:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = format_datetime(clock.now().astimezone())
    message["Message-ID"] = message_id or make_msgid(domain="client.example")
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content(body)
    return bytes(message)


def ingest(raw: bytes, source: str = "pipe") -> InboundMessage:
    """Store and file at once (what the RQ job does), returning the refreshed row."""
    stored = intake.store(raw, source)
    intake.file_message(stored.id)
    db.session.expire_all()
    return db.session.get(InboundMessage, stored.id)
