"""Who must NOT get a ticket, and what must NOT be promised: each test kills a mutant
that survived the suite (routing and SLA tests checked the happy choice only)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from support.extensions import db
from support.models import Notification, Priority, Status
from support.tickets import service, sla
from support.triage import routing
from tests.triage.conftest import category


def _notified(user) -> list[str]:
    return list(
        db.session.scalars(select(Notification.text).where(Notification.user_id == user.id))
    )


def _unavailable(agent):
    agent.is_available = False
    db.session.commit()
    return agent


def test_resolved_and_closed_tickets_are_not_load(make, teams) -> None:
    team = teams.team("Customer Care", "payments")
    busy, other = teams.agents(team, 2)
    for status in (Status.RESOLVED, Status.RESOLVED, Status.CLOSED):
        ticket = make.ticket()
        service.assign(ticket, actor=busy, assignee=busy)
        service.reply(ticket, author=busy, body="Done.")
        service.change_status(ticket, Status.RESOLVED, actor=busy)
        if status == Status.CLOSED:
            service.change_status(ticket, Status.CLOSED, actor=busy)
    open_one = make.ticket()
    service.assign(open_one, actor=other, assignee=other)
    loads = {c.agent.id: c.open for c in routing.candidates(team)}
    assert loads == {busy.id: 0, other.id: 1}
    assert make.ticket().assignee_id == busy.id  # the least loaded, finished work aside


def test_a_deactivated_agent_is_never_assigned(make, teams) -> None:
    team = teams.team("Customer Care", "payments")
    [gone] = teams.agents(team, 1)
    gone.is_active = False
    db.session.commit()
    assert routing.candidates(team) == []
    assert make.ticket().assignee_id is None


def test_an_old_closed_unassigned_ticket_is_not_waiting(make, teams) -> None:
    team = teams.team("Customer Care", "payments")
    agent = _unavailable(make.agent(team_id=team.id))
    old = make.ticket()
    service.reply(old, author=agent, body="Done.")
    service.change_status(old, Status.RESOLVED, actor=agent)
    service.change_status(old, Status.CLOSED, actor=agent)
    resolved = make.ticket()
    service.reply(resolved, author=agent, body="Done.")
    service.change_status(resolved, Status.RESOLVED, actor=agent)
    real = make.ticket()
    assert old.assignee_id is None and real.assignee_id is None
    assert [ticket_id for ticket_id, _kind in routing.waiting()] == [real.id]
    agent.is_available = True
    db.session.commit()
    service.route_waiting(real)
    db.session.refresh(real)
    assert real.assignee_id == agent.id


def test_nobody_could_take_it_tells_only_the_teams_active_members(make, teams) -> None:
    care = teams.team("Customer Care", "payments")
    trust = teams.team("Payments & Trust")
    away = _unavailable(make.agent(team_id=care.id))
    gone = make.agent(team_id=care.id)
    gone.is_active = False
    db.session.commit()
    elsewhere = make.agent(team_id=trust.id)
    ticket = make.ticket(category=category("payments"))
    assert ticket.assignee_id is None
    assert _notified(away) == [
        f"{ticket.ref} is waiting for someone in Customer Care: nobody could take it."
    ]
    assert _notified(gone) == [] and _notified(elsewhere) == []


def test_the_default_open_ticket_cap_is_exactly_the_limit(make, teams) -> None:
    team = teams.team("Customer Care", "payments")
    [agent] = teams.agents(team, 1)
    assert agent.max_open is None and routing.DEFAULT_MAX_OPEN == 25
    filed = [make.ticket() for _ in range(routing.DEFAULT_MAX_OPEN + 1)]
    assert [t.assignee_id for t in filed[:-1]] == [agent.id] * routing.DEFAULT_MAX_OPEN
    assert filed[-1].assignee_id is None  # the 26th waits


def test_tier_one_update_warnings_use_the_priority_policy(make, app) -> None:
    """Tier 1 owes the policy's update interval, not the escalation matrix's stage 1
    (the same for Normal, not for Urgent): `tier > 1`, not `tier >= 1`."""
    agent = make.agent()
    ticket = make.ticket()
    service.update_fields(ticket, actor=agent, priority=Priority.URGENT)
    service.reply(ticket, author=agent, body="Looking into it.")
    urgent = sla.targets_for(Priority.URGENT).update_interval
    assert urgent != sla.stage(1).update_within
    due = ticket.next_update_due
    assert sla.warn_at(due, urgent) in sla.wake_times(ticket)
    assert sla.warn_at(due, sla.stage(1).update_within) not in sla.wake_times(ticket)


def test_the_promise_for_every_waiting_or_finished_status(make) -> None:
    agent = make.agent()
    ticket = make.ticket()
    service.reply(ticket, author=agent, body="Hello")

    def promise_after(status: Status) -> sla.Promise:
        service.change_status(ticket, status, actor=agent)
        return sla.promise(ticket)

    assert promise_after(Status.PENDING) == sla.Promise("We are waiting for your reply.", None)
    on_hold = promise_after(Status.ON_HOLD)
    assert on_hold.text.startswith("On hold while we wait for someone outside our team")
    assert on_hold.due == ticket.next_update_due and on_hold.due is not None
    assert promise_after(Status.RESOLVED) == sla.Promise(
        "Resolved. If it is not fixed, reply or reopen and we pick it up again.", None
    )
    assert promise_after(Status.CLOSED) == sla.Promise(
        "Closed. Reply to start a follow-up ticket linked to this one.", None
    )


def test_the_ten_minute_warning_floor() -> None:
    due = datetime(2032, 3, 1, 12, 0)
    assert sla.warn_at(due, timedelta(minutes=30)) == due - timedelta(minutes=10)  # not 6
    assert sla.warn_at(due, timedelta(minutes=50)) == due - timedelta(minutes=10)  # exactly
    assert sla.warn_at(due, timedelta(hours=8)) == due - timedelta(minutes=96)


def test_a_ninety_minute_policy_reads_ninety_minutes() -> None:
    targets = sla.Targets(
        first_response=timedelta(minutes=90),
        update_interval=timedelta(hours=2),
        resolution=timedelta(days=2),
    )
    assert sla.in_words(targets) == "90 minutes"
    assert sla.in_words(targets, sla.SlaTarget.UPDATE) == "2 hours"
    assert sla.in_words(targets, sla.SlaTarget.RESOLUTION) == "2 days"
