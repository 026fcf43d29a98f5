"""Reading a ticket's timeline: pages of events, each in a constant number of queries.

A ticket's timeline is joined with those of the duplicates merged into it (and
into those, for merges of merges): their events appear in order among its own,
each still pointing at the ticket it was written on (`event.ticket`), so a page
can mark it "from SUP-…". A viewer sees a merged ticket's events only if they
may see that ticket (a customer: their own), and only the events they may read.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Select, select, union
from sqlalchemy.orm import joinedload, selectinload

from support.extensions import db
from support.models import Ticket, TicketEvent, User
from support.tickets.permissions import visible_events, visible_tickets


@dataclass(frozen=True)
class TimelinePage:
    events: list[TicketEvent]  # oldest first
    earlier_before: int | None  # id to page back from, when older events exist

    @property
    def last_id(self) -> int:
        return self.events[-1].id if self.events else 0


def sources(ticket: Ticket, viewer: User) -> Select[tuple[int]]:
    """Ids of the tickets whose events make up `ticket`'s timeline for `viewer`: the
    ticket itself and every ticket merged into it, directly or through another merge."""
    merged = (
        select(Ticket.id).where(Ticket.merged_into_id == ticket.id).cte("merged", recursive=True)
    )
    # UNION, not UNION ALL: a (never expected) cycle of merges ends instead of looping.
    merged = merged.union(select(Ticket.id).join(merged, Ticket.merged_into_id == merged.c.id))
    duplicates = (
        visible_tickets(viewer)
        .where(Ticket.id.in_(select(merged.c.id)))
        .with_only_columns(Ticket.id)
    )
    return union(select(Ticket.id).where(Ticket.id == ticket.id), duplicates)


def _base(ticket: Ticket, viewer: User) -> Select[tuple[TicketEvent]]:
    query = (
        select(TicketEvent)
        .where(TicketEvent.ticket_id.in_(sources(ticket, viewer)))
        .options(
            joinedload(TicketEvent.actor),
            # The ticket each event was written on, for the "from SUP-…" mark and links;
            # `ticket` itself is in the session already, a duplicate needs only its ref.
            joinedload(TicketEvent.ticket, innerjoin=True).load_only(Ticket.ref),
            selectinload(TicketEvent.attachments),
        )
    )
    return visible_events(viewer, query)


def latest(ticket: Ticket, viewer: User, *, limit: int, before: int | None = None) -> TimelinePage:
    """The newest `limit` events the viewer may see (older than `before` when given)."""
    query = _base(ticket, viewer)
    if before is not None:
        query = query.where(TicketEvent.id < before)
    # Ids follow the order events were recorded in, on every ticket: ordering by id
    # interleaves a merged duplicate's events by time, and pages stay a simple cursor.
    # One extra row tells whether there is an earlier page, without a COUNT.
    rows = list(db.session.scalars(query.order_by(TicketEvent.id.desc()).limit(limit + 1)).unique())
    has_earlier = len(rows) > limit
    events = list(reversed(rows[:limit]))
    return TimelinePage(events, events[0].id if has_earlier and events else None)


def since(ticket: Ticket, viewer: User, after: int, *, limit: int = 100) -> list[TicketEvent]:
    """Events newer than `after`, oldest first (what a polling page has not seen)."""
    query = _base(ticket, viewer).where(TicketEvent.id > after).order_by(TicketEvent.id)
    return list(db.session.scalars(query.limit(limit)).unique())
