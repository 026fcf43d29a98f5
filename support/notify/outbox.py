"""The email outbox: messages are rows first, sent later, each exactly once.

`queue_email` adds a row inside the caller's transaction; the caller requests
its `delivery` once that transaction has committed (a TicketChange does): one
coalesced "drain the outbox" job for any number of emails (`drain`). `deliver`
sends one message by key (an admin's retry). Both claim rows with a conditional
UPDATE (so two workers never send the same message), send, and mark each sent
with its own commit; a worker that dies after claiming leaves claims that
expire, and the sweep hands those messages to another worker.

What "exactly once" rests on, per message, the same in both paths:
1. the claim (status `sending`, `claimed_at`, attempts + 1) is committed before
   any SMTP command, so nobody else sends it while the lease runs;
2. after the SMTP server accepts it, `sent` is committed at once, for that message
   alone, before the server may accept another: a drain sends over several
   connections at once (MAIL_CONNECTIONS), but lets one at a time past the point
   where the server may accept (`_Window`, the turn).
A crash before the server's acceptance: the claim expires, the message is sent
once by the next worker. A crash in the moment between the server's "250" and the
commit of `sent` (one message at most, never a batch) is the one window SMTP
itself leaves open: that message would go out again after the lease.
"""

from __future__ import annotations

import hashlib
import logging
import smtplib
import threading
import time
from collections.abc import Callable
from concurrent import futures
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parseaddr
from typing import NoReturn

from flask import current_app
from sqlalchemy import ColumnElement, Exists, or_, select, update
from sqlalchemy.orm import selectinload

from support import clock
from support.extensions import db
from support.jobs import queue
from support.models import BouncingAddress, EmailKind, OutboxMessage, OutboxStatus, Ticket
from support.notify import mailer, preferences

log = logging.getLogger(__name__)
DELIVER = "support.jobs.tasks.deliver_email"
DRAIN = "support.jobs.tasks.drain_outbox"
DRAIN_KEY = "mail-drain"  # the coalescing key, and the prefix of each drain job's id
MAX_ATTEMPTS = 8
BATCH = 50  # rows claimed per round trip by a drain
DRAIN_SECONDS = 20.0  # a drain hands over to a fresh job after this long (queue fairness)


def _domain() -> str:
    address = parseaddr(current_app.config["MAIL_FROM"])[1]
    return address.rsplit("@", 1)[-1] if "@" in address else "localhost"


def thread_id(ticket: Ticket) -> str:
    """The Message-ID every email about this ticket threads under."""
    return f"<{ticket.ref}@{_domain()}>"


def job_id(key: str) -> str:
    return "mail-" + hashlib.sha256(key.encode()).hexdigest()[:32]


def queue_email(
    *,
    key: str,
    kind: EmailKind,
    to: str,
    subject: str,
    body: str,
    ticket: Ticket | None = None,
    root: bool = False,
) -> OutboxMessage | None:
    """Add a message to the outbox, once per key; None when that key is there already.

    `root` makes this message the start of the ticket's email thread (the acknowledgement).
    The caller enqueues `delivery(message)` after its commit. None too when the
    recipient turned this kind of email off (/account; support/notify/preferences.py).
    """
    takes, queued, bouncing = _recipient_and_key(to, kind, key)
    if not takes or queued:
        return None
    if ticket is not None and root:
        message_id, in_reply_to = thread_id(ticket), None
    else:
        message_id = f"<{job_id(key)}@{_domain()}>"
        in_reply_to = thread_id(ticket) if ticket is not None else None
    message = OutboxMessage(
        idempotency_key=key,
        kind=kind,
        to_address=to,
        subject=subject,
        body_text=body,
        message_id=message_id,
        in_reply_to=in_reply_to,
        ticket=ticket,
        created_at=clock.now(),
        next_attempt_at=clock.now(),
    )
    db.session.add(message)
    if bouncing:
        # Mail to it bounced: written (seen at /admin/jobs, with "retry") but not sent,
        # until the address writes to us again (support/mail/inbound/filing.py).
        message.status = OutboxStatus.FAILED
        message.last_error = "not sent: mail to this address bounces"
        return None
    return message


