"""The customer portal: following a ticket — replies, polling, paging, resolve/reopen,
what the page promises, and query counts (rating it: test_portal_rating.py)."""

from __future__ import annotations

import io
from concurrent.futures import ThreadPoolExecutor

import pytest
from flask.testing import FlaskClient
from sqlalchemy import event, func, select

from support.extensions import db
from support.models import (
    Attachment,
    EventKind,
    Status,
    Ticket,
    TicketEvent,
    User,
)
from support.tickets import attachments, service
from tests.factories import Factory
from tests.web.portal import (
    HTMX,
    PNG,
    add_replies,
    event_ids,
    post_multipart,
)

# --- replies -----------------------------------------------------------------------------


@pytest.fixture
def ticket(make: Factory, customer: User) -> Ticket:
    return make.ticket(customer)


def test_reply_appends_to_timeline(client: FlaskClient, ticket: Ticket) -> None:
    response = client.post(f"/tickets/{ticket.ref}/reply", data={"body": "Any news?"})
    assert response.status_code == 303
    assert response.location == f"/tickets/{ticket.ref}#latest"
    last = db.session.scalar(select(TicketEvent).order_by(TicketEvent.id.desc()))
    assert (last.kind, last.body_text) == (EventKind.REPLY, "Any news?")
    assert "Any news?" in client.get(f"/tickets/{ticket.ref}").text


def test_a_reply_reads_its_ticket_once(client: FlaskClient, ticket: Ticket) -> None:
    """The redirect after a reply names the ticket read before the change committed: no
    second SELECT of the ticket (the commit expires it) just to write its reference."""
    ref, seen = ticket.ref, []

    def note(conn, cursor, statement, *args) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "FROM tickets" in statement:
            seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", note)
    try:
        response = client.post(f"/tickets/{ref}/reply", data={"body": "Any news?"})
    finally:
        event.remove(db.engine, "before_cursor_execute", note)
    assert response.status_code == 303
    assert response.location == f"/tickets/{ref}#latest"
    assert len(seen) == 1, "\n\n".join(seen)  # finding the ticket


def test_htmx_reply_returns_fresh_form_and_trigger(client: FlaskClient, ticket: Ticket) -> None:
    response = client.post(
        f"/tickets/{ticket.ref}/reply",
        data={"body": "Any news?", "client_token": "reply-1"},
        headers=HTMX,
    )
    assert response.status_code == 200
    assert response.headers["HX-Trigger"] == "ticket-updated"
    assert response.text.lstrip().startswith('<form id="reply-form"')
    assert "<html" not in response.text
    assert "Any news?" not in response.text
    assert 'value="reply-1"' not in response.text


def test_reply_with_attachment(client: FlaskClient, ticket: Ticket) -> None:
    post_multipart(
        client,
        f"/tickets/{ticket.ref}/reply",
        {"body": "Screenshot attached"},
        [(PNG, "error.png")],
    )
    attachment = db.session.scalars(select(Attachment)).one()
    assert attachment.event.body_text == "Screenshot attached"
    assert "error.png" in client.get(f"/tickets/{ticket.ref}").text


def test_empty_reply_is_refused(client: FlaskClient, ticket: Ticket) -> None:
    response = client.post(f"/tickets/{ticket.ref}/reply", data={"body": "  "}, headers=HTMX)
    assert response.status_code == 422
    assert "Write a message before sending." in response.text
    assert response.text.lstrip().startswith('<form id="reply-form"')


def test_double_submitted_reply_is_recorded_once(client: FlaskClient, ticket: Ticket) -> None:
    for _ in range(2):
        client.post(f"/tickets/{ticket.ref}/reply", data={"body": "hi", "client_token": "t1"})
    kinds = db.session.scalars(select(TicketEvent.kind).where(TicketEvent.ticket_id == ticket.id))
    assert list(kinds).count(EventKind.REPLY) == 1


# --- polling -----------------------------------------------------------------------------


def test_events_after_returns_only_newer_events(
    client: FlaskClient, ticket: Ticket, make: Factory
) -> None:
    seen = event_ids(ticket)[-1]
    service.reply(ticket, author=make.agent(), body="We refunded the duplicate.")
    newest = event_ids(ticket)[-1]
    response = client.get(f"/tickets/{ticket.ref}/events?after={seen}")
    assert response.status_code == 200
    assert response.headers["HX-Trigger"] == "timeline-advanced"
    assert "We refunded the duplicate." in response.text
    assert f'id="event-{newest}"' in response.text
    assert f'id="event-{seen}"' not in response.text
    assert f"/tickets/{ticket.ref}/events?after={newest}" in response.text


