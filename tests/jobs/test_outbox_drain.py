"""The outbox drain (support.notify.drain.drain): one coalesced job sends every due
email over one SMTP connection, claiming rows in batches, each marked sent with its
own commit. Real SMTP on loopback, real Redis, real workers (in burst mode, and a real
`flask worker` process killed with SIGKILL mid-batch)."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from support import clock
from support.extensions import db
from support.jobs import queue, tasks
from support.models import EmailKind, EventKind, OutboxMessage, OutboxStatus, TicketEvent
from support.notify import drain, mailer, outbox
from tests.jobs.conftest import children, kill, wait_gone
from tests.jobs.test_notifications_and_admin import statements_on


@pytest.fixture(autouse=True)
def _fresh_connection() -> Iterator[None]:
    mailer.close()
    yield
    mailer.close()


def burst(count: int, prefix: str = "burst") -> list[OutboxMessage]:
    """`count` committed emails, each requesting its delivery as a ticket change does."""
    messages = []
    for n in range(count):
        message = outbox.queue_email(
            key=f"{prefix}:{n}",
            kind=EmailKind.EVENT,
            to=f"customer{n}@example.com",
            subject=f"Update {n}",
            body=f"Update number {n}.",
        )
        assert message is not None
        db.session.commit()
        queue.enqueue_all([outbox.delivery(message)])
        messages.append(message)
    return messages


def copies(smtp) -> Counter[str]:
    return Counter(str(mail["Message-ID"]) for mail in smtp.mailbox.messages)


def statuses() -> Counter[str]:
    with Session(db.engine) as session:
        return Counter(session.scalars(select(OutboxMessage.status)))


def until(condition, timeout: float = 30.0) -> bool:
    """Wait for `condition()` (another process or thread is working towards it)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def drain_jobs(app) -> list[str]:
    return [j for j in queue.queue(app).job_ids if j.startswith(f"{outbox.DRAIN_KEY}-")]


def test_a_burst_is_one_drain_a_few_connections_each_email_once(app, smtp, run_jobs):
    """More emails than one batch claims: all sent once, by one job, over at most
    MAIL_CONNECTIONS connections (kept open for the next drain)."""
    messages = burst(drain.BATCH * 2 + 7)
    assert len(drain_jobs(app)) == 1  # 107 requests, one job

    assert run_jobs() == 1

    assert copies(smtp) == Counter({m.message_id: 1 for m in messages})
    assert 1 <= len(set(smtp.mailbox.peers)) <= app.config["MAIL_CONNECTIONS"]
    assert mailer.open_connections() == len(set(smtp.mailbox.peers))
    assert statuses() == Counter({OutboxStatus.SENT: len(messages)})
    assert run_jobs() == 0
    tasks.sweep()
    assert run_jobs() == 0  # nothing due: the sweep asks for no drain
    assert len(smtp.mailbox.messages) == len(messages)


def test_an_email_committed_while_a_drain_runs_gets_a_drain_of_its_own(app, smtp, run_jobs):
    """The drain clears its request before it reads the outbox: an email committed after
    that asks for (and gets) a new drain, never waits for the sweep."""
    burst(3, "first")
    [first] = drain_jobs(app)
    queue.started(outbox.DRAIN_KEY)  # as the drain does when it starts
    [late] = burst(1, "late")
    assert len(drain_jobs(app)) == 2
    run_jobs()
    assert copies(smtp)[late.message_id] == 1
    assert statuses() == Counter({OutboxStatus.SENT: 4})
    assert first in queue.queue(app).finished_job_registry.get_job_ids()


