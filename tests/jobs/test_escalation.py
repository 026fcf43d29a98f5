"""Warnings, breaches and the escalation matrix (automatic and by hand), with a
controllable clock.

Time never passes by sleeping: `clock.freeze` moves it, and `advance` then does what
RQ's scheduler would do at that moment (move the delayed jobs now due onto the queue)
before a real burst worker runs them against the real database, Redis and SMTP server.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from support import clock
from support.extensions import db
from support.jobs import tasks
from support.models import (
    EventKind,
    Status,
)
from support.tickets import service, sla
from support.tickets.service import TicketError
from tests.jobs.sla_helpers import (
    HOUR,
    T0,
    events_of,
    kinds,
    notifications_for,
    page_of,
    scheduled_times,
)
from tests.smtp import text_part

# --- warning and breach ---------------------------------------------------------------


def test_first_response_warning_tells_team_and_customer_once(
    app, client, auth, make, smtp, run_jobs, advance, frozen
):
    customer = make.customer()
    ticket = make.ticket(customer)
    run_jobs()  # the acknowledgement
    assert ticket.first_response_due == T0 + 8 * HOUR
    # The checker is woken at the next warning or due time, from the database's due
    # times; each check schedules the one after it.
    warn = T0 + 8 * HOUR - timedelta(minutes=96)  # a fifth of 8 h before
    assert scheduled_times(app) == [warn]

    assert advance(warn - timedelta(minutes=1)) == 0
    assert EventKind.SLA_WARNING not in kinds(ticket)

    assert advance(warn + timedelta(minutes=1)) >= 1
    assert T0 + 8 * HOUR in scheduled_times(app)  # the check woke and scheduled the next
    [warning] = events_of(ticket, EventKind.SLA_WARNING)
    [notice] = events_of(ticket, EventKind.DELAY_NOTICE)
    assert not warning.is_public
    assert "First response due Mon 01 Mar 2032, 17:00 UTC is at risk." in warning.body_text
    assert notice.is_public
    assert notice.actor is None

    mails = smtp.mailbox.to(customer.email)
    assert len(mails) == 2  # acknowledgement + delay notice
    assert ticket.ref in mails[1]["Subject"]
    assert mails[1]["In-Reply-To"] == f"<{ticket.ref}@localhost>"
    body = text_part(mails[1])
    assert "we may not manage to get back to you by Mon 01 Mar 2032, 17:00 UTC" in body
    assert "is at risk" not in body
    assert [n.text for n in notifications_for(customer)] == [
        f"An update on the timing of {ticket.ref}."
    ]

    page = page_of(client, auth, customer, ticket)
    assert "we may not manage to get back to you by Mon 01 Mar 2032, 17:00 UTC" in page
    assert "is at risk" not in page  # the internal warning is for the team only

    # Checking again, by the job, the sweep or a retry, records and sends nothing new.
    before = kinds(ticket)
    tasks.check_sla(ticket.id)
    tasks.sweep()
    run_jobs()
    advance(warn + timedelta(minutes=5))
    db.session.expire_all()
    assert kinds(ticket) == before
    assert len(smtp.mailbox.to(customer.email)) == 2
    assert len(notifications_for(customer)) == 1


def test_breach_escalates_to_tier_two_and_tells_its_agents(
    app, client, auth, make, smtp, run_jobs, advance, frozen
):
    customer = make.customer()
    tier1, tier2, tier3 = make.agent(tier=1), make.agent(tier=2), make.agent(tier=3)
    ticket = make.ticket(customer)
    run_jobs()

    advance(T0 + 8 * HOUR)
    db.session.refresh(ticket)
    [breach] = events_of(ticket, EventKind.SLA_BREACH)
    assert not breach.is_public
    assert breach.body_text == "First response target (Mon 01 Mar 2032, 17:00 UTC) was missed."
    [escalated] = events_of(ticket, EventKind.ESCALATED)
    assert escalated.is_public
    assert escalated.actor is None
    assert escalated.data["tier"] == 2
    assert escalated.data["automatic"] is True
    assert escalated.body_text == (
        "Our senior support team now handles your request. "
        "You will get an update from them by Wed 03 Mar 2032, 17:00 UTC."
    )
    assert ticket.tier == 2
    assert ticket.status == Status.ESCALATED
    assert ticket.assignee_id == tier2.id  # no team: the least-loaded tier-2 agent anywhere
    assert ticket.next_update_due == T0 + 8 * HOUR + 48 * HOUR

    # The new owners hear of it in the app and by email; the other tiers do not.
    [note] = notifications_for(tier2)
    assert note.text == f"{ticket.ref} was escalated to your tier."
    [mail] = smtp.mailbox.to(tier2.email)
    assert mail["Subject"].startswith(f"[{ticket.ref}] Escalated to tier 2")
    assert "automatically" in text_part(mail)
    assert f"Open it: http://support.test/board/tickets/{ticket.ref}" in text_part(mail)
    assert notifications_for(tier1) == notifications_for(tier3) == []
    assert smtp.mailbox.to(tier1.email) == smtp.mailbox.to(tier3.email) == []

    # The customer is told who handles it now and when to expect an update.
    [_ack, update] = smtp.mailbox.to(customer.email)
    assert "Our senior support team now handles your request." in text_part(update)
    assert "Wed 03 Mar 2032, 17:00 UTC" in text_part(update)
    page = page_of(client, auth, customer, ticket)
    assert "Our senior support team now handles this" in page
    assert "Wed 03 Mar 2032, 17:00 UTC" in page
    assert "was missed" not in page

    # Once is enough: checking again changes nothing.
    tasks.check_sla(ticket.id)
    tasks.sweep()
    run_jobs()
    db.session.expire_all()
    assert len(events_of(ticket, EventKind.ESCALATED)) == 1
    assert len(smtp.mailbox.to(tier2.email)) == 1


def test_missed_stage_deadline_goes_to_tier_three_and_no_further(
    app, make, smtp, run_jobs, advance, frozen
):
    customer = make.customer()
    tier3 = make.agent(tier=3)
    ticket = make.ticket(customer)
    run_jobs()
    advance(T0 + 8 * HOUR)  # first response missed: tier 2, update due in 48 h
    db.session.refresh(ticket)
    stage_due = T0 + 56 * HOUR
    assert (ticket.tier, ticket.next_update_due) == (2, stage_due)

    # Tier 2's deadline: a warning (with a notice to the customer) before it…
    advance(stage_due - 9 * HOUR)  # 9.6 h (a fifth of 48 h) before
    db.session.refresh(ticket)
    assert ticket.tier == 2
    [notice] = events_of(ticket, EventKind.DELAY_NOTICE)
    assert "by Wed 03 Mar 2032, 17:00 UTC" in notice.body_text

    # …and a breach when it passes: tier 3 takes over.
    advance(stage_due)
    db.session.refresh(ticket)
    assert ticket.tier == 3
    assert ticket.status == Status.ESCALATED
    breaches = events_of(ticket, EventKind.SLA_BREACH)
    assert [b.data["target"] for b in breaches] == ["first_response", "update"]
    second = events_of(ticket, EventKind.ESCALATED)[-1]
    assert second.data["tier"] == 3
    assert second.body_text == (
        "Our specialist team now handles your request. "
        "You will get an update from them by Thu 04 Mar 2032, 17:00 UTC."
    )
    assert ticket.next_update_due == stage_due + 24 * HOUR
    assert [n.text for n in notifications_for(tier3)] == [
        f"{ticket.ref} was escalated to your tier."
    ]
    assert len(smtp.mailbox.to(tier3.email)) == 1

    # Tier 3 is the top: the resolution breach (72 h) and tier 3's own missed
    # deadline are recorded for the team, but escalate nothing.
    advance(T0 + 72 * HOUR)
    advance(stage_due + 24 * HOUR)
    db.session.refresh(ticket)
    breaches = events_of(ticket, EventKind.SLA_BREACH)
    assert [b.data["target"] for b in breaches] == [
        "first_response",
        "update",
        "resolution",
        "update",
    ]
    assert len(events_of(ticket, EventKind.ESCALATED)) == 2
    assert ticket.tier == 3
    with pytest.raises(TicketError, match="top tier"):
        service.escalate(ticket, actor=tier3, reason="Still stuck")


def test_late_check_with_several_breaches_escalates_once(
    app, make, smtp, run_jobs, advance, frozen
):
    customer = make.customer()
    make.agent(tier=2)  # someone at tier 2 takes it over
    ticket = make.ticket(customer)
    run_jobs()

    # The checker runs for the first time long after both first response (8 h) and
    # resolution (72 h) were due (workers were down, say): one step up, one promise.
    late = T0 + 80 * HOUR
    clock.freeze(late)
    tasks.check_sla(ticket.id)
    db.session.refresh(ticket)
    breaches = events_of(ticket, EventKind.SLA_BREACH)
    assert [b.data["target"] for b in breaches] == ["first_response", "resolution"]
    [escalated] = events_of(ticket, EventKind.ESCALATED)
    assert escalated.data["tier"] == 2
    assert (ticket.tier, ticket.next_update_due) == (2, late + 48 * HOUR)

    advance(late)  # the delayed checks due by now run too: nothing more
    db.session.expire_all()
    assert len(events_of(ticket, EventKind.ESCALATED)) == 1
    assert ticket.tier == 2
    [_ack, update] = smtp.mailbox.to(customer.email)
    assert "Our senior support team now handles your request." in text_part(update)


# --- manual escalation ------------------------------------------------------------------


def test_agent_escalates_by_hand_with_a_reason_only_the_team_sees(
    app, client, auth, make, smtp, run_jobs, frozen
):
    customer = make.customer()
    agent, senior = make.agent(tier=1), make.agent(tier=2)
    ticket = make.ticket(customer)
    run_jobs()
    clock.freeze(T0 + 2 * HOUR)

    with pytest.raises(TicketError, match="Say why"):
        service.escalate(ticket, actor=agent, reason="   ")
    reason = "Needs a refund override only seniors can grant"
    event = service.escalate(ticket, actor=agent, reason=reason)
    run_jobs()

    assert event.is_public
    assert event.actor_id == agent.id
    assert event.data == {
        "from": "new",
        "to": "escalated",
        "tier": 2,
        "reason": reason,
        "automatic": False,
        "scope": "any team",  # the ticket has no team: the tier's agents anywhere
        "told": [senior.id],
        "routing": f"assigned to the least-loaded tier-2 agent: {senior.name}, 0 open",
        "update_by": "2032-03-03T11:00:00",
    }
    assert reason not in event.body_text
    assert ticket.tier == 2
    assert ticket.next_update_due == T0 + 2 * HOUR + 48 * HOUR

    customer_page = page_of(client, auth, customer, ticket)
    assert "Our senior support team now handles your request." in customer_page
    assert reason not in customer_page
    agent_page = page_of(client, auth, agent, ticket)
    assert f"Reason: {reason}" in agent_page

    [_ack, update] = smtp.mailbox.to(customer.email)
    assert "Wed 03 Mar 2032, 11:00 UTC" in text_part(update)
    assert reason not in text_part(update)
    [to_senior] = smtp.mailbox.to(senior.email)
    assert f"Reason: {reason}" in text_part(to_senior)
    assert [n.text for n in notifications_for(senior)] == [
        f"{ticket.ref} was escalated to your tier."
    ]
    assert smtp.mailbox.to(agent.email) == []


def test_escalating_a_pending_ticket_starts_its_clock_again(
    app, make, smtp, run_jobs, advance, frozen
):
    customer, agent = make.customer(), make.agent(tier=1)
    ticket = make.ticket(customer)
    run_jobs()
    clock.freeze(T0 + HOUR)
    service.change_status(ticket, Status.PENDING, actor=agent, note="Which card was it?")
    assert ticket.sla_paused_at == T0 + HOUR

    # Two hours later, still waiting on the customer, the agent hands it up a tier.
    clock.freeze(T0 + 3 * HOUR)
    service.escalate(ticket, actor=agent, reason="The card issuer only talks to seniors")
    run_jobs()
    stage_due = T0 + 3 * HOUR + 48 * HOUR
    assert ticket.status == Status.ESCALATED
    assert ticket.sla_paused_at is None  # no longer waiting on the customer: the clock runs
    assert ticket.next_update_due == stage_due
    assert ticket.resolution_due == T0 + 72 * HOUR + 2 * HOUR  # the pause does not count
    assert sla.next_due(ticket) == ("update", stage_due)  # the board's countdown
    # The checker wakes for the stage deadline's warning (then for the deadline itself).
    assert sla.warn_at(stage_due, sla.stage(2).update_within) in scheduled_times(app)

    advance(stage_due)
    db.session.refresh(ticket)
    [breach] = events_of(ticket, EventKind.SLA_BREACH)
    assert breach.data["target"] == "update"
    assert ticket.tier == 3
