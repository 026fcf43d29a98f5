"""Every place a customer's personal data lives, in one list.

Erasure walks `ERASERS` (after the customer's tickets are anonymised by the ticket
service), and retention walks `FILE_STORES`. A feature that stores personal data
adds its eraser (and its file store, if it keeps files) here, in one place:

- inbound raw emails (support/mail, coming): `register_eraser("raw emails", ...)` and
  `register_file_store(...)` so erasure and "delete stored raw emails after N days"
  reach them;
- a ticket search index (coming): its entries for the customer's tickets.

Each eraser takes the customer and the ids of all their tickets, and must be
idempotent (an erasure may be run again after a failure).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select, update

from support.extensions import db
from support.models import (
    ArticleFeedback,
    Attachment,
    DataExport,
    Deflection,
    Notification,
    OutboxMessage,
    User,
)
from support.tickets import service

Eraser = Callable[[User, list[int]], None]
ERASED_TEXT = "[removed for privacy]"


@dataclass(frozen=True)
class FileStore:
    """Stored files that "delete stored attachments and raw emails after N days" covers:
    `count(cutoff)` says how many (and how many bytes) are older, `purge(cutoff)`
    deletes them and returns how many went."""

    name: str
    count: Callable[[datetime], tuple[int, int]]
    purge: Callable[[datetime], int]


ERASERS: list[tuple[str, Eraser]] = []
FILE_STORES: list[FileStore] = []


def register_eraser(name: str, eraser: Eraser) -> None:
    ERASERS.append((name, eraser))


def register_file_store(store: FileStore) -> None:
    FILE_STORES.append(store)


# ---- the stores that exist today --------------------------------------------------


def _notifications(customer: User, _tickets: list[int]) -> None:
    db.session.execute(delete(Notification).where(Notification.user_id == customer.id))


def _account_mail(customer: User, _tickets: list[int]) -> None:
    """Emails about the account itself (reset links): no ticket, addressed to them."""
    db.session.execute(
        delete(OutboxMessage).where(func.lower(OutboxMessage.to_address) == customer.email.lower())
    )


def _help_centre(customer: User, _tickets: list[int]) -> None:
    """What they typed into the help centre: kept as counts, without the words."""
    db.session.execute(
        update(Deflection).where(Deflection.user_id == customer.id).values(typed_text=ERASED_TEXT)
    )
    db.session.execute(
        update(ArticleFeedback).where(ArticleFeedback.user_id == customer.id).values(comment=None)
    )


def _exports(customer: User, _tickets: list[int]) -> None:
    from support.privacy import export

    export.delete_files(select(DataExport).where(DataExport.user_id == customer.id))


register_eraser("notifications", _notifications)
register_eraser("account emails", _account_mail)
register_eraser("help centre searches and feedback", _help_centre)
register_eraser("data exports", _exports)


def _attachments_older(cutoff: datetime) -> tuple[int, int]:
    row = db.session.execute(
        select(func.count(), func.coalesce(func.sum(Attachment.size), 0)).where(
            Attachment.created_at < cutoff
        )
    ).one()
    return int(row[0]), int(row[1])


def _purge_attachments(cutoff: datetime, batch: int = 500) -> int:
    gone = 0
    while ids := list(
        db.session.scalars(select(Attachment.id).where(Attachment.created_at < cutoff).limit(batch))
    ):
        gone += service.drop_attachments(ids)
    return gone


register_file_store(FileStore("attachments", _attachments_older, _purge_attachments))
