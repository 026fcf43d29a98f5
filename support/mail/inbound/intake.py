"""The one way in for every email (IMAP, the MTA pipe, the provider webhook).

`store` commits the raw bytes before anything parses them, so nothing received is ever
lost: a message that later fails to parse or to match is quarantined with the reason.
The same message twice (an IMAP re-fetch, the pipe and the webhook, a provider's retry)
is one row: idempotent on Message-ID, else on the bytes' sha256. `file_message` turns a
stored message into a ticket event (the RQ job, the CLI and an admin's retry call it);
it never raises for a bad message, only for a database or disk failure (retried).
"""

from __future__ import annotations

import hashlib
import logging
from datetime import timedelta
from email.parser import BytesHeaderParser
from email.policy import compat32

from flask import current_app
from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from support import clock
from support.extensions import db
from support.jobs import queue
from support.mail.inbound import filing, parse
from support.models import InboundMessage, InboundSource, InboundStatus, Outcome
from support.text import one_line

log = logging.getLogger(__name__)
FILE_JOB = "support.jobs.tasks.file_inbound"
# Attempts that started but never recorded an outcome (a worker killed by a message too
# big for its memory, say) before the message is quarantined instead of tried again.
MAX_ATTEMPTS = 5
_HEADER_END = (b"\r\n\r\n", b"\n\n")


def job_id(inbound_id: int) -> str:
    return f"inbound-{inbound_id}"


def _header_block(raw: bytes) -> bytes:
    """The bytes before the first empty line (all of it when there is none)."""
    ends = [i for i in (raw.find(sep) for sep in _HEADER_END) if i >= 0]
    return raw[: min(ends)] if ends else raw


def _decoded(value: object) -> str:
    """A header as one line of text, encoded words decoded (junk stays junk)."""
    return one_line(parse.decode_words(str(value)))


def summary(raw: bytes) -> tuple[str | None, str | None, str | None]:
    """(Message-ID, From address, Subject) read from the headers alone, cheaply."""
    headers = BytesHeaderParser(policy=compat32).parsebytes(_header_block(raw))
    message_id = _decoded(headers.get("Message-ID", "")).strip() or None
    senders = parse.address_list(headers, "From")
    sender = senders[0][1] if senders else None
    subject = _decoded(headers.get("Subject", "")) or None
    return (
        message_id[:500] if message_id else None,
        sender[:254] if sender and "@" in sender else None,
        subject[:300] if subject else None,
    )


def _existing(message_id: str | None, sha256: str) -> InboundMessage | None:
    condition = InboundMessage.sha256 == sha256
    if message_id:
        condition = or_(condition, InboundMessage.message_id == message_id)
    return db.session.scalars(select(InboundMessage).where(condition).limit(1)).first()


def store(raw: bytes, source: str, *, enqueue: bool = True) -> InboundMessage:
    """Commit the raw message (once) and queue its filing; returns its row.

    A message over MAIL_MAX_BYTES is kept and quarantined at once, unparsed. `enqueue`
    off: the caller files it itself (the CLI, which needs no worker).
    """
    source_enum = InboundSource(source)
    sha256 = hashlib.sha256(raw).hexdigest()
    try:
        message_id, sender, subject = summary(raw)
    except Exception:
        message_id, sender, subject = None, None, None
    if (found := _existing(message_id, sha256)) is not None:
        return _requeue_if_waiting(found) if enqueue else found
    message = InboundMessage(
        message_id=message_id,
        sha256=sha256,
        source=source_enum,
        received_at=clock.now(),
        size=len(raw),
        raw=raw,
        from_address=sender,
        subject=subject,
    )
    limit = current_app.config["MAIL_MAX_BYTES"]
    if len(raw) > limit:
        message.status, message.outcome = InboundStatus.QUARANTINED, Outcome.QUARANTINED
        message.reason = f"too large: {len(raw):,} bytes (MAIL_MAX_BYTES is {limit:,})"
    db.session.add(message)
    try:
        db.session.commit()
    except IntegrityError:  # the same message, stored by a concurrent delivery
        db.session.rollback()
        found = _existing(message_id, sha256)
        if found is None:
            raise
        message = found
    return _requeue_if_waiting(message) if enqueue else message


def _requeue_if_waiting(message: InboundMessage) -> InboundMessage:
    if message.status == InboundStatus.RECEIVED:
        queue.enqueue(FILE_JOB, message.id, job_id=job_id(message.id))
    return message


def waiting(older_than_seconds: int = 60, limit: int = 500) -> list[int]:
    """Stored but not filed for a while: the sweep re-queues them (Redis lost the job)."""
    before = clock.now() - timedelta(seconds=older_than_seconds)
    return list(
        db.session.scalars(
            select(InboundMessage.id)
            .where(
                InboundMessage.status == InboundStatus.RECEIVED,
                InboundMessage.received_at <= before,
            )
            .order_by(InboundMessage.id)
            .limit(limit)
        )
    )


def file_message(inbound_id: int) -> Outcome:
    """File a stored message: a new ticket, a reply, a note, ignored, a bounce, or quarantined.

    Filing again a message that was already filed does nothing and returns its outcome.
    Any failure of the message itself (it cannot be parsed, a service refuses it) is a
    quarantine with the reason; a database failure raises, for RQ to retry.
    """
    message = db.session.get(InboundMessage, inbound_id)
    if message is None:
        raise LookupError(f"no inbound message {inbound_id}")
    if message.status != InboundStatus.RECEIVED:
        return message.outcome or Outcome.QUARANTINED
    if message.attempts >= MAX_ATTEMPTS:  # it killed its worker each time: stop trying
        result = filing.Result(
            Outcome.QUARANTINED, f"filing never finished ({message.attempts} attempts)"
        )
        return record(message, result)
    db.session.execute(
        update(InboundMessage)
        .where(InboundMessage.id == inbound_id)
        .values(attempts=InboundMessage.attempts + 1)
    )
    db.session.commit()
    try:
        result = filing.file(message)
    except (SQLAlchemyError, OSError):  # the database or the disk: retried, not the message's fault
        db.session.rollback()
        raise
    except Exception as exc:
        db.session.rollback()
        log.exception("inbound message %s could not be filed", inbound_id)
        message = db.session.get(InboundMessage, inbound_id)
        result = filing.Result(Outcome.QUARANTINED, reason=f"could not be filed: {exc!r}"[:2000])
    return record(message, result)


def record(message: InboundMessage, result: filing.Result) -> Outcome:
    """Write what filing made of the message (committed)."""
    message.outcome = result.outcome
    message.reason = result.reason
    message.ticket_id = result.ticket_id
    message.event_id = result.event_id
    if result.outcome == Outcome.QUARANTINED:
        message.status = InboundStatus.QUARANTINED
    else:
        message.status = InboundStatus.FILED
        message.filed_at = clock.now()
    db.session.commit()
    return result.outcome
