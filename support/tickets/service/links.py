"""Related tickets: an agent links two tickets, and both timelines say so (internally)."""

from __future__ import annotations

from sqlalchemy import select

from support.extensions import db
from support.models import EventKind, Ticket, TicketEvent, User
from support.tickets.service.change import TicketChange, TicketError, check_agent


def link(ticket: Ticket, *, to: Ticket, actor: User) -> TicketEvent:
    """Record that `ticket` and `to` are related, as an internal event on each timeline.

    Internal because the two may be different customers' (a similar past ticket):
    neither customer may learn of the other's ticket. Nothing else about either ticket
    changes (no status, due time or version), so linking never conflicts with another
    agent's work on them. Returns the event on `ticket`.
    """
    with TicketChange(ticket, actor) as change:
        check_agent(actor, "link tickets")
        if to.id == ticket.id:
            raise TicketError("A ticket can't be linked to itself.")
        if to.ref in linked_refs(ticket):
            raise TicketError(f"{ticket.ref} is already linked to {to.ref}.")
        event = change.record(EventKind.LINKED, public=False, data={"related": to.ref})
        change.record(EventKind.LINKED, ticket=to, public=False, data={"related": ticket.ref})
    return event


def linked_refs(ticket: Ticket) -> set[str]:
    """The references of the tickets an agent linked to this one."""
    query = select(TicketEvent.data).where(
        TicketEvent.ticket_id == ticket.id, TicketEvent.kind == EventKind.LINKED
    )
    return {data["related"] for data in db.session.scalars(query) if data and data.get("related")}
