"""RQ job functions: take ids, load fresh state, call a service, raise on failure.

Each job is idempotent (running it twice does nothing the second time), so RQ
retries, the sweep and a worker that died half-way can never send twice.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from datetime import timedelta
from functools import wraps
from typing import Any, TypeVar

from flask import Flask, current_app, has_app_context
from sqlalchemy import select

from support import clock
from support.extensions import db
from support.jobs import queue
from support.mail.inbound import intake
from support.models import EmailKind, OutboxMessage, OutboxStatus, Status, SurveyInvite, Ticket
from support.notify import drain, outbox
from support.reports import facts
from support.tickets import automation, service, sla
from support.triage import routing
from support.webhooks import outbox as webhooks

log = logging.getLogger(__name__)
F = TypeVar("F", bound=Callable[..., Any])
_app: Flask | None = None


def _app_context() -> AbstractContextManager:
    """A fresh app context (so a fresh database session) for each job.

    Jobs use the worker's app; a bare `rq worker` gets one built from the environment.
    """
    global _app
    if has_app_context():
        return current_app._get_current_object().app_context()  # type: ignore[attr-defined]
    if _app is None:
        from support import create_app

        _app = create_app()
    return _app.app_context()


def job(func: F) -> F:
    @wraps(func)
    def run(*args: Any, **kwargs: Any) -> Any:
        with _app_context():
            try:
                return func(*args, **kwargs)
            finally:
                db.session.remove()

    return run  # type: ignore[return-value]


def _ticket(ticket_id: int) -> Ticket | None:
    return db.session.get(Ticket, ticket_id)


@job
def deliver_email(key: str) -> str:
    message = outbox.deliver(key)
    if message is None:
        return "already sent or being sent"
    if message.status == OutboxStatus.FAILED:
        return f"not sent: {message.last_error}"  # can't be built: no retry would help
    if message.kind == EmailKind.ACK and message.ticket is not None:
        service.acknowledged(message.ticket)
    return f"sent to {message.to_address}"


@job
def drain_outbox() -> str:
    """Send every email due (support.notify.drain), one SMTP connection for all.

    It waits MAIL_GATHER_MS first: until `started`, every email committed asks for no
    job of its own (its request finds this one queued), so under load one drain sends
    what a dozen changes wrote instead of a job each (a job's own cost in RQ is ~57
    Redis commands). The emails wait that long more; nothing else changes: what
    `started` and the claims guarantee holds whenever they run."""
    gather = current_app.config["MAIL_GATHER_MS"]
    if gather > 0:
        time.sleep(gather / 1000)
    queue.started(outbox.DRAIN_KEY)  # before reading the outbox: later emails ask anew
    done = drain.drain(on_sent=_acknowledged)
    more = "; more left for the next drain" if done.more else ""
    return f"sent {len(done.sent)}, can't be built {done.unbuildable}, failed {done.failed}{more}"


def _acknowledged(message: OutboxMessage) -> None:
    """The acknowledgement went out: note it on the ticket's timeline (once).

    The ticket is the one the drain's claim loaded moments ago (it keeps objects across
    commits), not read again: the note writes no field of the ticket and reads none
    another change could have moved (nobody is notified of it, no webhook sends it)."""
    if message.kind == EmailKind.ACK and message.ticket is not None:
        service.acknowledged(message.ticket)


@job
def deliver_webhook(delivery_id: int) -> str:
    delivered = webhooks.deliver(delivery_id)
    return f"delivered {delivered}" if delivered else "nothing due, or another worker is on it"


@job
def check_sla(ticket_id: int) -> int:
    """Record what is due now, then wake again at the ticket's next warning or due time
    (a change schedules only the soonest: support/tickets/automation.py)."""
    ticket = _ticket(ticket_id)
    if ticket is None:
        return 0
    recorded = len(service.check_sla(ticket))
    queue.enqueue_all(automation.sla_wake_ups(ticket))
    return recorded


@job
def follow_up(ticket_id: int) -> bool:
    ticket = _ticket(ticket_id)
    return bool(ticket and service.send_follow_up(ticket))


@job
def auto_close(ticket_id: int) -> bool:
    ticket = _ticket(ticket_id)
    return bool(ticket and service.auto_close(ticket))


@job
def file_inbound(inbound_id: int) -> str:
    """File one stored email (support/mail/inbound/intake.py): never raises for a bad
    message (it is quarantined), only for the database (RQ retries, the sweep too)."""
    return intake.file_message(inbound_id).value


@job
def rebuild_kb_index() -> str:
    """Re-index the knowledge base (one writer at a time: the index holds a file lock)."""
    from support.kb import index

    report = index.rebuild()
    return f"indexed {report.articles} articles"


@job
def weekly_report() -> int:
    """Last week's figures to every admin (Mondays, from `rq cron`); once per week."""
    from support.reports import summary

    return summary.send_weekly(clock.now())


