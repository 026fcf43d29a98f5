"""Every board and admin address, for every kind of visitor."""

from __future__ import annotations

import pytest

from support.tickets import canned

BOARD_GETS = ["/board", "/board/tickets/{ref}", "/board/tickets/{ref}/articles"]
BOARD_POSTS = [
    "/board/move",
    "/board/tickets/{ref}/reply",
    "/board/tickets/{ref}/fields",
    "/board/tickets/{ref}/assign",
    "/board/tickets/{ref}/status",
    "/board/tickets/{ref}/escalate",
    "/board/tickets/{ref}/merge",
    "/board/tickets/{ref}/tags",
]
ADMIN_GETS = [
    "/admin/",
    "/admin/canned/",
    "/admin/canned/new",
    "/admin/canned/{canned}/edit",
    "/admin/canned/{canned}/delete",
]
ADMIN_POSTS = [
    "/admin/canned/new",
    "/admin/canned/{canned}/edit",
    "/admin/canned/{canned}/delete",
]
ALL = [("GET", u) for u in BOARD_GETS + ADMIN_GETS] + [
    ("POST", u) for u in BOARD_POSTS + ADMIN_POSTS
]


@pytest.fixture
def urls(ticket, admin):
    response = canned.create(title="Thanks", body="Thanks {{ customer.first_name }}!", by=admin)
    return {"ref": ticket.ref, "canned": response.id}


def _call(client, method: str, url: str, urls: dict):
    return client.open(url.format(**urls), method=method, data={})


@pytest.mark.parametrize(("method", "url"), ALL)
def test_anonymous_visitors_are_sent_to_log_in(client, urls, method, url) -> None:
    response = _call(client, method, url, urls)
    assert response.status_code == 302
    assert response.location.startswith("/login")


@pytest.mark.parametrize(("method", "url"), ALL)
def test_customers_get_403_everywhere(client, auth, make, urls, method, url) -> None:
    auth.login(make.customer())
    response = _call(client, method, url, urls)
    assert response.status_code == 403
    if method == "GET":
        assert "This page is not for your account" in response.get_data(as_text=True)


@pytest.mark.parametrize(("method", "url"), [("GET", u) for u in BOARD_GETS])
def test_agents_and_admins_open_the_board(client, auth, agent, admin, urls, method, url) -> None:
    for person in (agent, admin):
        auth.login(person)
        assert _call(client, method, url, urls).status_code == 200
        auth.logout()


@pytest.mark.parametrize(("method", "url"), [("POST", u) for u in BOARD_POSTS])
def test_agents_may_post_to_the_board(client, auth, agent, urls, method, url) -> None:
    auth.login(agent)
    # An empty form is refused as incomplete (400/422), never as forbidden.
    assert _call(client, method, url, urls).status_code in (400, 422)


@pytest.mark.parametrize(
    ("method", "url"), [("GET", u) for u in ADMIN_GETS] + [("POST", u) for u in ADMIN_POSTS]
)
def test_agents_get_403_in_admin(client, auth, agent, urls, method, url) -> None:
    auth.login(agent)
    assert _call(client, method, url, urls).status_code == 403


@pytest.mark.parametrize(("method", "url"), [("GET", u) for u in ADMIN_GETS])
def test_admins_open_every_admin_page(client, auth, admin, urls, method, url) -> None:
    auth.login(admin)
    assert _call(client, method, url, urls).status_code == 200


def test_agents_land_on_the_board_after_login(client, agent) -> None:
    response = client.post(
        "/login", data={"email": agent.email, "password": "a-long-test-password"}
    )
    assert response.location == "/board"


def test_customers_still_land_on_their_tickets(client, customer) -> None:
    response = client.post(
        "/login", data={"email": customer.email, "password": "a-long-test-password"}
    )
    assert response.location == "/tickets/"


def test_nav_shows_board_to_agents_and_admin_to_admins(client, auth, agent, admin) -> None:
    auth.login(agent)
    page = client.get("/board").get_data(as_text=True)
    assert ">Board</a>" in page and ">Admin</a>" not in page
    auth.logout()
    auth.login(admin)
    page = client.get("/board").get_data(as_text=True)
    assert ">Board</a>" in page and ">Admin</a>" in page


def test_unknown_ticket_in_the_panel_is_404(client, as_agent) -> None:
    assert client.get("/board/tickets/SUP-ZZZZZZ").status_code == 404
    assert client.get("/board/tickets/not-a-ref").status_code == 404
