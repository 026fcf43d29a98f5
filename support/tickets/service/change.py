"""The unit of work: one change to a ticket, made in one transaction, in an order you
can read here, top to bottom.

    with TicketChange(ticket, agent, expected_version=version) as change:
        change.record(EventKind.REPLY, body=text)
        change.set_status(Status.OPEN)

1. On entry, the version check: a caller holding an older version than the
   database's gets StaleTicket ("changed by X — reload") before anything is written.
2. In the block, the service function changes fields and records events.
3. On a clean exit (`_finish`):
   a. flush: the ticket's versioned UPDATE runs, so a lost race raises StaleTicket
      here; events get their ids;
   b. notifications: in the app and by email, for the change's events
      (support/notify/events.py decides who hears what);
   c. webhooks: one delivery per event and subscribed webhook, its JSON fixed now
      (support/webhooks/outbox.py);
   d. the stored due time and board sort key of each ticket written whose due times
      or place moved (tickets/due.py; a new ticket's go in its INSERT), and the
      search document of each ticket something was said on (tickets/search.py);
   e. the SLA checker's wake-ups for each ticket's next warning and due times, when
      what they are worked out from changed (a note or the acknowledgement moves none);
   f. commit;
   g. enqueue the jobs (email and webhook deliveries, SLA checks, follow-ups, auto-close).
4. On any exception up to the commit: rollback (no email, notification or webhook
   delivery is left behind), the change's uploaded files deleted, nothing enqueued.
   Redis failing in 3g loses nothing: the sweep finds the work in the database
   (support/jobs/tasks.py).

No session hook does any of this behind the caller's back.
"""

from __future__ import annotations

from collections.abc import Sequence
from types import TracebackType
from typing import Any

from sqlalchemy import inspect, select
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.exc import StaleDataError

from support import clock
from support.extensions import db
from support.jobs import queue
from support.jobs.queue import Job
from support.models import Attachment, EventKind, OutboxMessage, Status, Ticket, TicketEvent, User
from support.notify import events as notify
from support.notify import outbox
from support.text import plain_to_html
from support.tickets import attachments, automation, due, search, sla
from support.tickets.attachments import StoredFile
from support.webhooks import outbox as webhooks

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


def check_text(subject: str | None, body: str) -> None:
    """A subject (None: no subject asked for) and a message within the limits."""
    if subject is not None and not subject.strip():
        raise TicketError("Please give your request a subject.")
    if subject is not None and len(subject) > SUBJECT_MAX:
        raise TicketError(f"The subject can be at most {SUBJECT_MAX} characters.")
    if not body.strip():
        raise TicketError("Please write a message.")
    if len(body) > BODY_MAX:
        raise TicketError(f"A message can be at most {BODY_MAX:,} characters.")


def check_agent(actor: User | None, action: str) -> None:
    """Only the team does `action`; `actor` None is the system (routing, the jobs)."""
    if actor is not None and not actor.is_agent:
        raise TicketError(f"Only the support team can {action}.")


def check_transition(ticket: Ticket, to: Status) -> None:
    """The TRANSITIONS rule, worded for agents (status values, not the customer's labels)."""
    if to not in TRANSITIONS[ticket.status]:
        before, after = (s.value.replace("_", " ") for s in (ticket.status, to))
        raise TicketError(f"{ticket.ref} can't go from {before} to {after}.")


