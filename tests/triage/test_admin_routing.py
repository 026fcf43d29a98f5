"""/admin/routing (teams, skills, categories, agents' routing), support.triage.settings,
and on /admin/triage: editing priority rules in place and "where rules overlap"."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from support.extensions import db
from support.models import (
    Category,
    Impact,
    Priority,
    PriorityRule,
    Role,
    Skill,
    Status,
    Team,
    User,
)
from support.tickets import service
from support.triage import priority, routing, settings
from tests.triage.conftest import category

PAGE = "/admin/routing"


def page(client) -> str:
    response = client.get(PAGE)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def followed(client, url: str, data: dict) -> str:
    """POST, expect the redirect-after-post, and return the page it leads to (with the flash)."""
    response = client.post(url, data=data)
    assert response.status_code == 303, response.get_data(as_text=True)[:2000]
    assert response.location == PAGE
    return page(client)


def rejected(client, url: str, data: dict, message: str) -> str:
    response = client.post(url, data=data)
    text = response.get_data(as_text=True)
    assert response.status_code == 422, text[:2000]
    assert message in text
    assert "<h1>Teams and routing</h1>" in text  # the whole page again, not a bare error
    return text


def add_team(name: str) -> Team:
    team = Team(name=name)
    db.session.add(team)
    db.session.commit()
    return team


def add_skill(name: str) -> Skill:
    skill = Skill(name=name)
    db.session.add(skill)
    db.session.commit()
    return skill


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


@pytest.fixture
def admin(client, auth, make) -> User:
    user = make.admin(name="Ada Admin")
    auth.login(user)
    return user


# --- who may use it ----------------------------------------------------------------------


@pytest.fixture
def targets(make) -> dict[str, int]:
    return {
        "team": add_team("Care").id,
        "skill": add_skill("Spanish").id,
        "category": make.category("payments").id,
        "agent": make.agent().id,
    }


ROUTES = [
    ("GET", "/admin/routing"),
    ("POST", "/admin/routing/teams"),
    ("POST", "/admin/routing/teams/{team}"),
    ("POST", "/admin/routing/teams/{team}/delete"),
    ("POST", "/admin/routing/skills"),
    ("POST", "/admin/routing/skills/{skill}"),
    ("POST", "/admin/routing/skills/{skill}/delete"),
    ("POST", "/admin/routing/categories"),
    ("POST", "/admin/routing/categories/{category}"),
    ("POST", "/admin/routing/agents/{agent}"),
    ("POST", "/admin/triage/rules/1"),
    ("POST", "/admin/triage/rules/editable"),
]


def _call(client, method: str, url: str, targets: dict[str, int]):
    return client.open(url.format(**targets), method=method, data={"new-team-name": "Sneaky"})


@pytest.mark.parametrize(("method", "url"), ROUTES)
def test_anonymous_is_sent_to_log_in(client, targets, method, url) -> None:
    response = _call(client, method, url, targets)
    assert response.status_code == 302
    assert response.location.startswith("/login?next=")


@pytest.mark.parametrize("role", [Role.CUSTOMER, Role.AGENT])
@pytest.mark.parametrize(("method", "url"), ROUTES)
def test_customers_and_agents_get_403(client, auth, make, targets, role, method, url) -> None:
    auth.login(make.user(role))
    assert _call(client, method, url, targets).status_code == 403
    assert db.session.scalars(select(Team.name)).all() == ["Care"]  # nothing changed
    assert count(Skill) == 1
    assert count(PriorityRule) == 0


def test_the_admin_index_links_the_page(client, admin) -> None:
    index = client.get("/admin/").get_data(as_text=True)
    assert "Teams and routing" in index and 'href="/admin/routing"' in index
    triage = client.get("/admin/triage").get_data(as_text=True)
    assert 'href="/admin/routing"' in triage
    assert "Agents and routing" not in triage  # moved here


# --- teams -------------------------------------------------------------------------------


def test_empty_states(client, admin) -> None:
    db.session.execute(Category.__table__.delete())
    db.session.commit()
    text = page(client)
    assert "No teams yet — add the first one below." in text
    assert "No skills yet — add the first one below." in text
    assert "No categories yet — add the first one below." in text


def test_add_rename_and_delete_a_team(client, admin) -> None:
    text = followed(client, "/admin/routing/teams", {"new-team-name": "  Payments   & Trust "})
    assert "Added the team “Payments &amp; Trust”." in text
    team = db.session.scalar(select(Team))
    assert team.name == "Payments & Trust"
    assert 'value="Payments &amp; Trust"' in text

    text = followed(client, f"/admin/routing/teams/{team.id}", {f"team-{team.id}-name": "Trust"})
    assert "Renamed the team to “Trust”." in text
    db.session.refresh(team)
    assert team.name == "Trust"

    text = followed(client, f"/admin/routing/teams/{team.id}/delete", {})
    assert "Deleted the team “Trust”." in text
    assert count(Team) == 0


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("", "Give the team a name."),
        ("   ", "Give the team a name."),
        ("x" * 2000, "Keep the team&#39;s name to 80 characters (this one has 2,000)."),
        ("care", "There is already a team called “care”."),
        (" CARE ", "There is already a team called “CARE”."),
    ],
    ids=["empty", "blank", "2000-chars", "duplicate", "duplicate-other-case"],
)
def test_a_bad_team_name_is_refused(client, admin, name, message) -> None:
    team = add_team("Care")
    text = rejected(client, "/admin/routing/teams", {"new-team-name": name}, message)
    if name.strip():
        assert f'value="{name}"' in text  # what was typed is still in the field
    assert db.session.scalars(select(Team.name)).all() == ["Care"]
    other = add_team("Shipping")
    rejected(client, f"/admin/routing/teams/{other.id}", {f"team-{other.id}-name": name}, message)
    db.session.refresh(team)
    db.session.refresh(other)
    assert (team.name, other.name) == ("Care", "Shipping")


def test_renaming_a_team_to_its_own_name_in_another_case_is_fine(client, admin) -> None:
    team = add_team("care")
    followed(client, f"/admin/routing/teams/{team.id}", {f"team-{team.id}-name": "Care"})
    db.session.refresh(team)
    assert team.name == "Care"


def test_a_team_in_use_is_not_deleted_and_the_page_says_what_uses_it(client, admin, make) -> None:
    team = add_team("Care")
    agent = make.agent(team_id=team.id)
    payments = make.category("payments")
    payments.team_id = team.id
    db.session.commit()
    make.ticket(category=payments)  # routed to the team: the ticket keeps it
    text = rejected(
        client,
        f"/admin/routing/teams/{team.id}/delete",
        {},
        "“Care” is still used by 1 agent, 1 category and 1 ticket.",
    )
    assert "rename the team instead" in text
    assert count(Team) == 1

    payments.team_id = None
    db.session.commit()
    rejected(
        client,
        f"/admin/routing/teams/{team.id}/delete",
        {},
        "still used by 1 agent and 1 ticket",
    )
    agent.team_id = None
    db.session.commit()
    assert count(Team) == 1


def test_a_team_used_only_by_agents_says_move_them(client, admin, make) -> None:
    team = add_team("Care")
    make.agent(team_id=team.id)
    make.agent(team_id=team.id)
    rejected(
        client,
        f"/admin/routing/teams/{team.id}/delete",
        {},
        "“Care” is still used by 2 agents. Move them to another team first.",
    )


def test_unknown_ids_are_404(client, admin) -> None:
    for url in (
        "/admin/routing/teams/999",
        "/admin/routing/teams/999/delete",
        "/admin/routing/skills/999",
        "/admin/routing/skills/999/delete",
        "/admin/routing/categories/999",
        "/admin/routing/agents/999",
        "/admin/triage/rules/999",
    ):
        assert client.post(url, data={}).status_code == 404, url


def test_customers_are_not_agents_here(client, admin, make) -> None:
    customer = make.customer()
    assert client.post(f"/admin/routing/agents/{customer.id}", data={}).status_code == 404


# --- skills ------------------------------------------------------------------------------


def test_add_rename_and_delete_a_skill(client, admin, make) -> None:
    text = followed(client, "/admin/routing/skills", {"new-skill-name": "Spanish"})
    assert "Added the skill “Spanish”." in text
    skill = db.session.scalar(select(Skill))
    text = followed(client, f"/admin/routing/skills/{skill.id}", {f"skill-{skill.id}-name": "ES"})
    assert "Renamed the skill to “ES”." in text
    db.session.refresh(skill)
    assert skill.name == "ES"

    speakers = [make.agent(), make.agent()]
    for agent in speakers:
        agent.skills = [skill]
    payments = make.category("payments")
    payments.skill_id = skill.id
    db.session.commit()
    text = followed(client, f"/admin/routing/skills/{skill.id}/delete", {})
    assert "Deleted the skill “ES”: 2 agents had it; 1 category needed it and now needs none." in (
        text
    )
    assert count(Skill) == 0
    for agent in speakers:
        db.session.refresh(agent)
        assert agent.skills == []
    db.session.refresh(payments)
    assert payments.skill_id is None


def test_deleting_an_unused_skill_says_so(client, admin) -> None:
    skill = add_skill("Welsh")
    text = followed(client, f"/admin/routing/skills/{skill.id}/delete", {})
    assert "Deleted the skill “Welsh”: no agent had it; no category needed it." in text


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("", "Give the skill a name."),
        ("x" * 2000, "Keep the skill&#39;s name to 60 characters"),
        ("SPANISH", "There is already a skill called “SPANISH”."),
    ],
    ids=["empty", "2000-chars", "duplicate"],
)
def test_a_bad_skill_name_is_refused(client, admin, name, message) -> None:
    skill = add_skill("Spanish")
    rejected(client, "/admin/routing/skills", {"new-skill-name": name}, message)
    assert count(Skill) == 1
    other = add_skill("Chargebacks")
    rejected(client, f"/admin/routing/skills/{other.id}", {f"skill-{other.id}-name": name}, message)
    db.session.refresh(skill)
    db.session.refresh(other)
    assert (skill.name, other.name) == ("Spanish", "Chargebacks")


# --- categories --------------------------------------------------------------------------


def test_save_a_category(client, admin) -> None:
    team, skill = add_team("Trust"), add_skill("Chargebacks")
    payments = category("payments")
    key = f"category-{payments.id}"
    text = followed(
        client,
        f"/admin/routing/categories/{payments.id}",
        {
            f"{key}-name": "Payments and cards",
            f"{key}-team": str(team.id),
            f"{key}-skill": str(skill.id),
            f"{key}-is_active": "y",
        },
    )
    assert "Saved the category “Payments and cards”." in text
    db.session.refresh(payments)
    assert (payments.name, payments.team_id, payments.skill_id, payments.is_active) == (
        "Payments and cards",
        team.id,
        skill.id,
        True,
    )
    assert payments.slug == "payments"  # bookmarks and the suggester keep working
    row = text[text.index(f'id="{key}"') :]
    row = row[: row.index("</tr>")]
    assert re.search(rf'<option selected value="{team.id}">Trust</option>', row)
    assert re.search(rf'<option selected value="{skill.id}">Chargebacks</option>', row)


def test_a_deactivated_category_is_hidden_from_customers_but_kept(
    client, auth, admin, make
) -> None:
    payments = category("payments")
    ticket = make.ticket(category=payments)
    key = f"category-{payments.id}"
    text = followed(
        client,
        f"/admin/routing/categories/{payments.id}",
        {f"{key}-name": "Payments", f"{key}-team": "", f"{key}-skill": ""},
    )
    assert "It is hidden from customers; old tickets keep it." in text
    db.session.refresh(payments)
    assert payments.is_active is False
    db.session.refresh(ticket)
    assert ticket.category_id == payments.id
    assert count(Category) == 8  # never deleted
    auth.login(make.customer())
    form = client.get("/tickets/new").get_data(as_text=True)
    assert ">Payments<" not in form and ">Shipping<" in form


def test_add_a_category_with_a_unique_slug(client, admin) -> None:
    team = add_team("Care")
    text = followed(
        client,
        "/admin/routing/categories",
        {"new-category-name": "Returns & Exchanges", "new-category-team": str(team.id)},
    )
    assert "Added the category “Returns &amp; Exchanges”: customers can choose it now." in text
    added = db.session.scalar(select(Category).where(Category.name == "Returns & Exchanges"))
    assert (added.slug, added.team_id, added.skill_id, added.is_active) == (
        "returns-exchanges",
        team.id,
        None,
        True,
    )
    followed(client, "/admin/routing/categories", {"new-category-name": "Security!"})
    assert db.session.scalar(select(Category.slug).where(Category.name == "Security!")) == (
        "security-2"
    )


def test_slugs() -> None:
    assert settings.slugify("Café & Crème brûlée") == "cafe-creme-brulee"
    assert settings.slugify("Доставка") == "category"
    assert len(settings.slugify("x " * 100)) <= settings.SLUG_MAX


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"name": ""}, "Give the category a name."),
        ({"name": "y" * 2000}, "Keep the category&#39;s name to 80 characters"),
        ({"name": "SHIPPING"}, "There is already a category called “SHIPPING”"),
        ({"name": "Fine", "team": "999"}, "That team no longer exists"),
        ({"name": "Fine", "skill": "999"}, "That skill no longer exists"),
        ({"name": "Fine", "team": "abc"}, "Invalid Choice"),
    ],
    ids=["empty", "2000-chars", "duplicate", "unknown-team", "unknown-skill", "garbage-team"],
)
def test_bad_category_input_is_refused(client, admin, data, message) -> None:
    payments = category("payments")
    for url, key in (
        ("/admin/routing/categories", "new-category"),
        (f"/admin/routing/categories/{payments.id}", f"category-{payments.id}"),
    ):
        posted = {f"{key}-{name}": value for name, value in data.items()}
        text = rejected(client, url, posted, message)
        if data["name"] == "Fine":
            assert 'value="Fine"' in text
    assert count(Category) == 8
    db.session.refresh(payments)
    assert (payments.name, payments.team_id, payments.skill_id, payments.is_active) == (
        "Payments",
        None,
        None,
        True,
    )


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
