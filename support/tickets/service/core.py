"""What every ticket change is made of: its event, its files, its commit, its status rules."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm.exc import StaleDataError

from support import clock
from support.extensions import db
from support.models import (
    Attachment,
    EventKind,
    Status,
    Ticket,
    TicketEvent,
    User,
)
from support.notify import events as notify_events
from support.text import plain_to_html
from support.tickets import attachments, automation, sla
from support.tickets.attachments import StoredFile

SUBJECT_MAX = 200
BODY_MAX = 50_000

# Where each status may go next. Resolved and closed are left by replies or reopen.
TRANSITIONS: dict[Status, set[Status]] = {
    Status.NEW: {Status.OPEN, Status.PENDING, Status.ON_HOLD, Status.ESCALATED, Status.RESOLVED},
    Status.OPEN: {Status.PENDING, Status.ON_HOLD, Status.ESCALATED, Status.RESOLVED},
    Status.PENDING: {Status.OPEN, Status.ON_HOLD, Status.ESCALATED, Status.RESOLVED},
    Status.ON_HOLD: {Status.OPEN, Status.PENDING, Status.ESCALATED, Status.RESOLVED},
    Status.ESCALATED: {Status.OPEN, Status.PENDING, Status.ON_HOLD, Status.RESOLVED},
    Status.RESOLVED: {Status.OPEN, Status.CLOSED},
    Status.CLOSED: set(),
}


class TicketError(Exception):
    """A change that cannot be made; the message is written for the user."""


class StaleTicket(TicketError):
    """Someone else changed the ticket after the caller loaded it."""


class TicketClosed(TicketError):
    """Closed tickets take no replies; a follow-up ticket is opened instead."""


def _record(
    ticket: Ticket,
    kind: EventKind,
    *,
    actor: User | None,
    public: bool = True,
    body: str | None = None,
    data: dict[str, Any] | None = None,
    client_token: str | None = None,
) -> TicketEvent:
    event = TicketEvent(
        ticket=ticket,
        kind=kind,
        actor=actor,
        is_public=public,
        body_text=body,
        body_html=plain_to_html(body) if body else None,
        data=data,
        created_at=clock.now(),
        client_token=client_token,
    )
    db.session.add(event)
    notify_events.on_event(event)
    return event


def _attach(ticket: Ticket, event: TicketEvent, files: Sequence[StoredFile], by: User) -> None:
    for stored in files:
        db.session.add(
            Attachment(
                ticket=ticket,
                event=event,
                filename=stored.filename,
                content_type=stored.content_type,
                size=stored.size,
                sha256=stored.sha256,
                storage_key=stored.storage_key,
                uploaded_by_id=by.id,
                created_at=clock.now(),
            )
        )


def _check_text(subject: str | None, body: str) -> None:
    if subject is not None and not subject.strip():
        raise TicketError("Please give your request a subject.")
    if subject is not None and len(subject) > SUBJECT_MAX:
        raise TicketError(f"The subject can be at most {SUBJECT_MAX} characters.")
    if not body.strip():
        raise TicketError("Please write a message.")
    if len(body) > BODY_MAX:
        raise TicketError(f"A message can be at most {BODY_MAX:,} characters.")


def _commit(ticket: Ticket) -> None:
    """Commit; a concurrent update of the same ticket becomes StaleTicket.

    The SLA checker is woken for the ticket's next warning and due times
    (after the commit; the sweep covers any wake-up Redis loses).
    """
    try:
        notify_events.dispatch()
        db.session.flush()  # the versioned UPDATE runs here: a lost race raises here too
        automation.schedule_sla_checks(ticket)
        db.session.commit()
    except StaleDataError as exc:
        db.session.rollback()
        raise StaleTicket(_stale_message(ticket)) from exc


@contextmanager
def _files_kept_on_success(files: Sequence[StoredFile]) -> Iterator[None]:
    """Nothing half-written: if the change fails, roll back and delete its uploads."""
    try:
        yield
    except BaseException:
        db.session.rollback()
        attachments.discard(list(files))
        raise


def _stale_message(ticket: Ticket) -> str:
    db.session.refresh(ticket)
    last = db.session.scalar(
        select(TicketEvent)
        .where(TicketEvent.ticket_id == ticket.id)
        .order_by(TicketEvent.id.desc())
    )
    who = last.actor.name if last and last.actor else "someone else"
    return f"{ticket.ref} was just changed by {who}. Reload to see the latest version."


def _expect_version(ticket: Ticket, expected_version: int | None) -> None:
    if expected_version is not None and expected_version != ticket.version:
        raise StaleTicket(_stale_message(ticket))


def _set_status(
    ticket: Ticket,
    to: Status,
    *,
    actor: User | None,
    kind: EventKind = EventKind.STATUS_CHANGED,
    body: str | None = None,
) -> TicketEvent:
    now = clock.now()
    previous = ticket.status
    ticket.status = to
    ticket.updated_at = now
    # Waiting on the customer (pending, or resolved until they confirm) stops the SLA clock;
    # a reopened ticket gets back the time it had left, not due times that passed meanwhile.
    if to in (Status.PENDING, Status.RESOLVED):
        sla.pause(ticket, now)
    elif previous in (Status.PENDING, Status.RESOLVED):
        sla.resume(ticket, now)
    if to == Status.RESOLVED:
        ticket.resolved_at = now
        automation.schedule_after_resolution(ticket, now)
    elif to == Status.CLOSED:
        ticket.closed_at = now
    elif previous == Status.RESOLVED:
        ticket.resolved_at = None
    return _record(ticket, kind, actor=actor, body=body, data={"from": previous, "to": to})


def _check_transition(ticket: Ticket, to: Status) -> None:
    """change_status's rule (TRANSITIONS), checked before a move changes anything."""
    if to not in TRANSITIONS[ticket.status]:
        # Status values, not labels: the labels speak to customers ("Waiting for you").
        before, after = (s.value.replace("_", " ") for s in (ticket.status, to))
        raise TicketError(f"{ticket.ref} can't go from {before} to {after}.")
