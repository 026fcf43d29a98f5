"""What customers and agents say on a ticket: replies, internal notes, workarounds, ratings."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from support import clock
from support.extensions import db
from support.models import EventKind, Priority, Rating, Status, Ticket, TicketEvent, User
from support.tickets import attachments, sla
from support.tickets.attachments import StoredFile
from support.tickets.service.assignment import assign_in, prioritise_in, tag_in
from support.tickets.service.change import (
    TicketChange,
    TicketClosed,
    TicketError,
    check_agent,
    check_text,
)
from support.tickets.service.filing import open_follow_up
from support.tickets.service.followers import is_follower
from support.tickets.service.status import has_public_answer, set_status_in

RATING_COMMENT_MAX = 5000


def reply(
    ticket: Ticket,
    *,
    author: User,
    body: str,
    public: bool = True,
    files: Sequence[StoredFile] = (),
    client_token: str | None = None,
    data: dict[str, Any] | None = None,
) -> TicketEvent:
    """A public reply or (agents only) an internal note; the same client_token adds it once.

    An agent's first public reply meets the first-response target and opens a new
    ticket; a customer's reply reopens a resolved ticket and answers a pending one.
    Notify tells the customer about the agent's reply and the assignee about the
    customer's, after the commit (support/tickets/service/change.py).
    """
    if client_token and (existing := _event_by_token(ticket, client_token)):
        attachments.discard(list(files))
        return existing
    with TicketChange(ticket, author, files=files) as change:
        event = _message(change, body, public, files, client_token, data)
    return event


@dataclass(frozen=True)
class Then:
    """What changes with an agent's message: "send and set to Resolved", or a macro's
    actions. None (and no tags) leaves a field as it is."""

    status: Status | None = None
    priority: Priority | None = None
    add_tags: tuple[str, ...] = ()
    assignee: User | None = None

    @property
    def anything(self) -> bool:
        return bool(self.status or self.priority or self.add_tags or self.assignee)


def respond(
    ticket: Ticket,
    *,
    agent: User,
    body: str,
    public: bool,
    then: Then | None = None,
    files: Sequence[StoredFile] = (),
    client_token: str | None = None,
    expected_version: int | None = None,
) -> TicketEvent:
    """An agent's reply or internal note and what changes with it, all or nothing.

    A status the ticket cannot move to, an inactive assignee or a bad tag refuses
    the whole change: the message is not sent and no field moves.
    """
    if client_token and (existing := _event_by_token(ticket, client_token)):
        attachments.discard(list(files))
        return existing
    then = then or Then()
    with TicketChange(ticket, agent, files=files, expected_version=expected_version) as change:
        check_agent(agent, "answer tickets")
        event = _message(change, body, public, files, client_token)
        _apply(change, then, answered=public)
    return event


def _apply(change: TicketChange, then: Then, *, answered: bool) -> None:
    """The changes that go with a message; any refusal undoes the message too."""
    ticket = change.ticket
    if then.priority is not None:
        prioritise_in(change, then.priority)
    if then.add_tags:
        tag_in(change, [*(tag.name for tag in ticket.tags), *then.add_tags])
    if then.assignee is not None:
        assign_in(change, then.assignee)
    if then.status is not None and then.status != ticket.status:
        _then_status(change, then.status, answered=answered)


def _message(
    change: TicketChange,
    body: str,
    public: bool,
    files: Sequence[StoredFile],
    client_token: str | None,
    data: dict[str, Any] | None = None,
) -> TicketEvent:
    """A reply or note itself: an agent's public reply answers the customer (and opens a
    new ticket); a customer's reopens a resolved ticket and answers a pending one."""
    ticket, author = change.ticket, change.actor
    assert author is not None
    _check_reply(ticket, author, body, public)
    now = clock.now()
    event = change.record(
        EventKind.REPLY if public else EventKind.NOTE,
        public=public,
        body=body,
        client_token=client_token,
        data=data,
    )
    change.attach(event, files)
    if author.is_agent and public:
        sla.record_agent_response(ticket, now)
        if ticket.status == Status.NEW:
            change.set_status(Status.OPEN)
    elif not author.is_agent:
        if ticket.status == Status.RESOLVED:
            change.set_status(Status.OPEN, kind=EventKind.REOPENED)
        elif ticket.status == Status.PENDING:
            change.set_status(Status.OPEN)
    ticket.updated_at = now
    return event


def _then_status(change: TicketChange, to: Status, *, answered: bool) -> None:
    ticket = change.ticket
    if to == Status.ESCALATED:
        raise TicketError("Escalate from the panel's Escalate form: it needs a reason.")
    if to == Status.RESOLVED and not answered and not has_public_answer(ticket):
        raise TicketError(
            f"{ticket.ref} can't be resolved yet: the customer has had no answer. "
            "Send a reply instead of a note."
        )
    set_status_in(change, to)


