"""What /admin/mail reads: the messages waiting for an admin, a page at a time, and the
latest decisions (who did what, when). Read-only; the actions are in
support.mail.inbound.quarantine."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from support.extensions import db
from support.models import InboundMessage, InboundStatus, Ticket
from support.tickets import refs

PAGE_SIZE = 25


@dataclass
class WaitingPage:
    messages: list[InboundMessage]
    total: int
    before: int | None  # the cursor this page was read from (None: the newest)
    older: int | None  # the cursor of the next, older page (None: this is the last)


def _with_people():
    return (
        selectinload(InboundMessage.handled_by),
        selectinload(InboundMessage.ticket),
    )


def waiting(before: int | None = None, size: int = PAGE_SIZE) -> WaitingPage:
    """Quarantined messages, newest first, `size` at a time (keyset paging on the id)."""
    query = select(InboundMessage).where(InboundMessage.status == InboundStatus.QUARANTINED)
    if before is not None:
        query = query.where(InboundMessage.id < before)
    rows = list(
        db.session.scalars(
            query.options(*_with_people()).order_by(InboundMessage.id.desc()).limit(size + 1)
        )
    )
    older = rows[size - 1].id if len(rows) > size else None
    return WaitingPage(rows[:size], waiting_count(), before, older)


def waiting_count() -> int:
    return db.session.scalar(
        select(func.count(InboundMessage.id)).where(
            InboundMessage.status == InboundStatus.QUARANTINED
        )
    )


def recently_handled(limit: int = 10) -> list[InboundMessage]:
    """The admins' latest actions on messages, newest first."""
    return list(
        db.session.scalars(
            select(InboundMessage)
            .where(InboundMessage.handled_at.is_not(None))
            .options(*_with_people())
            .order_by(InboundMessage.handled_at.desc(), InboundMessage.id.desc())
            .limit(limit)
        )
    )


def message(message_id: int) -> InboundMessage | None:
    return db.session.get(InboundMessage, message_id)


def raw(message: InboundMessage) -> bytes:
    """The original bytes, as received (deferred on the model; loaded only here)."""
    return message.raw or b""


def ticket_by_ref(typed: str) -> Ticket | None:
    """The ticket a typed reference ("SUP-7KQ2MX", "7kq2mx") names, or None."""
    ref = refs.normalise(typed or "")
    if ref is None:
        return None
    return db.session.scalar(select(Ticket).where(Ticket.ref == ref))