class TicketChange:
    """One change to a ticket (and to the tickets its events touch, as a merge does).

    `ticket` None starts a change that files a new ticket (`open`). `actor` None is
    the system (the jobs). `files` are uploads already stored: they are deleted
    again if the change fails, so nothing is left half-written.
    """

    def __init__(
        self,
        ticket: Ticket | None,
        actor: User | None,
        *,
        expected_version: int | None = None,
        files: Sequence[StoredFile] = (),
    ) -> None:
        self._ticket = ticket
        self.actor = actor
        self.expected_version = expected_version
        self.files = list(files)
        self.events: list[TicketEvent] = []
        self.emails: list[OutboxMessage] = []
        self.jobs: list[Job] = []
        self._wake_inputs: tuple[object, ...] | None = None  # the ticket's, on entry
        self._due_inputs: tuple[object, ...] | None = None  # the same, for due.refresh

    @property
    def ticket(self) -> Ticket:
        if self._ticket is None:
            raise RuntimeError("This change files a ticket: call open() first.")
        return self._ticket

    # --- 1. entry ---------------------------------------------------------------------

    def __enter__(self) -> TicketChange:
        try:
            if self._ticket is not None and self.expected_version not in (
                None,
                self._ticket.version,
            ):
                raise StaleTicket(stale_message(self._ticket))
            if self._ticket is not None:
                self._wake_inputs = sla.wake_inputs(self._ticket)
                self._due_inputs = due.inputs(self._ticket)
        except BaseException:
            self._abandon()
            raise
        return self

    # --- 2. what the service function does --------------------------------------------

    def open(self, ticket: Ticket) -> Ticket:
        """A new ticket, inserted (once, complete) when the change finishes."""
        # Its due time and sort key go in the INSERT (worked out again before it if the
        # change moves what they are worked out from).
        self._due_inputs = due.fill(ticket)
        db.session.add(ticket)
        self._ticket = ticket
        return ticket

    def record(
        self,
        kind: EventKind,
        *,
        ticket: Ticket | None = None,
        public: bool = True,
        body: str | None = None,
        data: dict[str, Any] | None = None,
        client_token: str | None = None,
        automatic: bool = False,
    ) -> TicketEvent:
        """A timeline event on the change's ticket (or `ticket`), by the actor.

        `automatic` events are the system's own decisions made while the actor acted
        (triage when a customer files): nobody is named, and the actor is told too.
        """
        event = TicketEvent(
            ticket=ticket or self.ticket,
            kind=kind,
            actor=None if automatic else self.actor,
            is_public=public,
            body_text=body,
            body_html=plain_to_html(body) if body else None,
            data=data,
            created_at=clock.now(),
            client_token=client_token,
        )
        db.session.add(event)
        self.events.append(event)
        return event

    def attach(self, event: TicketEvent, files: Sequence[StoredFile]) -> None:
        """Files the actor uploaded with `event`."""
        for stored in files:
            db.session.add(
                Attachment(
                    ticket=event.ticket,
                    event=event,
                    filename=stored.filename,
                    content_type=stored.content_type,
                    size=stored.size,
                    sha256=stored.sha256,
                    storage_key=stored.storage_key,
                    uploaded_by_id=self.actor.id if self.actor else None,
                    created_at=clock.now(),
                )
            )

    def set_status(
        self,
        to: Status,
        *,
        kind: EventKind = EventKind.STATUS_CHANGED,
        body: str | None = None,
    ) -> TicketEvent:
        """Move the ticket to `to` (callers check the transition) and record it.

        Waiting on the customer (pending, or resolved until they confirm) stops the SLA
        clock; a reopened ticket gets back the time it had left, not due times that
        passed meanwhile. Resolving schedules the follow-up and the auto-close.
        """
        ticket, now = self.ticket, clock.now()
        previous = ticket.status
        ticket.status = to
        ticket.updated_at = now
        if to in (Status.PENDING, Status.RESOLVED):
            sla.pause(ticket, now)
        elif previous in (Status.PENDING, Status.RESOLVED):
            sla.resume(ticket, now)
        if to == Status.RESOLVED:
            ticket.resolved_at = now
            self.jobs += automation.after_resolution(ticket, now)
        elif to == Status.CLOSED:
            ticket.closed_at = now
        elif previous == Status.RESOLVED:
            ticket.resolved_at = None
        return self.record(kind, body=body, data={"from": previous, "to": to})

    def email(self, message: OutboxMessage | None) -> None:
        """An email queued in the outbox (None: queued by an earlier run), sent after commit."""
        if message is not None:
            self.emails.append(message)

    # --- 3. and 4. exit ---------------------------------------------------------------

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc is not None:
            self._fail(exc)
            return  # the caller's exception goes on
        try:
            refs = self._finish()
        except BaseException as failure:
            self._fail(failure)
            raise
        _keep_refs(refs)
        # g. Committed: from here on a failure must not undo anything (files included).
        queue.enqueue_all([outbox.delivery(message) for message in self.emails] + self.jobs)

    def _finish(self) -> dict[Ticket, tuple[int, str]]:
        """Steps a. to f.; returns the refs of the tickets written, to keep after the commit."""
        if not self.events:  # nothing happened (a reorder's plain UPDATE at most): commit it
            refs = _loaded_refs([self._ticket] if self._ticket is not None else [])
            db.session.commit()
            return refs
        written = self._tickets()
        mine = self._ticket
        if mine is not None and due.inputs(mine) != self._due_inputs:
            due.fill(mine)  # d. in the UPDATE (or INSERT) the flush writes anyway
        db.session.flush()  # a. the versioned UPDATE: a lost race raises StaleDataError here
        for message in notify.dispatch(self.events):  # b.
            self.email(message)
        self.jobs += webhooks.record(self.events)  # c.
        # d. Tickets the change recorded events on without writing them (a merge's other
        # side): a plain UPDATE, which leaves their version (and agents' open panels) alone.
        others = [t for t in written if t is not mine]
        due.refresh(db.session.connection(), (t.id for t in others))
        search.refresh(db.session.connection(), search.said_in(self.events))  # d'.
        for ticket in written:
            if ticket is not mine:
                db.session.expire(ticket, ["next_due_at", "board_sort_key"])
            if ticket is not mine or sla.wake_inputs(ticket) != self._wake_inputs:
                self.jobs += automation.sla_wake_ups(ticket)  # e.
        refs = _loaded_refs(written)
        db.session.commit()  # f.
        return refs

    def _fail(self, exc: BaseException) -> None:
        """Roll back, delete the uploads; a lost race becomes StaleTicket for the user."""
        self._abandon()
        if isinstance(exc, StaleDataError) and self._ticket is not None:
            raise StaleTicket(stale_message(self._ticket)) from exc

    def _tickets(self) -> list[Ticket]:
        """The change's ticket and every ticket its events were recorded on, once each."""
        tickets = [self._ticket] if self._ticket is not None else []
        for event in self.events:
            if all(event.ticket is not t for t in tickets):
                tickets.append(event.ticket)
        return tickets

    def _abandon(self) -> None:
        db.session.rollback()
        attachments.discard(self.files)
        self.jobs.clear()


