"""/admin/routing agents and availability, and editing and overlapping rules on /admin/triage."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from support.extensions import db
from support.models import Impact, Priority, PriorityRule, Role, Skill, Status, Team, User
from support.tickets import service
from support.triage import priority, routing, settings
from tests.triage.admin_helpers import add_skill, add_team, count, followed, page, rejected
from tests.triage.conftest import category

# --- agents ------------------------------------------------------------------------------


def test_save_an_agents_routing(client, admin, make) -> None:
    team, spanish, refunds = add_team("Care"), add_skill("Spanish"), add_skill("Refunds")
    agent = make.agent(name="Sam Agent")
    key = f"agent-{agent.id}"
    text = followed(
        client,
        f"/admin/routing/agents/{agent.id}",
        {
            f"{key}-team": str(team.id),
            f"{key}-tier": "2",
            f"{key}-skills": [str(spanish.id), str(refunds.id)],
            f"{key}-max_open": "3",
        },
    )
    assert "Saved routing for Sam Agent." in text
    db.session.refresh(agent)
    assert (agent.team_id, agent.tier, agent.is_available, agent.max_open) == (
        team.id,
        2,
        False,
        3,
    )
    assert {s.name for s in agent.skills} == {"Spanish", "Refunds"}
    row = text[text.index(f'id="{key}"') :]
    row = row[: row.index("</tr>")]
    assert f'value="{spanish.id}" form="{key}-form" checked' in row
    assert 'value="3"' in row

    followed(
        client,
        f"/admin/routing/agents/{agent.id}",
        {f"{key}-team": "", f"{key}-tier": "", f"{key}-is_available": "y", f"{key}-max_open": ""},
    )
    db.session.refresh(agent)
    assert (agent.team_id, agent.tier, agent.is_available, agent.max_open, agent.skills) == (
        None,
        None,
        True,
        None,
        [],
    )


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"tier": "7"}, "The tier must be 1, 2 or 3 (or none)."),
        ({"max_open": "-1"}, "The limit must be a whole number from 0 to 10,000"),
        ({"max_open": "10001"}, "The limit must be a whole number from 0 to 10,000"),
        ({"max_open": "lots"}, "Enter a whole number, or leave it empty for the default."),
        ({"team": "999"}, "That team no longer exists"),
        ({"skills": ["999"]}, "One of those skills no longer exists"),
    ],
    ids=["tier-7", "negative-limit", "huge-limit", "words-limit", "unknown-team", "unknown-skill"],
)
def test_bad_agent_input_is_refused_and_changes_nothing(client, admin, make, data, message) -> None:
    team, skill = add_team("Care"), add_skill("Spanish")
    agent = make.agent(team_id=team.id)
    agent.skills, agent.max_open = [skill], 5
    db.session.commit()
    key = f"agent-{agent.id}"
    posted = {f"{key}-team": str(team.id), f"{key}-tier": "1", f"{key}-is_available": "y"}
    posted.update({f"{key}-{name}": value for name, value in data.items()})
    text = rejected(client, f"/admin/routing/agents/{agent.id}", posted, message)
    if data.get("max_open") == "lots":
        assert 'value="lots"' in text  # what was typed is kept
    db.session.refresh(agent)
    assert (agent.team_id, agent.tier, agent.max_open, agent.is_available) == (team.id, 1, 5, True)
    assert [s.name for s in agent.skills] == ["Spanish"]


def test_agents_page_runs_the_same_queries_for_3_or_30_agents(
    client, admin, make, teams, count_queries
) -> None:
    team = teams.team("Payments & Trust", "payments")
    skills = [add_skill("Spanish"), add_skill("Chargebacks")]

    def add_agents(n: int) -> None:
        for i in range(n):
            agent = User(
                email=f"bulk{count(User)}-{i}@example.com",
                name=f"Bulk Agent {i}",
                password_hash="-",
                role=Role.AGENT,
                tier=1,
                team_id=team.id,
            )
            agent.skills = skills[: i % 3]
            db.session.add(agent)
        db.session.commit()

    add_agents(3)
    make.ticket(category=make.category("payments"))  # one of them has an open ticket
    with count_queries() as few:
        small = page(client)
    add_agents(27)
    with count_queries() as many:
        large = page(client)
    assert small.count('<tr id="agent-') == 4  # 3 and the admin
    assert large.count('<tr id="agent-') == 31
    assert few.count == many.count
    assert few.count <= 10, few.count  # the user, the nav badge, one query per list


def test_agents_overview_counts_open_tickets_only(make, teams) -> None:
    team = teams.team("Shipping crew", "shipping")
    (agent,) = teams.agents(team, 1)
    gone = make.agent()
    gone.is_active = False
    make.customer()
    db.session.commit()
    tickets = [make.ticket(category=make.category("shipping")) for _ in range(3)]
    assert {t.assignee_id for t in tickets} == {agent.id}
    service.change_status(tickets[0], Status.RESOLVED, actor=agent, note="Done.")
    overview = dict(settings.agents_overview())
    assert overview == {agent: 2}
    assert agent.team.name == "Shipping crew"  # loaded with it


def test_set_availability_moved_here(make) -> None:
    agent = make.agent()
    settings.set_availability(agent, available=False, max_open=4)
    assert (agent.is_available, agent.max_open) == (False, 4)
    with pytest.raises(settings.SettingsError, match="from 0 to 10,000"):
        settings.set_availability(agent, available=True, max_open=-2)
    assert not hasattr(routing, "set_availability")
    assert not hasattr(routing, "agents_overview")


def test_a_category_that_needs_a_skill_goes_only_to_an_agent_with_it(client, admin, make) -> None:
    """Set up through the page, then file: the skilled agent gets it though more loaded."""
    followed(client, "/admin/routing/teams", {"new-team-name": "Trust"})
    followed(client, "/admin/routing/skills", {"new-skill-name": "Chargebacks"})
    team = db.session.scalar(select(Team))
    skill = db.session.scalar(select(Skill))
    plain, expert = make.agent(name="Plain Agent"), make.agent(name="Expert Agent")
    for agent, skills in ((plain, []), (expert, [str(skill.id)])):
        followed(
            client,
            f"/admin/routing/agents/{agent.id}",
            {
                f"agent-{agent.id}-team": str(team.id),
                f"agent-{agent.id}-tier": "1",
                f"agent-{agent.id}-skills": skills,
                f"agent-{agent.id}-is_available": "y",
            },
        )
    payments = category("payments")
    key = f"category-{payments.id}"
    followed(
        client,
        f"/admin/routing/categories/{payments.id}",
        {f"{key}-name": "Payments", f"{key}-team": str(team.id), f"{key}-is_active": "y"},
    )
    # No skill needed yet: equals, so the first agent gets it and the plain agent is busier.
    assert make.ticket(category=payments).assignee_id == plain.id
    followed(
        client,
        f"/admin/routing/categories/{payments.id}",
        {
            f"{key}-name": "Payments",
            f"{key}-team": str(team.id),
            f"{key}-skill": str(skill.id),
            f"{key}-is_active": "y",
        },
    )
    db.session.refresh(payments)
    for _ in range(3):  # without the skill, the plain agent would get the 3rd
        assert routing.route(payments).agent == expert
        assert make.ticket(category=payments).assignee_id == expert.id


# --- priority rules: edit in place, and where they overlap --------------------------------


def test_defaults_become_editable_then_edit_one(client, admin) -> None:
    text = client.get("/admin/triage").get_data(as_text=True)
    assert "Make these rules editable" in text
    assert '/admin/triage/rules/1"' not in text  # no Edit while the rules have no id
    response = client.post("/admin/triage/rules/editable", data={})
    assert response.status_code == 303
    assert count(PriorityRule) == len(priority.DEFAULT_RULES)
    rule = db.session.scalar(select(PriorityRule).where(PriorityRule.name == "Many users"))
    text = client.get("/admin/triage").get_data(as_text=True)
    assert f'action="/admin/triage/rules/{rule.id}"' in text
    assert "Make these rules editable" not in text

    key = f"rule-{rule.id}"
    response = client.post(
        f"/admin/triage/rules/{rule.id}",
        data={
            f"{key}-name": "Many users",
            f"{key}-impact": "many_users",
            f"{key}-signals": "",
            f"{key}-priority": "high",
            f"{key}-position": "30",
        },
    )
    assert response.status_code == 303
    db.session.refresh(rule)
    assert rule.priority == "high"
    assert count(PriorityRule) == len(priority.DEFAULT_RULES)  # changed in place
    assert priority.decide("It broke", "", Impact.MANY_USERS).priority == Priority.HIGH

    bad = client.post(
        f"/admin/triage/rules/{rule.id}",
        data={
            f"{key}-name": "Typed name",
            f"{key}-impact": "",
            f"{key}-signals": "",
            f"{key}-priority": "low",
            f"{key}-position": "30",
        },
    )
    text = bad.get_data(as_text=True)
    assert bad.status_code == 422
    assert "matches everything" in text
    assert 'value="Typed name"' in text
    assert re.search(r'<details class="row-edit"\s+open>', text)
    db.session.refresh(rule)
    assert (rule.name, rule.priority) == ("Many users", "high")


def test_update_rule_checks_like_add_rule(app) -> None:
    priority.make_editable()
    rule_id = db.session.scalar(select(PriorityRule.id).where(PriorityRule.name == "Outage"))
    fields = {"priority": Priority.HIGH, "impact": None, "position": 5}
    with pytest.raises(priority.RuleError, match="name"):
        priority.update_rule(rule_id, name="  ", signals="down", **fields)
    with pytest.raises(priority.RuleError, match="matches everything"):
        priority.update_rule(rule_id, name="Outage", signals=" , ", **fields)
    with pytest.raises(priority.RuleError, match="no longer exists"):
        priority.update_rule(99_999, name="Outage", signals="down", **fields)
    row = priority.update_rule(rule_id, name=" Outage ", signals="Site Down\nsite down", **fields)
    assert (row.name, row.signals, row.priority, row.position) == ("Outage", "site down", "high", 5)


def test_conflicts_name_the_winner() -> None:
    rules = [
        priority.Rule("Many users", Priority.HIGH, Impact.MANY_USERS, (), 10),
        priority.Rule("Charged twice", Priority.URGENT, None, ("charged twice",), 20),
        priority.Rule("Charged", Priority.NORMAL, None, ("charged",), 30),
        priority.Rule("Hacked", Priority.URGENT, None, ("hacked",), 40),
        priority.Rule("Just me", Priority.LOW, Impact.JUST_ME, (), 50),
        priority.Rule("Some users", Priority.HIGH, Impact.SOME_USERS, (), 60),
    ]
    found = priority.conflicts(rules)
    assert (
        "“Many users” (High) and “Charged twice” (Urgent) can both match: "
        "Urgent wins, the higher priority." in found
    )
    # "charged" is inside "charged twice": a text with the one has the other.
    assert any(s.startswith("“Charged twice” (Urgent) and “Charged” (Normal)") for s in found)
    # Different impacts never meet; equal priorities don't contradict; disjoint signals don't.
    assert not any("“Just me”" in s and "“Some users”" in s for s in found)
    assert not any("“Charged twice”" in s and "“Hacked”" in s for s in found)
    assert not any("“Charged” (Normal) and “Hacked”" in s for s in found)
    assert priority.conflicts(rules[:1]) == []
    assert priority.conflicts([rules[3], rules[4]]) == [
        "“Hacked” (Urgent) and “Just me” (Low) can both match: Urgent wins, the higher priority."
    ]


def test_the_triage_page_shows_where_rules_overlap(client, admin) -> None:
    text = client.get("/admin/triage").get_data(as_text=True)
    assert "Where rules overlap" in text
    assert "“Just me” (Normal) and “Money taken wrongly” (High) can both match" in text
    client.post("/admin/triage/rules/reset", data={})
    priority.make_editable()
    for row in db.session.scalars(select(PriorityRule)):
        if row.name != "Just me":
            db.session.delete(row)
    db.session.commit()
    text = client.get("/admin/triage").get_data(as_text=True)
    assert "No two rules contradict each other." in text
