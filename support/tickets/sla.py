"""Service-level targets: when we promised to answer, what we tell the customer,
and which warnings and breaches are due.

Policies per priority live in the database (admins edit them); the config holds
the defaults used until an admin saves a policy. "Business hours only" counts time on
the desk's schedule (support/tickets/schedule.py). Times are naive UTC.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from support import settings_cache
from support.extensions import db
from support.models.notify import SlaPolicy
from support.models.ticket import EventKind, Priority, Status, Ticket, TicketEvent
from support.tickets import schedule

MAX_TIER = 3
WARN_SHARE = 0.2  # warn when a fifth of the target time is left…
WARN_MIN = timedelta(minutes=10)  # …but never later than ten minutes before


class SlaTarget(StrEnum):
    """The three promises a ticket's clock tracks (stored as these strings in SlaMark
    rows and in SLA events' data)."""

    FIRST_RESPONSE = "first_response"
    UPDATE = "update"
    RESOLUTION = "resolution"

    @property
    def label(self) -> str:
        """How agents read the target, on board cards and SLA timeline events."""
        match self:
            case SlaTarget.FIRST_RESPONSE:
                return "First response"
            case SlaTarget.UPDATE:
                return "Next update"
            case SlaTarget.RESOLUTION:
                return "Resolution"


class CheckpointKind(StrEnum):
    """What a checkpoint says: time is running out, or it has run out."""

    WARNING = "warning"
    BREACH = "breach"


@dataclass(frozen=True)
class Targets:
    first_response: timedelta
    update_interval: timedelta
    resolution: timedelta
    business_hours: bool = False

    def span(self, target: SlaTarget) -> timedelta:
        """The policy's time for `target` (the update target's is the update interval)."""
        match target:
            case SlaTarget.FIRST_RESPONSE:
                return self.first_response
            case SlaTarget.UPDATE:
                return self.update_interval
            case SlaTarget.RESOLUTION:
                return self.resolution
        raise ValueError(f"unknown SLA target {target!r}")


@dataclass(frozen=True)
class Promise:
    """What the customer is told about the next step: a sentence and its due time."""

    text: str
    due: datetime | None


@dataclass(frozen=True)
class Checkpoint:
    """A warning or breach that is due for one of a ticket's targets."""

    target: SlaTarget
    kind: CheckpointKind
    due: datetime


# --- policies -------------------------------------------------------------------------


def default_targets(priority: Priority) -> Targets:
    first, update, resolution = current_app.config["SLA_MINUTES"][priority.value]
    return Targets(
        timedelta(minutes=first), timedelta(minutes=update), timedelta(minutes=resolution)
    )


def targets_for(priority: Priority) -> Targets:
    return _saved_policies().get(priority.value) or default_targets(priority)


def all_targets() -> dict[Priority, Targets]:
    """Every priority's targets, looked up once for a page of countdowns (not per card)."""
    return {priority: targets_for(priority) for priority in Priority}


_POLICIES = "sla_policies"  # session.info key


def _read_policies(session: Session) -> dict[str, Targets]:
    return {
        policy.priority: Targets(
            timedelta(minutes=policy.first_response_minutes),
            timedelta(minutes=policy.update_minutes),
            timedelta(minutes=policy.resolution_minutes),
            policy.business_hours,
        )
        for policy in session.scalars(select(SlaPolicy))
    }


def _saved_policies() -> dict[str, Targets]:
    """Admins' policies: this process's copy while nobody changes them (settings_cache)."""
    return settings_cache.cached(_POLICIES, _read_policies)


def forget_policies() -> None:
    """Drop the cached policies (after saving one, in the same transaction)."""
    db.session.info.pop(_POLICIES, None)


def _open_from(at: datetime) -> tuple[datetime, datetime]:
    """The first business moment at or after `at`, and the closing that ends it."""
    return schedule.current().open_from(at)


def add_time(start: datetime, span: timedelta, business_hours: bool) -> datetime:
    """`start + span`, counting only business hours when the policy says so."""
    if not business_hours:
        return start + span
    remaining, at = span, start
    while True:
        at, day_close = _open_from(at)
        if at + remaining <= day_close:
            return at + remaining
        remaining -= day_close - at
        at = day_close


