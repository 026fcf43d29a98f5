"""/admin/routing: who may use it, the admin index link, empty states, teams and skills."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from support.extensions import db
from support.models import Category, PriorityRule, Role, Skill, Team
from tests.triage.admin_helpers import add_skill, add_team, count, followed, page, rejected

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
    assert "Triage, teams and routing" in index and 'href="/admin/routing"' in index
    assert "Triage and routing" not in index  # one entry, not two
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
