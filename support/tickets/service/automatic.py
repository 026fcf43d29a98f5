"""Changes made by the background jobs: SLA warnings and breaches, acknowledgements,
follow-ups, auto-close, and routing tickets that waited for an agent.

The actor is the system (None); every change goes through a TicketChange like a
person's, so its events notify the same people and its jobs follow its commit.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from support import clock, timezones, triage
from support.extensions import db
from support.models import (
    EventKind,
    SlaMark,
    Status,
    SurveyInvite,
    Ticket,
    TicketEvent,
)
from support.notify import events as notify
from support.survey import tokens as survey_tokens
from support.tickets import automation, sla
from support.tickets.service.change import TicketChange
from support.tickets.service.status import raise_tier
from support.triage import routing


def check_sla(ticket: Ticket) -> list[TicketEvent]:
    """Record the SLA warnings and breaches now due, each once; a breach escalates.

    A warning on a promise we made to the customer (first response, next update)
    also tells them, before the promised time passes, that we may be late.
    A late run that finds several targets missed escalates once, one tier: the
    new stage's deadline (which escalates again if missed) is the next promise.
    """
    due_now = [
        point
        for point in sla.checkpoints(ticket, clock.now())
        if not _already_marked(ticket, point)
    ]
    if not due_now:
        return []
    try:
        with TicketChange(ticket, None) as change:
            missed: list[str] = []
            for point in due_now:
                db.session.add(
                    SlaMark(
                        ticket_id=ticket.id, target=point.target, kind=point.kind, due_at=point.due
                    )
                )
                _record_checkpoint(change, point)
                if point.kind == sla.CheckpointKind.BREACH:
                    label = point.target.label
                    missed.append(f"{label} target ({_when(point)}) was missed.")
            if missed and ticket.tier < sla.MAX_TIER:
                raise_tier(change, reason=" ".join(missed))
    except IntegrityError:
        return []  # another worker handled the same checkpoint first
    return change.events


def _already_marked(ticket: Ticket, point: sla.Checkpoint) -> bool:
    return (
        db.session.scalar(
            select(SlaMark.id).where(
                SlaMark.ticket_id == ticket.id,
                SlaMark.target == point.target,
                SlaMark.kind == point.kind,
                SlaMark.due_at == point.due,
            )
        )
        is not None
    )


def _when(point: sla.Checkpoint) -> str:
    # Written once into the event, so in the site's zone (pages show data's times to
    # each reader in theirs).
    return timezones.local(point.due, timezones.default_zone_name())


def _record_checkpoint(change: TicketChange, point: sla.Checkpoint) -> None:
    """The timeline events of one warning or breach (check_sla does the escalating)."""
    label = point.target.label
    due = _when(point)
    data = {"target": point.target, "due": point.due.isoformat()}
    if point.kind == sla.CheckpointKind.BREACH:
        body = f"{label} target ({due}) was missed."
        change.record(EventKind.SLA_BREACH, public=False, body=body, data=data)
        return
    change.record(
        EventKind.SLA_WARNING, public=False, body=f"{label} due {due} is at risk.", data=data
    )
    if point.target in (sla.SlaTarget.FIRST_RESPONSE, sla.SlaTarget.UPDATE):
        change.record(
            EventKind.DELAY_NOTICE,
            body=f"We're sorry: we may not manage to get back to you by {due} as "
            "we promised. Your request is still with us and we will reply as soon "
            "as we can.",
            data=data,
        )


def acknowledged(ticket: Ticket) -> TicketEvent | None:
    """The acknowledgement email went out: note it on the timeline (once)."""
    exists = db.session.scalar(
        select(TicketEvent.id).where(
            TicketEvent.ticket_id == ticket.id, TicketEvent.kind == EventKind.ACKNOWLEDGED
        )
    )
    if exists:
        return None
    with TicketChange(ticket, None) as change:
        return change.record(
            EventKind.ACKNOWLEDGED, body=f"We emailed you a confirmation of {ticket.ref}."
        )


def send_follow_up(ticket: Ticket) -> TicketEvent | None:
    """FOLLOW_UP_AFTER_HOURS after resolution: did the fix hold? With a survey link."""
    if ticket.status != Status.RESOLVED or ticket.resolved_at is None:
        return None
    if clock.now() < automation.follow_up_at(ticket.resolved_at):
        return None
    already = db.session.scalar(
        select(SurveyInvite.id).where(
            SurveyInvite.ticket_id == ticket.id, SurveyInvite.resolved_at == ticket.resolved_at
        )
    )
    if already:
        return None
    try:
        with TicketChange(ticket, None) as change:
            invite = survey_tokens.create_invite(ticket)
            change.email(notify.follow_up(ticket, invite))
            return change.record(
                EventKind.FOLLOW_UP_SENT,
                body="We emailed you to check that the fix holds, "
                "with a short satisfaction survey.",
            )
    except IntegrityError:
        return None  # another worker sent it first


def auto_close(ticket: Ticket) -> TicketEvent | None:
    """Close a resolved ticket after the configured days without a reply."""
    if ticket.status != Status.RESOLVED or ticket.resolved_at is None:
        return None
    if clock.now() < automation.auto_close_at(ticket.resolved_at):
        return None
    with TicketChange(ticket, None) as change:
        return change.set_status(
            Status.CLOSED,
            body=f"Closed automatically after {automation.auto_close_delay().days} days "
            "without a reply. If you need more help, reply here and we open a follow-up.",
        )


def route_waiting(ticket: Ticket) -> TicketEvent | None:
    """Give a ticket that waits in "unassigned" to an agent who has become free.

    None (and nothing written) when it is no longer waiting or nobody qualifies yet.
    """
    if ticket.assignee_id is not None or ticket.team is None or not ticket.status.is_active:
        return None
    route = routing.route_in_team(
        ticket.team, ticket.category, tier=ticket.tier, ticket_id=ticket.id, lock=True
    )
    if route.agent is None:
        db.session.rollback()  # releases the team's lock
        return None
    with TicketChange(ticket, None) as change:
        ticket.assignee = route.agent
        ticket.updated_at = clock.now()
        waited = routing.Route(route.team, route.agent, f"it was waiting; {route.reason}", [])
        return change.record(EventKind.ROUTED, public=False, data=triage.route_data(waited))
