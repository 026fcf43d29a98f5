"""SLA clock: pauses, business hours, admins' policies and the sweep, with a controllable
clock (warnings, breaches and escalation are in test_escalation.py).

Time never passes by sleeping: `clock.freeze` moves it, and `advance` then does what
RQ's scheduler would do at that moment (move the delayed jobs now due onto the queue)
before a real burst worker runs them against the real database, Redis and SMTP server.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from rq.job import Job
from sqlalchemy import func, select

from support import clock
from support.extensions import db
from support.jobs import queue, tasks
from support.models import (
    EventKind,
    Notification,
    Priority,
    SlaPolicy,
    Status,
    Ticket,
)
from support.tickets import service, sla
from tests.jobs.sla_helpers import (
    HOUR,
    T0,
    events_of,
    kinds,
    scheduled_times,
)

# --- the clock pauses while we wait on the customer -------------------------------------


def test_clock_pauses_while_pending_customer(app, make, smtp, run_jobs, advance, frozen):
    customer, agent = make.customer(), make.agent()
    ticket = make.ticket(customer)
    run_jobs()
    first_due, resolution_due = ticket.first_response_due, ticket.resolution_due

    clock.freeze(T0 + HOUR)
    service.change_status(ticket, Status.PENDING, actor=agent, note="Which card was charged twice?")
    assert ticket.sla_paused_at == T0 + HOUR
    run_jobs()  # the customer hears we wait for them

    # Warning and due times pass while we wait: nothing is recorded, nobody is told.
    mails_before = len(smtp.mailbox.to(customer.email))
    advance(T0 + 10 * HOUR)
    tasks.sweep()
    run_jobs()
    advance(T0 + 30 * HOUR - timedelta(minutes=1))
    db.session.refresh(ticket)
    sla_kinds = {EventKind.SLA_WARNING, EventKind.SLA_BREACH, EventKind.DELAY_NOTICE}
    assert not sla_kinds & set(kinds(ticket))
    assert ticket.status == Status.PENDING
    assert len(smtp.mailbox.to(customer.email)) == mails_before

    # The customer answers 29 hours later: every due time moves on by 29 hours.
    clock.freeze(T0 + 30 * HOUR)
    service.reply(ticket, author=customer, body="The Visa ending 4242.")
    run_jobs()
    waited = 29 * HOUR
    assert ticket.status == Status.OPEN
    assert ticket.sla_paused_at is None
    assert ticket.first_response_due == first_due + waited
    assert ticket.next_update_due == first_due + waited
    assert ticket.resolution_due == resolution_due + waited

    # The clock runs again, against the moved due times.
    new_warn = first_due + waited - timedelta(minutes=96)
    advance(new_warn - timedelta(minutes=1))
    assert EventKind.SLA_WARNING not in kinds(ticket)
    advance(new_warn)
    [warning] = events_of(ticket, EventKind.SLA_WARNING)
    assert warning.data["due"] == (first_due + waited).isoformat()


# --- policies: business hours and admins' edits ------------------------------------------


def save_policy(client, priority: str, first: int, update: int, resolution: int, hours: bool):
    data = {
        f"{priority}-first_response_minutes": str(first),
        f"{priority}-update_minutes": str(update),
        f"{priority}-resolution_minutes": str(resolution),
    }
    if hours:
        data[f"{priority}-business_hours"] = "y"
    return client.post(f"/admin/sla/{priority}", data=data)


def test_business_hours_policy_skips_nights_and_weekends(
    app, client, auth, make, run_jobs, advance, frozen
):
    auth.login(make.admin())
    response = save_policy(client, "normal", 8 * 60, 8 * 60, 24 * 60, hours=True)
    assert response.status_code == 303
    policy = db.session.scalar(select(SlaPolicy).where(SlaPolicy.priority == "normal"))
    assert policy.business_hours is True

    friday = datetime(2032, 3, 5, 16, 0)
    assert friday.strftime("%A") == "Friday"
    clock.freeze(friday)
    ticket = make.ticket(make.customer())
    assert ticket.priority == Priority.NORMAL
    # One hour on Friday (16–17), seven on Monday (9–16).
    assert ticket.first_response_due == datetime(2032, 3, 8, 16, 0)
    # 24 business hours: Friday 1 + Monday 8 + Tuesday 8 + Wednesday 7.
    assert ticket.resolution_due == datetime(2032, 3, 10, 16, 0)

    clock.freeze(datetime(2032, 3, 6, 10, 0))  # Saturday morning: counts from Monday 9:00
    weekend = make.ticket(make.customer())
    assert weekend.first_response_due == datetime(2032, 3, 8, 17, 0)

    # Nothing is due over the weekend.
    run_jobs()
    advance(datetime(2032, 3, 7, 23, 0))
    assert EventKind.SLA_WARNING not in kinds(ticket)
    assert EventKind.SLA_BREACH not in kinds(ticket)
    advance(datetime(2032, 3, 8, 16, 0))
    assert [e.data["target"] for e in events_of(ticket, EventKind.SLA_BREACH)] == ["first_response"]


def test_business_hours_count_for_pauses_and_escalation_stages(app, client, auth, make, frozen):
    auth.login(make.admin())
    assert save_policy(client, "normal", 8 * 60, 8 * 60, 24 * 60, hours=True).status_code == 303
    clock.freeze(datetime(2032, 3, 5, 15, 0))  # Friday 15:00
    ticket = make.ticket(make.customer())
    assert ticket.first_response_due == datetime(2032, 3, 8, 15, 0)  # Fri 2 h + Mon 6 h
    agent = make.agent()

    # Waiting on the customer from Friday 16:00 (7 business hours left) until Monday 10:00:
    # the weekend neither counts nor is added: 7 hours from Monday 10:00 is 17:00.
    clock.freeze(datetime(2032, 3, 5, 16, 0))
    service.change_status(ticket, Status.PENDING, actor=agent)
    clock.freeze(datetime(2032, 3, 8, 10, 0))
    service.reply(ticket, author=ticket.customer, body="Here is the order number: 1234.")
    assert ticket.first_response_due == datetime(2032, 3, 8, 17, 0)

    # Escalated Tuesday 16:00: tier 2's 48 hours are business hours too (1 + 8×5 + 7).
    clock.freeze(datetime(2032, 3, 9, 16, 0))
    service.escalate(ticket, actor=agent, reason="Needs the payments specialists.")
    assert ticket.next_update_due == datetime(2032, 3, 17, 16, 0)


def test_a_target_missed_before_a_pause_stays_missed_once(
    app, client, auth, make, smtp, run_jobs, advance, frozen
):
    auth.login(make.admin())
    # Resolution (2 h) comes due long before the next update (10 h).
    assert save_policy(client, "normal", 60, 600, 120, hours=False).status_code == 303
    customer, agent = make.customer(), make.agent()
    ticket = make.ticket(customer)
    clock.freeze(T0 + timedelta(minutes=10))
    service.reply(ticket, author=agent, body="Looking into the refund now.")
    run_jobs()

    advance(T0 + 2 * HOUR)  # resolution missed: tier 2 takes over
    db.session.refresh(ticket)
    assert ticket.tier == 2
    clock.freeze(T0 + 3 * HOUR)
    service.change_status(ticket, Status.PENDING, actor=agent, note="Which bank?")
    clock.freeze(T0 + 5 * HOUR)
    service.reply(ticket, author=customer, body="The one ending 4242.")

    # The missed time stays where it was: the pause does not make it a new target
    # to miss again (another breach, another escalation).
    assert ticket.resolution_due == T0 + 2 * HOUR
    assert ticket.next_update_due == T0 + 2 * HOUR + 48 * HOUR + 2 * HOUR  # still to come
    tasks.check_sla(ticket.id)
    advance(T0 + 6 * HOUR)
    db.session.refresh(ticket)
    [breach] = events_of(ticket, EventKind.SLA_BREACH)
    assert breach.data["target"] == "resolution"
    assert len(events_of(ticket, EventKind.ESCALATED)) == 1
    assert ticket.tier == 2


def test_time_between_is_the_inverse_of_add_time(app) -> None:
    start = datetime(2032, 3, 5, 16, 30)  # Friday afternoon
    for hours in (0.5, 1, 7, 8, 9, 40, 100):
        span = timedelta(hours=hours)
        assert sla.time_between(start, sla.add_time(start, span, True), True) == span
    assert sla.time_between(start, start + HOUR, False) == HOUR


def file_ticket(client, auth, customer, impact: str = "just_me") -> Ticket:
    """A customer files a ticket through the portal (a request with its own session)."""
    auth.logout()
    auth.login(customer)
    response = client.post(
        "/tickets/new",
        data={
            # No urgent words: the priority is the impact's (support/triage rules).
            "subject": "Refund missing for order 1234",
            "description": "The seller said the refund was sent.",
            "category": "payments",
            "impact": impact,
        },
    )
    assert response.status_code == 303
    return db.session.scalar(select(Ticket).order_by(Ticket.id.desc()))


def test_admin_edited_policy_sets_due_times_of_new_tickets(app, client, auth, make, frozen):
    before = file_ticket(client, auth, make.customer())
    assert before.first_response_due == T0 + 8 * HOUR

    auth.logout()
    auth.login(make.admin())
    assert save_policy(client, "normal", 120, 240, 600, hours=False).status_code == 303
    page = client.get("/admin/sla").get_data(as_text=True)
    assert 'value="2h"' in page

    after = file_ticket(client, auth, make.customer())
    assert after.first_response_due == T0 + 2 * HOUR
    assert after.resolution_due == T0 + 10 * HOUR
    db.session.refresh(before)
    assert before.first_response_due == T0 + 8 * HOUR  # tickets already filed keep theirs
    # Other priorities keep the defaults.
    urgent = file_ticket(client, auth, make.customer(), impact="many_users")
    assert urgent.priority == Priority.URGENT
    assert urgent.first_response_due == T0 + HOUR


# --- the sweep: the database is the truth ------------------------------------------------


def test_each_check_wakes_the_checker_at_the_next_time_and_only_then(
    app, make, smtp, run_jobs, advance, frozen
):
    """A change schedules one check, at the ticket's soonest warning or due time; that
    check schedules the next one. A check a later change made pointless finds nothing
    and schedules the same next check as the change did (one job, by its id)."""
    ticket = make.ticket(make.customer())
    run_jobs()
    times = sla.wake_times(ticket)  # the first response's warning and due, the resolution's
    assert len(times) == 4
    assert scheduled_times(app) == times[:1]
    advance(times[0] + timedelta(minutes=1))
    assert scheduled_times(app) == times[1:2]
    advance(times[1] + timedelta(minutes=1))  # missed: escalated, a stage deadline now
    db.session.refresh(ticket)
    assert ticket.tier == 2
    following = [at for at in sla.wake_times(ticket) if at > clock.now()]
    assert scheduled_times(app) == following[:1]
    before = kinds(ticket)
    tasks.check_sla(ticket.id)  # again, by a stale job or a retry: nothing new
    assert kinds(ticket) == before
    assert scheduled_times(app) == following[:1]


def test_sweep_runs_sla_checks_whose_delayed_jobs_redis_lost(
    app, make, smtp, run_jobs, advance, frozen
):
    customer = make.customer()
    ticket = make.ticket(customer)
    run_jobs()
    registry = queue.queue(app).scheduled_job_registry
    assert registry.count == 1  # the first-response warning's check
    for job in Job.fetch_many(registry.get_job_ids(), connection=registry.connection):
        job.delete()  # Redis lost them (a restart without persistence, say)
    assert registry.count == 0

    warn = T0 + 8 * HOUR - timedelta(minutes=96)
    assert advance(warn + timedelta(minutes=1)) == 0
    assert EventKind.SLA_WARNING not in kinds(ticket)

    queue.enqueue("support.jobs.tasks.sweep")  # what `rq cron` does every minute
    assert run_jobs() >= 2  # the sweep, then the delay notice's email
    assert len(events_of(ticket, EventKind.SLA_WARNING)) == 1
    assert len(events_of(ticket, EventKind.DELAY_NOTICE)) == 1
    assert len(smtp.mailbox.to(customer.email)) == 2

    tasks.sweep()
    run_jobs()
    db.session.expire_all()
    assert len(events_of(ticket, EventKind.SLA_WARNING)) == 1
    assert len(smtp.mailbox.to(customer.email)) == 2
    count = db.session.scalar(select(func.count(Notification.id)))
    assert count == 1


def test_sweep_looks_ahead_as_far_as_a_stage_warning_and_no_further(
    app, client, auth, make, smtp, run_jobs, frozen
):
    customer, agent = make.customer(), make.agent(tier=1)
    escalated = make.ticket(customer)
    answered = make.ticket(make.customer())
    clock.freeze(T0 + HOUR)
    service.escalate(escalated, actor=agent, reason="Chargebacks need the senior team")
    stage_due = T0 + 49 * HOUR
    # An admin tightens every policy (tickets already filed keep their due times):
    # no resolution span now warns as early as tier 2's 48-hour stage deadline does.
    auth.login(make.admin())
    for priority in Priority:
        assert save_policy(client, priority.value, 60, 24 * 60, 40 * 60, False).status_code == 303
    warn = stage_due - timedelta(minutes=48 * 60 // 5)
    clock.freeze(warn - HOUR)
    # Answered long after its first response was due: its next update and resolution
    # are far off, so nothing about it is near.
    service.reply(answered, author=agent, body="The refund left our bank today.")
    run_jobs()
    registry = queue.queue(app).scheduled_job_registry
    for job in Job.fetch_many(registry.get_job_ids(), connection=registry.connection):
        job.delete()  # Redis lost the delayed checks

    clock.freeze(warn + timedelta(minutes=1))
    assert [t.id for t in tasks._tickets_near_sla()] == [escalated.id]
    tasks.sweep()
    run_jobs()
    [warning] = events_of(escalated, EventKind.SLA_WARNING)
    assert warning.data == {"target": "update", "due": stage_due.isoformat()}
    [notice] = events_of(escalated, EventKind.DELAY_NOTICE)
    assert "by Wed 03 Mar 2032, 10:00 UTC" in notice.body_text
    assert events_of(answered, EventKind.SLA_WARNING) == []
