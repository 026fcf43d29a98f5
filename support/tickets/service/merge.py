"""Merging a duplicate into the ticket that carries on."""

from __future__ import annotations

from support import clock
from support.models import EventKind, Status, Ticket, TicketEvent, User
from support.tickets.service.change import TicketChange, TicketClosed, TicketError, check_agent


def merge(
    duplicate: Ticket, *, into: Ticket, actor: User, expected_version: int | None = None
) -> TicketEvent:
    """Close `duplicate` and carry on in `into`; both timelines say so publicly.

    The duplicate keeps its events (closed, pointing at `into`), and `into`'s
    timeline shows them among its own from now on (support/tickets/timeline.py),
    so `into` gets an event naming the duplicate rather than a copy of it.
    Only tickets of the same customer merge: joining two customers' tickets would
    show each of them the other's conversation. Returns the event on `into`.
    """
    with TicketChange(duplicate, actor, expected_version=expected_version) as change:
        check_agent(actor, "merge tickets")
        _check_mergeable(duplicate, into)
        duplicate.merged_into = into
        duplicate.board_position = None
        closing = change.set_status(
            Status.CLOSED,
            kind=EventKind.MERGED,
            body=f"We merged this request into {into.ref} ({into.subject}), where we carry "
            f"on. Follow {into.ref} for updates.",
        )
        closing.data = {**(closing.data or {}), "into": into.ref}
        event = change.record(
            EventKind.MERGED,
            ticket=into,
            body=f"{duplicate.ref} ({duplicate.subject}) was merged into this request: "
            f"its messages now appear here too, marked “from {duplicate.ref}”.",
            data={"merged": duplicate.ref},
        )
        into.updated_at = clock.now()
    return event


def _check_mergeable(duplicate: Ticket, into: Ticket) -> None:
    if duplicate.id == into.id:
        raise TicketError("A ticket can't be merged into itself.")
    if duplicate.status == Status.CLOSED:
        raise TicketClosed(f"{duplicate.ref} is already closed.")
    if into.status == Status.CLOSED:
        raise TicketError(f"{into.ref} is closed; merge into a ticket that is still open.")
    if duplicate.customer_id != into.customer_id:
        raise TicketError(
            f"{duplicate.ref} and {into.ref} are from different customers; merging them would "
            "show each customer the other's conversation."
        )
