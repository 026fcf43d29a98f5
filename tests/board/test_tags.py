"""Tags in the ticket panel, on the board's cards and in its filters, and on the timeline
(agents only)."""

from __future__ import annotations

import re

import pytest
from flask import current_app
from sqlalchemy import event, func, select

from support.extensions import db
from support.models import EventKind, Priority, Status, Tag, Ticket, TicketEvent
from support.tickets import service
from tests.board.conftest import HX, bulk_customers, bulk_tickets, said, text_of, words
from tests.board.test_board_page import count_in, refs_in
from tests.conftest import make_app, running
from tests.factories import PASSWORD, Factory


def post_tags(client, ticket, text: str, *, version=None, htmx: bool = True):
    data = {"version": version or ticket.version, "tags": text}
    return client.post(f"/board/tickets/{ticket.ref}/tags", data=data, headers=HX if htmx else {})


def tag_names(ticket) -> list[str]:
    db.session.expire(ticket, ["tags"])
    return [tag.name for tag in ticket.tags]


def tag_events(ticket) -> list[TicketEvent]:
    query = select(TicketEvent).where(
        TicketEvent.ticket_id == ticket.id, TicketEvent.kind == EventKind.TAGS_CHANGED
    )
    return list(db.session.scalars(query))


def card_html(html: str, ref: str) -> str:
    return html.split(f'id="card-{ref}"', 1)[1].split("</details>", 1)[0]


# --- the panel ---------------------------------------------------------------------------


def test_the_panel_shows_the_tags_and_a_prefilled_input(client, as_agent, ticket, agent) -> None:
    service.set_tags(ticket, ["vip seller", "refund"], actor=agent)
    html = text_of(client.get(f"/board/tickets/{ticket.ref}", headers=HX))
    chips = re.search(r'<ul class="tags" aria-label="Tags">(.*?)</ul>', html).group(1)
    assert re.findall(r'<li class="tag">([^<]+)</li>', chips) == ["refund", "vip seller"]
    assert 'name="tags"' in html and 'value="refund, vip seller"' in html
    assert f'hx-post="/board/tickets/{ticket.ref}/tags"' in html


def test_an_agent_sets_tags_in_the_panel(client, as_agent, ticket) -> None:
    response = post_tags(client, ticket, "Refund,  VIP seller, refund,")
    assert response.status_code == 200
    assert response.headers["HX-Trigger"] == "board-changed"  # the card refreshes
    assert "Tags saved." in said(response)
    assert 'value="refund, vip seller"' in text_of(response)
    assert tag_names(ticket) == ["refund", "vip seller"]
    [changed] = tag_events(ticket)
    assert changed.data == {"added": ["refund", "vip seller"], "removed": []}
    assert not changed.is_public


def test_the_same_tags_again_change_nothing(client, as_agent, ticket, agent) -> None:
    service.set_tags(ticket, ["refund"], actor=agent)
    response = post_tags(client, ticket, "REFUND")
    assert response.status_code == 200 and "The tags stay the same." in said(response)
    assert len(tag_events(ticket)) == 1


def test_emptying_the_input_removes_every_tag(client, as_agent, ticket, agent) -> None:
    service.set_tags(ticket, ["refund", "vip"], actor=agent)
    assert post_tags(client, ticket, " ").status_code == 200
    assert tag_names(ticket) == []


def test_a_plain_form_redirects_to_the_panel_page(client, as_agent, ticket) -> None:
    response = post_tags(client, ticket, "refund", htmx=False)
    assert response.status_code == 303
    assert response.location.endswith(f"/board/tickets/{ticket.ref}")
    assert tag_names(ticket) == ["refund"]


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("refund, <b>vip</b>", "“<b>vip</b>” isn't a tag"),
        ("x" * 41, "at most 40 characters"),
        (", ".join(f"t{i}" for i in range(21)), "at most 20 tags"),
    ],
)
def test_a_bad_tag_is_422_next_to_the_field_and_saves_nothing(
    client, as_agent, ticket, agent, typed, message
) -> None:
    service.set_tags(ticket, ["chargeback"], actor=agent)
    version = ticket.version
    response = post_tags(client, ticket, typed)
    assert response.status_code == 422
    html = text_of(response)
    error = re.search(
        r'<small id="tags-error" class="field-error" role="alert">(.*?)</small>', html
    )
    assert (
        error
        and message in said(response)
        and "&lt;b&gt;" not in error.group(0).replace("&amp;", "&").replace("&lt;b&gt;vip", "")
    )  # escaped, never markup
    assert 'aria-invalid="true"' in html.split('name="tags"', 1)[0].rsplit("<input", 1)[1] + html
    assert "<b>vip</b>" not in html  # what was typed stays, escaped
    db.session.refresh(ticket)
    assert tag_names(ticket) == ["chargeback"] and ticket.version == version
    assert len(tag_events(ticket)) == 1
    assert db.session.scalar(select(func.count(Tag.id))) == 1


