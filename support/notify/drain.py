"""The outbox drain: every due email in one job, many per SMTP round of claims.

One coalesced job (support.notify.outbox.request_drain) claims `BATCH` due rows per
UPDATE and sends them over up to MAIL_CONNECTIONS SMTP connections at once, each
message committed `sent` on its own before the server may accept another
(`_Window`, the turn): the exactly-once argument of support/notify/outbox.py, kept
with several connections.
"""

from __future__ import annotations

import logging
import smtplib
import threading
import time
from collections.abc import Callable
from concurrent import futures
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NoReturn

from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.orm import joinedload

from support import clock
from support.extensions import db
from support.models import OutboxMessage, OutboxStatus
from support.notify import mailer, outbox

log = logging.getLogger(__name__)

BATCH = 50  # rows claimed per round trip by a drain
DRAIN_SECONDS = 20.0  # a drain hands over to a fresh job after this long (queue fairness)


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
                handed_back = window.send_batch(messages, claimed_at)
                if len(messages) < batch and not handed_back:
                    # A short batch took every message due when it claimed (or left it
                    # to a drain holding it): one committed since then requested a
                    # drain of its own (the flag was cleared first), so another claim
                    # would find nothing (a round trip and a commit per job saved).
                    return done
                if time.monotonic() > deadline:
                    done.more = True
                    outbox.request_drain(force=True)
                    return done
    finally:
        session.expire_on_commit = expire


def _claim_batch(limit: int) -> tuple[datetime, list[OutboxMessage]]:
    """Claim up to `limit` due messages in one UPDATE (the conditions of `outbox.deliver`'s
    claim), committed before any is sent, and load them with their tickets (one SELECT)."""
    now = clock.now()
    due = (
        select(OutboxMessage.id).where(outbox.due_now(now)).order_by(OutboxMessage.id).limit(limit)
    )
    if db.session.get_bind().dialect.name == "postgresql":
        # Concurrent drains take different rows. Materialized: as a plain IN (subquery)
        # PostgreSQL may rescan it and claim more than `limit` rows.
        locked = due.with_for_update(skip_locked=True).cte("due").prefix_with("MATERIALIZED")
        ids = select(locked.c.id)
    else:
        ids = due  # SQLite: one writer at a time, the UPDATE is atomic
    claimed = db.session.scalars(
        update(OutboxMessage)
        .where(OutboxMessage.id.in_(ids), outbox.due_now(now))
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
        .options(joinedload(OutboxMessage.ticket))  # one round trip, not two
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

    def send_batch(self, messages: list[OutboxMessage], claimed_at: datetime) -> bool:
        """Build each, send it, commit it sent; on a failure that is not the message's own,
        let those out finish, hand the rest back and raise StopDrain. True when some were
        handed back unattempted for a fresh claim (the lease ran half out)."""
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
                    return True
                try:
                    outgoing = mailer.prepare(message)
                except mailer.CannotBuild as exc:
                    outbox.give_up(message, exc)
                    self.done.unbuildable += 1
                    continue
                except Exception as exc:
                    self._settle_all()
                    outbox.back_off(message, exc)
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
            return False
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
                outbox.back_off(message, exc)  # the server answered: this message's problem only
                self.done.failed += 1
            else:
                outbox.back_off(message, exc)  # the server (or the network) failed: stop the drain
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