def test_emails_committed_while_a_drain_gathers_go_out_with_it(app, smtp, run_jobs):
    """With MAIL_GATHER_MS (production waits 200 ms), a drain that has started waits
    before it clears its request: an email committed meanwhile asks for no job of its
    own and goes out with the first, once (under load: one job for many changes)."""
    app.config["MAIL_GATHER_MS"] = 1000
    [first] = burst(1, "first")
    assert len(drain_jobs(app)) == 1
    late: list[str] = []  # its Message-ID
    new_jobs: list[list[str]] = []

    def meanwhile() -> None:
        """Another request, while the worker (this test's thread) runs the drain."""
        with app.app_context():
            if until(lambda: not drain_jobs(app)):  # taken: the drain is gathering
                late.extend(message.message_id for message in burst(1, "late"))
                new_jobs.append(drain_jobs(app))

    writer = threading.Thread(target=meanwhile)
    writer.start()
    try:
        assert run_jobs() == 1
    finally:
        writer.join(timeout=30)
    assert new_jobs == [[]]  # the late email asked for no job of its own
    assert copies(smtp) == Counter({first.message_id: 1, late[0]: 1})
    assert statuses() == Counter({OutboxStatus.SENT: 2})
    assert run_jobs() == 0


def test_production_drains_gather_and_tests_do_not(app):
    from support.config import load_config

    assert app.config["MAIL_GATHER_MS"] == 0
    production = load_config(
        Path(app.instance_path), {"SUPPORT_ENV": "production", "SECRET_KEY": "k" * 40}
    )
    assert production["MAIL_GATHER_MS"] == 200


def test_a_drain_whose_claim_comes_back_short_claims_no_more(app, smtp, run_jobs):
    """Fewer rows than a batch: every email due when it claimed was taken, and any
    committed since asked for a drain of its own, so the job ends without another claim
    (one round trip and a commit per job, and the load's jobs mostly carry one email)."""
    burst(3)
    with statements_on("outbox_messages") as run:
        assert run_jobs() == 1
    claims = [s for s in run if s.upper().startswith(("UPDATE", "WITH")) and "RETURNING" in s]
    assert len(claims) == 1
    assert statuses() == Counter({OutboxStatus.SENT: 3})


def test_the_acknowledgement_s_drain_reads_its_ticket_once(app, make, smtp, run_jobs):
    """The claim's SELECT loads each email with its ticket; noting the acknowledgement on
    the timeline writes no field of it and reads it no second time."""
    ticket = make.ticket()
    with statements_on("") as run:  # every statement
        assert run_jobs() == 1
    selects = [s for s in run if s.upper().startswith("SELECT")]
    assert len(selects) == 2  # the emails with their tickets; "acknowledged already?"
    assert len([s for s in selects if "tickets" in s]) == 1
    kinds = db.session.scalars(select(TicketEvent.kind).where(TicketEvent.ticket_id == ticket.id))
    assert list(kinds).count(EventKind.ACKNOWLEDGED) == 1
    assert len(smtp.mailbox.to(ticket.customer.email)) == 1


def test_a_live_claim_of_one_drain_is_not_taken_by_another(app, smtp):
    """Two drains at once take different rows (and a second one finds nothing left)."""
    burst(5)
    _, first = drain._claim_batch(3)
    _, second = drain._claim_batch(10)
    _, third = drain._claim_batch(10)
    assert [m.idempotency_key for m in first] == ["burst:0", "burst:1", "burst:2"]
    assert [m.idempotency_key for m in second] == ["burst:3", "burst:4"]
    assert third == []
    assert statuses() == Counter({OutboxStatus.SENDING: 5})


def test_a_recipient_the_server_refuses_backs_off_alone(app, smtp, run_jobs):
    """A refusal is that message's problem: it backs off, the rest of the batch goes out."""
    original = smtp.mailbox.handle_RCPT

    async def refuse_one(server, session, envelope, address, options):
        if address == "customer1@example.com":
            return "550 5.1.1 no such user"
        return await original(server, session, envelope, address, options)

    smtp.mailbox.handle_RCPT = refuse_one
    messages = burst(4)
    run_jobs()
    assert sorted(m["To"] for m in smtp.mailbox.messages) == [
        "customer0@example.com",
        "customer2@example.com",
        "customer3@example.com",
    ]
    with Session(db.engine) as session:
        refused = session.get(OutboxMessage, messages[1].id)
        assert (refused.status, refused.attempts) == (OutboxStatus.PENDING, 1)
        assert refused.last_error.startswith("SMTPRecipientsRefused")
        assert refused.next_attempt_at > refused.created_at
    assert statuses() == Counter({OutboxStatus.SENT: 3, OutboxStatus.PENDING: 1})


