"""Helpers for the customer portal tests: filing the form the way a browser does."""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart

from support.extensions import db
from support.models import Ticket, TicketEvent
from support.tickets import service

HTMX = {"HX-Request": "true"}
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
MB = 1024 * 1024


def post_multipart(
    client: FlaskClient,
    url: str,
    fields: dict[str, str],
    files: Sequence[tuple[bytes, str]] = (),
    headers: dict | None = None,
):
    """POST a form the way a browser does, files and all.

    The body is encoded in memory: the test client's own encoder spools big
    bodies to a temporary file it never closes (a ResourceWarning).
    """
    data = MultiDict(fields)
    for content, name in files:
        data.add("files", FileStorage(io.BytesIO(content), filename=name))
    boundary, body = encode_multipart(data)
    return client.post(
        url,
        data=body,
        content_type=f"multipart/form-data; boundary={boundary}",
        headers=headers or {},
    )


def file_ticket(
    client: FlaskClient,
    files: Sequence[tuple[bytes, str]] = (),
    headers: dict | None = None,
    **fields: str,
):
    """Submit the ticket form."""
    data = {
        "subject": "Charged twice for order 1234",
        "description": "Two charges of 64.00 EUR on my card.",
        "category": "payments",
        "impact": "just_me",
        "client_token": "",
    }
    data.update(fields)
    return post_multipart(client, "/tickets/new", data, files, headers)


def only_ticket() -> Ticket:
    return db.session.scalars(select(Ticket)).one()


def count(model) -> int:
    return db.session.scalar(select(func.count(model.id)))


def stored_files(app: Flask) -> list[Path]:
    folder = Path(app.config["UPLOAD_FOLDER"])
    return [p for p in folder.rglob("*") if p.is_file()] if folder.exists() else []


def event_ids(ticket: Ticket) -> list[int]:
    return list(
        db.session.scalars(
            select(TicketEvent.id)
            .where(TicketEvent.ticket_id == ticket.id)
            .order_by(TicketEvent.id)
        )
    )


def add_replies(ticket: Ticket, n: int) -> None:
    for i in range(n):
        service.reply(ticket, author=ticket.customer, body=f"Message number {i}")