def test_events_without_news_keep_polling_quietly(client: FlaskClient, ticket: Ticket) -> None:
    newest = event_ids(ticket)[-1]
    response = client.get(f"/tickets/{ticket.ref}/events?after={newest}")
    assert response.status_code == 200
    assert "HX-Trigger" not in response.headers
    assert 'id="event-' not in response.text
    assert f"/tickets/{ticket.ref}/events?after={newest}" in response.text
    assert 'class="poller"' in response.text


def test_detail_poller_starts_at_newest_event(client: FlaskClient, ticket: Ticket) -> None:
    page = client.get(f"/tickets/{ticket.ref}").text
    assert f"/tickets/{ticket.ref}/events?after={event_ids(ticket)[-1]}" in page


# --- paging ------------------------------------------------------------------------------


def test_detail_shows_latest_fifty_and_a_show_earlier_link(
    client: FlaskClient, ticket: Ticket
) -> None:
    add_replies(ticket, 59)
    ids = event_ids(ticket)
    page = client.get(f"/tickets/{ticket.ref}").text
    assert page.count('class="event ') == 50
    assert f'id="event-{ids[-1]}"' in page
    assert f'id="event-{ids[9]}"' not in page
    assert f"/tickets/{ticket.ref}/earlier?before={ids[10]}" in page
    assert "Show earlier messages" in page


def test_show_earlier_returns_the_older_events(client: FlaskClient, ticket: Ticket) -> None:
    add_replies(ticket, 59)
    ids = event_ids(ticket)
    fragment = client.get(f"/tickets/{ticket.ref}/earlier?before={ids[10]}").text
    assert fragment.count('class="event ') == 10
    assert f'id="event-{ids[0]}"' in fragment
    assert f'id="event-{ids[10]}"' not in fragment
    assert "Show earlier messages" not in fragment
    assert "<html" not in fragment


def test_show_earlier_pages_again_when_there_is_more(client: FlaskClient, ticket: Ticket) -> None:
    add_replies(ticket, 119)
    ids = event_ids(ticket)
    fragment = client.get(f"/tickets/{ticket.ref}/earlier?before={ids[70]}").text
    assert fragment.count('class="event ') == 50
    assert f"/tickets/{ticket.ref}/earlier?before={ids[20]}" in fragment


def test_no_show_earlier_link_for_short_timelines(client: FlaskClient, ticket: Ticket) -> None:
    add_replies(ticket, 3)
    assert "Show earlier messages" not in client.get(f"/tickets/{ticket.ref}").text


def test_detail_without_javascript_pages_back(client: FlaskClient, ticket: Ticket) -> None:
    add_replies(ticket, 59)
    ids = event_ids(ticket)
    page = client.get(f"/tickets/{ticket.ref}?before={ids[10]}").text
    assert f'id="event-{ids[0]}"' in page
    assert "Back to the latest" in page


# --- resolve, reopen, follow-up ----------------------------------------------------------


def close(ticket: Ticket, make: Factory) -> None:
    agent = make.agent()
    service.change_status(ticket, Status.RESOLVED, actor=agent)
    service.change_status(ticket, Status.CLOSED, actor=agent)


def test_resolve(client: FlaskClient, ticket: Ticket) -> None:
    response = client.post(f"/tickets/{ticket.ref}/resolve")
    assert response.status_code == 303
    assert ticket.status == Status.RESOLVED
    page = client.get(f"/tickets/{ticket.ref}").text
    assert "We marked your request as resolved" in page
    assert "How did we do?" in page


def test_double_clicked_resolve_is_harmless(client: FlaskClient, ticket: Ticket) -> None:
    first = client.post(f"/tickets/{ticket.ref}/resolve")
    second = client.post(f"/tickets/{ticket.ref}/resolve")
    assert first.status_code == second.status_code == 303
    changes = db.session.scalar(
        select(func.count(TicketEvent.id)).where(
            TicketEvent.ticket_id == ticket.id, TicketEvent.kind == EventKind.STATUS_CHANGED
        )
    )
    assert changes == 1


def test_htmx_resolve_returns_summary_and_trigger(client: FlaskClient, ticket: Ticket) -> None:
    response = client.post(f"/tickets/{ticket.ref}/resolve", headers=HTMX)
    assert response.status_code == 200
    assert response.headers["HX-Trigger"] == "ticket-updated"
    assert response.text.lstrip().startswith('<aside class="ticket-summary"')
    assert "Resolved" in response.text