@job
def sweep() -> dict[str, int]:
    """The database is the truth: do (or re-enqueue) whatever is due and not yet done.

    Runs every minute from `rq cron`. Catches work whose job Redis lost: mail
    still in the outbox, webhook deliveries due (or abandoned), SLA checkpoints,
    follow-ups and auto-closes. And gives tickets waiting in "unassigned" to agents
    who have become free, applies the privacy retention settings, and keeps the
    reports' per-ticket facts up to date (support/reports/facts.py).
    """
    keys = outbox.due_for_delivery()
    if keys:
        outbox.request_drain(force=True)  # the flag may outlive a drain Redis lost
    deliveries = webhooks.due_for_delivery()
    for delivery_id in deliveries:
        if not queue.enqueue(webhooks.DELIVER, delivery_id, job_id=webhooks.job_id(delivery_id)):
            break
    mail_in = _requeue_inbound()
    checked = sum(len(service.check_sla(t)) for t in _tickets_near_sla())
    followed = sum(bool(service.send_follow_up(t)) for t in _resolved_due_follow_up())
    closed = sum(bool(service.auto_close(t)) for t in _resolved_due_close())
    routed = _route_waiting()
    from support.privacy.jobs import sweep_work  # imports this module: not at the top

    privacy = sweep_work()
    report_facts = facts.refresh(clock.now())
    counts = {
        "mail": len(keys),
        "webhooks": len(deliveries),
        "sla_events": checked,
        "follow_ups": followed,
        "closed": closed,
        "routed": routed,
        "inbound_mail": mail_in,
        "report_facts": report_facts,
        **privacy,
    }
    log.info("sweep: %s", counts)
    return counts


def _requeue_inbound() -> int:
    """Stored emails whose filing job Redis lost (or a worker dropped), queued again."""
    waiting = intake.waiting()
    for inbound_id in waiting:
        if not queue.enqueue(intake.FILE_JOB, inbound_id, job_id=intake.job_id(inbound_id)):
            break
    return len(waiting)


def _route_waiting() -> int:
    """Route waiting tickets, oldest first; once nobody is free for a kind of ticket
    (team, tier, skill), the rest of that kind are skipped without a query each."""
    routed, full = 0, set()
    for ticket_id, kind in routing.waiting():
        if kind in full:
            continue
        ticket = db.session.get(Ticket, ticket_id)
        if ticket is not None and service.route_waiting(ticket):
            routed += 1
        else:
            full.add(kind)
    return routed


def _tickets_near_sla(batch: int = 500) -> Iterator[Ticket]:
    """Every active ticket whose warning window may have opened (the checker decides),
    read in batches by id so a large backlog is covered, not just its first rows.

    A ticket's soonest target is stored with it (`next_due_at`, support/tickets/due.py):
    a first response already given, or replaced by an escalation stage, no longer
    counts, and the look-ahead finds every warning that may be due.
    """
    horizon = clock.now() + _widest_warning()
    active = [s for s in Status if s.is_active and s != Status.PENDING]
    last_id = 0
    while True:
        query = (
            select(Ticket)
            .where(
                Ticket.id > last_id,
                Ticket.status.in_(active),
                Ticket.sla_paused_at.is_(None),
                Ticket.next_due_at <= horizon,
            )
            .order_by(Ticket.id)
            .limit(batch)
        )
        tickets = list(db.session.scalars(query))
        if not tickets:
            return
        yield from tickets
        last_id = tickets[-1].id


def _widest_warning() -> timedelta:
    """How far ahead a warning can open: the widest of every span a target can have
    (each priority's first response, update interval and resolution, and each
    escalation stage's update deadline)."""
    spans = [sla.stage(tier).update_within for tier in range(2, sla.MAX_TIER + 1)]
    for priority in sla.Priority:
        targets = sla.targets_for(priority)
        spans += [targets.first_response, targets.update_interval, targets.resolution]
    return max(max(sla.WARN_MIN, span * sla.WARN_SHARE) for span in spans)


def _resolved_due_follow_up() -> list[Ticket]:
    cutoff = clock.now() - automation.follow_up_delay()
    sent = select(SurveyInvite.id).where(
        SurveyInvite.ticket_id == Ticket.id, SurveyInvite.resolved_at == Ticket.resolved_at
    )
    query = select(Ticket).where(
        Ticket.status == Status.RESOLVED, Ticket.resolved_at <= cutoff, ~sent.exists()
    )
    return list(db.session.scalars(query.limit(500)))


def _resolved_due_close() -> list[Ticket]:
    cutoff = clock.now() - automation.auto_close_delay()
    query = select(Ticket).where(Ticket.status == Status.RESOLVED, Ticket.resolved_at <= cutoff)
    return list(db.session.scalars(query.limit(500)))