def _check_reply(ticket: Ticket, author: User, body: str, public: bool) -> None:
    check_text(None, body)
    if not author.is_agent and not public:
        raise TicketError("Only the support team can add internal notes.")
    if not author.is_agent and ticket.customer_id != author.id and not is_follower(ticket, author):
        raise TicketError("Only the customer and the people following this ticket can reply.")
    if ticket.status == Status.CLOSED:
        raise TicketClosed(f"{ticket.ref} is closed; a reply starts a follow-up ticket.")


def _event_by_token(ticket: Ticket, token: str) -> TicketEvent | None:
    return db.session.scalar(
        select(TicketEvent).where(
            TicketEvent.ticket_id == ticket.id, TicketEvent.client_token == token
        )
    )


def customer_reply(
    ticket: Ticket,
    *,
    customer: User,
    body: str,
    files: Sequence[StoredFile] = (),
    client_token: str | None = None,
    data: dict[str, Any] | None = None,
) -> Ticket:
    """The customer writes on their ticket; returns the ticket the reply landed on.

    A duplicate merged into another ticket passes the reply on to the ticket that
    carries on. Closed is final: a reply to a closed ticket opens a linked follow-up.
    """
    while ticket.merged_into is not None and ticket.merged_into.customer_id == customer.id:
        ticket = ticket.merged_into
    if ticket.status == Status.CLOSED:
        return open_follow_up(
            ticket, customer=customer, body=body, files=files, client_token=client_token, data=data
        )
    reply(ticket, author=customer, body=body, files=files, client_token=client_token, data=data)
    return ticket


def system_note(
    ticket: Ticket,
    *,
    body: str,
    data: dict[str, Any] | None = None,
    files: Sequence[StoredFile] = (),
    client_token: str | None = None,
) -> TicketEvent:
    """An internal note nobody on the team wrote (an out-of-office reply, an email from
    an unverified sender): it changes no status, SLA time or notification."""
    if client_token and (existing := _event_by_token(ticket, client_token)):
        attachments.discard(list(files))
        return existing
    with TicketChange(ticket, None, files=files) as change:
        check_text(None, body)
        event = change.record(
            EventKind.NOTE, public=False, body=body, data=data, client_token=client_token
        )
        change.attach(event, files)
    return event


def offer_workaround(
    ticket: Ticket,
    *,
    actor: User,
    body: str,
    expected_version: int | None = None,
    files: Sequence[StoredFile] = (),
    then: Then | None = None,
) -> TicketEvent:
    """A public way around the problem while the real fix is worked on.

    It answers the customer, so it counts as our response for the SLA (and lets
    the ticket be resolved from the board). `files` and `then` as for `respond`.
    """
    with TicketChange(ticket, actor, expected_version=expected_version, files=files) as change:
        check_agent(actor, "offer workarounds")
        check_text(None, body)
        if not ticket.status.is_active:
            raise TicketError(
                f"{ticket.ref} is {ticket.status.label.lower()}; reopen it to offer a workaround."
            )
        now = clock.now()
        event = change.record(EventKind.WORKAROUND, body=body)
        change.attach(event, files)
        sla.record_agent_response(ticket, now)
        if ticket.status == Status.NEW:
            change.set_status(Status.OPEN)
        ticket.updated_at = now
        _apply(change, then or Then(), answered=True)
    return event


def rate(ticket: Ticket, *, customer: User, score: int, comment: str | None = None) -> Rating:
    """Record (or change) the customer's 1–5 rating of a resolved ticket.

    The same rating sent twice (a double click) changes and records nothing.
    """
    if ticket.customer_id != customer.id:
        raise TicketError("Only the customer who filed this ticket can rate it.")
    if ticket.status.is_active:
        raise TicketError("You can rate the support you received once the ticket is resolved.")
    if score not in range(1, 6):
        raise TicketError("Choose a rating from 1 to 5.")
    comment = (comment or "").strip() or None
    if comment and len(comment) > RATING_COMMENT_MAX:
        raise TicketError(f"The comment can be at most {RATING_COMMENT_MAX:,} characters.")
    rating = db.session.scalar(select(Rating).where(Rating.ticket_id == ticket.id))
    if rating is not None and (rating.score, rating.comment) == (score, comment):
        return rating
    with TicketChange(ticket, customer) as change:
        now = clock.now()
        if rating is None:
            rating = Rating(ticket_id=ticket.id, created_at=now, score=score)
            db.session.add(rating)
        rating.score, rating.comment, rating.updated_at = score, comment, now
        change.record(EventKind.RATED, body=comment, data={"score": score})
        ticket.updated_at = now
    return rating