def _bouncing(address: str) -> Exists:
    normal = parseaddr(address)[1].strip().lower()
    return select(BouncingAddress.id).where(BouncingAddress.address == normal).exists()


def is_bouncing(address: str) -> bool:
    return bool(db.session.scalar(select(_bouncing(address))))


def _recipient_and_key(to: str, kind: EmailKind, key: str) -> tuple[bool, bool, bool]:
    """(takes this kind of email, key queued already, address bouncing), in one round
    trip: every email a change queues asks all three."""
    queued = select(OutboxMessage.id).where(OutboxMessage.idempotency_key == key).exists()
    stored, already, bouncing = db.session.execute(
        select(preferences.stored_opt_outs(to), queued, _bouncing(to))
    ).one()
    return preferences.takes(stored, kind), bool(already), bool(bouncing)


def delivery(message: OutboxMessage) -> queue.Job:
    """The job that sends `message`: a request to drain the outbox, coalesced (any
    number of emails committed before a drain starts are sent by that drain)."""
    return queue.Job(DRAIN, coalesce=DRAIN_KEY)


def request_drain(*, force: bool = False) -> bool:
    """Enqueue a drain unless one waits (`force`: the sweep's, regardless)."""
    return queue.request(DRAIN, key=DRAIN_KEY, force=force)


def _claim(key: str) -> bool:
    """Take the message for sending; False when it is sent or another worker holds it."""
    now = clock.now()
    result = db.session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.idempotency_key == key,
            or_(
                OutboxMessage.status == OutboxStatus.PENDING,
                _lease_expired(now),
            ),
        )
        .values(
            status=OutboxStatus.SENDING,
            claimed_at=now,
            attempts=OutboxMessage.attempts + 1,
        )
    )
    db.session.commit()
    return result.rowcount == 1


def _lease_expired(now: datetime) -> ColumnElement[bool]:
    """Claimed by a worker longer than the lease ago: it died, anyone may take it over.

    Claiming, the sweep and an admin's retry must agree on this, or a message could
    be sent twice (or never).
    """
    stale = now - timedelta(seconds=current_app.config["OUTBOX_LEASE_SECONDS"])
    return (OutboxMessage.status == OutboxStatus.SENDING) & (OutboxMessage.claimed_at < stale)


def deliver(key: str) -> OutboxMessage | None:
    """Send the message with this key if nobody has; returns it when this call sent it
    (status SENT) or gave up on it because it can never be built (status FAILED).

    An SMTP failure raises (after scheduling the next attempt), so RQ retries the job;
    a message that can't be built does not: every retry would fail the same way.
    """
    if not _claim(key):
        return None
    message = db.session.scalar(select(OutboxMessage).where(OutboxMessage.idempotency_key == key))
    try:
        mailer.send(message)
    except mailer.CannotBuild as exc:
        _unbuildable(message, exc)
        return message
    except Exception as exc:
        _failed(message, exc)
        raise
    message.status = OutboxStatus.SENT
    message.sent_at = clock.now()
    message.last_error = None
    db.session.commit()
    return message


def _failed(message: OutboxMessage, exc: Exception) -> None:
    """Back to pending with a back-off; after MAX_ATTEMPTS it waits for an admin."""
    message.last_error = f"{type(exc).__name__}: {exc}"[:2000]
    message.claimed_at = None
    if message.attempts >= MAX_ATTEMPTS:
        message.status = OutboxStatus.FAILED
    else:
        message.status = OutboxStatus.PENDING
        message.next_attempt_at = clock.now() + timedelta(minutes=2**message.attempts)
    db.session.commit()