def test_a_stale_version_is_409_and_shows_the_fresh_tags(
    client, as_agent, ticket, colleague
) -> None:
    old = ticket.version
    service.set_tags(ticket, ["vip"], actor=colleague)
    response = post_tags(client, ticket, "refund", version=old)
    assert response.status_code == 409
    page = said(response)
    assert f"{ticket.ref} was just changed by Sam Senior" in page and "Reload" in page
    # Sending the form again must not quietly drop the colleague's tag.
    assert 'value="vip"' in text_of(response)
    assert f'name="version" value="{ticket.version}"' in text_of(response)
    assert tag_names(ticket) == ["vip"]


def test_a_closed_ticket_shows_its_tags_but_no_form(client, as_agent, ticket, agent) -> None:
    service.set_tags(ticket, ["refund"], actor=agent)
    ticket.status = Status.CLOSED  # set-up, not a transition under test
    db.session.commit()
    html = text_of(client.get(f"/board/tickets/{ticket.ref}"))
    assert '<li class="tag">refund</li>' in html and 'name="tags"' not in html
    response = post_tags(client, ticket, "vip")
    assert response.status_code == 422 and "is closed" in said(response)
    assert tag_names(ticket) == ["refund"]


def test_customers_cannot_post_tags(client, auth, ticket) -> None:
    auth.login(ticket.customer)  # even on their own ticket
    response = post_tags(client, ticket, "vip")
    assert response.status_code == 403
    assert tag_names(ticket) == []


def test_the_tags_form_carries_a_csrf_token(tmp_path, redis_url) -> None:
    """With CSRF on (the shared app has it off): the form has its token, a POST without
    one is refused. tests/web/test_csrf.py checks every POST route the same way."""
    with running(make_app(tmp_path, redis_url, WTF_CSRF_ENABLED=True)):
        make = Factory()
        agent, ticket = make.agent(), make.ticket()
        client = current_app.test_client()
        page = client.get("/login").text
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
        data = {"email": agent.email, "password": PASSWORD, "csrf_token": token}
        assert client.post("/login", data=data).status_code == 303
        html = client.get(f"/board/tickets/{ticket.ref}").text
        form = html.split('class="side-card tags-form"', 1)[1].split("</form>", 1)[0]
        assert 'name="csrf_token"' in form
        refused = post_tags(client, ticket, "vip", htmx=False)
        assert refused.status_code == 400
        assert tag_names(ticket) == []


# --- the timeline ------------------------------------------------------------------------


def test_the_timeline_says_what_was_tagged_for_agents_only(
    client, auth, as_agent, ticket, agent
) -> None:
    service.set_tags(ticket, ["refund", "vip"], actor=agent)
    service.set_tags(ticket, ["refund", "chargeback"], actor=agent)
    service.set_tags(ticket, [], actor=agent)
    panel = words(client.get(f"/board/tickets/{ticket.ref}"))
    assert "Alex Agent Support team tagged the request refund , vip Internal" in panel
    assert "tagged the request chargeback and removed the tag vip Internal" in panel
    assert "removed the tags chargeback , refund Internal" in panel
    # Agents see internal events on the customer-facing page too (with the Internal badge).
    assert "tagged the request refund , vip" in words(client.get(f"/tickets/{ticket.ref}"))

    service.reply(ticket, author=agent, body="We are on it.")  # a public event, as a control
    auth.logout()
    auth.login(ticket.customer)
    for url, headers in ((f"/tickets/{ticket.ref}", {}), (f"/tickets/{ticket.ref}/events", HX)):
        response = client.get(url, headers=headers)
        assert response.status_code == 200
        seen = said(response)
        assert "We are on it." in seen
        assert "tagged" not in seen and "removed the tag" not in seen
        assert "vip" not in seen and "chargeback" not in seen


# --- the board ---------------------------------------------------------------------------


def test_cards_show_up_to_three_tags(client, as_agent, make, customer, agent) -> None:
    few, many, none = (make.ticket(customer=customer) for _ in range(3))
    service.set_tags(few, ["vip"], actor=agent)
    service.set_tags(many, ["e", "d", "c", "b", "a"], actor=agent)
    html = text_of(client.get("/board"))
    assert re.findall(r'<li class="tag">([^<]+)</li>', card_html(html, few.ref)) == ["vip"]
    shown = card_html(html, many.ref)
    assert re.findall(r'<li class="tag">([^<]+)</li>', shown) == ["a", "b", "c"]
    assert 'class="tag tag-more" title="d, e">+2' in shown
    assert 'class="tags"' not in card_html(html, none.ref)
    # The filter's suggestions are the tags on the board.
    datalist = html.split('<datalist id="board-tags">', 1)[1].split("</datalist>", 1)[0]
    assert re.findall(r'value="([^"]+)"', datalist) == ["a", "b", "c", "d", "e", "vip"]


