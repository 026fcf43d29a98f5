"""Filing tickets: a customer's new request, and the follow-up a reply to a closed one opens."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from support import clock, triage
from support.extensions import db
from support.models import Category, EventKind, Impact, Status, Ticket, User
from support.models.ticket import Channel
from support.notify import events as notify
from support.text import one_line
from support.tickets import attachments, refs, sla
from support.tickets.attachments import StoredFile
from support.tickets.service.change import SUBJECT_MAX, TicketChange, check_text


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
    data: dict[str, Any] | None = None,
    acknowledge: bool = True,
    filed_by: User | None = None,
) -> Ticket:
    """File a ticket for `customer`; the same client_token files it only once.

    `filed_by`: the agent who filed it for the customer (a phone call, a walk-in); the
    request stays the customer's, and the agent is kept on its "created" event.

    Triage decides its category (when the customer was not sure), priority, team and
    agent; each decision is an internal event with its reason, and notify tells the
    agent (or the team it waits in). The customer gets the acknowledgement email unless
    `acknowledge` is off (inbound mail over its sender's cap). `data` goes on the
    "created" event (an email's quoted history, its sender's verification).
    """
    if client_token and (existing := _ticket_by_token(customer, client_token)):
        attachments.discard(list(files))
        return existing
    # A subject is one line (it becomes an email's Subject header): a line break or tab
    # typed, pasted or posted into it is a space.
    subject = one_line(subject)
    try:
        with TicketChange(None, customer, files=files) as change:
            check_text(subject, description)
            decision = triage.decide(subject, description, impact, category, lock=True)
            ticket = change.open(
                _new_ticket(customer, subject, description, decision, channel, client_token, parent)
            )
            filer = {"filed_by": filed_by.id, "filed_by_name": filed_by.name} if filed_by else {}
            created_data = {**(data or {}), **filer} or None
            created = change.record(EventKind.CREATED, body=description, data=created_data)
            change.attach(created, files)
            _record_decision(change, decision)
            if acknowledge:
                change.email(notify.acknowledge(ticket))
            if parent is not None:
                change.record(EventKind.LINKED, ticket=parent, data={"follow_up": ticket.ref})
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
    decision: triage.Decision,
    channel: Channel,
    client_token: str | None,
    parent: Ticket | None,
) -> Ticket:
    now = clock.now()
    ticket = Ticket(
        ref=_unused_ref(),
        subject=subject,
        description=description,
        customer=customer,
        channel=channel,
        category=decision.category,
        impact=decision.impact,
        priority=decision.priority.priority,
        status=Status.NEW,
        created_at=now,
        updated_at=now,
        team=decision.team,
        assignee=decision.assignee,
        client_token=client_token,
        parent=parent,
    )
    sla.start_clock(ticket, now)
    return ticket


def _record_decision(change: TicketChange, decision: triage.Decision) -> None:
    """Triage's decisions as internal events, each with its reason."""
    if decision.suggestion is not None:
        data = triage.suggestion_data(decision.suggestion)
        change.record(EventKind.CATEGORY_SUGGESTED, public=False, data=data, automatic=True)
    if decision.priority_worth_an_event:
        data = triage.priority_data(decision.priority)
        change.record(EventKind.PRIORITY_SET, public=False, data=data, automatic=True)
    if decision.route_worth_an_event:
        data = triage.route_data(decision.route)
        change.record(EventKind.ROUTED, public=False, data=data, automatic=True)


def _ticket_by_token(customer: User, token: str) -> Ticket | None:
    return db.session.scalar(
        select(Ticket).where(Ticket.customer_id == customer.id, Ticket.client_token == token)
    )


def _unused_ref() -> str:
    while True:
        ref = refs.new_ref()
        if db.session.scalar(select(Ticket.id).where(Ticket.ref == ref)) is None:
            return ref


def open_follow_up(
    closed: Ticket,
    *,
    customer: User,
    body: str,
    files: Sequence[StoredFile] = (),
    client_token: str | None = None,
    data: dict[str, Any] | None = None,
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
        data=data,
    )