def _unbuildable(message: OutboxMessage, exc: mailer.CannotBuild) -> None:
    """Failed for good, at once, with the reason on /admin/jobs (an admin's retry would
    fail the same way, unless the code that builds it was fixed meanwhile)."""
    message.status = OutboxStatus.FAILED
    message.last_error = f"can't be built: {exc}"[:2000]
    message.claimed_at = None
    db.session.commit()
    log.error("Email %s (%s) can't be built, not retried: %s", message.id, message.kind, exc)


def _due(now: datetime) -> ColumnElement[bool]:
    """Should be sent now: pending and due, or an abandoned claim."""
    return or_(
        (OutboxMessage.status == OutboxStatus.PENDING) & (OutboxMessage.next_attempt_at <= now),
        _lease_expired(now),
    )


def due_for_delivery(limit: int = 500) -> list[str]:
    """Keys of messages that should be sent now (pending and due, or abandoned claims)."""
    query = (
        select(OutboxMessage.idempotency_key)
        .where(_due(clock.now()))
        .order_by(OutboxMessage.id)
        .limit(limit)
    )
    return list(db.session.scalars(query))


# --- the drain: many messages per job, one SMTP connection ---------------------------------


@dataclass
class Drained:
    """What one drain did: sent, given up on (can't be built), failed (back-off)."""

    sent: list[OutboxMessage]
    unbuildable: int = 0
    failed: int = 0
    more: bool = False  # stopped with due messages left (time budget): a new drain was asked


class StopDrain(Exception):
    """The server or the database failed: the rest of the batch is handed back."""


def drain(
    batch: int = BATCH,
    budget: float = DRAIN_SECONDS,
    on_sent: Callable[[OutboxMessage], None] | None = None,
) -> Drained:
    """Send every due message, claiming `batch` rows per round trip, over up to
    MAIL_CONNECTIONS SMTP connections at once, each message marked sent with its own
    commit (see the module's docstring).

    Stops when nothing is due, or after `budget` seconds (asking for a fresh drain,
    so other jobs get the worker in between). A failure of the server (connection
    refused, dropped) or of the database gives the failing message its back-off,
    hands the rest of the batch back untouched, and raises, so RQ retries; a message
    the server refuses (a bad recipient) backs off alone and the drain goes on.
    `on_sent(message)` runs after each message's `sent` commit (the ACK's timeline).
    """
    done = Drained(sent=[])
    deadline = time.monotonic() + budget
    session = db.session()
    # Each message's commit would otherwise expire the whole batch (a reload per row);
    # nothing else writes these rows while our claim is live.
    expire, session.expire_on_commit = session.expire_on_commit, False
    width = max(1, current_app.config["MAIL_CONNECTIONS"])
    try:
        with ThreadPoolExecutor(max_workers=width, thread_name_prefix="smtp") as senders:
            window = _Window(senders, width, mailer.settings(), done, on_sent)
            while True:
                claimed_at, messages = _claim_batch(batch)
                if not messages:
                    return done
                window.send_batch(messages, claimed_at)
                if time.monotonic() > deadline:
                    done.more = True
                    request_drain(force=True)
                    return done
    finally:
        session.expire_on_commit = expire


def _claim_batch(limit: int) -> tuple[datetime, list[OutboxMessage]]:
    """Claim up to `limit` due messages in one UPDATE (the same conditions as `_claim`),
    committed before any is sent, and load them with their tickets."""
    now = clock.now()
    due = select(OutboxMessage.id).where(_due(now)).order_by(OutboxMessage.id).limit(limit)
    if db.session.get_bind().dialect.name == "postgresql":
        # Concurrent drains take different rows. Materialized: as a plain IN (subquery)
        # PostgreSQL may rescan it and claim more than `limit` rows.
        locked = due.with_for_update(skip_locked=True).cte("due").prefix_with("MATERIALIZED")
        ids = select(locked.c.id)
    else:
        ids = due  # SQLite: one writer at a time, the UPDATE is atomic
    claimed = db.session.scalars(
        update(OutboxMessage)
        .where(OutboxMessage.id.in_(ids), _due(now))
        .values(status=OutboxStatus.SENDING, claimed_at=now, attempts=OutboxMessage.attempts + 1)
        .returning(OutboxMessage.id)
        .execution_options(synchronize_session=False)
    ).all()
    db.session.commit()
    if not claimed:
        return now, []
    query = (
        select(OutboxMessage)
        .where(OutboxMessage.id.in_(claimed))
        .options(selectinload(OutboxMessage.ticket))
        .order_by(OutboxMessage.id)
        .execution_options(populate_existing=True)
    )
    return now, list(db.session.scalars(query))


