"""When the background jobs should look at a ticket again.

Only the jobs' times live here: a TicketChange enqueues them after its commit,
and the jobs themselves call the ticket service. Every wake-up is also derivable
from the database, so the periodic sweep re-creates anything Redis loses.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app

from support import clock
from support.jobs.queue import Job
from support.models import Ticket
from support.tickets import sla

CHECK_SLA = "support.jobs.tasks.check_sla"
FOLLOW_UP = "support.jobs.tasks.follow_up"
AUTO_CLOSE = "support.jobs.tasks.auto_close"


def sla_wake_ups(ticket: Ticket) -> list[Job]:
    """The SLA checker at the ticket's next warning or due time (the ticket has an id).

    Only the soonest: the check run then schedules the one after it (tasks.check_sla),
    so a change schedules one job, not one per warning and due time (four for a new
    ticket), and a wake-up a later change made pointless wakes nothing further. Every
    chain converges on the same next job (its id names the ticket and the time), and
    the sweep checks the tickets near their due times every minute if Redis loses one."""
    now = clock.now()
    soonest = min((at for at in sla.wake_times(ticket) if at > now), default=None)
    if soonest is None:
        return []
    return [Job(CHECK_SLA, (ticket.id,), job_id=_job_id("sla", ticket, soonest), at=soonest)]


def follow_up_delay() -> timedelta:
    return timedelta(hours=current_app.config["FOLLOW_UP_AFTER_HOURS"])


def auto_close_delay() -> timedelta:
    return timedelta(days=current_app.config["AUTO_CLOSE_AFTER_DAYS"])


def follow_up_at(resolved_at: datetime) -> datetime:
    return resolved_at + follow_up_delay()


def auto_close_at(resolved_at: datetime) -> datetime:
    return resolved_at + auto_close_delay()


def after_resolution(ticket: Ticket, resolved_at: datetime) -> list[Job]:
    """The follow-up with its survey, and closing the ticket if nobody writes.

    The job ids name the ticket by reference, so they can be made before it has an id;
    the jobs take the id, so call this once the ticket has been flushed."""
    return [
        Job(func, (ticket.id,), job_id=_job_id(func.rsplit(".")[-1], ticket, at), at=at)
        for func, at in (
            (FOLLOW_UP, follow_up_at(resolved_at)),
            (AUTO_CLOSE, auto_close_at(resolved_at)),
        )
    ]


def _job_id(kind: str, ticket: Ticket, at: datetime) -> str:
    # One job per ticket and moment: rescheduling the same time is a no-op.
    return f"{kind}-{ticket.ref}-{int(at.timestamp())}"
