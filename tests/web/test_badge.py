"""The bell's unread count, read with the signed-in user in one statement: exact on every
page, each user's own, and counted again when the request itself writes a notification."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor

from flask import Flask
from flask.testing import FlaskClient

from support.extensions import db
from support.models import Notification
from support.notify import inbox
from support.tickets import service
from tests.jobs.test_notifications_and_admin import statements_on


def _notify(user, ticket, count: int) -> None:
    db.session.add_all(
        Notification(user_id=user.id, ticket=ticket, text=f"News {n}.") for n in range(count)
    )
    db.session.commit()


def _get(client: FlaskClient, url: str, **kw):
    """In a thread of its own: a fresh app context and session, as under gunicorn."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(client.get, url, **kw).result()


def _bell(page: str) -> int:
    found = re.search(r'<span class="count-badge">(\d+)</span>', page)
    return int(found.group(1)) if found else 0


def test_the_count_comes_with_the_user_in_one_statement(client, auth, make) -> None:
    customer = make.customer()
    ticket = make.ticket(customer)
    _notify(customer, ticket, 3)
    auth.login(customer)
    _get(client, "/")
    with statements_on("notifications") as seen:
        page = _get(client, "/").text
    assert _bell(page) == 3
    assert len(seen) == 1 and "FROM users" in seen[0]


def test_every_page_shows_the_count_as_it_is_now(client, auth, make) -> None:
    customer = make.customer()
    ticket = make.ticket(customer)
    auth.login(customer)
    assert _bell(_get(client, "/").text) == 0
    _notify(customer, ticket, 2)
    assert _bell(_get(client, "/kb/search?q=refund").text) == 2
    db.session.execute(db.update(Notification).values(read_at=db.func.now()))
    db.session.commit()
    assert _bell(_get(client, "/tickets/new").text) == 0


def test_each_user_sees_their_own_count(app: Flask, make) -> None:
    one, two = make.customer(), make.customer()
    _notify(one, make.ticket(one), 4)
    _notify(two, make.ticket(two), 1)
    clients = {}
    for user in (one, two):
        clients[user.id] = app.test_client()
        response = clients[user.id].post(
            "/login", data={"email": user.email, "password": "a-long-test-password"}
        )
        assert response.status_code == 303
    for _ in range(2):  # alternating, in one process
        assert _bell(_get(clients[one.id], "/").text) == 4
        assert _bell(_get(clients[two.id], "/").text) == 1


def test_fragments_and_posts_do_not_count(client, auth, make) -> None:
    customer = make.customer()
    ticket = make.ticket(customer)
    _notify(customer, ticket, 1)
    auth.login(customer)
    with statements_on("notifications") as seen:
        _get(client, f"/tickets/{ticket.ref}/events?after=0", headers={"HX-Request": "true"})
    assert seen == []


def test_the_ticket_page_without_news_reads_no_more(client, auth, make) -> None:
    """No unread notification at all (counted with the user): the ticket page neither
    counts this ticket's news nor marks anything read."""
    customer = make.customer()
    ticket, other = make.ticket(customer), make.ticket(customer)
    auth.login(customer)
    _get(client, f"/tickets/{ticket.ref}")
    with statements_on("notifications") as seen:
        _get(client, f"/tickets/{ticket.ref}")
    assert len(seen) == 1 and "FROM users" in seen[0]
    _notify(customer, other, 2)
    _notify(customer, ticket, 1)
    with statements_on("notifications") as seen:
        page = _get(client, f"/tickets/{ticket.ref}").text
    assert _bell(page) == 2  # this ticket's news read on opening it, the others' not
    assert any(s.upper().startswith("UPDATE") for s in seen)


def test_a_notification_written_in_the_request_is_counted(app: Flask, make) -> None:
    """A count kept from the start of a request is dropped when the request writes a
    notification, so the page shows it."""
    customer, agent = make.customer(), make.agent()
    ticket = make.ticket(customer)
    db.session.execute(db.update(Notification).values(read_at=db.func.now()))
    db.session.commit()
    with app.test_request_context("/"):
        inbox.keep_badge(customer, 0)
        service.reply(ticket, author=agent, body="We found it.")  # tells the customer
        assert inbox.badge(customer) == 1
    with app.test_request_context("/"):
        inbox.keep_badge(customer, 7)  # kept for one user, never shown to another
        assert inbox.badge(agent) == 0
