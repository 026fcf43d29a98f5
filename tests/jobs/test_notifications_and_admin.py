"""In-app notifications (badge, list, read state) and the admin pages for SLA policies
and background jobs, against the real database, Redis, worker and SMTP server."""

from __future__ import annotations

import re
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest
from rq.cron import CronScheduler, get_cron_job_history_key
from sqlalchemy import event, func, select

from support import clock
from support.extensions import db
from support.jobs import queue, tasks
from support.jobs.redis import connection
from support.models import Notification, OutboxMessage, OutboxStatus, SlaPolicy, Status
from support.notify import outbox
from support.tickets import service

BADGE = re.compile(r'<span class="count-badge">(\d+)</span>')


def badge(client) -> int:
    """The unread count in the nav of the customer's ticket list (0 when none shows)."""
    page = client.get("/tickets/")
    assert page.status_code == 200
    match = BADGE.search(page.get_data(as_text=True))
    return int(match.group(1)) if match else 0


def unread(user) -> int:
    return db.session.scalar(
        select(func.count(Notification.id)).where(
            Notification.user_id == user.id, Notification.read_at.is_(None)
        )
    )


# --- notifications ------------------------------------------------------------------------


def test_badge_list_and_reading(client, auth, make):
    customer, agent = make.customer(), make.agent()
    first, second = make.ticket(customer), make.ticket(customer, subject="Invoice missing")
    service.reply(first, author=agent, body="Looking into it.")
    service.reply(second, author=agent, body="Which month?")
    service.change_status(first, Status.PENDING, actor=agent, note="Can you send a screenshot?")

    auth.login(customer)
    assert badge(client) == 3
    page = client.get("/tickets/").get_data(as_text=True)
    assert "Notifications, 3 unread" in page

    listing = client.get("/notifications/")
    assert listing.status_code == 200
    text = listing.get_data(as_text=True)
    assert f"{agent.name} replied on {first.ref}." in text
    assert f"{agent.name} replied on {second.ref}." in text
    assert text.count('<span class="badge status-new">New</span>') == 3
    assert "Mark all as read" in text

    # Opening a ticket reads its news (two notifications on the first ticket).
    assert client.get(f"/tickets/{first.ref}").status_code == 200
    assert badge(client) == 1
    assert unread(customer) == 1

    response = client.post("/notifications/read")
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/notifications/")
    assert badge(client) == 0
    assert unread(customer) == 0
    after = client.get("/notifications/").get_data(as_text=True)
    assert "Mark all as read" not in after
    assert 'class="badge status-new"' not in after
    assert f"{agent.name} replied on {second.ref}." in after  # read, still listed


def test_the_ticket_page_shows_the_badge_after_reading_its_news(client, auth, make, count_queries):
    """The ticket page's bell counts what is still unread once this ticket's news is read;
    with no news here it writes nothing, and counts once for the page (no second query
    for emails or for the bell)."""
    customer, agent = make.customer(), make.agent()
    first, second = make.ticket(customer), make.ticket(customer, subject="Invoice missing")
    service.reply(first, author=agent, body="Looking into it.")
    service.reply(second, author=agent, body="Which month?")
    auth.login(customer)

    page = client.get(f"/tickets/{first.ref}").get_data(as_text=True)
    assert "Notifications, 1 unread" in page  # the second ticket's, not this one's
    assert unread(customer) == 1
    with count_queries() as news_here:
        client.get(f"/tickets/{second.ref}")
    assert unread(customer) == 0
    with count_queries() as no_news, statements_on("notifications") as statements:
        page = client.get(f"/tickets/{second.ref}").get_data(as_text=True)
    assert "unread" not in page
    # Reading news writes and commits (the user and ticket are loaded again after it).
    assert no_news.count < news_here.count
    assert [s.split()[0].upper() for s in statements] == ["SELECT"]


