"""The board's SQL due time and overdue filter agree with the SLA module, case by case.

support/tickets/due.py states the SLA rule in SQL (stored with each ticket, so a
column sorts and counts in the database); support/tickets/sla.py states it in
Python (the countdown on a card). This file checks them against each other, so the
two cannot drift apart.
"""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
from sqlalchemy import select

from support import clock
from support.board import queries
from support.extensions import db
from support.models import Status, Ticket
from support.tickets import due as ticket_due
from support.tickets import service, sla
from tests.board.conftest import said, text_of
from tests.board.test_board_page import count_in, refs_in
from tests.jobs.test_notifications_and_admin import statements_on

CASES = list(
    itertools.product(
        [Status.NEW, Status.OPEN, Status.PENDING, Status.ESCALATED, Status.RESOLVED],
        [1, 2],  # tier
        [False, True],  # first response given
        [False, True],  # clock paused
        ["first", "update", "resolution"],  # which due time is the soonest
    )
)


@pytest.fixture
def matrix(make, customer) -> list[Ticket]:
    now = clock.now()
    tickets = []
    for status, tier, responded, paused, soonest in CASES:
        ticket = make.ticket(customer=customer)
        # Distinct due times, the chosen one in the past (so it is also overdue).
        due = {"first": now + timedelta(hours=5), "update": now + timedelta(hours=6)}
        due["resolution"] = now + timedelta(hours=7)
        due[soonest] = now - timedelta(hours=1)
        ticket.status, ticket.tier = status, tier
        ticket.first_response_due, ticket.next_update_due = due["first"], due["update"]
        ticket.resolution_due = due["resolution"]
        ticket.first_responded_at = now - timedelta(hours=2) if responded else None
        ticket.sla_paused_at = now - timedelta(minutes=30) if paused else None
        tickets.append(ticket)
    db.session.flush()
    # Set up by hand, not through the service: work the stored columns out as it would.
    ticket_due.refresh(db.session.connection(), [ticket.id for ticket in tickets])
    db.session.commit()
    return tickets


def test_due_time_and_overdue_match_the_sla_module(matrix) -> None:
    now = clock.now()
    query = select(Ticket.id, ticket_due.due_at(), Ticket.next_due_at, queries.overdue(now)).where(
        Ticket.id.in_([t.id for t in matrix])
    )
    in_sql = {row[0]: row[1:] for row in db.session.execute(query)}
    for ticket, case in zip(matrix, CASES, strict=True):
        upcoming = sla.next_due(ticket)
        due, stored, late = in_sql[ticket.id]
        assert stored == due, case  # refreshed when the matrix was written
        if upcoming is not None:  # the clock runs: the same target, the same time
            assert due == upcoming[1], case
        assert late == (upcoming is not None and upcoming[1] < now), case


def test_an_escalated_ticket_without_a_first_response_follows_its_stage(
    client, as_agent, make, agent
) -> None:
    # Tier 1 owed a first response within 8 hours; tier 2 promises an update within 48.
    ticket = make.ticket(subject="Card declined everywhere")
    service.escalate(ticket, actor=agent, reason="Needs the payments team.")
    assert ticket.first_responded_at is None and ticket.tier == 2
    waiting = make.ticket(subject="Still waiting for a first reply")
    service.escalate(waiting, actor=agent, reason="Same.")
    waiting.next_update_due = clock.now() + timedelta(hours=9)  # sooner than the first's
    db.session.flush()
    ticket_due.refresh(db.session.connection(), [waiting.id])
    db.session.commit()
    try:
        clock.freeze(clock.now() + timedelta(hours=10))  # past tier 1's promise, not tier 2's
        assert sla.checkpoints(ticket, clock.now()) == []  # the SLA module: not late
        assert refs_in(text_of(client.get("/board?overdue=1"))) == [waiting.ref]
        board = said(client.get("/board"))
        assert count_in(board, "escalated") == "2" and "1 overdue" in board
        # Soonest due first: the one whose stage deadline passed, then the other.
        assert refs_in(board, "escalated") == [waiting.ref, ticket.ref]
        card = board.split(f'id="card-{ticket.ref}"', 1)[1].split("</li>", 1)[0]
        assert "sla-ok" in card and "Next update due" in card
    finally:
        clock.freeze(None)


def test_the_panel_shows_the_next_update_of_an_escalated_ticket(
    client, as_agent, make, agent
) -> None:
    ticket = make.ticket()
    service.escalate(ticket, actor=agent, reason="Needs the payments team.")
    page = said(client.get(f"/board/tickets/{ticket.ref}"))
    facts = page.split('class="side-card sla-facts"', 1)[1].split("</dl>", 1)[0]
    assert "<dt>Next update</dt>" in facts


