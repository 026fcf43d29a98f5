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
    assert "Triage, teams and routing" in client.get("/admin/").get_data(as_text=True)
    response = client.post(
        "/admin/triage/preview",
        data={
            "preview-subject": "Charged twice",
            "preview-description": "I see two payments on my card for one order",
            "preview-impact": "just_me",
            "preview-category": "",
        },
        headers={"HX-Request": "true"},
    )
    text = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "suggested: Payments (confidence" in text
    assert "rule “Money taken wrongly”" in text
    assert "least loaded: Sam Agent, 0 open" in text
    assert "<html" not in text  # just the result, for htmx
    # Without JavaScript the same form answers the whole page with the result in it.
    plain = client.post(
        "/admin/triage/preview",
        data={
            "preview-subject": "Charged twice",
            "preview-description": "Two payments for one order",
            "preview-impact": "just_me",
            "preview-category": "",
        },
    )
    assert plain.status_code == 200
    page = plain.get_data(as_text=True)
    assert "<html" in page and "rule “Money taken wrongly”" in page and "Account taken over" in page


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


def test_agents_routing_moved_to_the_teams_and_routing_page(client, auth, make) -> None:
    agent = make.agent(name="Away Agent")
    auth.login(make.admin())
    page = client.get("/admin/triage").get_data(as_text=True)
    assert "Away Agent" not in page
    assert 'href="/admin/routing"' in page
    assert client.post(f"/admin/triage/agents/{agent.id}", data={}).status_code == 404
    assert "Away Agent" in client.get("/admin/routing").get_data(as_text=True)


def test_deleting_the_last_rule_says_the_defaults_are_back(client, auth, make) -> None:
    auth.login(make.admin())
    assert client.post("/admin/triage/rules/editable").status_code == 303
    ids = list(db.session.scalars(select(PriorityRule.id).order_by(PriorityRule.id)))
    *others, last = ids
    for rule_id in others:
        response = client.post(f"/admin/triage/rules/{rule_id}/delete", follow_redirects=True)
        assert "It was the last of your rules" not in response.text
    assert "This is your only rule: deleting it brings back the default rules." in response.text
    name = db.session.get(PriorityRule, last).name
    page = client.post(f"/admin/triage/rules/{last}/delete", follow_redirects=True).text
    assert f"Deleted the rule “{name}”. It was the last of your rules" in page
    assert "the default rules apply again to every ticket filed from now on" in page
    assert "These are the default rules" in page and "Account taken over" in page
    assert db.session.scalar(select(PriorityRule.id)) is None
    # ... and they do: an urgent signal is urgent again.
    ticket = make.ticket(subject="Account hacked", description="Someone changed my password.")
    assert ticket.priority == Priority.URGENT