def test_reopen(client: FlaskClient, ticket: Ticket) -> None:
    client.post(f"/tickets/{ticket.ref}/resolve")
    response = client.post(f"/tickets/{ticket.ref}/reopen")
    assert response.status_code == 303
    assert ticket.status == Status.OPEN
    assert "We reopened your request" in client.get(f"/tickets/{ticket.ref}").text


def test_reopen_closed_ticket_does_not_claim_success(
    client: FlaskClient, ticket: Ticket, make: Factory
) -> None:
    close(ticket, make)
    client.post(f"/tickets/{ticket.ref}/reopen")
    page = client.get(f"/tickets/{ticket.ref}").text
    assert "reply to start a follow-up ticket" in page
    assert "We reopened your request" not in page
    assert ticket.status == Status.CLOSED


def test_htmx_reopen_of_closed_ticket_reloads_the_page(
    client: FlaskClient, ticket: Ticket, make: Factory
) -> None:
    close(ticket, make)
    response = client.post(f"/tickets/{ticket.ref}/reopen", headers=HTMX)
    assert response.status_code == 204
    assert response.headers["HX-Redirect"] == f"/tickets/{ticket.ref}"
    assert ticket.status == Status.CLOSED


def test_customer_reply_reopens_resolved_ticket(client: FlaskClient, ticket: Ticket) -> None:
    client.post(f"/tickets/{ticket.ref}/resolve")
    client.post(f"/tickets/{ticket.ref}/reply", data={"body": "It broke again"})
    assert ticket.status == Status.OPEN
    last = db.session.scalar(select(TicketEvent).order_by(TicketEvent.id.desc()))
    assert last.kind == EventKind.REOPENED


def test_reply_to_closed_ticket_opens_linked_follow_up(
    client: FlaskClient, ticket: Ticket, make: Factory
) -> None:
    close(ticket, make)
    response = client.post(f"/tickets/{ticket.ref}/reply", data={"body": "Happened again"})
    follow_up = db.session.scalar(select(Ticket).where(Ticket.parent_id == ticket.id))
    assert response.status_code == 303
    assert response.location == f"/tickets/{follow_up.ref}"
    assert follow_up.description == "Happened again"
    assert ticket.status == Status.CLOSED
    page = client.get(response.location).text
    assert f"so we opened {follow_up.ref}" in page
    assert f'href="/tickets/{ticket.ref}"' in page
    assert f"/tickets/{follow_up.ref}" in client.get(f"/tickets/{ticket.ref}").text


def test_follow_up_keeps_the_reply_attachments(
    client: FlaskClient, ticket: Ticket, make: Factory
) -> None:
    close(ticket, make)
    response = post_multipart(
        client, f"/tickets/{ticket.ref}/reply", {"body": "Screenshot"}, [(PNG, "again.png")]
    )
    follow_up = db.session.scalar(select(Ticket).where(Ticket.parent_id == ticket.id))
    attachment = db.session.scalars(select(Attachment)).one()
    assert attachment.ticket_id == follow_up.id
    download = client.get(f"{response.location}/attachments/{attachment.id}/again.png")
    assert download.status_code == 200
    assert download.data == PNG
    download.close()


def test_reply_to_a_merged_ticket_says_where_it_went(
    client: FlaskClient, make: Factory, customer: User, ticket: Ticket
) -> None:
    carries_on = make.ticket(customer, subject="The same problem, filed again")
    service.merge(ticket, into=carries_on, actor=make.agent())
    response = client.post(f"/tickets/{ticket.ref}/reply", data={"body": "Any news?"})
    assert response.location == f"/tickets/{carries_on.ref}"
    page = client.get(response.location).text
    assert f"{ticket.ref} was merged into {carries_on.ref}, so we added your reply there." in page
    assert "is closed, so we opened" not in page


def test_closed_ticket_page_explains_follow_up(
    client: FlaskClient, ticket: Ticket, make: Factory
) -> None:
    close(ticket, make)
    page = client.get(f"/tickets/{ticket.ref}").text
    assert "Your reply starts a new request linked to this one." in page
    assert "My problem is solved" not in page


# --- what the page promises --------------------------------------------------------------


def test_detail_promises_first_reply_then_next_update(
    client: FlaskClient, ticket: Ticket, make: Factory
) -> None:
    assert "We aim to reply by" in client.get(f"/tickets/{ticket.ref}").text
    service.reply(ticket, author=make.agent(), body="Looking into it")
    page = client.get(f"/tickets/{ticket.ref}").text
    assert "You will get an update from us by" in page
    assert "Support team" in page


