"""Agents' changes from the board: assignment, fields, workarounds, merges and moves."""

from __future__ import annotations

from enum import Enum
from typing import Any, Literal

from sqlalchemy import select, update

from support import clock
from support.board import keys
from support.extensions import db
from support.models import (
    Category,
    EventKind,
    Priority,
    Role,
    Status,
    Team,
    Ticket,
    TicketEvent,
    User,
)
from support.tickets import sla
from support.tickets.service.conversation import change_status
from support.tickets.service.core import (
    TicketClosed,
    TicketError,
    _check_text,
    _check_transition,
    _commit,
    _expect_version,
    _record,
    _set_status,
)
from support.triage import learn_correction


class _Unchanged(Enum):
    """'Leave this field alone' for update_fields, where None already means 'clear it'."""

    UNCHANGED = "unchanged"


UNCHANGED = _Unchanged.UNCHANGED
Keep = Literal[_Unchanged.UNCHANGED]

# Public events that count as "the team answered the customer" when resolving.
_ANSWER_KINDS = (EventKind.REPLY, EventKind.WORKAROUND)


def _check_agent(actor: User | None, action: str) -> None:
    """`actor` None is the system (routing, jobs); people must be on the team."""
    if actor is not None and not actor.is_agent:
        raise TicketError(f"Only the support team can {action}.")


def _check_not_closed(ticket: Ticket) -> None:
    if ticket.status == Status.CLOSED:
        raise TicketClosed(f"{ticket.ref} is closed, so it can't be changed any more.")


def assign(
    ticket: Ticket,
    *,
    actor: User | None,
    assignee: User | None,
    expected_version: int | None = None,
) -> TicketEvent | None:
    """Give the ticket to `assignee` (None unassigns it); None when nothing changes.

    The event is internal: who works a ticket is the team's business.
    """
    _expect_version(ticket, expected_version)
    _check_agent(actor, "assign tickets")
    _check_not_closed(ticket)
    if assignee is not None and not (assignee.is_agent and assignee.is_active):
        raise TicketError(f"{assignee.name} can't take tickets: only active agents can.")
    if (assignee.id if assignee else None) == ticket.assignee_id:
        return None
    previous = ticket.assignee
    ticket.assignee = assignee
    ticket.updated_at = clock.now()
    event = _field_event(ticket, EventKind.ASSIGNED, actor, previous, assignee)
    _commit(ticket)
    return event


def update_fields(
    ticket: Ticket,
    *,
    actor: User | None,
    category: Category | Keep | None = UNCHANGED,
    priority: Priority | Keep = UNCHANGED,
    team: Team | Keep | None = UNCHANGED,
    expected_version: int | None = None,
) -> list[TicketEvent]:
    """Change category, priority and/or team: one internal event per field that changed.

    Fields left out stay as they are (None clears a category or team). A new
    priority brings that priority's SLA targets, counted from when the ticket was
    opened, so the promise is the one a ticket of that priority gets.
    """
    _expect_version(ticket, expected_version)
    _check_agent(actor, "change a ticket's details")
    _check_not_closed(ticket)
    events: list[TicketEvent] = []
    if priority is not UNCHANGED and priority != ticket.priority:
        events.append(
            _field_event(ticket, EventKind.PRIORITY_CHANGED, actor, ticket.priority, priority)
        )
        ticket.priority = priority
        _retarget_sla(ticket)
    if category is not UNCHANGED and category is not ticket.category:
        events.append(
            _field_event(ticket, EventKind.CATEGORY_CHANGED, actor, ticket.category, category)
        )
        ticket.category = category
        learn_correction(ticket, category, actor)
    if team is not UNCHANGED and team is not ticket.team:
        events.append(_field_event(ticket, EventKind.TEAM_CHANGED, actor, ticket.team, team))
        ticket.team = team
    if events:
        ticket.updated_at = clock.now()
        _commit(ticket)
    return events


FieldValue = Priority | Category | Team | User | None


def _field_event(
    ticket: Ticket, kind: EventKind, actor: User | None, before: FieldValue, after: FieldValue
) -> TicketEvent:
    # Internal, as in Zendesk and Help Scout: triage details are not news for the customer.
    # Names are kept in the data so the timeline reads well without loading anything.
    before_value, before_name = _named(before)
    after_value, after_name = _named(after)
    data = {
        "from": before_value,
        "from_name": before_name,
        "to": after_value,
        "to_name": after_name,
    }
    return _record(ticket, kind, actor=actor, public=False, data=data)


def _named(value: FieldValue) -> tuple[Any, str | None]:
    """A field's value as stored in event data, and as people read it."""
    if value is None:
        return None, None
    if isinstance(value, Priority):
        return value.value, value.label
    if isinstance(value, Category):
        return value.slug, value.name
    return value.id, value.name


