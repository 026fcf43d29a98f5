"""Moving cards: drag and drop (htmx) and the status select on each card (plain form)."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import event, select

from support.extensions import db
from support.models import EventKind, Status, TicketEvent
from support.tickets import service
from tests.board.conftest import HX, said, text_of


def move(client, ticket, status: str, *, htmx: bool = True, version=None, query="", **extra):
    data = {"ref": ticket.ref, "status": status, "version": version or ticket.version, **extra}
    return client.post(f"/board/move{query}", data=data, headers=HX if htmx else {})


def card_order(html: str, status: str) -> list[str]:
    column = html.split(f'data-status="{status}"', 1)[1].split("</ol>", 1)[0]
    return re.findall(r'data-ref="(SUP-[A-Z0-9]+)"', column)


def test_drag_from_new_to_open(client, as_agent, ticket, auth, customer) -> None:
    response = move(client, ticket, "open")
    assert response.status_code == 200
    html = text_of(response)
    assert html.startswith('<div id="board"')  # only the board region, for htmx to swap
    assert card_order(html, "open") == [ticket.ref]
    db.session.refresh(ticket)
    assert ticket.status == Status.OPEN
    [event] = db.session.scalars(
        select(TicketEvent).where(TicketEvent.kind == EventKind.STATUS_CHANGED)
    ).all()
    assert event.is_public and event.actor_id == as_agent.id
    # The customer's timeline shows the change.
    auth.logout()
    auth.login(customer)
    page = text_of(client.get(f"/tickets/{ticket.ref}"))
    assert "is working on the request" in page and "changed the status to" not in page


def test_the_status_select_works_without_javascript(client, as_agent, ticket) -> None:
    response = move(client, ticket, "pending", htmx=False, query="?priority=normal&mine=1")
    assert response.status_code == 303
    assert response.location == "/board?mine=1&priority=normal"
    db.session.refresh(ticket)
    assert ticket.status == Status.PENDING


def test_order_within_a_column_persists(client, as_agent, make, customer) -> None:
    first, second, third = (make.ticket(customer=customer, subject=s) for s in "ABC")
    assert card_order(text_of(client.get("/board")), "new") == [first.ref, second.ref, third.ref]
    # Drag the third card to the top of the column.
    response = move(client, third, "new", below=first.ref)
    assert card_order(text_of(response), "new") == [third.ref, first.ref, second.ref]
    # …then between the other two.
    move(client, third, "new", above=first.ref, below=second.ref)
    assert card_order(text_of(client.get("/board")), "new") == [first.ref, third.ref, second.ref]
    db.session.refresh(third)
    assert third.version == 1  # reordering is not a change to the ticket


def test_the_status_select_on_the_same_column_keeps_the_order(client, as_agent, make, customer):
    first, second = (make.ticket(customer=customer, subject=s) for s in "AB")
    move(client, second, "new", below=first.ref)  # dragged to the top
    assert card_order(text_of(client.get("/board")), "new") == [second.ref, first.ref]
    # "Move" to its own column from the card's select, without JavaScript: no neighbours.
    response = move(client, second, "new", htmx=False)
    assert response.status_code == 303
    assert card_order(text_of(client.get("/board")), "new") == [second.ref, first.ref]


def test_a_card_dropped_into_another_column_keeps_its_place(client, as_agent, make, agent):
    tickets = [make.ticket(subject=f"T{i}") for i in range(3)]
    for t in tickets:
        service.change_status(t, Status.OPEN, actor=agent)
    newcomer = make.ticket(subject="New one")
    move(client, newcomer, "open", above=tickets[0].ref, below=tickets[1].ref)
    expected = [tickets[0].ref, newcomer.ref, tickets[1].ref, tickets[2].ref]
    assert card_order(text_of(client.get("/board")), "open") == expected


def test_unknown_status_is_400(client, as_agent, ticket) -> None:
    response = move(client, ticket, "archived")
    assert response.status_code == 400
    assert "not a column of the board" in said(response)
    assert move(client, ticket, "closed").status_code == 400  # closed is not on the board


def test_incomplete_moves_are_400_and_unknown_tickets_404(client, as_agent, ticket) -> None:
    assert client.post("/board/move", data={"ref": ticket.ref}, headers=HX).status_code == 400
    response = client.post(
        "/board/move", data={"ref": "SUP-ZZZZZZ", "status": "open", "version": 1}, headers=HX
    )
    assert response.status_code == 404


def test_forbidden_transition_is_refused_and_the_card_stays(client, as_agent, ticket, agent):
    service.reply(ticket, author=agent, body="Done.")
    service.change_status(ticket, Status.RESOLVED, actor=agent)
    response = move(client, ticket, "pending")
    assert response.status_code == 409
    assert response.headers["HX-Reswap"] == "none"
    assert f"{ticket.ref} can't go from resolved to pending" in said(response)
    db.session.refresh(ticket)
    assert ticket.status == Status.RESOLVED


def test_resolving_without_a_reply_is_refused(client, as_agent, ticket, agent) -> None:
    service.reply(ticket, author=agent, body="Note to self", public=False)
    response = move(client, ticket, "resolved")
    assert response.status_code == 409
    assert "reply to the customer or add a resolution note first" in said(response)
    service.reply(ticket, author=agent, body="Here is the fix.")
    db.session.refresh(ticket)
    assert move(client, ticket, "resolved").status_code == 200
    db.session.refresh(ticket)
    assert ticket.status == Status.RESOLVED


def test_dragging_to_escalated_asks_for_the_panel(client, as_agent, ticket) -> None:
    response = move(client, ticket, "escalated")
    assert response.status_code == 409
    assert "from its panel" in said(response)


def test_stale_version_is_409_naming_who_changed_it(client, as_agent, ticket, colleague) -> None:
    old = ticket.version
    service.assign(ticket, actor=colleague, assignee=colleague)
    response = move(client, ticket, "open", version=old)
    assert response.status_code == 409
    assert f"{ticket.ref} was just changed by Sam Senior" in said(response)
    # The card snaps back (no swap) and the board fetches itself again, so the card
    # carries the fresh version and the next drag is not refused the same way.
    assert response.headers["HX-Reswap"] == "none"
    assert response.headers["HX-Trigger"] == "board-changed"
    db.session.refresh(ticket)
    assert ticket.status == Status.NEW


def test_a_refused_plain_form_shows_the_board_with_the_reason(client, as_agent, ticket):
    service.reply(ticket, author=as_agent, body="Internal", public=False)
    response = move(client, ticket, "resolved", htmx=False)
    assert response.status_code == 409
    page = said(response)
    assert "<html" in page and 'role="alert"' in page
    assert "add a resolution note first" in page


@pytest.mark.parametrize("role", ["customer", "anonymous"])
def test_nobody_else_moves_cards(client, auth, ticket, make, role) -> None:
    if role == "customer":
        auth.login(ticket.customer)
    response = move(client, ticket, "open")
    assert response.status_code == (403 if role == "customer" else 302)
    db.session.refresh(ticket)
    assert ticket.status == Status.NEW


def test_a_move_reads_only_what_it_changes(client, as_agent, ticket, agent) -> None:
    """A move loads the ticket with its customer (the move tells them), not the panel's
    tags, category and team, which it neither shows nor changes."""
    service.set_tags(ticket, ["vip"], actor=agent)
    db.session.expire_all()
    statements: list[str] = []
    log = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(db.engine, "before_cursor_execute", log)
    try:
        assert move(client, ticket, "open", htmx=False).status_code == 303
    finally:
        event.remove(db.engine, "before_cursor_execute", log)
    [load] = [s for s in statements if "WHERE tickets.ref" in s]
    assert "JOIN users" in load and "categories" not in load and "teams" not in load
    assert not any("ticket_tags" in s for s in statements)
    db.session.refresh(ticket)
    assert ticket.status == Status.OPEN and [tag.name for tag in ticket.tags] == ["vip"]
