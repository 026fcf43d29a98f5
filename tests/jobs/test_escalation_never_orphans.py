"""Escalation never orphans a ticket: the next tier in its team, else the next tier in
any team, else it stays with its assignee; someone is always told, and the customer
reads only what is true."""

from __future__ import annotations

from sqlalchemy import select

from support.extensions import db
from support.models import Category, EventKind, Notification, Team
from support.tickets import service
from tests.jobs.sla_helpers import events_of, notifications_for


def _team(name: str, slug: str | None = None) -> Team:
    team = Team(name=name)
    db.session.add(team)
    db.session.flush()
    if slug:
        db.session.scalar(select(Category).where(Category.slug == slug)).team_id = team.id
    db.session.commit()
    return team


def _escalated(ticket):
    [event] = events_of(ticket, EventKind.ESCALATED)
    return event


def test_the_next_tier_in_the_team_is_told_and_nobody_else(app, make, smtp, run_jobs) -> None:
    trust = _team("Payments & Trust", "payments")
    care = _team("Customer Care")
    priya = make.agent(team_id=trust.id)
    senior = make.agent(team_id=trust.id, tier=2)
    other_senior = make.agent(team_id=care.id, tier=2)
    retired = make.agent(team_id=trust.id, tier=2)
    retired.is_active = False
    db.session.commit()
    ticket = make.ticket()
    assert ticket.assignee_id == priya.id
    service.escalate(ticket, actor=priya, reason="Chargeback over the limit")
    run_jobs()
    assert ticket.assignee_id is None  # waits for the tier in its own team
    assert _escalated(ticket).data["scope"] == "team"
    assert [n.text for n in notifications_for(senior)] == [
        f"{ticket.ref} was escalated to your tier."
    ]
    assert notifications_for(other_senior) == notifications_for(retired) == []
    assert smtp.mailbox.to(other_senior.email) == smtp.mailbox.to(retired.email) == []


def test_no_tier_two_in_the_team_goes_to_tier_two_elsewhere(
    app, client, auth, make, smtp, run_jobs
) -> None:
    trust = _team("Payments & Trust", "payments")
    care = _team("Customer Care")
    priya = make.agent(team_id=trust.id)
    busy_senior = make.agent(team_id=care.id, tier=2, name="Busy Senior")
    free_senior = make.agent(team_id=care.id, tier=2, name="Sam Senior")
    busy_senior.max_open = 0  # at their limit
    db.session.commit()
    ticket = make.ticket()
    service.escalate(ticket, actor=priya, reason="Needs a senior")
    run_jobs()
    db.session.refresh(ticket)
    assert ticket.assignee_id == free_senior.id
    event = _escalated(ticket)
    assert event.data["scope"] == "any team"
    assert "no available tier-2 agent in Payments & Trust" in event.data["routing"]
    assert [n.text for n in notifications_for(free_senior)] == [
        f"{ticket.ref} was escalated to your tier."
    ]
    assert notifications_for(busy_senior) == []
    assert event.body_text.startswith("Our senior support team now handles your request.")


def test_nobody_at_the_next_tier_keeps_the_assignee_and_tells_the_admins(
    app, client, auth, make, smtp, run_jobs
) -> None:
    trust = _team("Payments & Trust", "payments")
    priya = make.agent(team_id=trust.id, name="Priya Patel")
    admin = make.admin(tier=3)
    old_admin = make.admin(tier=3)
    old_admin.is_active = False
    db.session.commit()
    customer = make.customer()
    ticket = make.ticket(customer)
    service.escalate(ticket, actor=priya, reason="Needs a senior")
    run_jobs()
    db.session.refresh(ticket)
    assert ticket.assignee_id == priya.id  # never to nobody
    event = _escalated(ticket)
    assert event.data["scope"] == "admins"
    assert [n.text for n in notifications_for(admin)] == [
        f"{ticket.ref} needs tier 2, but nobody at that tier can take it."
    ]
    [mail] = smtp.mailbox.to(admin.email)
    assert "so it stays with Priya Patel" in mail.get_body(("plain",)).get_content()
    assert notifications_for(old_admin) == [] and smtp.mailbox.to(old_admin.email) == []
    # The customer is not told a senior team handles it: nobody there took it.
    assert "now handles" not in event.body_text
    assert event.body_text.startswith(
        "Priya keeps working on your request and has asked for more help."
    )
    auth.login(customer)
    page = client.get(f"/tickets/{ticket.ref}").text
    assert "Priya keeps working on your request" in page
    assert "tier 2" not in page and "senior support team now handles" not in page
    texts = db.session.scalars(select(Notification.text).where(Notification.user_id == customer.id))
    assert all("tier" not in text for text in texts)
