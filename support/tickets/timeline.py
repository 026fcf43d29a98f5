"""Reading a ticket's timeline: pages of events, each in a constant number of queries."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from support.extensions import db
from support.models import Ticket, TicketEvent, User
from support.tickets.permissions import visible_events


@dataclass(frozen=True)
class TimelinePage:
    events: list[TicketEvent]  # oldest first
    earlier_before: int | None  # id to page back from, when older events exist

    @property
    def last_id(self) -> int:
        return self.events[-1].id if self.events else 0


def _base(ticket: Ticket, viewer: User):
    query = (
        select(TicketEvent)
        .where(TicketEvent.ticket_id == ticket.id)
        .options(joinedload(TicketEvent.actor), selectinload(TicketEvent.attachments))
    )
    return visible_events(viewer, query)


def latest(ticket: Ticket, viewer: User, *, limit: int, before: int | None = None) -> TimelinePage:
    """The newest `limit` events the viewer may see (older than `before` when given)."""
    query = _base(ticket, viewer)
    if before is not None:
        query = query.where(TicketEvent.id < before)
    # One extra row tells whether there is an earlier page, without a COUNT.
    rows = list(db.session.scalars(query.order_by(TicketEvent.id.desc()).limit(limit + 1)).unique())
    has_earlier = len(rows) > limit
    events = list(reversed(rows[:limit]))
    return TimelinePage(events, events[0].id if has_earlier and events else None)


def since(ticket: Ticket, viewer: User, after: int, *, limit: int = 100) -> list[TicketEvent]:
    """Events newer than `after`, oldest first (what a polling page has not seen)."""
    query = _base(ticket, viewer).where(TicketEvent.id > after).order_by(TicketEvent.id)
    return list(db.session.scalars(query.limit(limit)).unique())
