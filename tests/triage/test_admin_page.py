"""The /admin/triage page: rules with "which wins and why", and the preview."""

from __future__ import annotations

from sqlalchemy import select

from support.extensions import db
from support.models import Category, Priority, PriorityRule, Team


def test_admins_only(client, auth, make) -> None:
    assert client.get("/admin/triage").status_code in (302, 303)
    auth.login(make.agent())
    assert client.get("/admin/triage").status_code == 403


def test_rules_and_preview(client, auth, make) -> None:
    team = Team(name="Payments & Trust")
    db.session.add(team)
    db.session.flush()
    db.session.scalar(select(Category).where(Category.slug == "payments")).team_id = team.id
    db.session.commit()
    make.agent(team_id=team.id, name="Sam Agent")
    auth.login(make.admin())
    page = client.get("/admin/triage").get_data(as_text=True)
    assert "Account taken over" in page and "highest priority wins" in page
    assert "Triage and routing" in client.get("/admin/").get_data(as_text=True)
    response = client.post(
        "/admin/triage/preview",
        data={
            "subject": "Charged twice",
            "description": "I see two payments on my card for one order",
            "impact": "just_me",
            "category": "",
        },
        headers={"HX-Request": "true"},
    )
    text = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "suggested: Payments (confidence" in text
    assert "rule “Money taken wrongly”" in text
    assert "least loaded: Sam Agent, 0 open" in text
    assert "<html" not in text  # just the result, for htmx


def test_adding_a_rule_keeps_the_defaults_and_changes_filing(client, auth, make) -> None:
    auth.login(make.admin())
    response = client.post(
        "/admin/triage/rules",
        data={
            "name": "Legal",
            "impact": "",
            "signals": "lawyer\nsue",
            "priority": "urgent",
            "position": "5",
        },
    )
    assert response.status_code == 303
    names = set(db.session.scalars(select(PriorityRule.name)))
    assert {"Legal", "Just me", "Account taken over"} <= names
    ticket = make.ticket(subject="Refund", description="My lawyer will call you.")
    assert ticket.priority == Priority.URGENT
    bad = client.post(
        "/admin/triage/rules",
        data={
            "name": "Everything",
            "impact": "",
            "signals": "",
            "priority": "low",
            "position": "1",
        },
    )
    assert bad.status_code == 422
    assert "matches everything" in bad.get_data(as_text=True)
    rule_id = db.session.scalar(select(PriorityRule.id).where(PriorityRule.name == "Legal"))
    assert client.post(f"/admin/triage/rules/{rule_id}/delete").status_code == 303
    assert db.session.get(PriorityRule, rule_id) is None


def test_admin_takes_an_agent_off_routing(client, auth, make) -> None:
    agent = make.agent(name="Away Agent")
    auth.login(make.admin())
    assert "Away Agent" in client.get("/admin/triage").get_data(as_text=True)
    response = client.post(f"/admin/triage/agents/{agent.id}", data={"max_open": "3"})
    assert response.status_code == 303
    db.session.refresh(agent)
    assert (agent.is_available, agent.max_open) == (False, 3)
    client.post(f"/admin/triage/agents/{agent.id}", data={"is_available": "y", "max_open": ""})
    db.session.refresh(agent)
    assert (agent.is_available, agent.max_open) == (True, None)
    assert (
        client.post(f"/admin/triage/agents/{agent.id}", data={"max_open": "-1"}).status_code == 422
    )
