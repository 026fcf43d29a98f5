"""The email outbox: messages are rows first, sent later, each exactly once.

`queue_email` adds a row inside the caller's transaction; the caller requests
its `delivery` once that transaction has committed (a TicketChange does): one
coalesced "drain the outbox" job for any number of emails (support/notify/drain.py).
`deliver` sends one message by key (an admin's retry). Both claim rows with a conditional
UPDATE (so two workers never send the same message), send, and mark each sent
with its own commit; a worker that dies after claiming leaves claims that
expire, and the sweep hands those messages to another worker.

What "exactly once" rests on, per message, the same in both paths:
1. the claim (status `sending`, `claimed_at`, attempts + 1) is committed before
   any SMTP command, so nobody else sends it while the lease runs;
2. after the SMTP server accepts it, `sent` is committed at once, for that message
   alone, before the server may accept another: a drain sends over several
   connections at once (MAIL_CONNECTIONS), but lets one at a time past the point
   where the server may accept (drain.py's `_Window`, the turn).
A crash before the server's acceptance: the claim expires, the message is sent
once by the next worker. A crash in the moment between the server's "250" and the
commit of `sent` (one message at most, never a batch) is the one window SMTP
itself leaves open: that message would go out again after the lease.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import datetime, timedelta
from email.utils import parseaddr

from flask import current_app
from sqlalchemy import ColumnElement, Exists, or_, select, update

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
        give_up(message, exc)
        return message
    except Exception as exc:
        back_off(message, exc)
        raise
    message.status = OutboxStatus.SENT
    message.sent_at = clock.now()
    message.last_error = None
    db.session.commit()
    return message


def back_off(message: OutboxMessage, exc: Exception) -> None:
    """Back to pending with a back-off; after MAX_ATTEMPTS it waits for an admin."""
    message.last_error = f"{type(exc).__name__}: {exc}"[:2000]
    message.claimed_at = None
    if message.attempts >= MAX_ATTEMPTS:
        message.status = OutboxStatus.FAILED
    else:
        message.status = OutboxStatus.PENDING
        message.next_attempt_at = clock.now() + timedelta(minutes=2**message.attempts)
    db.session.commit()


def give_up(message: OutboxMessage, exc: mailer.CannotBuild) -> None:
    """Failed for good, at once, with the reason on /admin/jobs (an admin's retry would
    fail the same way, unless the code that builds it was fixed meanwhile)."""
    message.status = OutboxStatus.FAILED
    message.last_error = f"can't be built: {exc}"[:2000]
    message.claimed_at = None
    db.session.commit()
    log.error("Email %s (%s) can't be built, not retried: %s", message.id, message.kind, exc)


def due_now(now: datetime) -> ColumnElement[bool]:
    """Should be sent now: pending and due, or an abandoned claim."""
    return or_(
        (OutboxMessage.status == OutboxStatus.PENDING) & (OutboxMessage.next_attempt_at <= now),
        _lease_expired(now),
    )


def due_for_delivery(limit: int = 500) -> list[str]:
    """Keys of messages that should be sent now (pending and due, or abandoned claims)."""
    query = (
        select(OutboxMessage.idempotency_key)
        .where(due_now(clock.now()))
        .order_by(OutboxMessage.id)
        .limit(limit)
    )
    return list(db.session.scalars(query))


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
