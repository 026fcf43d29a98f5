"""Real parts: stored mail is filed by a real RQ worker, the acknowledgement reaches a
real SMTP server with its plus address, the emailed answer threads back; a worker
killed mid-filing, a crash between filing and recording it, and Redis down all end
with every message filed exactly once."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from support import clock
from support.extensions import db
from support.jobs import tasks
from support.mail.inbound import intake
from support.models import (
    EventKind,
    InboundMessage,
    InboundStatus,
    OutboxMessage,
    Outcome,
    Ticket,
    TicketEvent,
)
from tests.jobs.conftest import children, kill, wait_gone
from tests.mail.conftest import email
from tests.smtp import free_port, text_part


def _count(column) -> int:
    return db.session.scalar(select(func.count(column)))


def _exactly_once(messages: int) -> None:
    db.session.expire_all()
    statuses = db.session.scalars(select(InboundMessage.status)).all()
    assert statuses == [InboundStatus.FILED] * messages
    assert _count(Ticket.id) == messages
    created = select(func.count(TicketEvent.id)).where(TicketEvent.kind == EventKind.CREATED)
    assert db.session.scalar(created) == messages
    assert _count(OutboxMessage.id) == messages  # one acknowledgement each


def _later(minutes: int = 5) -> None:
    """Move the clock on, so the sweep sees the stored messages as overdue."""
    clock.freeze(clock.now() + timedelta(minutes=minutes))


@pytest.fixture(autouse=True)
def _thaw():
    yield
    clock.freeze(None)


def test_filed_by_a_worker_acknowledged_by_smtp_and_the_answer_threads(app, smtp, run_jobs):
    stored = intake.store(email(subject="Charged twice"), "webhook")
    run_jobs()  # files it, then sends the acknowledgement
    run_jobs()
    db.session.expire_all()
    row = db.session.get(InboundMessage, stored.id)
    assert row.outcome == Outcome.NEW
    [ack] = smtp.mailbox.to("dana@example.com")
    ticket = db.session.get(Ticket, row.ticket_id)
    assert ticket.ref in ack["Subject"] and ack["Auto-Submitted"] == "auto-replied"

    answer = email(
        to=ack["Reply-To"],
        subject=f"Re: {ack['Subject']}",
        body="It was order 48213.\n\nOn Monday Support Desk wrote:\n> We received your request",
        In_Reply_To=ack["Message-ID"],
        References=ack["Message-ID"],
    )
    reply = intake.store(answer, "imap")
    run_jobs()
    db.session.expire_all()
    reply = db.session.get(InboundMessage, reply.id)
    assert (reply.outcome, reply.ticket_id) == (Outcome.REPLY, ticket.id)
    event = db.session.get(TicketEvent, reply.event_id)
    assert event.body_text == "It was order 48213."
    assert event.data["email"]["verified"] is True
    assert "We received your request" in event.data["email"]["quoted"]
    assert ticket.ref in text_part(ack)


def test_a_crash_between_filing_and_recording_files_once(app, monkeypatch):
    stored = intake.store(email(), "pipe", enqueue=False)
    real_record = intake.record

    def crash(*_args, **_kwargs):
        raise SystemExit("killed")  # the process dies after the ticket's commit

    monkeypatch.setattr(intake, "record", crash)
    with pytest.raises(SystemExit):
        intake.file_message(stored.id)
    monkeypatch.setattr(intake, "record", real_record)
    db.session.rollback()
    assert intake.file_message(stored.id) == Outcome.NEW
    _exactly_once(1)


def test_redis_down_while_receiving_loses_nothing(app, run_jobs):
    working = app.config["REDIS_URL"]
    app.config["REDIS_URL"] = f"redis://127.0.0.1:{free_port()}/0"  # nobody listens
    app.extensions.pop("redis", None)
    try:
        raws = [email(subject=f"Problem {n}") for n in range(5)]
        stored = [intake.store(raw, "webhook") for raw in raws]  # stored, not queued
        assert intake.store(raws[0], "imap").id == stored[0].id  # and a re-fetch
    finally:
        app.config["REDIS_URL"] = working
        app.extensions.pop("redis", None)
    assert run_jobs() == 0
    _later()
    assert tasks.sweep()["inbound_mail"] == 5
    run_jobs()
    tasks.sweep()  # nothing left to re-queue: filing twice would show here
    run_jobs()
    _exactly_once(5)


def test_worker_killed_mid_filing_every_message_filed_once(app, run_jobs, worker_process):
    count = 40
    for number in range(count):
        intake.store(email(subject=f"Problem {number}", sender=f"c{number}@example.com"), "pipe")
    worker = worker_process("--no-scheduler")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        db.session.expire_all()
        filed = db.session.scalar(
            select(func.count(InboundMessage.id)).where(
                InboundMessage.status == InboundStatus.FILED
            )
        )
        if filed >= 3:
            break
        time.sleep(0.02)
    started = children(worker.pid)
    kill([worker.pid, *started])  # SIGKILL, mid-way through the queue
    assert wait_gone([worker.pid, *started]) == []
    worker.wait(timeout=10)
    db.session.remove()
    _later()
    tasks.sweep()
    run_jobs()  # the rest, and the one the dead worker was filing
    _later(10)
    tasks.sweep()
    run_jobs()
    _exactly_once(count)