@contextmanager
def statements_on(table: str) -> Iterator[list[str]]:
    """The SQL statements run meanwhile that name `table`."""
    seen: list[str] = []

    def note(conn, cursor, statement, *args) -> None:
        if table in statement:
            seen.append(statement.strip())

    event.listen(db.engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", note)


def test_notifications_are_personal_and_need_login(app, client, auth, make):
    customer, other, agent = make.customer(), make.customer(), make.agent()
    ticket = make.ticket(customer)
    service.assign(ticket, actor=agent, assignee=agent)
    service.reply(ticket, author=agent, body="On it.")
    service.reply(ticket, author=customer, body="Thanks, here is the receipt.")

    anonymous = app.test_client()
    response = anonymous.get("/notifications/")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]

    auth.login(other)
    assert badge(client) == 0
    assert ticket.ref not in client.get("/notifications/").get_data(as_text=True)
    # The assigned agent hears of the customer's reply; nobody hears of their own.
    assert [
        n.text
        for n in db.session.scalars(select(Notification).where(Notification.user_id == agent.id))
    ] == [f"{customer.name} wrote on {ticket.ref}."]
    assert unread(customer) == 1


def test_internal_note_tells_the_customer_nothing(client, auth, make, smtp, run_jobs):
    customer, agent = make.customer(), make.agent()
    ticket = make.ticket(customer)
    run_jobs()  # the acknowledgement
    outbox_before = db.session.scalar(select(func.count(OutboxMessage.id)))

    service.reply(ticket, author=agent, body="Card issuer says fraud check pending", public=False)
    run_jobs()

    assert unread(customer) == 0
    assert db.session.scalar(select(func.count(OutboxMessage.id))) == outbox_before
    assert len(smtp.mailbox.to(customer.email)) == 1
    auth.login(customer)
    assert badge(client) == 0
    page = client.get(f"/tickets/{ticket.ref}").get_data(as_text=True)
    assert "fraud check" not in page


# --- admin pages: who may see them --------------------------------------------------------


@pytest.mark.parametrize("path", ["/admin/sla", "/admin/jobs"])
def test_admin_pages_are_for_admins_only(app, client, auth, make, path):
    anonymous = app.test_client().get(path)
    assert anonymous.status_code == 302
    assert "/login" in anonymous.headers["Location"]

    for user in (make.customer(), make.agent()):
        auth.login(user)
        assert client.get(path).status_code == 403
        auth.logout()

    auth.login(make.admin())
    assert client.get(path).status_code == 200


def test_admin_actions_are_for_admins_only(client, auth, make):
    auth.login(make.agent())
    fields = {
        "normal-first_response_minutes": "1",
        "normal-update_minutes": "1",
        "normal-resolution_minutes": "1",
    }
    assert client.post("/admin/sla/normal", data=fields).status_code == 403
    assert client.post("/admin/jobs/some-job/retry").status_code == 403
    assert db.session.scalar(select(func.count(SlaPolicy.id))) == 0