def _retarget_sla(ticket: Ticket) -> None:
    """Due times for the new priority; a first response already given stays given."""
    targets = sla.targets_for(ticket.priority)
    opened = ticket.created_at
    if ticket.first_responded_at is None:
        due = sla.add_time(opened, targets.first_response, targets.business_hours)
        ticket.first_response_due = due
        if ticket.tier == 1:  # higher tiers owe the update their escalation promised
            ticket.next_update_due = due
    ticket.resolution_due = sla.add_time(opened, targets.resolution, targets.business_hours)


def offer_workaround(
    ticket: Ticket, *, actor: User, body: str, expected_version: int | None = None
) -> TicketEvent:
    """A public way around the problem while the real fix is worked on.

    It answers the customer, so it counts as our response for the SLA (and lets
    the ticket be resolved from the board).
    """
    _expect_version(ticket, expected_version)
    _check_agent(actor, "offer workarounds")
    _check_text(None, body)
    if not ticket.status.is_active:
        raise TicketError(
            f"{ticket.ref} is {ticket.status.label.lower()}; reopen it to offer a workaround."
        )
    now = clock.now()
    event = _record(ticket, EventKind.WORKAROUND, actor=actor, body=body)
    sla.record_agent_response(ticket, now)
    if ticket.status == Status.NEW:
        _set_status(ticket, Status.OPEN, actor=actor)
    ticket.updated_at = now
    _commit(ticket)
    return event


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
    _expect_version(duplicate, expected_version)
    _check_agent(actor, "merge tickets")
    _check_mergeable(duplicate, into)
    now = clock.now()
    duplicate.merged_into = into
    duplicate.board_position = None
    closing = _set_status(
        duplicate,
        Status.CLOSED,
        actor=actor,
        kind=EventKind.MERGED,
        body=f"We merged this request into {into.ref} ({into.subject}), where we carry on. "
        f"Follow {into.ref} for updates.",
    )
    closing.data = {**(closing.data or {}), "into": into.ref}
    event = _record(
        into,
        EventKind.MERGED,
        actor=actor,
        body=f"{duplicate.ref} ({duplicate.subject}) was merged into this request: "
        f"its messages now appear here too, marked “from {duplicate.ref}”.",
        data={"merged": duplicate.ref},
    )
    into.updated_at = now
    _commit(duplicate)
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


def move(
    ticket: Ticket,
    *,
    actor: User,
    to_status: Status,
    position: float | None,
    expected_version: int | None,
    note: str | None = None,
) -> TicketEvent | None:
    """A card moved on the board: maybe a new status, and a place in its column.

    The status follows change_status's rules. Resolving needs an answer the
    customer has seen (a public reply or workaround from the team) or a
    resolution note (`note`, public). Escalating needs a reason, so it goes
    through `escalate`. In a new column, `position` None sorts the card by its SLA
    due time; in the same column it keeps the card where it is (the card's status
    select sends no neighbours, and must not undo a manual order).
    """
    _expect_version(ticket, expected_version)
    _check_agent(actor, "move tickets on the board")
    note = (note or "").strip() or None
    if to_status == ticket.status:
        if position is not None:
            _reposition(ticket, position)
        return None
    _check_transition(ticket, to_status)
    if to_status == Status.ESCALATED:
        raise TicketError(
            f"Escalate {ticket.ref} from its panel and give a reason: "
            "the customer is told who takes over."
        )
    if note is not None:
        _check_text(None, note)
    elif to_status == Status.RESOLVED and not _has_public_answer(ticket):
        raise TicketError(
            f"{ticket.ref} can't be resolved yet: reply to the customer "
            "or add a resolution note first."
        )
    ticket.board_position = position
    return change_status(ticket, to_status, actor=actor, note=note)


def _reposition(ticket: Ticket, position: float | None) -> None:
    # A plain UPDATE on purpose: reordering changes no ticket data, so it writes no
    # event and keeps the version (another agent's open panel must not go stale).
    table = Ticket.__table__
    db.session.execute(update(table).where(table.c.id == ticket.id).values(board_position=position))
    keys.refresh(db.session.connection(), [ticket.id])  # no flush saw that UPDATE
    db.session.commit()


def _has_public_answer(ticket: Ticket) -> bool:
    """Has someone on the team told the customer something (a reply or a workaround)?"""
    query = (
        select(TicketEvent.id)
        .join(User, TicketEvent.actor_id == User.id)
        .where(
            TicketEvent.ticket_id == ticket.id,
            TicketEvent.is_public.is_(True),
            TicketEvent.kind.in_(_ANSWER_KINDS),
            User.role.in_((Role.AGENT, Role.ADMIN)),
        )
        .limit(1)
    )
    return db.session.scalar(query) is not None
