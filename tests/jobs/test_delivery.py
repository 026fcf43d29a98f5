"""Acknowledgements and notifications reach a real SMTP server, each exactly once,
whatever happens to Redis, SMTP or the worker in between."""

from __future__ import annotations

import os
import time
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select, text

from support import clock
from support.extensions import db
from support.jobs import tasks
from support.models import (
    EmailKind,
    EventKind,
    Notification,
    OutboxMessage,
    OutboxStatus,
    Status,
    Ticket,
    TicketEvent,
)
from support.notify import outbox
from support.tickets import service
from tests.jobs.conftest import children, kill, wait_gone
from tests.smtp import text_part


def _file(client, auth, customer, subject="Charged twice for order 1234") -> Ticket:
    auth.login(customer)
    response = client.post(
        "/tickets/new",
        data={
            "subject": subject,
            "description": "Two charges on my card.",
            "category": "payments",
            "impact": "just_me",
        },
    )
    assert response.status_code == 303
    return db.session.scalar(select(Ticket).order_by(Ticket.id.desc()))


def test_acknowledgement_arrives_once_with_reference_and_promise(
    client, auth, make, smtp, run_jobs
):
    customer = make.customer()
    ticket = _file(client, auth, customer)

    assert run_jobs() >= 1
    [ack] = smtp.mailbox.to(customer.email)
    assert ticket.ref in ack["Subject"]
    assert ack["Message-ID"] == f"<{ticket.ref}@localhost>"
    assert ack["Auto-Submitted"] == "auto-replied"  # it answers the customer's request
    body = text_part(ack)
    assert "We aim to reply by" in body
    assert f"http://support.test/tickets/{ticket.ref}" in body

    kinds = db.session.scalars(select(TicketEvent.kind).where(TicketEvent.ticket_id == ticket.id))
    assert EventKind.ACKNOWLEDGED in list(kinds)

    # Running everything again sends nothing new.
    tasks.sweep()
    run_jobs()
    assert len(smtp.mailbox.to(customer.email)) == 1


def test_email_kinds_are_stored_as_the_same_strings_and_load_as_the_enum(make):
    customer, agent = make.customer(), make.agent()
    ticket = make.ticket(customer)
    service.reply(ticket, author=agent, body="We are refunding the duplicate.")

    service.change_status(ticket, Status.PENDING, actor=agent)  # no words: a notice

    stored = db.session.scalars(text("SELECT kind FROM outbox_messages ORDER BY id"))
    assert list(stored) == ["ack", "reply", "event"]
    db.session.expire_all()
    kinds = list(db.session.scalars(select(OutboxMessage.kind).order_by(OutboxMessage.id)))
    assert kinds == [EmailKind.ACK, EmailKind.REPLY, EmailKind.EVENT]
    assert all(isinstance(kind, EmailKind) for kind in kinds)


def test_public_events_notify_threaded_and_internal_notes_stay_quiet(make, smtp, run_jobs):
    customer, agent = make.customer(), make.agent()
    ticket = make.ticket(customer)
    run_jobs()  # the acknowledgement

    service.reply(ticket, author=agent, body="We are refunding the duplicate.")
    service.reply(ticket, author=agent, body="Refund id 998", public=False)
    run_jobs()

    mails = smtp.mailbox.to(customer.email)
    assert len(mails) == 2  # acknowledgement + one for the reply (and its status change)
    update = mails[1]
    assert update["In-Reply-To"] == f"<{ticket.ref}@localhost>"
    assert "We are refunding the duplicate." in text_part(update)
    assert "Refund id 998" not in text_part(update)
    unread = db.session.scalar(
        select(func.count(Notification.id)).where(Notification.user_id == customer.id)
    )
    assert unread == 1


def test_redis_down_while_filing_loses_nothing(app, client, auth, make, smtp, run_jobs):
    customer = make.customer()
    working_redis = app.config["REDIS_URL"]
    app.config["REDIS_URL"] = "redis://127.0.0.1:9/0"  # nothing listens there
    app.extensions.pop("redis", None)

    ticket = _file(client, auth, customer)
    confirmation = client.get(f"/tickets/{ticket.ref}/submitted")
    assert confirmation.status_code == 200
    assert ticket.ref in confirmation.get_data(as_text=True)
    assert db.session.scalar(select(OutboxMessage.status)) == OutboxStatus.PENDING

    app.config["REDIS_URL"] = working_redis  # Redis is back
    app.extensions.pop("redis", None)
    assert run_jobs() == 0  # the enqueue was lost with Redis…
    tasks.sweep()  # …and the sweep finds the work in the database
    run_jobs()
    assert len(smtp.mailbox.to(customer.email)) == 1
    tasks.sweep()
    run_jobs()
    assert len(smtp.mailbox.to(customer.email)) == 1


