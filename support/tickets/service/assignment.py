"""Who works a ticket and how it is filed: assignee, category, priority, team and tags."""

from __future__ import annotations

from collections.abc import Iterable
from enum import Enum
from typing import Any, Literal

from sqlalchemy.orm.attributes import flag_modified

from support import clock
from support.models import Category, EventKind, Priority, Status, Team, Ticket, TicketEvent, User
from support.tickets import sla
from support.tickets import tags as tag_names
from support.tickets.service.change import (
    TicketChange,
    TicketClosed,
    TicketError,
    check_agent,
)
from support.triage import learn_correction


class _Unchanged(Enum):
    """'Leave this field alone' for update_fields, where None already means 'clear it'."""

    UNCHANGED = "unchanged"


UNCHANGED = _Unchanged.UNCHANGED
Keep = Literal[_Unchanged.UNCHANGED]
FieldValue = Priority | Category | Team | User | None


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
    with TicketChange(ticket, actor, expected_version=expected_version) as change:
        check_agent(actor, "assign tickets")
        _check_not_closed(ticket)
        return assign_in(change, assignee)


def assign_in(change: TicketChange, assignee: User | None) -> TicketEvent | None:
    """`assign`'s change, inside a change the caller holds (a macro sent with a reply)."""
    ticket = change.ticket
    if assignee is not None and not (assignee.is_agent and assignee.is_active):
        raise TicketError(f"{assignee.name} can't take tickets: only active agents can.")
    if (assignee.id if assignee else None) == ticket.assignee_id:
        return None
    previous = ticket.assignee
    ticket.assignee = assignee
    ticket.updated_at = clock.now()
    return _field_event(change, EventKind.ASSIGNED, previous, assignee)


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
    opened, so the promise is the one a ticket of that priority gets. A new
    category for a ticket whose category was suggested teaches the suggester.
    """
    with TicketChange(ticket, actor, expected_version=expected_version) as change:
        check_agent(actor, "change a ticket's details")
        _check_not_closed(ticket)
        events: list[TicketEvent] = []
        if priority is not UNCHANGED and (event := prioritise_in(change, priority)):
            events.append(event)
        if category is not UNCHANGED and category is not ticket.category:
            events.append(
                _field_event(change, EventKind.CATEGORY_CHANGED, ticket.category, category)
            )
            ticket.category = category
            learn_correction(ticket, category, actor)
        if team is not UNCHANGED and team is not ticket.team:
            events.append(_field_event(change, EventKind.TEAM_CHANGED, ticket.team, team))
            ticket.team = team
        if events:
            ticket.updated_at = clock.now()
    return events


def prioritise_in(change: TicketChange, priority: Priority) -> TicketEvent | None:
    """A new priority (and its SLA targets) inside a change the caller holds."""
    ticket = change.ticket
    if priority == ticket.priority:
        return None
    event = _field_event(change, EventKind.PRIORITY_CHANGED, ticket.priority, priority)
    ticket.priority = priority
    _retarget_sla(ticket)
    ticket.updated_at = clock.now()
    return event


def set_tags(
    ticket: Ticket,
    names: Iterable[str],
    *,
    actor: User | None,
    expected_version: int | None = None,
) -> TicketEvent | None:
    """Replace the ticket's tags with `names`; None when they are the same already.

    Names are normalised (support/tickets/tags.py); unknown ones become new tags. The
    event is internal and says what was added and removed.
    """
    with TicketChange(ticket, actor, expected_version=expected_version) as change:
        check_agent(actor, "tag tickets")
        _check_not_closed(ticket)
        return tag_in(change, names)


def tag_in(change: TicketChange, names: Iterable[str]) -> TicketEvent | None:
    """`set_tags`'s change, inside a change the caller holds."""
    ticket = change.ticket
    try:
        wanted = tag_names.parse(names)
    except tag_names.BadTag as exc:
        raise TicketError(str(exc)) from exc
    before = [tag.name for tag in ticket.tags]
    if sorted(before) == sorted(wanted):
        return None
    # By name, as Ticket.tags loads them, so the ticket reads the same before a reload.
    ticket.tags = sorted(tag_names.find_or_create(wanted), key=lambda tag: tag.name)
    ticket.updated_at = clock.now()
    # Tags live in another table: without a changed column (the same instant, a
    # stopped clock) the versioned UPDATE would be skipped and the version not move.
    flag_modified(ticket, "updated_at")
    data = {
        "added": [name for name in wanted if name not in before],
        "removed": [name for name in before if name not in wanted],
    }
    return change.record(EventKind.TAGS_CHANGED, public=False, data=data)


def _field_event(
    change: TicketChange, kind: EventKind, before: FieldValue, after: FieldValue
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
    return change.record(kind, public=False, data=data)


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