def test_invalid_policy_is_refused_with_field_errors(client, auth, make):
    auth.login(make.admin())
    response = client.post(
        "/admin/sla/high",
        data={
            "high-first_response_minutes": "",
            "high-update_minutes": "soon",
            "high-resolution_minutes": "0",
        },
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Enter a time, like 8h or 1h 30m." in page
    assert "“soon” isn&#39;t a time." in page
    assert "Keep it between 1 minute and 60 days." in page
    assert 'id="high-update_minutes-error"' in page
    assert 'id="high-resolution_minutes-error"' in page
    assert 'id="high-first_response_minutes-error"' in page
    assert 'id="normal-first_response_minutes-error"' not in page  # other forms untouched
    assert db.session.scalar(select(func.count(SlaPolicy.id))) == 0

    assert client.post("/admin/sla/nonsense", data={}).status_code == 404


# --- failed jobs --------------------------------------------------------------------------


def test_failed_job_is_listed_and_retried_once(app, client, auth, make, smtp, run_jobs):
    customer = make.customer()
    smtp.stop()
    ticket = make.ticket(customer)
    q = queue.queue(app)
    q.empty()  # drop the acknowledgement's own (retrying) job: we enqueue one without retries
    key = f"ack:{ticket.ref}"
    job_id = outbox.job_id(key)
    assert queue.enqueue(outbox.DELIVER, key, job_id=job_id, retry=False)
    run_jobs()
    assert q.failed_job_registry.get_job_ids() == [job_id]
    message = db.session.scalar(select(OutboxMessage))
    assert message.status == OutboxStatus.PENDING
    assert message.attempts == 1

    auth.login(make.admin())
    page = client.get("/admin/jobs").get_data(as_text=True)
    assert f"deliver_email({key})" in page
    assert f'action="/admin/jobs/{job_id}/retry"' in page
    assert customer.email in page  # the email waiting to go out

    smtp.start()
    response = client.post(f"/admin/jobs/{job_id}/retry", follow_redirects=True)
    assert response.status_code == 200
    assert "The job is back in the queue." in response.get_data(as_text=True)
    assert q.failed_job_registry.count == 0
    assert q.count == 1

    run_jobs()
    assert len(smtp.mailbox.to(customer.email)) == 1
    assert db.session.get(OutboxMessage, message.id).status == OutboxStatus.SENT
    page = client.get("/admin/jobs").get_data(as_text=True)
    assert "No failed jobs." in page
    assert "Every email has been sent." in page

    # Retrying again (or the sweep) sends nothing twice.
    client.post(f"/admin/jobs/{job_id}/retry")
    queue.enqueue(outbox.DELIVER, key, job_id=job_id, retry=False)
    run_jobs()
    assert len(smtp.mailbox.to(customer.email)) == 1


@pytest.fixture
def cron_config(app, monkeypatch):
    """support.jobs.cron as `rq cron` reads it: from the environment, at import. This
    test's environment, imported afresh, and forgotten afterwards, so neither what the
    shell exports nor what another test imported (or RQ's reload-if-imported) matters."""
    monkeypatch.setenv("RQ_QUEUE", app.config["RQ_QUEUE"])
    monkeypatch.delenv("SWEEP_INTERVAL_SECONDS", raising=False)
    sys.modules.pop("support.jobs.cron", None)
    yield "support.jobs.cron"
    sys.modules.pop("support.jobs.cron", None)


def test_rq_cron_config_registers_the_sweep(app, make, smtp, run_jobs, cron_config):
    redis = connection(app)
    scheduler = CronScheduler(connection=redis)
    scheduler.load_config_from_file(cron_config)
    registered = {job.func_name: job for job in scheduler.get_jobs()}
    cron_job = registered["support.jobs.tasks.sweep"]
    assert cron_job.func_name == "support.jobs.tasks.sweep"
    assert cron_job.interval == 60
    assert {job.queue_name for job in registered.values()} == {app.config["RQ_QUEUE"]}

    # What it enqueues is the real sweep: it finds mail Redis never heard of.
    customer = make.customer()
    make.ticket(customer)
    queue.queue(app).empty()  # the acknowledgement's job is lost
    job = cron_job.enqueue(redis)
    try:
        assert run_jobs() == 2  # the sweep, then the delivery it re-enqueued
        assert job.latest_result().return_value["mail"] == 1
        assert len(smtp.mailbox.to(customer.email)) == 1
    finally:
        redis.zrem(get_cron_job_history_key(cron_job.name), job.id)


def test_mail_retry_never_resets_a_message_a_worker_is_sending(
    app, client, auth, make, smtp, run_jobs, worker_process
):
    customer = make.customer()
    smtp.mailbox.hold_rcpt.set()  # the worker's SMTP conversation stalls at RCPT TO
    make.ticket(customer)
    message = db.session.scalar(select(OutboxMessage))
    worker_process()
    assert smtp.mailbox.in_rcpt.wait(timeout=30), "the worker never reached the SMTP server"
    db.session.expire_all()
    assert (message.status, message.attempts) == (OutboxStatus.SENDING, 1)

    # An admin presses "retry" on it meanwhile: refused, nothing reset, nothing queued.
    auth.login(make.admin())
    response = client.post(f"/admin/mail/{message.id}/retry", follow_redirects=True)
    assert response.status_code == 200
    assert "is being sent right now" in response.get_data(as_text=True)
    db.session.expire_all()
    assert (message.status, message.attempts) == (OutboxStatus.SENDING, 1)
    smtp.mailbox.hold_rcpt.clear()  # new conversations go through at once
    run_jobs()  # (a reset message would be sent here, a second time)
    smtp.mailbox.release.set()  # the worker's send completes
    deadline = time.monotonic() + 30
    while db.session.scalar(select(OutboxMessage.status)) != OutboxStatus.SENT:
        assert time.monotonic() < deadline, "the worker never finished sending"
        time.sleep(0.1)
        db.session.expire_all()
    tasks.sweep()
    run_jobs()
    assert len(smtp.mailbox.to(customer.email)) == 1
    response = client.post(f"/admin/mail/{message.id}/retry", follow_redirects=True)
    assert "has already been sent" in response.get_data(as_text=True)


def test_mail_retry_resets_failed_and_abandoned_messages(app, client, auth, make, smtp, run_jobs):
    customer = make.customer()
    smtp.stop()
    make.ticket(customer)
    queue.queue(app).empty()
    message = db.session.scalar(select(OutboxMessage))
    message.status, message.attempts = OutboxStatus.FAILED, outbox.MAX_ATTEMPTS
    db.session.commit()

    auth.login(make.admin())
    smtp.start()
    response = client.post(f"/admin/mail/{message.id}/retry", follow_redirects=True)
    assert f"Email to {customer.email} will be sent again." in response.get_data(as_text=True)
    run_jobs()
    assert len(smtp.mailbox.to(customer.email)) == 1

    # A claim whose worker died (older than the lease) may be taken back too.
    other = make.ticket(customer, subject="Invoice missing for March")
    queue.queue(app).empty()
    stuck = db.session.scalar(select(OutboxMessage).order_by(OutboxMessage.id.desc()))
    stuck.status, stuck.attempts = OutboxStatus.SENDING, 1
    stuck.claimed_at = clock.now() - timedelta(seconds=app.config["OUTBOX_LEASE_SECONDS"] + 1)
    db.session.commit()
    response = client.post(f"/admin/mail/{stuck.id}/retry", follow_redirects=True)
    assert "will be sent again" in response.get_data(as_text=True)
    run_jobs()
    assert [m for m in smtp.mailbox.to(customer.email) if other.ref in m["Subject"]]


def test_targets_are_typed_in_hours_and_minutes(client, auth, make):
    auth.login(make.admin())
    page = client.get("/admin/sla").get_data(as_text=True)
    assert 'value="1d"' in page  # normal: 24 hours to resolve, not "1440"
    fields = {
        "urgent-first_response_minutes": "1h 30m",
        "urgent-update_minutes": "45 minutes",
        "urgent-resolution_minutes": "2d 4h",
    }
    assert client.post("/admin/sla/urgent", data=fields).status_code == 303
    policy = db.session.scalar(select(SlaPolicy).where(SlaPolicy.priority == "urgent"))
    assert (policy.first_response_minutes, policy.update_minutes, policy.resolution_minutes) == (
        90,
        45,
        52 * 60,
    )
    page = client.get("/admin/sla").get_data(as_text=True)
    assert 'value="1h 30m"' in page and 'value="45m"' in page and 'value="2d 4h"' in page
    for bad in ("1h 30x", "h", "90 <b>", "99999999999999999999"):
        response = client.post("/admin/sla/urgent", data={**fields, "urgent-update_minutes": bad})
        assert response.status_code == 422, bad