class TestTagFilter:
    @pytest.fixture
    def tickets(self, make, customer, agent):
        vip = make.ticket(customer=customer, subject="VIP refund")
        both = make.ticket(customer=customer, subject="Refund, seller")
        other = make.ticket(customer=customer, subject="Untagged")
        service.set_tags(vip, ["vip seller", "refund"], actor=agent)
        service.set_tags(both, ["refund"], actor=agent)
        service.change_status(both, Status.OPEN, actor=agent)
        service.set_tags(
            make.ticket(customer=customer, subject="Unrelated"), ["mobile"], actor=agent
        )
        return {"vip": vip, "both": both, "other": other}

    @pytest.mark.parametrize(
        ("query", "expected"),
        [
            ("tag=refund", {"vip", "both"}),
            ("tag=vip+seller", {"vip"}),
            ("tag=+VIP+++Seller+", {"vip"}),  # normalised, as when it was set
            ("tag=vip", set()),  # exact, not a prefix
            ("tag=nobody-uses-this", set()),  # unknown: nothing matches
            ("tag=%3Cb%3E", set()),  # no tag could be called that: still nothing
            ("tag=refund&q=seller", {"both"}),  # with the other filters
            ("tag=", {"vip", "both", "other"}),
        ],
    )
    def test_filter(self, client, as_agent, tickets, query, expected) -> None:
        shown = set(refs_in(text_of(client.get(f"/board?{query}"))))
        assert shown >= {tickets[name].ref for name in expected}
        assert not shown & {t.ref for name, t in tickets.items() if name not in expected}
        if expected != {"vip", "both", "other"}:
            assert len(shown) == len(expected)

    def test_counts_follow_the_filter(self, client, as_agent, tickets) -> None:
        response = client.get("/board?tag=Refund")
        html = text_of(response)
        assert count_in(html, "new") == "1" and count_in(html, "open") == "1"
        assert "2 matching tickets" in words(response) and "Clear filters" in html
        assert 'name="tag" value="refund"' in html  # the filter bar shows it, normalised

    def test_links_keep_the_tag(self, client, as_agent, tickets) -> None:
        html = text_of(client.get("/board?tag=vip+seller"))
        assert 'hx-get="/board?tag=vip+seller"' in html  # the board's polling
        assert 'action="/board/move?tag=vip+seller"' in html

    def test_htmx_filtering_swaps_only_the_board(self, client, as_agent, tickets) -> None:
        response = client.get("/board?tag=refund", headers=HX)
        assert text_of(response).startswith('<div id="board"')
        assert set(refs_in(text_of(response))) == {tickets["vip"].ref, tickets["both"].ref}


# --- queries -----------------------------------------------------------------------------


class StatementLog:
    def __init__(self) -> None:
        self.statements: list[str] = []

    def __call__(self, _conn, _cursor, statement, *_args) -> None:
        self.statements.append(statement)

    def touching(self, table: str) -> int:
        return sum(table in s for s in self.statements)


def test_the_board_loads_every_cards_tags_in_its_own_statement(
    client, as_agent, make, customer, agent, colleague, teams
) -> None:
    customers = [customer, *bulk_customers(4, like=customer)]
    bulk_tickets(40, customers, [agent, colleague])
    client.get("/board")  # warm up
    db.session.expire_all()
    untagged = StatementLog()
    event.listen(db.engine, "before_cursor_execute", untagged)
    try:
        client.get("/board")
    finally:
        event.remove(db.engine, "before_cursor_execute", untagged)

    active = select(Ticket).where(Ticket.status != Status.CLOSED)
    for i, ticket in enumerate(db.session.scalars(active)):
        service.set_tags(ticket, [f"tag {i % 7}", f"other {i % 5}", "common"], actor=agent)
    db.session.expire_all()
    tagged = StatementLog()
    event.listen(db.engine, "before_cursor_execute", tagged)
    try:
        html = text_of(client.get("/board?tag=common&priority=" + Priority.NORMAL.value))
        html += text_of(client.get("/board"))
    finally:
        event.remove(db.engine, "before_cursor_execute", tagged)
    assert html.count('<li class="tag">common</li>') > 40
    assert len(tagged.statements) == 2 * len(untagged.statements)  # the same per page
    # The cards' tags come with the board's own statement, as does the tag filter.
    assert tagged.touching("ticket_tags") == 2
    assert untagged.touching("ticket_tags") == 1