@dataclass(eq=False)
class _Out:
    """A message handed to a sender thread."""

    message: OutboxMessage
    turn: bool = False  # past the moment of acceptance (see _Window): holds the turn


class _Window:
    """Sends a batch over several SMTP connections at once, so that one connection's
    wait for the server's replies overlaps another's, and the building of the next email.

    This thread does everything that touches the database or the app: it builds each
    email (bytes ready for the wire) and hands it to a sender thread, which only talks
    to the server over a connection of its own (mailer.transmit); the answer comes back
    here, where the message is committed `sent` (or backs off). At most `width`
    messages are out at once.

    Exactly once, as with one connection: a sender goes past the server's answer to DATA
    (after which the server may accept the message) only with the *turn*, and the turn
    is handed on once this thread has committed the outcome of the message that held it.
    So the server has accepted at most one message not yet marked sent, at any moment,
    whatever the number of connections: MAIL, RCPT and DATA overlap, the acceptance and
    its commit do not.

    Until the server has accepted a message in this drain, only one is out: with the
    server down, one message pays an attempt and the rest go back untouched.
    """

    def __init__(
        self,
        senders: ThreadPoolExecutor,
        width: int,
        settings: mailer.Settings,
        done: Drained,
        on_sent: Callable[[OutboxMessage], None] | None,
    ) -> None:
        self.senders, self.width, self.settings = senders, width, settings
        self.done, self.on_sent = done, on_sent
        self.out: dict[Future[None], _Out] = {}
        self.allowed = 1  # `width` once the server has accepted one
        self.turn = threading.Semaphore(1)
        self.broke: tuple[OutboxMessage, BaseException] | None = None

    def send_batch(self, messages: list[OutboxMessage], claimed_at: datetime) -> None:
        """Build each, send it, commit it sent; on a failure that is not the message's own,
        let those out finish, hand the rest back and raise StopDrain."""
        lease = timedelta(seconds=current_app.config["OUTBOX_LEASE_SECONDS"])
        try:
            for index, message in enumerate(messages):
                self._settle(wait=False)
                if self.broke is not None:
                    self._settle_all()
                    _release(messages[index:], claimed_at)
                    self._raise()
                if clock.now() - claimed_at > lease / 2:
                    # Slow sends ate half the lease: the rest could expire mid-send and
                    # be taken over. Hand them back for a fresh claim.
                    self._settle_all()
                    _release(messages[index:], claimed_at)
                    return
                try:
                    outgoing = mailer.prepare(message)
                except mailer.CannotBuild as exc:
                    _unbuildable(message, exc)
                    self.done.unbuildable += 1
                    continue
                except Exception as exc:
                    self._settle_all()
                    _failed(message, exc)
                    _release(messages[index + 1 :], claimed_at)
                    raise StopDrain(f"email {message.id}: {type(exc).__name__}: {exc}") from exc
                # Built while the emails before it were out; now wait for room.
                while len(self.out) >= self.allowed:
                    self._settle(wait=True)
                if self.broke is not None:
                    self._settle_all()
                    _release(messages[index:], claimed_at)
                    self._raise()
                out = _Out(message)
                self.out[self.senders.submit(self._transmit, outgoing, out)] = out
            self._settle_all()
            if self.broke is not None:
                self._raise()
        except BaseException:
            self._abandon()
            raise

    def _transmit(self, outgoing: mailer.Outgoing, out: _Out) -> None:
        """In a sender thread."""

        def take_turn() -> None:
            if not out.turn:  # (a retry on a fresh connection holds it already)
                self.turn.acquire()
                out.turn = True

        mailer.transmit(outgoing, self.settings, before_end=take_turn)

    def _settle(self, wait: bool) -> None:
        """Record every answer that is in (waiting for one first if `wait`)."""
        if wait and self.out:
            futures.wait(self.out, return_when=futures.FIRST_COMPLETED)
        for future in [f for f in self.out if f.done()]:
            self._record(self.out.pop(future), future.exception())

    def _settle_all(self) -> None:
        while self.out:
            self._settle(wait=True)

    def _record(self, out: _Out, exc: BaseException | None) -> None:
        """Commit what became of a message, then hand the turn on."""
        message = out.message
        try:
            if exc is None:
                _mark_sent(message)
                self.allowed = self.width
                self.done.sent.append(message)
            elif isinstance(exc, smtplib.SMTPRecipientsRefused | smtplib.SMTPResponseException):
                _failed(message, exc)  # the server answered: this message's problem only
                self.done.failed += 1
            else:
                _failed(message, exc)  # the server (or the network) failed: stop the drain
                self.broke = self.broke or (message, exc)
        finally:
            if out.turn:
                self.turn.release()
        if exc is None and self.on_sent is not None:
            self.on_sent(message)

    def _raise(self) -> NoReturn:
        message, exc = self.broke  # type: ignore[misc]
        raise StopDrain(f"email {message.id}: {type(exc).__name__}: {exc}") from exc

    def _abandon(self) -> None:
        """This thread failed (the database, most likely): let the messages out finish,
        marking those the server accepted as sent while the database lets us (else they
        wait out the lease, and the one the server accepted last goes out again)."""
        recording = True
        while self.out:
            futures.wait(self.out, return_when=futures.FIRST_COMPLETED)
            for future in [f for f in self.out if f.done()]:
                out = self.out.pop(future)
                try:
                    if recording and future.exception() is None:
                        _mark_sent(out.message)
                except Exception:
                    recording = False
                    db.session.rollback()
                    log.exception("Could not mark email %s sent", out.message.id)
                finally:
                    if out.turn:
                        self.turn.release()