def stored_and_computed(ticket: Ticket) -> tuple:
    query = select(
        Ticket.next_due_at, ticket_due.due_at(), Ticket.board_sort_key, ticket_due.sort_key()
    ).where(Ticket.id == ticket.id)
    return tuple(db.session.execute(query).one())


def test_the_stored_keys_follow_every_kind_of_write(make, customer, agent) -> None:
    ticket = make.ticket(customer=customer)  # filed: the first-response promise
    due, computed_due, key, computed_key = stored_and_computed(ticket)
    assert due == computed_due == ticket.first_response_due and key == computed_key
    service.reply(ticket, author=agent, body="On it.")  # answered: the next update counts
    due, computed_due, key, computed_key = stored_and_computed(ticket)
    assert due == computed_due and key == computed_key
    assert due == min(ticket.next_update_due, ticket.resolution_due)
    # A drag in the same column is a plain UPDATE (no flush): refreshed all the same.
    service.move(ticket, actor=agent, to_status=ticket.status, position=42.5, expected_version=None)
    assert stored_and_computed(ticket)[2:] == (42.5, 42.5)
    service.change_status(ticket, Status.PENDING, actor=agent)  # waiting on the customer
    due, computed_due, key, computed_key = stored_and_computed(ticket)
    assert due == computed_due and key == computed_key


def test_a_change_that_moves_no_due_time_or_place_leaves_the_stored_keys_unwritten(
    make, customer, agent
) -> None:
    """A note, a customer's reply, the acknowledgement and a move to "pending" (the
    clock stops, no due time moves) leave the stored keys unwritten; a move that gives
    the card a place writes them in the ticket's own UPDATE, not a second one."""
    ticket = make.ticket(customer=customer)
    service.reply(ticket, author=agent, body="On it.")
    with statements_on("next_due_at") as unchanged:
        service.reply(ticket, author=agent, body="Asked the bank.", public=False)
        service.customer_reply(ticket, customer=customer, body="Any news?")
        service.acknowledged(ticket)
        service.move(
            ticket, actor=agent, to_status=Status.PENDING, position=None, expected_version=None
        )
    assert [s for s in unchanged if s.upper().startswith("UPDATE")] == []
    due, computed_due, key, computed_key = stored_and_computed(ticket)
    assert due == computed_due and key == computed_key
    with statements_on("UPDATE tickets") as moved:
        service.move(
            ticket, actor=agent, to_status=Status.OPEN, position=7.5, expected_version=None
        )
    assert len(moved) == 1 and "next_due_at" in moved[0]  # one row version, not two
    assert stored_and_computed(ticket)[2:] == (7.5, 7.5)


def test_filing_writes_both_facts_in_the_insert(make, customer) -> None:
    """A new ticket's due time and sort key are in its INSERT, no UPDATE after it, and
    equal what the rule works out afterwards (a follow-up ticket too)."""
    with statements_on("next_due_at") as filing:
        ticket = make.ticket(customer=customer)
    ticket.status = Status.CLOSED  # set up by hand: a reply now files a follow-up
    db.session.commit()
    with statements_on("next_due_at") as following_up:
        follow_up = service.customer_reply(ticket, customer=customer, body="Still broken.")
    assert follow_up is not ticket
    # The follow-up's link is an event on the closed ticket, which is refreshed as any
    # other ticket a change writes on: one UPDATE, of that ticket, not of the new one.
    for seen, updates in ((filing, 0), (following_up, 1)):
        assert len([s for s in seen if s.upper().startswith("UPDATE")]) == updates
        assert len([s for s in seen if s.upper().startswith("INSERT INTO TICKETS")]) == 1
    for filed in (ticket, follow_up):
        due, computed_due, key, computed_key = stored_and_computed(filed)
        assert due == computed_due == filed.first_response_due and key == computed_key


def test_a_new_tickets_due_time_follows_the_sql_rule_case_by_case(matrix) -> None:
    """fill works the due time out in Python for the INSERT: the same answer as the
    SQL rule for every combination of inputs (the sort key is the database's own)."""
    for stored in matrix:
        new = Ticket(**{name: getattr(stored, name) for name in ticket_due.INPUTS})
        assert ticket_due.fill(new) == ticket_due.inputs(stored)
        assert new.next_due_at == stored.next_due_at
    placed = Ticket(board_position=3.5, first_response_due=clock.now())
    ticket_due.fill(placed)
    assert placed.board_sort_key == 3.5
    unplaced = Ticket()
    ticket_due.fill(unplaced)
    assert (unplaced.next_due_at, unplaced.board_sort_key) == (None, ticket_due.NO_DUE)
