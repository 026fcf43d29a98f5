"""Filing, replying, status changes, escalation and ratings: the conversation with a customer."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from support import clock
from support import triage as filing_triage
from support.extensions import db
from support.models import (
    Category,
    EventKind,
    Impact,
    Rating,
    Status,
    Ticket,
    TicketEvent,
    User,
)
from support.models.ticket import Channel
from support.notify import events as notify_events
from support.tickets import attachments, refs, sla, triage
from support.tickets.attachments import StoredFile
from support.tickets.service.core import (
    SUBJECT_MAX,
    TRANSITIONS,
    TicketClosed,
    TicketError,
    _attach,
    _check_text,
    _commit,
    _expect_version,
    _files_kept_on_success,
    _record,
    _set_status,
)


def open_ticket(
    *,
    customer: User,
    subject: str,
    description: str,
    category: Category | None = None,
    impact: Impact = Impact.JUST_ME,
    channel: Channel = Channel.PORTAL,
    files: Sequence[StoredFile] = (),
    client_token: str | None = None,
    parent: Ticket | None = None,
) -> Ticket:
    """File a ticket for `customer`. The same client_token files it only once."""
    if client_token and (existing := _ticket_by_token(customer, client_token)):
        attachments.discard(list(files))
        return existing
    try:
        with _files_kept_on_success(files):
            ticket = _new_ticket(
                customer, subject, description, category, impact, channel, client_token, parent
            )
            event = _record(ticket, EventKind.CREATED, actor=customer, body=description)
            _attach(ticket, event, files, customer)
            filing_triage.on_filing(ticket, record=_record)
            notify_events.acknowledge(ticket)
            if parent is not None:
                _record(parent, EventKind.LINKED, actor=customer, data={"follow_up": ticket.ref})
            _commit(ticket)
    except IntegrityError:
        # A concurrent submit with the same token won the race: that one stands.
        if client_token and (existing := _ticket_by_token(customer, client_token)):
            return existing
        raise
    return ticket


def _new_ticket(
    customer: User,
    subject: str,
    description: str,
    category: Category | None,
    impact: Impact,
    channel: Channel,
    client_token: str | None,
    parent: Ticket | None,
) -> Ticket:
    _check_text(subject, description)
    now = clock.now()
    ticket = Ticket(
        ref=_unused_ref(),
        subject=subject.strip(),
        description=description,
        customer=customer,
        channel=channel,
        category=category,
        impact=impact,
        priority=triage.initial_priority(impact),
        status=Status.NEW,
        created_at=now,
        updated_at=now,
        client_token=client_token,
        parent=parent,
        team=category.team if category else None,
    )
    sla.start_clock(ticket, now)
    db.session.add(ticket)
    return ticket


def _ticket_by_token(customer: User, token: str) -> Ticket | None:
    return db.session.scalar(
        select(Ticket).where(Ticket.customer_id == customer.id, Ticket.client_token == token)
    )


def _unused_ref() -> str:
    while True:
        ref = refs.new_ref()
        if db.session.scalar(select(Ticket.id).where(Ticket.ref == ref)) is None:
            return ref


def reply(
    ticket: Ticket,
    *,
    author: User,
    body: str,
    public: bool = True,
    files: Sequence[StoredFile] = (),
    client_token: str | None = None,
) -> TicketEvent:
    """Add a public reply or (agents only) an internal note."""
    if client_token and (existing := _event_by_token(ticket, client_token)):
        attachments.discard(list(files))
        return existing
    with _files_kept_on_success(files):
        _check_reply(ticket, author, body, public)
        now = clock.now()
        kind = EventKind.REPLY if public else EventKind.NOTE
        event = _record(
            ticket, kind, actor=author, public=public, body=body, client_token=client_token
        )
        _attach(ticket, event, files, author)
        if author.is_agent and public:
            sla.record_agent_response(ticket, now)
            if ticket.status == Status.NEW:
                _set_status(ticket, Status.OPEN, actor=author)
        elif not author.is_agent:
            if ticket.status == Status.RESOLVED:
                _set_status(ticket, Status.OPEN, actor=author, kind=EventKind.REOPENED)
            elif ticket.status == Status.PENDING:
                _set_status(ticket, Status.OPEN, actor=author)
        ticket.updated_at = now
        _commit(ticket)
    return event


def _check_reply(ticket: Ticket, author: User, body: str, public: bool) -> None:
    _check_text(None, body)
    if not author.is_agent and (not public or ticket.customer_id != author.id):
        raise TicketError("Only the support team can add internal notes.")
    if ticket.status == Status.CLOSED:
        raise TicketClosed(f"{ticket.ref} is closed; a reply starts a follow-up ticket.")


def _event_by_token(ticket: Ticket, token: str) -> TicketEvent | None:
    return db.session.scalar(
        select(TicketEvent).where(
            TicketEvent.ticket_id == ticket.id, TicketEvent.client_token == token
        )
    )


def change_status(
    ticket: Ticket,
    to: Status,
    *,
    actor: User | None,
    note: str | None = None,
    expected_version: int | None = None,
) -> TicketEvent | None:
    """Move a ticket to another status; None when it already has that status."""
    _expect_version(ticket, expected_version)
    if ticket.status == to:
        return None
    if to not in TRANSITIONS[ticket.status]:
        raise TicketError(
            f"A ticket that is {ticket.status.label.lower()} can't become {to.label.lower()}."
        )
    kind = (
        EventKind.REOPENED
        if ticket.status == Status.RESOLVED and to == Status.OPEN
        else (EventKind.STATUS_CHANGED)
    )
    event = _set_status(ticket, to, actor=actor, kind=kind, body=note or None)
    _commit(ticket)
    return event


def escalate(
    ticket: Ticket,
    *,
    actor: User | None,
    reason: str,
    expected_version: int | None = None,
) -> TicketEvent:
    """Hand the ticket to the next tier of the escalation matrix.

    The customer sees a public event naming who now handles it and when they
    will hear back; the reason is kept for the team (in the event's data).
    `actor` None means the SLA checker escalated it automatically.
    """
    _expect_version(ticket, expected_version)
    event = _escalate(ticket, actor=actor, reason=reason)
    _commit(ticket)
    return event


def _escalate(ticket: Ticket, *, actor: User | None, reason: str) -> TicketEvent:
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
    ticket.assignee = None
    ticket.updated_at = now
    update_by = ticket.next_update_due.strftime("%a %d %b, %H:%M UTC")
    return _record(
        ticket,
        EventKind.ESCALATED,
        actor=actor,
        body=f"{new_stage.name.capitalize()} now handles your request. "
        f"You will get an update from them by {update_by}.",
        data={
            "from": previous,
            "to": Status.ESCALATED,
            "tier": ticket.tier,
            "reason": reason.strip(),
            "automatic": actor is None,
        },
    )


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


def rate(ticket: Ticket, *, customer: User, score: int, comment: str | None = None) -> Rating:
    """Record (or change) the customer's 1–5 rating of a resolved ticket."""
    if ticket.customer_id != customer.id:
        raise TicketError("Only the customer who filed this ticket can rate it.")
    if ticket.status.is_active:
        raise TicketError("You can rate the support you received once the ticket is resolved.")
    if score not in range(1, 6):
        raise TicketError("Choose a rating from 1 to 5.")
    comment = (comment or "").strip() or None
    if comment and len(comment) > 5000:
        raise TicketError("The comment can be at most 5,000 characters.")
    now = clock.now()
    rating = db.session.scalar(select(Rating).where(Rating.ticket_id == ticket.id))
    if rating is not None and (rating.score, rating.comment) == (score, comment):
        return rating  # sent twice (a double click): nothing changed, nothing to record
    if rating is None:
        rating = Rating(ticket_id=ticket.id, created_at=now, score=score)
        db.session.add(rating)
    rating.score, rating.comment, rating.updated_at = score, comment, now
    _record(ticket, EventKind.RATED, actor=customer, body=comment, data={"score": score})
    ticket.updated_at = now
    _commit(ticket)
    return rating


def customer_reply(
    ticket: Ticket,
    *,
    customer: User,
    body: str,
    files: Sequence[StoredFile] = (),
    client_token: str | None = None,
) -> Ticket:
    """The customer writes on their ticket; returns the ticket the reply landed on.

    A duplicate merged into another ticket passes the reply on to the ticket that
    carries on. Closed is final: a reply to a closed ticket opens a linked follow-up.
    """
    while ticket.merged_into is not None and ticket.merged_into.customer_id == customer.id:
        ticket = ticket.merged_into
    if ticket.status == Status.CLOSED:
        return open_follow_up(
            ticket, customer=customer, body=body, files=files, client_token=client_token
        )
    reply(ticket, author=customer, body=body, files=files, client_token=client_token)
    return ticket


def open_follow_up(
    closed: Ticket,
    *,
    customer: User,
    body: str,
    files: Sequence[StoredFile] = (),
    client_token: str | None = None,
) -> Ticket:
    """A reply to a closed ticket becomes a new ticket linked to it."""
    return open_ticket(
        customer=customer,
        subject=f"Follow-up to {closed.ref}: {closed.subject}"[:SUBJECT_MAX],
        description=body,
        category=closed.category,
        impact=closed.impact,
        channel=closed.channel,
        files=files,
        client_token=client_token,
        parent=closed,
    )