def _loaded_refs(tickets: Sequence[Ticket]) -> dict[Ticket, tuple[int, str]]:
    """Each ticket's id and ref, if in memory (reading them otherwise would cost a SELECT)."""
    kept = {}
    for ticket in tickets:
        loaded = inspect(ticket).dict
        if loaded.get("id") is not None and loaded.get("ref") is not None:
            kept[ticket] = (loaded["id"], loaded["ref"])
    return kept


def _keep_refs(refs: dict[Ticket, tuple[int, str]]) -> None:
    """The commit expired every attribute, but a ticket's id and ref never change: set
    them back as loaded, so the redirect a view answers with (`ticket.ref`) does not
    SELECT the whole row again. Any other attribute still loads afresh."""
    for ticket, (ticket_id, ref) in refs.items():
        set_committed_value(ticket, "id", ticket_id)
        set_committed_value(ticket, "ref", ref)


def stale_message(ticket: Ticket) -> str:
    """Who changed the ticket under the caller's feet (after a rollback: reads it anew)."""
    db.session.refresh(ticket)
    last = db.session.scalar(
        select(TicketEvent)
        .where(TicketEvent.ticket_id == ticket.id)
        .order_by(TicketEvent.id.desc())
    )
    who = last.actor.name if last and last.actor else "someone else"
    return f"{ticket.ref} was just changed by {who}. Reload to see the latest version."