def time_between(start: datetime, end: datetime, business_hours: bool) -> timedelta:
    """How much of the policy's clock runs from `start` to `end` (inverse of add_time)."""
    if not business_hours or end <= start:
        return end - start
    total, at = timedelta(0), start
    while True:
        at, day_close = _open_from(at)
        if at >= end:
            return total
        total += min(day_close, end) - at
        at = day_close


# --- the clock ------------------------------------------------------------------------


def start_clock(ticket: Ticket, at: datetime) -> None:
    """Set the due times of a new ticket from its priority's policy."""
    targets = targets_for(ticket.priority)
    ticket.first_response_due = add_time(at, targets.first_response, targets.business_hours)
    ticket.next_update_due = ticket.first_response_due
    ticket.resolution_due = add_time(at, targets.resolution, targets.business_hours)


def record_agent_response(ticket: Ticket, at: datetime) -> None:
    """A public answer from us: the first response is met, the next update is due later."""
    targets = targets_for(ticket.priority)
    if ticket.first_responded_at is None:
        ticket.first_responded_at = at
    ticket.next_update_due = add_time(at, targets.update_interval, targets.business_hours)


def pause(ticket: Ticket, at: datetime) -> None:
    """Waiting on the customer: our clock stops."""
    if ticket.sla_paused_at is None:
        ticket.sla_paused_at = at


def resume(ticket: Ticket, at: datetime) -> None:
    """The customer answered: every due time keeps the time that was left on it.

    Under business hours "left" counts business hours, so a pause over a
    weekend does not eat into (or add to) the team's time. A due time already
    missed before the pause stays where it is: it was missed (and breached, and
    escalated) once; moving it would make a new target to miss again.
    """
    paused = ticket.sla_paused_at
    if paused is None:
        return
    business_hours = targets_for(ticket.priority).business_hours

    def moved(due: datetime | None) -> datetime | None:
        if due is None or due <= paused:
            return due
        return add_time(at, time_between(paused, due, business_hours), business_hours)

    ticket.first_response_due = moved(ticket.first_response_due)
    ticket.next_update_due = moved(ticket.next_update_due)
    ticket.resolution_due = moved(ticket.resolution_due)
    ticket.sla_paused_at = None


# --- escalation matrix -------------------------------------------------------------------


@dataclass(frozen=True)
class Stage:
    tier: int
    name: str  # as the customer reads it: "our senior support team"
    update_within: timedelta


def stage(tier: int) -> Stage:
    """The escalation matrix entry for `tier` (1 first line … 3 specialists)."""
    entry = current_app.config["ESCALATION_MATRIX"][tier]
    return Stage(tier, str(entry["name"]), timedelta(hours=int(entry["update_hours"])))


def record_escalation(ticket: Ticket, at: datetime) -> Stage:
    """Move the ticket up one tier; the new team owes the customer an update (the
    stage's deadline, which escalates again when it is missed)."""
    ticket.tier = min(ticket.tier + 1, MAX_TIER)
    new_stage = stage(ticket.tier)
    business_hours = targets_for(ticket.priority).business_hours
    ticket.next_update_due = add_time(at, new_stage.update_within, business_hours)
    return new_stage


# --- what is due ----------------------------------------------------------------------


def _open_targets(
    ticket: Ticket, spans: Targets | None = None
) -> list[tuple[SlaTarget, datetime, timedelta]]:
    """(target, due, full span) for each target the ticket still has to meet (`spans`:
    its priority's targets, when the caller has them already)."""
    if not ticket.status.is_active or ticket.sla_paused_at is not None:
        return []
    spans = spans or targets_for(ticket.priority)
    targets = []
    # Once escalated, the new stage's deadline replaces tier 1's first-response promise.
    if ticket.first_responded_at is None and ticket.first_response_due and ticket.tier == 1:
        targets.append((SlaTarget.FIRST_RESPONSE, ticket.first_response_due, spans.first_response))
    if ticket.next_update_due and (ticket.first_responded_at is not None or ticket.tier > 1):
        # After an escalation the stage's deadline counts even before a first response.
        span = stage(ticket.tier).update_within if ticket.tier > 1 else spans.update_interval
        targets.append((SlaTarget.UPDATE, ticket.next_update_due, span))
    if ticket.resolution_due:
        targets.append((SlaTarget.RESOLUTION, ticket.resolution_due, spans.resolution))
    return targets


