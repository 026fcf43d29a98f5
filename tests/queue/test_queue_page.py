"""The queue (/queue): who sees it, filters, order, paging, saved views, bad input."""

from __future__ import annotations

from datetime import timedelta

import pytest

from support import clock
from support.extensions import db
from support.models import Priority, SavedView, Status
from support.queue import queries
from support.tickets import service
from tests.board.conftest import HX, bulk_customers, bulk_tickets, forget_bulk_tickets, words


def test_customers_get_403_and_visitors_the_login_page(client, auth, make) -> None:
    assert client.get("/queue").status_code in (302, 303)
    customer = make.customer()
    auth.login(customer)
    assert client.get("/queue").status_code == 403
    assert client.post("/queue/bulk", data={"action": "assign"}).status_code == 403
    assert client.post("/queue/views", data={"name": "x"}).status_code == 403


def test_agents_tickets_page_sends_them_to_the_queue(client, as_agent) -> None:
    response = client.get("/tickets/")
    assert response.status_code == 302 and response.headers["Location"].endswith("/queue")
    assert 'href="/queue"' in client.get("/board").get_data(as_text=True)


def test_the_table_shows_every_column(client, as_agent, make, colleague) -> None:
    customer = make.customer(name="Casey Customer", email="casey@example.com")
    ticket = make.ticket(customer=customer, subject="Parcel never arrived")
    service.assign(ticket, actor=as_agent, assignee=colleague)
    text = words(client.get("/queue"))
    for expected in (
        ticket.ref,
        "Parcel never arrived",
        "Casey Customer",
        "casey@example.com",
        "Sam Senior",
        "Payments",
        "Due in",
        "just now",
    ):
        assert expected in text


def test_fragment_for_htmx_and_the_whole_page_otherwise(client, as_agent, ticket) -> None:
    page = client.get("/queue").get_data(as_text=True)
    fragment = client.get("/queue", headers=HX)
    assert "<html" in page and 'id="queue-results"' in page
    body = fragment.get_data(as_text=True)
    assert "<html" not in body and body.lstrip().startswith('<div id="queue-results"')
    assert "HX-Request" in fragment.headers["Vary"]


def test_the_boards_filters_with_the_same_parameters(client, as_agent, make, teams) -> None:
    care, trust = teams
    mine = make.ticket(subject="Mine and urgent-ish")
    service.assign(mine, actor=as_agent, assignee=as_agent)
    service.update_fields(mine, actor=as_agent, team=trust, priority=Priority.HIGH)
    other = make.ticket(subject="Somebody else's")
    service.update_fields(other, actor=as_agent, team=care)
    service.set_tags(other, ["vip"], actor=as_agent)

    def refs(query: str) -> set[str]:
        text = words(client.get("/queue" + query))
        return {t.ref for t in (mine, other) if t.ref in text}

    assert refs("") == {mine.ref, other.ref}
    assert refs("?mine=1") == {mine.ref}
    assert refs(f"?team={trust.id}") == {mine.ref}
    assert refs("?priority=high") == {mine.ref}
    assert refs("?tag=VIP") == {other.ref}
    assert refs("?unassigned=1") == {other.ref}
    service.change_status(other, Status.PENDING, actor=as_agent)
    assert refs("?status=pending") == {other.ref}
    service.change_status(other, Status.RESOLVED, actor=as_agent)
    assert refs("") == {mine.ref}  # open work by default
    assert refs("?status=all") == {mine.ref, other.ref}


def test_saved_view_presets(client, as_agent, make, monkeypatch) -> None:
    old = make.ticket(subject="Waiting for the customer since Monday")
    service.change_status(old, Status.PENDING, actor=as_agent)
    fresh = make.ticket(subject="Waiting since a minute")
    service.change_status(fresh, Status.PENDING, actor=as_agent)
    later = clock.now() + timedelta(days=4)
    monkeypatch.setattr(clock, "now", lambda: later)
    fresh_again = db.session.get(type(fresh), fresh.id)
    service.reply(fresh_again, author=as_agent, body="Any news?", public=False)
    text = words(client.get("/queue?status=pending&idle=3&sort=updated"))
    assert old.ref in text and fresh.ref not in text
    page = client.get("/queue?idle=3&sort=updated&status=pending").get_data(as_text=True)
    assert 'aria-current="page">Waiting on customer for 3+ days' in page


