"""Every place a customer's personal data lives, in one list.

Erasure walks `ERASERS` (after the customer's tickets are anonymised by the ticket
service), and retention walks `FILE_STORES`. A feature that stores personal data
adds its eraser (and its file store, if it keeps files) here, in one place:

- inbound email (support/mail/inbound/): the raw messages they sent or that became
  their tickets, bounces of their address, the tickets they follow (erasers below),
  and raw copies older than N days (a file store below);
- the ticket search index (support/tickets/search.py): erasure rewrites the documents
  of their tickets once their name and email are gone (support/privacy/erasure.py).

Each eraser takes the customer and the ids of all their tickets, and must be
idempotent (an erasure may be run again after a failure).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, or_, select, update

from support.extensions import db
from support.models import (
    ArticleFeedback,
    Attachment,
    BouncingAddress,
    DataExport,
    Deflection,
    InboundMessage,
    InboundStatus,
    Notification,
    OutboxMessage,
    TicketFollower,
    User,
)
from support.notify import inbox
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
    inbox.forget_badge()


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


def _inbound_mail(customer: User, tickets: list[int]) -> None:
    """Raw emails they sent or that were filed on their tickets, the bounces of their
    address (a bounce quotes it), and the tickets they follow as someone in Cc."""
    address = customer.email.lower()
    bounces = select(BouncingAddress.inbound_id).where(BouncingAddress.address == address)
    db.session.execute(delete(BouncingAddress).where(BouncingAddress.address == address))
    db.session.execute(
        delete(InboundMessage).where(
            or_(
                func.lower(InboundMessage.from_address) == address,
                InboundMessage.ticket_id.in_(tickets),
                InboundMessage.id.in_(bounces.scalar_subquery()),
            )
        )
    )
    db.session.execute(delete(TicketFollower).where(TicketFollower.user_id == customer.id))


register_eraser("notifications", _notifications)
register_eraser("account emails", _account_mail)
register_eraser("help centre searches and feedback", _help_centre)
register_eraser("data exports", _exports)
register_eraser("inbound emails", _inbound_mail)


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


# Raw inbound emails already handled (filed or discarded); those still waiting for an
# admin in quarantine stay, since "retry" and ".eml" need them.
_HANDLED = (InboundStatus.FILED, InboundStatus.DISCARDED)


def _raw_emails_older(cutoff: datetime) -> tuple[int, int]:
    row = db.session.execute(
        select(func.count(), func.coalesce(func.sum(InboundMessage.size), 0)).where(
            InboundMessage.received_at < cutoff,
            InboundMessage.status.in_(_HANDLED),
            InboundMessage.size > 0,
        )
    ).one()
    return int(row[0]), int(row[1])


def _purge_raw_emails(cutoff: datetime) -> int:
    """The raw copy goes; the row stays (its Message-ID still stops a duplicate)."""
    result = db.session.execute(
        update(InboundMessage)
        .where(
            InboundMessage.received_at < cutoff,
            InboundMessage.status.in_(_HANDLED),
            InboundMessage.size > 0,
        )
        .values(raw=b"", size=0, subject=None)
    )
    return result.rowcount


register_file_store(FileStore("raw emails", _raw_emails_older, _purge_raw_emails))