def test_smtp_down_the_rest_of_the_batch_is_handed_back_unattempted(app, smtp, run_jobs):
    """The server is down: one message pays the attempt (and backs off), the others go
    back to the outbox untouched, then all go out once when the server is back."""
    smtp.stop()
    messages = burst(3)
    run_jobs()
    with Session(db.engine) as session:
        rows = [session.get(OutboxMessage, m.id) for m in messages]
        assert [(r.status, r.attempts, r.claimed_at) for r in rows] == [
            (OutboxStatus.PENDING, 1, None),
            (OutboxStatus.PENDING, 0, None),
            (OutboxStatus.PENDING, 0, None),
        ]
    smtp.start()
    outbox.request_drain(force=True)  # sooner than RQ's retry of the failed drain
    run_jobs()
    assert copies(smtp) == Counter({m.message_id: 1 for m in messages[1:]})  # 1st backs off


def test_redis_down_while_enqueueing_loses_nothing(app, smtp, run_jobs):
    """Redis is down while emails are committed: nothing is queued, the sweep finds them."""
    working = app.config["REDIS_URL"]
    app.config["REDIS_URL"] = "redis://127.0.0.1:9/0"  # nothing listens there
    app.extensions.pop("redis", None)
    try:
        messages = burst(5)
    finally:
        app.config["REDIS_URL"] = working
        app.extensions.pop("redis", None)
    assert run_jobs() == 0
    tasks.sweep()
    assert run_jobs() == 1
    assert copies(smtp) == Counter({m.message_id: 1 for m in messages})


def test_a_request_whose_job_redis_lost_is_covered_by_the_sweep(app, smtp, run_jobs):
    """The "a drain is queued" flag outlives the job (Redis lost the queue, or the enqueue
    after the flag failed): later emails are not sent until the sweep asks regardless."""
    messages = burst(2)
    queue.queue(app).empty()  # the job is gone, its flag is not
    messages += burst(2, "after")
    assert drain_jobs(app) == []
    assert run_jobs() == 0
    tasks.sweep()
    run_jobs()
    assert copies(smtp) == Counter({m.message_id: 1 for m in messages})


class _StallAfter:
    """Lets `sent` messages through, then holds the next one at RCPT until released."""

    def __init__(self, mailbox, sent: int) -> None:
        self.mailbox, self.sent, self.seen = mailbox, sent, 0
        self.original = mailbox.handle_RCPT
        mailbox.handle_RCPT = self

    async def __call__(self, server, session, envelope, address, options):
        self.seen += 1
        if self.seen > self.sent:
            self.mailbox.hold_rcpt.set()
        return await self.original(server, session, envelope, address, options)


def test_a_drain_killed_mid_batch_leaves_every_email_sent_exactly_once(
    app, smtp, run_jobs, worker_process
):
    """SIGKILL of a real worker in the middle of a batch: what it sent stays sent (each
    committed alone), what it had claimed waits out the lease, then the sweep's drain
    sends each of those once."""
    app.config["OUTBOX_LEASE_SECONDS"] = 5
    messages = burst(12)
    stall = _StallAfter(smtp.mailbox, sent=5)

    worker = worker_process("--burst", "--no-scheduler", OUTBOX_LEASE_SECONDS="5")
    assert smtp.mailbox.in_rcpt.wait(timeout=60), "the worker never reached the 6th email"
    # The next emails wait at RCPT on the other connections; the 5th may still be
    # between the server's "250" and its commit (the one window SMTP leaves open).
    assert until(lambda: statuses()[OutboxStatus.SENT] == 5), "the 5th was never committed"
    started = children(worker.pid)
    kill([worker.pid, *started])
    assert wait_gone([worker.pid, *started]) == []
    worker.wait(timeout=10)
    smtp.mailbox.hold_rcpt.clear()
    smtp.mailbox.release.set()
    smtp.mailbox.handle_RCPT = stall.original

    before = copies(smtp)
    assert len(before) == 5 and set(before.values()) == {1}
    state = statuses()
    assert state[OutboxStatus.SENT] == 5
    assert state[OutboxStatus.SENDING] >= 1  # at least the one stalled at RCPT, still claimed
    tasks.sweep()
    run_jobs()  # live claims are left alone (expired ones, on a slow machine, taken over)
    assert set(copies(smtp).values()) == {1}

    time.sleep(5.2)  # the dead worker's claims expire
    tasks.sweep()
    run_jobs()
    tasks.sweep()
    run_jobs()
    assert copies(smtp) == Counter({m.message_id: 1 for m in messages})
    assert statuses() == Counter({OutboxStatus.SENT: len(messages)})