def test_sorting_by_each_column_and_bad_keys(client, as_agent, make) -> None:
    low = make.ticket(subject="Aardvark low")
    service.update_fields(low, actor=as_agent, priority=Priority.LOW)
    urgent = make.ticket(subject="Zebra urgent")
    service.update_fields(urgent, actor=as_agent, priority=Priority.URGENT)

    def order(query: str) -> list[str]:
        text = client.get("/queue" + query).get_data(as_text=True)
        return sorted((low.ref, urgent.ref), key=text.index)

    assert order("?sort=priority") == [urgent.ref, low.ref]
    assert order("?sort=-priority") == [low.ref, urgent.ref]
    assert order("?sort=subject") == [low.ref, urgent.ref]
    assert order("?sort=-subject") == [urgent.ref, low.ref]
    for key in queries.SORTS:
        for way in ("", "-"):
            assert client.get(f"/queue?sort={way}{key}").status_code == 200
    for bad in ("nope", "--updated", "-", "id;drop", "updated%00", "²", "x" * 5000):
        assert client.get("/queue", query_string={"sort": bad}).status_code == 200
    heading = client.get("/queue?sort=priority").get_data(as_text=True)
    assert 'aria-sort="ascending"' in heading and "sort=-priority" in heading


def test_sorting_by_customer_then_by_ticket(client, as_agent, make) -> None:
    """Customers by name, a name's tickets by number; the other way reverses both."""
    zoe, ann, other_ann = (make.customer(name=n) for n in ("Zoe Ng", "Ann Li", "Ann Li"))
    tickets = [make.ticket(customer=c) for c in (zoe, other_ann, ann, other_ann)]
    by_name = [tickets[1].ref, tickets[2].ref, tickets[3].ref, tickets[0].ref]

    def order(query: str) -> list[str]:
        text = client.get("/queue" + query).get_data(as_text=True)
        return sorted((t.ref for t in tickets), key=text.index)

    assert order("?sort=customer") == by_name
    assert order("?sort=-customer") == by_name[::-1]


def test_paging_and_bad_page_numbers(client, as_agent, make, agent) -> None:
    customers = bulk_customers(3, like=agent)
    try:
        bulk_tickets(queries.PAGE_SIZE * 2 + 5, customers, [agent])
        first = words(client.get("/queue?status=all"))
        assert f"1–50 of {queries.PAGE_SIZE * 2 + 5}" in first and "Page 1 of 3" in first
        assert "Page 2 of 3" in words(client.get("/queue?status=all&page=2"))
        for bad in ("0", "-1", "²", "abc", "99999999999999999999", "1e3", ""):
            response = client.get("/queue", query_string={"status": "all", "page": bad})
            assert response.status_code == 200 and "Page 1 of 3" in words(response)
        assert "Page 3 of 3" in words(client.get("/queue?status=all&page=4000"))
    finally:
        forget_bulk_tickets()


def test_queries_per_page_stay_the_same_however_many_tickets(
    client, as_agent, make, agent, count_queries
) -> None:
    make.ticket()
    client.get("/queue")
    with count_queries() as few:
        client.get("/queue?q=refund")
    customers = bulk_customers(10, like=agent)
    try:
        bulk_tickets(120, customers, [agent, make.agent()])
        for _ in range(3):
            make.ticket(subject="Refund for a broken lamp")
        with count_queries() as many:
            response = client.get("/queue?q=refund")
        assert response.status_code == 200
        assert many.count == few.count
        with count_queries() as default_small:
            client.get("/queue?status=all&page=2")
        with count_queries() as default_again:
            client.get("/queue?status=all&sort=assignee")
        assert default_small.count == default_again.count
    finally:
        forget_bulk_tickets()


def test_saving_sharing_and_removing_views(client, auth, as_agent, make, colleague) -> None:
    response = client.post(
        "/queue/views?priority=high&sort=due&page=3", data={"name": " Hot  ones "}
    )
    assert response.status_code == 303
    view = db.session.query(SavedView).one()
    assert view.name == "Hot ones" and view.query == "priority=high&sort=due" and not view.is_shared
    assert response.headers["Location"].endswith("/queue?priority=high&sort=due")
    client.post("/queue/views?tag=vip", data={"name": "VIP", "shared": "y"})
    assert "Hot ones" in words(client.get("/queue"))

    auth.logout()
    auth.login(colleague)
    text = words(client.get("/queue"))
    assert "VIP" in text and "Hot ones" not in text  # shared only
    shared = db.session.query(SavedView).filter_by(name="VIP").one()
    assert client.post(f"/queue/views/{shared.id}/delete").status_code == 403
    assert client.post(f"/queue/views/{view.id}/delete").status_code == 404
    assert client.post("/queue/views/99999999999999999999/delete").status_code == 404

    auth.logout()
    auth.login(as_agent)
    assert client.post(f"/queue/views/{shared.id}/delete").status_code == 303
    assert db.session.query(SavedView).filter_by(name="VIP").count() == 0


@pytest.mark.parametrize("name", ["", "   ", "x" * 61])
def test_a_view_needs_a_sensible_name(client, as_agent, name) -> None:
    response = client.post("/queue/views", data={"name": name})
    assert response.status_code == 422
    assert "field-error" in response.get_data(as_text=True)
    assert db.session.query(SavedView).count() == 0
