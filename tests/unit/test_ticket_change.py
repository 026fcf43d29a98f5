"""The unit of work (support/tickets/service/change.py): all of a change or none of it,
and its jobs on a real Redis only once it has committed."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from support import clock
from support.extensions import db
from support.jobs import queue
from support.models import EventKind, Notification, OutboxMessage, Status, Ticket, TicketEvent
from support.notify import outbox
from support.tickets import attachments, service, sla
from support.tickets.service import StaleTicket, TicketChange
from tests.factories import Factory


def job_ids() -> set[str]:
    """Every job waiting on the app's RQ queue, now or scheduled."""
    rq_queue = queue.queue()
    return set(rq_queue.job_ids) | set(rq_queue.scheduled_job_registry.get_job_ids())


def clear_jobs() -> None:
    rq_queue = queue.queue()
    rq_queue.empty()
    for flag in rq_queue.connection.scan_iter(f"rq:coalesce:{rq_queue.name}:*"):
        rq_queue.connection.delete(flag)  # "a drain is queued": not any more
    for job_id in rq_queue.scheduled_job_registry.get_job_ids():
        rq_queue.scheduled_job_registry.remove(job_id, delete_job=True)


def count(model: type) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def sla_checks(ticket: Ticket) -> set[str]:
    return {job for job in job_ids() if job.startswith(f"sla-{ticket.ref}-")}


def test_a_change_enqueues_its_email_and_sla_wake_ups_after_commit(make: Factory) -> None:
    ticket = make.ticket()
    agent = make.agent()
    clear_jobs()  # filing's own
    with TicketChange(ticket, agent) as change:
        change.record(EventKind.REPLY, body="We are looking into it.")
        change.set_status(Status.OPEN)  # the SLA's inputs move: its checks are scheduled
        assert job_ids() == set()  # nothing reaches Redis before the commit
    new_jobs = job_ids()
    email = db.session.scalar(select(OutboxMessage).order_by(OutboxMessage.id.desc()))
    assert email.to_address == ticket.customer.email
    assert any(job.startswith(f"{outbox.DRAIN_KEY}-") for job in new_jobs)
    assert any(job.startswith(f"sla-{ticket.ref}-") for job in new_jobs)


def test_sla_checks_are_scheduled_only_when_their_times_may_have_moved(
    make: Factory,
) -> None:
    """A note, or the acknowledgement's timeline entry, leaves every due time as it was:
    the check scheduled when the ticket was filed stands, none is enqueued again. An
    agent's first reply moves them: one check, at the soonest of the new times (that
    check schedules the next: tests/jobs/test_sla.py)."""
    ticket, agent = make.ticket(), make.agent()
    assert sla_checks(ticket)  # filing scheduled them
    clear_jobs()
    with TicketChange(ticket, agent) as change:
        change.record(EventKind.NOTE, public=False, body="Asked the bank about the refund.")
    service.acknowledged(ticket)
    assert sla_checks(ticket) == set()
    service.reply(ticket, author=agent, body="The bank confirmed the refund left today.")
    soonest = min(at for at in sla.wake_times(ticket) if at > clock.now())
    assert sla_checks(ticket) == {f"sla-{ticket.ref}-{int(soonest.timestamp())}"}


def test_a_change_that_fails_leaves_nothing_behind(make: Factory) -> None:
    ticket = make.ticket()
    agent = make.agent()
    stored = attachments.store("log.txt", io.BytesIO(b"pasted logs"))
    events, notifications, emails, jobs = (
        count(TicketEvent),
        count(Notification),
        count(OutboxMessage),
        job_ids(),
    )
    with pytest.raises(RuntimeError), TicketChange(ticket, agent, files=[stored]) as change:
        event = change.record(EventKind.REPLY, body="Fixed, I think.")
        change.attach(event, [stored])
        change.set_status(Status.RESOLVED)  # would schedule the follow-up and auto-close
        raise RuntimeError("the worker died half-way")
    db.session.refresh(ticket)
    assert ticket.status == Status.NEW and ticket.resolved_at is None
    assert (count(TicketEvent), count(Notification), count(OutboxMessage)) == (
        events,
        notifications,
        emails,
    )
    assert not attachments.path_of(stored.storage_key).exists()
    assert job_ids() == jobs


def test_a_change_that_fails_at_commit_leaves_nothing_behind(make: Factory) -> None:
    """The database refuses the change (here: a client token used twice on one ticket)."""
    ticket = make.ticket()
    agent = make.agent()
    with TicketChange(ticket, agent) as change:
        change.record(EventKind.NOTE, public=False, body="First.", client_token="tok")
    stored = attachments.store("log.txt", io.BytesIO(b"data"))
    events, jobs = count(TicketEvent), job_ids()
    with pytest.raises(IntegrityError), TicketChange(ticket, agent, files=[stored]) as change:
        change.record(EventKind.REPLY, body="Second.", client_token="tok")
    assert count(TicketEvent) == events
    assert not attachments.path_of(stored.storage_key).exists()
    assert job_ids() == jobs


def test_an_old_version_is_refused_before_anything_runs(make: Factory) -> None:
    ticket = make.ticket()
    agent = make.agent()
    with TicketChange(ticket, agent) as change:
        change.set_status(Status.OPEN)
    ran = False
    stale = TicketChange(ticket, agent, expected_version=ticket.version - 1)
    with pytest.raises(StaleTicket, match=f"{ticket.ref} was just changed by {agent.name}"), stale:
        ran = True
    assert not ran


def test_a_race_lost_at_the_flush_is_stale_and_rolled_back(make: Factory) -> None:
    ticket = make.ticket()
    agent = make.agent()
    events = count(TicketEvent)
    # Someone else's change lands between our read and our write (a Core UPDATE: the
    # loaded ticket keeps the version it was read with).
    table = Ticket.__table__
    db.session.execute(
        update(table).where(table.c.id == ticket.id).values(version=table.c.version + 1)
    )
    with pytest.raises(StaleTicket), TicketChange(ticket, agent) as change:
        change.set_status(Status.OPEN)
    assert count(TicketEvent) == events
    db.session.refresh(ticket)
    assert ticket.status == Status.NEW


def test_the_ref_outlives_the_commit_and_nothing_else_does(make: Factory, count_queries) -> None:
    """A view redirects to `ticket.ref` after the change: that costs no SELECT of the row
    (an id or a ref never changes), while any other attribute is read afresh."""
    ticket = make.ticket()
    agent = make.agent()
    ticket_id = ticket.id
    with TicketChange(ticket, agent) as change:
        change.record(EventKind.REPLY, body="We are looking into it.")
    with count_queries() as reading_the_ref:
        ref, same_id = ticket.ref, ticket.id
    changed = update(Ticket).where(Ticket.id == ticket_id).values(subject="Changed")
    db.session.execute(changed.execution_options(synchronize_session=False))
    with count_queries() as reading_the_subject:
        subject = ticket.subject
    assert ref.startswith("SUP-") and same_id == ticket_id
    assert reading_the_ref.count == 0
    assert (subject, reading_the_subject.count) == ("Changed", 1)