def test_over_several_connections_the_server_accepts_one_email_at_a_time(app, smtp, run_jobs):
    """Emails go out over several connections at once, yet when the server accepts one,
    every email it accepted before is committed `sent` already: a worker killed at any
    moment leaves at most one email accepted and not marked (as with one connection)."""
    app.config["MAIL_CONNECTIONS"] = 4
    messages = burst(60)
    accepted_unmarked: list[int] = []
    original, engine = smtp.mailbox.handle_DATA, db.engine

    async def count_unmarked(server, session, envelope):
        with Session(engine) as reader:  # (the server's thread: no app context)
            sent = reader.scalar(select(func.count()).where(OutboxMessage.status == "sent"))
        accepted_unmarked.append(len(smtp.mailbox.messages) - sent)
        return await original(server, session, envelope)

    def slow_commit(session) -> None:
        time.sleep(0.01)  # a database a little further away than this file

    smtp.mailbox.handle_DATA = count_unmarked
    event.listen(db.session, "before_commit", slow_commit)
    try:
        run_jobs()
    finally:
        event.remove(db.session, "before_commit", slow_commit)

    assert copies(smtp) == Counter({m.message_id: 1 for m in messages})
    assert len(set(smtp.mailbox.peers)) > 1  # several connections were used
    assert len(accepted_unmarked) == len(messages)
    assert set(accepted_unmarked) == {0}


def test_one_connection_failing_mid_batch_loses_and_doubles_nothing(app, smtp, run_jobs):
    """Several connections out, and the server drops one of them mid-batch (each time it
    sees one recipient, so the fresh connection tried next fails too): that email backs
    off, the drain stops, what was out on the other connections is recorded as it went
    (sent, or failed), the rest goes back; nothing is left claimed, and once every
    back-off has passed each email has gone out exactly once."""
    app.config["MAIL_CONNECTIONS"] = 3
    messages = burst(30)
    doomed = messages[7]
    original, doomed_address = smtp.mailbox.handle_RCPT, doomed.to_address

    async def drop_one(server, session, envelope, address, options):
        if address == doomed_address:
            server.transport.close()
            return "421 closing"
        return await original(server, session, envelope, address, options)

    smtp.mailbox.handle_RCPT = drop_one
    run_jobs()

    received = copies(smtp)
    state = statuses()
    assert doomed.message_id not in received
    assert set(received.values()) == {1}
    assert state[OutboxStatus.SENDING] == 0  # nothing waits out a lease
    assert state[OutboxStatus.SENT] == len(received)  # accepted means marked
    assert len(received) < len(messages) - 1  # the drain stopped: the rest went back
    with Session(db.engine) as session:
        row = session.get(OutboxMessage, doomed.id)
        assert (row.status, row.attempts) == (OutboxStatus.PENDING, 1)
        assert row.last_error.startswith("SMTPServerDisconnected")

    smtp.mailbox.handle_RCPT = original
    clock.freeze(clock.now() + timedelta(hours=1))  # past every back-off
    try:
        tasks.sweep()
        run_jobs()
    finally:
        clock.freeze(None)
    assert copies(smtp) == Counter({m.message_id: 1 for m in messages})
    assert statuses() == Counter({OutboxStatus.SENT: len(messages)})