def test_my_tickets_shows_status_and_what_we_wait_for(
    client: FlaskClient, ticket: Ticket, make: Factory
) -> None:
    service.change_status(ticket, Status.PENDING, actor=make.agent())
    page = client.get("/tickets/").text
    assert ticket.ref in page
    assert "Waiting for you" in page
    assert "Waiting for your reply" in page


def test_my_tickets_empty_state(client: FlaskClient, customer: User) -> None:
    assert "No requests yet" in client.get("/tickets/").text


def test_my_tickets_pages_back_through_older_requests(
    client: FlaskClient, customer: User, make: Factory
) -> None:
    refs = [make.ticket(customer, subject=f"Request {i}").ref for i in range(52)]
    first = client.get("/tickets/").text
    assert first.count('<li class="ticket-row') == 50
    assert 'href="/tickets/?page=2">Older' in first
    second = client.get("/tickets/?page=2").text
    shown = {ref for ref in refs if ref in first} | {ref for ref in refs if ref in second}
    assert shown == set(refs)
    assert second.count('<li class="ticket-row') == 2
    assert "Older →" not in second and 'href="/tickets/">← Newer' in second
    assert "No more requests" in client.get("/tickets/?page=9").text
    assert client.get("/tickets/?page=-3").status_code == 200


# --- query counts ------------------------------------------------------------------------


def get_like_production(client: FlaskClient, url: str):
    """GET in a thread of its own, so the request gets a fresh app context and session.

    In the test's own thread every request shares the fixture's app context (and
    its identity map), which would hide or invent queries.
    """
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(client.get, url).result()


def reply_with_file(ticket: Ticket, author: User, body: str) -> None:
    stored = attachments.store("log.txt", io.BytesIO(b"trace"))
    service.reply(ticket, author=author, body=body, files=[stored])


def test_detail_query_count_does_not_grow_with_events(
    client: FlaskClient, ticket: Ticket, make: Factory, count_queries
) -> None:
    agent = make.agent()
    service.reply(ticket, author=agent, body="Looking")  # + status change to open
    service.reply(ticket, author=agent, body="Internal", public=False)
    reply_with_file(ticket, ticket.customer, "Here is the log")
    assert len(event_ids(ticket)) == 5
    url = f"/tickets/{ticket.ref}"
    get_like_production(client, url)  # same starting point: notifications already read
    with count_queries() as small:
        assert get_like_production(client, url).status_code == 200

    # Many more events, by many more people, many with files: lazy loads would show.
    agents = [make.agent() for _ in range(4)]
    for i in range(115):
        author = agents[i % 4]
        if i % 3:
            service.reply(ticket, author=author, body=f"Update {i}", public=i % 2 == 0)
        else:
            reply_with_file(ticket, author, f"Update {i}")
    assert len(event_ids(ticket)) == 120
    get_like_production(client, url)
    with count_queries() as large:
        page = get_like_production(client, url).text
    assert page.count('class="event ') == 50
    assert large.count == small.count


def test_the_ticket_page_reads_its_topic_with_the_ticket(
    client: FlaskClient, make: Factory, customer: User
) -> None:
    """The summary names the category: joined to the ticket's own SELECT, not read after."""
    ticket = make.ticket(customer)
    assert ticket.category is not None
    url, seen = f"/tickets/{ticket.ref}", []

    def note(conn, cursor, statement, *args) -> None:
        seen.append(" ".join(statement.split()))

    get_like_production(client, url)
    event.listen(db.engine, "before_cursor_execute", note)
    try:
        page = get_like_production(client, url).text
    finally:
        event.remove(db.engine, "before_cursor_execute", note)
    assert f"<dt>Topic</dt><dd>{ticket.category.name}</dd>" in page
    assert [s for s in seen if s.startswith("SELECT categories")] == []


def test_my_tickets_query_count_does_not_grow_with_tickets(
    client: FlaskClient, customer: User, make: Factory, count_queries
) -> None:
    for _ in range(2):
        make.ticket(customer)
    get_like_production(client, "/tickets/")
    with count_queries() as small:
        get_like_production(client, "/tickets/")
    for _ in range(28):
        make.ticket(customer)
    get_like_production(client, "/tickets/")
    with count_queries() as large:
        page = get_like_production(client, "/tickets/").text
    assert page.count('<li class="ticket-row') == 30
    assert large.count == small.count
