"""Where a ticket stands: status changes, board moves, reopening and escalation."""

from __future__ import annotations

from sqlalchemy import select, update

from support import clock, timezones
from support.extensions import db
from support.models import EventKind, Role, Status, Ticket, TicketEvent, User
from support.tickets import due, sla
from support.tickets.service.change import (
    TicketChange,
    TicketClosed,
    TicketError,
    check_agent,
    check_text,
    check_transition,
)
from support.triage import routing

# Public events that count as "the team answered the customer" when resolving.
_ANSWER_KINDS = (EventKind.REPLY, EventKind.WORKAROUND)


def change_status(
    ticket: Ticket,
    to: Status,
    *,
    actor: User | None,
    note: str | None = None,
    expected_version: int | None = None,
) -> TicketEvent | None:
    """Move a ticket to another status (TRANSITIONS); None when it already has that status.

    `note` is said to the customer with the change (a resolution note, say).
    """
    with TicketChange(ticket, actor, expected_version=expected_version) as change:
        if ticket.status == to:
            return None
        return set_status_in(change, to, note)


def set_status_in(change: TicketChange, to: Status, note: str | None = None) -> TicketEvent:
    """A status change (TRANSITIONS checked) inside a change the caller holds."""
    ticket = change.ticket
    check_transition(ticket, to)
    reopening = ticket.status == Status.RESOLVED and to == Status.OPEN
    kind = EventKind.REOPENED if reopening else EventKind.STATUS_CHANGED
    return change.set_status(to, kind=kind, body=note or None)


def resolve_by_customer(ticket: Ticket, *, customer: User) -> TicketEvent | None:
    """The customer says the problem is solved."""
    if ticket.customer_id != customer.id:
        raise TicketError("Only the customer who filed this ticket can mark it resolved.")
    if not ticket.status.is_active:
        return None
    return change_status(ticket, Status.RESOLVED, actor=customer)


def reopen(ticket: Ticket, *, actor: User, reason: str | None = None) -> TicketEvent | None:
    """Reopen a resolved ticket (closed ones take a follow-up instead)."""
    if ticket.status == Status.CLOSED:
        raise TicketClosed(f"{ticket.ref} is closed; reply to start a follow-up ticket.")
    if ticket.status != Status.RESOLVED:
        return None
    return change_status(ticket, Status.OPEN, actor=actor, note=reason)


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
    note = (note or "").strip() or None
    with TicketChange(ticket, actor, expected_version=expected_version) as change:
        check_agent(actor, "move tickets on the board")
        if to_status == ticket.status:
            if position is not None:
                _reposition(ticket, position)
            return None
        check_transition(ticket, to_status)
        if to_status == Status.ESCALATED:
            raise TicketError(
                f"Escalate {ticket.ref} from its panel and give a reason: "
                "the customer is told who takes over."
            )
        if note is not None:
            check_text(None, note)
        elif to_status == Status.RESOLVED and not has_public_answer(ticket):
            raise TicketError(
                f"{ticket.ref} can't be resolved yet: reply to the customer "
                "or add a resolution note first."
            )
        ticket.board_position = position
        return set_status_in(change, to_status, note)


def _reposition(ticket: Ticket, position: float) -> None:
    # A plain UPDATE on purpose: reordering changes no ticket data, so it writes no
    # event and keeps the version (another agent's open panel must not go stale).
    # No event, so the surrounding change only commits it: the stored sort key is ours.
    table = Ticket.__table__
    db.session.execute(update(table).where(table.c.id == ticket.id).values(board_position=position))
    due.refresh(db.session.connection(), [ticket.id])


def has_public_answer(ticket: Ticket) -> bool:
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


def escalate(
    ticket: Ticket,
    *,
    actor: User | None,
    reason: str,
    expected_version: int | None = None,
) -> TicketEvent:
    """Hand the ticket to the next tier of the escalation matrix.

    The customer sees a public event naming who now handles it and when they
    will hear back; the reason is kept for the team (in the event's data), and
    notify tells the agents of the new tier. `actor` None is the SLA checker.
    """
    with TicketChange(ticket, actor, expected_version=expected_version) as change:
        return raise_tier(change, reason=reason)


def raise_tier(change: TicketChange, *, reason: str) -> TicketEvent:
    """The escalation itself, inside a change: `escalate`, or the SLA checker's breach."""
    ticket = change.ticket
    if not ticket.status.is_active:
        raise TicketError("Only open tickets can be escalated; reopen it first.")
    if ticket.tier >= sla.MAX_TIER:
        raise TicketError(f"{ticket.ref} is already with our top tier.")
    if not reason.strip():
        raise TicketError("Say why the ticket needs escalating.")
    now = clock.now()
    previous = ticket.status
    # Escalated is not waiting on the customer: a pending ticket's clock runs again
    # (with the time it had left) before the new stage's deadline is set.
    sla.resume(ticket, now)
    new_stage = sla.record_escalation(ticket, now)
    ticket.status = Status.ESCALATED
    # Never to nobody: the next tier (in the team, else in any team) takes it over;
    # when nobody at that tier can, it stays with its assignee and the admins hear of it.
    goes_to = routing.escalation(ticket.team, ticket.tier, ticket_id=ticket.id)
    if goes_to.handed_over:
        ticket.assignee = goes_to.assignee
    ticket.updated_at = now
    return change.record(
        EventKind.ESCALATED,
        body=_escalation_news(ticket, new_stage.name, handed_over=goes_to.handed_over),
        data={
            "from": previous,
            "to": Status.ESCALATED,
            "tier": ticket.tier,
            "reason": reason.strip(),
            "automatic": change.actor is None,
            "scope": goes_to.scope,
            "told": [user.id for user in goes_to.told],
            "routing": goes_to.reason,
            "update_by": ticket.next_update_due.isoformat(),
        },
    )


def _escalation_news(ticket: Ticket, stage_name: str, *, handed_over: bool) -> str:
    """What the customer reads: only what is true (who has it now, and when they hear)."""
    update_by = timezones.local(ticket.next_update_due, timezones.default_zone_name())
    if handed_over:
        return (
            f"{stage_name.capitalize()} now handles your request. "
            f"You will get an update from them by {update_by}."
        )
    who = ticket.assignee.first_name if ticket.assignee else "Our team"
    return (
        f"{who} keeps working on your request and has asked for more help. "
        f"You will get an update by {update_by}."
    )