def in_words(targets: Targets, target: SlaTarget = SlaTarget.FIRST_RESPONSE) -> str:
    """A target as a customer reads it: "8 hours", "2 business days", "30 minutes"."""
    minutes = int(targets.span(target).total_seconds() // 60)
    unit, size = next(
        (u, s) for u, s in (("day", 24 * 60), ("hour", 60), ("minute", 1)) if minutes % s == 0
    )
    count = minutes // size
    business = "business " if targets.business_hours and unit != "minute" else ""
    return f"{count} {business}{unit}{'s' if count != 1 else ''}"


def warn_at(due: datetime, span: timedelta) -> datetime:
    return due - max(WARN_MIN, span * WARN_SHARE)


def checkpoints(ticket: Ticket, now: datetime) -> list[Checkpoint]:
    """The warnings and breaches that are due at `now` (handled or not)."""
    due_now = []
    for target, due, span in _open_targets(ticket):
        if now >= due:
            due_now.append(Checkpoint(target, CheckpointKind.BREACH, due))
        elif now >= warn_at(due, span):
            due_now.append(Checkpoint(target, CheckpointKind.WARNING, due))
    return due_now


def wake_inputs(ticket: Ticket) -> tuple[object, ...]:
    """What wake_times() reads from the ticket. A change that leaves all of it as it was
    leaves the checks scheduled before as they are (a policy edit moves no wake-up: the
    sweep checks the tickets near their due times every minute in any case)."""
    return (
        ticket.status,
        ticket.priority,
        ticket.tier,
        ticket.sla_paused_at,
        ticket.first_responded_at,
        ticket.first_response_due,
        ticket.next_update_due,
        ticket.resolution_due,
    )


def wake_times(ticket: Ticket) -> list[datetime]:
    """When the SLA checker should next look at this ticket."""
    times = []
    for _target, due, span in _open_targets(ticket):
        times += [warn_at(due, span), due]
    return sorted(times)


def next_due(ticket: Ticket) -> tuple[SlaTarget, datetime] | None:
    """(target, due) of the soonest target still to meet: the board's countdown."""
    found = countdown(ticket, datetime.max)
    return None if found is None else (found[0], found[1])


def countdown(
    ticket: Ticket, now: datetime, spans: Targets | None = None
) -> tuple[SlaTarget, datetime, bool] | None:
    """next_due, and whether any target has reached its warning but not its due time at
    `now` (a WARNING of checkpoints()), from one look at the targets: a card's countdown."""
    targets = _open_targets(ticket, spans)
    if not targets:
        return None
    target, due, _span = min(targets, key=lambda t: t[1])
    return target, due, any(warn_at(at, span) <= now < at for _, at, span in targets)


def _handed_over(ticket: Ticket) -> bool:
    """Did the latest escalation reach someone at the new tier? (Not when nobody there
    could take it: the ticket stayed with its assignee, support/triage/routing.py.)"""
    query = (
        select(TicketEvent.data)
        .where(TicketEvent.ticket_id == ticket.id, TicketEvent.kind == EventKind.ESCALATED)
        .order_by(TicketEvent.id.desc())
        .limit(1)
    )
    data = db.session.scalar(query) or {}
    return data.get("scope") != "admins"


def promise(ticket: Ticket) -> Promise:
    """The honest next step, as the customer portal shows it."""
    if ticket.status == Status.PENDING:
        return Promise("We are waiting for your reply.", None)
    if ticket.status == Status.ON_HOLD:
        return Promise(
            "On hold while we wait for someone outside our team; we will update you by",
            ticket.next_update_due,
        )
    if ticket.status == Status.RESOLVED:
        return Promise(
            "Resolved. If it is not fixed, reply or reopen and we pick it up again.", None
        )
    if ticket.status == Status.CLOSED:
        return Promise("Closed. Reply to start a follow-up ticket linked to this one.", None)
    if ticket.status == Status.ESCALATED and not _handed_over(ticket):
        return Promise(
            "We have asked for more help; you will get an update by", ticket.next_update_due
        )
    if ticket.status == Status.ESCALATED:
        return Promise(
            f"{stage(ticket.tier).name.capitalize()} now handles this; "
            "you will get an update from them by",
            ticket.next_update_due,
        )
    if ticket.first_responded_at is None:
        return Promise("We aim to reply by", ticket.first_response_due)
    return Promise("You will get an update from us by", ticket.next_update_due)
