"""/admin/people: admins find accounts and change roles, tiers and access — safely."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from support.extensions import db
from support.models import EventKind, Role, TicketEvent, User


@pytest.fixture
def admin(make, auth):
    user = make.admin(name="Ada Admin")
    auth.login(user)
    return user


def change(client, person, role="agent", tier="1", active=True):
    data = {"role": role, "tier": tier}
    if active:
        data["is_active"] = "y"
    return client.post(f"/admin/people/{person.id}", data=data)


@pytest.mark.parametrize("role", ["customer", "agent"])
def test_only_admins(client, auth, make, role) -> None:
    other = make.customer()
    assert client.get("/admin/people").status_code == 302  # anonymous: log in first
    auth.login(make.customer() if role == "customer" else make.agent())
    assert client.get("/admin/people").status_code == 403
    assert change(client, other, role="admin").status_code == 403
    db.session.refresh(other)
    assert other.role == Role.CUSTOMER


def test_lists_staff_first_and_finds_by_name_or_email(client, admin, make) -> None:
    make.customer(name="Zoe Customer", email="zoe@example.org")
    make.agent(name="Sam Agent")
    page = client.get("/admin/people").text
    assert page.index("Sam Agent") < page.index("Zoe Customer")
    assert "Zoe Customer" in client.get("/admin/people?q=ZOE@").text
    found = client.get("/admin/people?q=zoe&role=agent").text
    assert "Nobody matches" in found and "Zoe Customer" not in found
    assert "Nobody matches" in client.get("/admin/people?q=100%25_").text  # LIKE wildcards


def test_htmx_search_returns_only_the_results(client, admin) -> None:
    fragment = client.get("/admin/people?q=ada", headers={"HX-Request": "true"}).text
    assert fragment.lstrip().startswith('<div id="people-results"')
    assert "Ada Admin" in fragment


def test_make_a_customer_an_agent_of_tier_two(client, admin, make) -> None:
    person = make.customer(name="Kim Newhire")
    response = change(client, person, role="agent", tier="2")
    assert response.status_code == 303
    db.session.refresh(person)
    assert (person.role, person.tier) == (Role.AGENT, 2)
    assert "Kim Newhire is now agent." in client.get(response.location).text


def test_nobody_removes_their_own_admin_rights(client, admin) -> None:
    response = change(client, admin, role="agent")
    assert response.status_code == 422
    assert "remove your own admin rights or account; ask another admin" in response.text
    db.session.refresh(admin)
    assert admin.role == Role.ADMIN and admin.is_active


def test_an_admin_can_demote_or_deactivate_another(client, admin, make) -> None:
    second, third = make.admin(name="Second Admin"), make.admin(name="Third Admin")
    assert change(client, second, role="agent").status_code == 303
    assert change(client, third, role="admin", active=False).status_code == 303
    db.session.refresh(second)
    db.session.refresh(third)
    assert second.role == Role.AGENT and not third.is_active


def test_deactivating_an_agent_returns_their_open_tickets(client, admin, make) -> None:
    agent = make.agent(name="Leaving Agent")
    ticket = make.ticket()
    ticket.assignee = agent
    db.session.commit()
    assert change(client, agent, role="agent", active=False).status_code == 303
    db.session.refresh(ticket)
    assert ticket.assignee is None
    event = db.session.scalar(
        select(TicketEvent).where(
            TicketEvent.ticket_id == ticket.id, TicketEvent.kind == EventKind.ASSIGNED
        )
    )
    assert event is not None and event.actor_id == admin.id and not event.is_public
    auth_page = client.post("/logout")
    assert auth_page.status_code in (302, 303)
    refused = client.post("/login", data={"email": agent.email, "password": "a-long-test-password"})
    assert refused.status_code == 422  # a deactivated account can't sign in


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"role": "overlord", "tier": "1"}, "Choose a role"),
        ({"role": "agent", "tier": "7"}, "Choose a role"),
    ],
)
def test_bad_input_is_refused_and_changes_nothing(client, admin, make, data, message) -> None:
    person = make.customer()
    response = client.post(f"/admin/people/{person.id}", data=data)
    assert response.status_code == 422 and message in response.text
    db.session.refresh(person)
    assert person.role == Role.CUSTOMER


def test_unknown_person_is_404(client, admin) -> None:
    assert client.post("/admin/people/99999", data={"role": "agent"}).status_code == 404


def test_the_admin_index_links_people(client, admin) -> None:
    assert 'href="/admin/people"' in client.get("/admin/").text


def test_one_page_whatever_the_number_of_people(client, admin, make, count_queries) -> None:
    for _ in range(3):
        make.customer()
    with count_queries() as few:
        client.get("/admin/people")
    for _ in range(40):
        make.agent()
    with count_queries() as many:
        client.get("/admin/people")
    assert many.count == few.count
    assert isinstance(db.session.get(User, admin.id), User)