def test_redis_hung_while_filing_the_customer_barely_waits(
    app, client, auth, make, smtp, run_jobs, hung_redis
):
    customer = make.customer()
    working_redis = app.config["REDIS_URL"]
    app.config["REDIS_URL"] = hung_redis  # accepts, never answers
    app.extensions.pop("redis", None)

    try:
        started = time.monotonic()
        ticket = _file(client, auth, customer)
        # One enqueue times out; the rest of the request's jobs are left to the sweep.
        assert time.monotonic() - started < 8
        confirmation = client.get(f"/tickets/{ticket.ref}/submitted")
        assert confirmation.status_code == 200
        assert ticket.ref in confirmation.get_data(as_text=True)
    finally:
        app.config["REDIS_URL"] = working_redis  # Redis is back
        app.extensions.pop("redis", None)
    assert db.session.scalar(select(OutboxMessage.status)) == OutboxStatus.PENDING
    assert run_jobs() == 0  # nothing reached Redis…
    tasks.sweep()  # …the database had it all
    run_jobs()
    [ack] = smtp.mailbox.to(customer.email)
    assert ticket.ref in ack["Subject"]
    tasks.sweep()
    run_jobs()
    assert len(smtp.mailbox.to(customer.email)) == 1


def test_smtp_down_messages_wait_and_go_out_once(make, smtp, run_jobs):
    customer = make.customer()
    smtp.stop()
    ticket = make.ticket(customer)
    run_jobs()
    message = db.session.scalar(select(OutboxMessage))
    assert message.status == OutboxStatus.PENDING
    assert message.attempts == 1
    assert "Connection" in message.last_error or "refused" in message.last_error.lower()

    smtp.start()
    clock.freeze(clock.now() + (message.next_attempt_at - message.created_at))
    try:
        tasks.sweep()
        run_jobs()
        tasks.sweep()
        run_jobs()
    finally:
        clock.freeze(None)
    assert len(smtp.mailbox.to(customer.email)) == 1
    assert db.session.get(OutboxMessage, message.id).status == OutboxStatus.SENT
    assert ticket.ref in smtp.mailbox.to(customer.email)[0]["Subject"]


@pytest.mark.parametrize("fork", [False, True], ids=["in-process", "fork-per-job"])
def test_worker_killed_mid_send_customer_gets_exactly_one_email(
    app, make, smtp, run_jobs, worker_process, fork
):
    customer = make.customer()
    email = customer.email
    app.config["OUTBOX_LEASE_SECONDS"] = 1
    smtp.mailbox.hold_rcpt.set()  # the SMTP conversation stalls at RCPT TO
    make.ticket(customer)

    worker = worker_process(*(["--fork"] if fork else []), OUTBOX_LEASE_SECONDS="1")
    assert smtp.mailbox.in_rcpt.wait(timeout=30), "the worker never reached the SMTP server"
    # Kill everything (SIGKILL, as the OOM killer or a lost machine would): the worker,
    # the scheduler child, and with --fork the work horse, a child in a process group
    # of its own that would finish the send by itself if only the worker died.
    started = children(worker.pid)
    horses = [pid for pid in started if os.getpgid(pid) == pid]
    assert len(horses) == (1 if fork else 0), f"work horses among the children {started}"
    kill([worker.pid, *started])
    assert wait_gone([worker.pid, *started]) == []
    worker.wait(timeout=10)
    smtp.mailbox.hold_rcpt.clear()
    smtp.mailbox.release.set()
    db.session.remove()
    message = db.session.scalar(select(OutboxMessage))
    assert (message.status, message.attempts) == (OutboxStatus.SENDING, 1)
    assert smtp.mailbox.messages == []

    time.sleep(1.2)  # the dead worker's claim expires
    tasks.sweep()  # finds the abandoned claim and hands the message to another worker
    run_jobs()
    tasks.sweep()
    run_jobs()
    assert len(smtp.mailbox.messages) == 1
    assert len(smtp.mailbox.to(email)) == 1
    db.session.expire_all()
    message = db.session.scalar(select(OutboxMessage))
    assert (message.status, message.attempts) == (OutboxStatus.SENT, 2)


def test_a_claim_is_taken_over_only_once_its_lease_has_run_out(app, make):
    """Claiming, the sweep and an admin's retry read the lease the same way."""
    make.ticket(make.customer())
    message = db.session.scalar(select(OutboxMessage))
    key, lease, second = message.idempotency_key, timedelta(seconds=120), timedelta(seconds=1)
    app.config["OUTBOX_LEASE_SECONDS"] = 120
    now = datetime(2032, 3, 1, 9, 0)
    clock.freeze(now)
    try:
        for age in (second, lease - second, lease):  # still held by a live worker
            message.status, message.claimed_at = OutboxStatus.SENDING, now - age
            db.session.commit()
            assert key not in outbox.due_for_delivery()
            assert outbox.retry_failed(message) is False
            assert outbox._claim(key) is False

        message.claimed_at = now - lease - second  # its worker died
        db.session.commit()
        assert outbox.due_for_delivery() == [key]
        assert outbox._claim(key) is True
        db.session.refresh(message)
        assert (message.status, message.claimed_at) == (OutboxStatus.SENDING, now)

        message.claimed_at = now - lease - second
        db.session.commit()
        assert outbox.retry_failed(message) is True
        db.session.refresh(message)
        assert (message.status, message.claimed_at) == (OutboxStatus.PENDING, None)
    finally:
        clock.freeze(None)
