"""The board page: columns, urgency order, filters, the column cap, and constant queries."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from support import clock
from support.board import queries
from support.board.cards import short_span
from support.extensions import db
from support.models import Impact, Priority, Status, Ticket
from support.tickets import service
from tests.board.conftest import (
    HX,
    bulk_customers,
    bulk_tickets,
    forget_bulk_tickets,
    said,
    text_of,
    words,
)


def refs_in(html: str, status: str | None = None) -> list[str]:
    if status is not None:
        html = html.split(f'data-status="{status}"', 1)[1].split("</ol>", 1)[0]
    return re.findall(r'<li class="card[^"]*" id="card-(SUP-[A-Z0-9]+)"', html)


def count_in(html: str, status: str) -> str:
    head = html.split(f'id="col-{status}"', 1)[1]
    return re.search(r'class="column-count"[^>]*>([\d,]+)<', head).group(1)


def test_columns_with_counts_and_card_details(client, as_agent, make, customer, agent) -> None:
    ticket = make.ticket(customer=customer, subject="Refund missing")
    service.assign(ticket, actor=agent, assignee=agent)
    service.change_status(ticket, Status.PENDING, actor=agent)
    try:
        clock.freeze(ticket.created_at + timedelta(days=3, hours=5))
        html = text_of(client.get("/board"))
    finally:
        clock.freeze(None)
    for label in ("New", "Open", "Waiting on customer", "On hold", "Escalated", "Resolved"):
        assert f">{label}</h2>" in html
    assert count_in(html, "pending") == "1" and count_in(html, "new") == "0"
    card = html.split(f'id="card-{ticket.ref}"', 1)[1].split("</li>", 1)[0]
    assert "Refund missing" in card and "Casey Customer" in card and "Payments" in card
    assert "Assigned to Alex Agent" in card and ">AA<" in card
    assert "sla-paused" in card  # waiting on the customer: no countdown
    opened = ticket.created_at.strftime("%a %d %b %Y, %H:%M")
    assert f'<span class="card-age" title="Opened {opened} UTC">3d<' in card
    # Its status select offers only the moves the server allows (as the panel's does):
    # not back to New, and not Escalated (that needs the panel's reason).
    select = card.split('name="status">', 1)[1].split("</select>", 1)[0]
    offered = re.findall(r'<option value="(\w+)"', select)
    assert offered == ["pending", "open", "on_hold", "resolved"]
    assert '<option value="pending" selected>' in select


def test_a_resolved_card_can_only_be_reopened(client, as_agent, make, agent) -> None:
    ticket = make.ticket()
    service.offer_workaround(ticket, actor=agent, body="Fixed.")
    service.change_status(ticket, Status.RESOLVED, actor=agent)
    card = text_of(client.get("/board")).split(f'id="card-{ticket.ref}"', 1)[1]
    select = card.split('name="status">', 1)[1].split("</select>", 1)[0]
    assert re.findall(r'<option value="(\w+)"', select) == ["resolved", "open"]  # not closed


def test_most_urgent_first(client, as_agent, make) -> None:
    normal = make.ticket(subject="Question")
    urgent = make.ticket(subject="Checkout down", impact=Impact.MANY_USERS)
    high = make.ticket(subject="Label broken", impact=Impact.SOME_USERS)
    assert refs_in(text_of(client.get("/board")), "new") == [urgent.ref, high.ref, normal.ref]


def test_sla_countdown_turns_amber_then_red(client, as_agent, make) -> None:
    ticket = make.ticket(impact=Impact.MANY_USERS)  # urgent: first response within an hour
    start = ticket.created_at
    try:
        clock.freeze(start + timedelta(minutes=10))
        assert "sla-ok" in text_of(client.get("/board")) and "Due in 50m" in said(
            client.get("/board")
        )
        clock.freeze(start + timedelta(minutes=55))
        assert "sla-warning" in text_of(client.get("/board"))
        clock.freeze(start + timedelta(hours=3))
        html = said(client.get("/board"))
        assert "sla-breach" in html and "Overdue by 2h" in html
        assert "1 overdue" in html
    finally:
        clock.freeze(None)


@pytest.mark.parametrize(
    ("span", "text"),
    [
        (timedelta(minutes=5), "5m"),
        (timedelta(hours=2, minutes=5), "2h 5m"),
        (timedelta(hours=16, minutes=42), "16h"),
        (timedelta(days=1, hours=3), "1d 3h"),
        (timedelta(days=12, hours=3), "12d"),
    ],
)
def test_short_spans(span, text) -> None:
    assert short_span(span) == text


def test_show_more_adds_a_page_to_one_column(client, as_agent, customer, agent) -> None:
    bulk_tickets(180, [customer], [agent])  # 30 per column
    response = client.get("/board")
    html = said(response)
    assert len(refs_in(html, "open")) == 25
    assert "Show 5 more · 5 not shown" in words(response)
    assert 'href="/board?show_open=50"' in html
    more = said(client.get("/board?show_open=50"))
    assert len(refs_in(more, "open")) == 30 and len(refs_in(more, "new")) == 25
    assert "show_open=75" not in more  # every open card is shown now
    assert "every 5s" in more and 'hx-get="/board?show_open=50"' in more  # polling keeps it


class TestFilters:
    @pytest.fixture
    def tickets(self, make, customer, agent, colleague, teams):
        mine = make.ticket(customer=customer, subject="Mine, payments")
        service.assign(mine, actor=agent, assignee=agent)
        theirs = make.ticket(subject="Shipping theirs", category=make.category("shipping"))
        service.assign(theirs, actor=agent, assignee=colleague)
        service.update_fields(theirs, actor=agent, team=teams[0], priority=Priority.HIGH)
        nobody = make.ticket(
            customer=make.customer(name="Kenji Watanabe", email="kenji@example.com"),
            subject="Nobody's, urgent",
            impact=Impact.MANY_USERS,
        )
        return {"mine": mine, "theirs": theirs, "nobody": nobody}

    @pytest.mark.parametrize(
        ("query", "expected"),
        [
            ("mine=1", {"mine"}),
            ("unassigned=1", {"nobody"}),
            ("category=shipping", {"theirs"}),
            ("priority=high", {"theirs"}),
            ("priority=urgent", {"nobody"}),
            ("q=payments", {"mine"}),
            ("q=PAYMENTS", {"mine"}),  # case does not matter
            ("q=kenji@example", {"nobody"}),
            ("q=watanabe", {"nobody"}),
            # The database's full-text search of the titles (reference, subject, customer):
            # words in any order and form.
            ("q=watanabe+kenji", {"nobody"}),
            ("q=payment+mine", {"mine"}),
            ("q=%25", set()),  # LIKE wildcards are plain characters
            ("q=_", set()),
            ("q=/", set()),  # …and so is the escape character
            ("priority=bogus&team=x", {"mine", "theirs", "nobody"}),  # nonsense is ignored
        ],
    )
    def test_filters(self, client, as_agent, tickets, query, expected) -> None:
        shown = set(refs_in(text_of(client.get(f"/board?{query}"))))
        assert shown == {tickets[name].ref for name in expected}

    def test_team_and_reference(self, client, as_agent, tickets, teams) -> None:
        assert refs_in(text_of(client.get(f"/board?team={teams[0].id}"))) == [tickets["theirs"].ref]
        ref = tickets["mine"].ref
        assert refs_in(text_of(client.get(f"/board?q={ref[4:].lower()}"))) == [ref]

    def test_overdue(self, client, as_agent, tickets) -> None:
        try:
            clock.freeze(clock.now() + timedelta(hours=2))  # only the urgent one is late
            assert refs_in(text_of(client.get("/board?overdue=1"))) == [tickets["nobody"].ref]
        finally:
            clock.freeze(None)

    def test_htmx_filtering_swaps_only_the_board(self, client, as_agent, tickets) -> None:
        response = client.get("/board?mine=1", headers=HX)
        html = text_of(response)
        assert html.startswith('<div id="board"') and "board-filters" not in html
        assert "HX-Request" in response.headers["Vary"]
        assert "1 matching ticket" in words(response) and "Clear filters" in html

    def test_a_shared_address_shows_the_filters_chosen(self, client, as_agent, tickets) -> None:
        html = text_of(client.get("/board?mine=1&priority=high&q=refund"))
        assert 'name="mine" value="1" checked' in html
        assert '<option value="high" selected>' in html and 'value="refund"' in html


def test_board_queries_do_not_grow_with_tickets(
    client, as_agent, make, customer, agent, colleague, teams, count_queries
) -> None:
    customers = [customer, *(make.customer() for _ in range(4))]
    bulk_tickets(10, customers, [agent, colleague])
    client.get("/board")  # warm up: login, SLA policy cache
    db.session.expire_all()  # each counted request starts from a cold session, like in production
    with count_queries() as small:
        assert client.get("/board").status_code == 200
    bulk_tickets(9_990, customers + bulk_customers(20, like=customer), [agent, colleague])
    db.session.expire_all()
    with count_queries() as large:
        html = text_of(client.get("/board"))
    working = db.session.scalar(
        select(func.count()).select_from(Ticket).where(Ticket.status.not_in(DONE))
    )
    assert len(refs_in(html)) == 6 * 25 and f"{working:,} tickets in progress" in words(
        client.get("/board")
    )
    assert large.count == small.count
    db.session.expire_all()
    with count_queries() as filtered:
        client.get("/board?overdue=1&q=bulk&team=1")
    assert filtered.count == small.count
    forget_bulk_tickets()


def test_panel_queries_do_not_grow_with_the_timeline(
    client, as_agent, ticket, agent, customer, count_queries
) -> None:
    client.get(f"/board/tickets/{ticket.ref}")
    db.session.expire_all()
    with count_queries() as short:
        client.get(f"/board/tickets/{ticket.ref}")
    for i in range(60):
        service.reply(ticket, author=agent if i % 2 else customer, body=f"Message {i}", public=True)
    db.session.expire_all()
    with count_queries() as long:
        html = text_of(client.get(f"/board/tickets/{ticket.ref}"))
    assert "Show earlier events" in html
    assert long.count <= short.count + 1  # the long timeline also loads its first message


DONE = (Status.RESOLVED, Status.CLOSED)


def test_resolved_tickets_are_not_in_progress(client, as_agent, make, agent) -> None:
    tickets = [make.ticket() for _ in range(3)]
    service.reply(tickets[0], author=agent, body="Fixed.")
    service.change_status(tickets[0], Status.RESOLVED, actor=agent)
    assert "2 tickets in progress" in words(client.get("/board"))


def test_a_cards_texts_are_escaped_once(client, as_agent, make, agent) -> None:
    """The card template prints its texts as they come: support/board/cards.py escapes
    them, once. Markup typed by a customer or an admin shows as text, never runs."""
    customer = make.customer(name='Tom <b>"T" & Co\'s</b>')
    ticket = make.ticket(customer=customer, subject='<script>alert("x")</script> & more')
    named = make.agent(name="<i>Ann</i> Lee")
    service.assign(ticket, actor=agent, assignee=named)
    html = text_of(client.get("/board?priority=normal&mine=0"))
    card = html.split(f'id="card-{ticket.ref}"', 1)[1].split("</li>\n", 1)[0]
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; more" in card
    assert "Tom &lt;b&gt;&#34;T&#34; &amp; Co&#39;s&lt;/b&gt;" in card
    assert 'title="Assigned to &lt;i&gt;Ann&lt;/i&gt; Lee"' in card
    assert ">&lt;L<" in card  # initials of "<i>Ann</i> Lee"
    assert "<script>" not in html and "<b>" not in card and "<i>" not in card
    # The board's own values in a card are escaped too (and not twice).
    assert 'action="/board/move?priority=normal"' in card
    assert "&amp;amp;" not in html


def test_the_board_statement_is_built_once_and_reads_the_time_each_time(
    client, as_agent, make, customer
) -> None:
    """The unfiltered board's statement is kept per process; the time it counts overdue
    tickets against is a parameter, so a kept statement never counts against an old time."""
    ticket = make.ticket(customer=customer)
    statement = queries._default_board()
    try:
        clock.freeze(ticket.next_due_at - timedelta(minutes=1))
        assert "overdue" not in words(client.get("/board"))
        clock.freeze(ticket.next_due_at + timedelta(minutes=1))
        assert "1 overdue" in words(client.get("/board"))
    finally:
        clock.freeze(None)
    assert queries._default_board() is statement