def _mark_sent(message: OutboxMessage) -> None:
    message.status = OutboxStatus.SENT
    message.sent_at = clock.now()
    message.last_error = None
    db.session.commit()


def _release(messages: list[OutboxMessage], claimed_at: datetime) -> None:
    """Hand claimed, never-attempted messages back: pending, due now, the attempt undone;
    only while the claim is still ours (nobody took it over)."""
    if not messages:
        return
    db.session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.id.in_([m.id for m in messages]),
            OutboxMessage.status == OutboxStatus.SENDING,
            OutboxMessage.claimed_at == claimed_at,
        )
        .values(
            status=OutboxStatus.PENDING,
            claimed_at=None,
            attempts=OutboxMessage.attempts - 1,
        )
        .execution_options(synchronize_session=False)
    )
    db.session.commit()


def retry_failed(message: OutboxMessage) -> bool:
    """An admin's "retry": back to pending, due now, delivered after commit.

    Only for a message nobody is sending: failed, waiting for its next attempt, or
    claimed by a worker whose lease ran out (it died). One conditional UPDATE, so a
    worker claiming it at the same moment wins and nothing is sent twice. False
    (and nothing changed) otherwise: sent already, or being sent right now.
    """
    now = clock.now()
    result = db.session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.id == message.id,
            or_(
                OutboxMessage.status.in_([OutboxStatus.FAILED, OutboxStatus.PENDING]),
                _lease_expired(now),
            ),
        )
        .values(status=OutboxStatus.PENDING, attempts=0, next_attempt_at=now, claimed_at=None)
        .execution_options(synchronize_session="fetch")
    )
    if result.rowcount != 1:
        db.session.rollback()
        db.session.refresh(message)
        return False
    queue.after_commit(DELIVER, message.idempotency_key, job_id=job_id(message.idempotency_key))
    db.session.commit()
    return True
