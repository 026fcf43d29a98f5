"""The ticket service's board operations: each writes the right events, and refuses clearly."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from support.extensions import db
from support.models import EventKind, Priority, Status, TicketEvent
from support.tickets import service
from support.tickets.service import StaleTicket, TicketClosed, TicketError


def events(ticket, kind: EventKind | None = None) -> list[TicketEvent]:
    query = select(TicketEvent).where(TicketEvent.ticket_id == ticket.id).order_by(TicketEvent.id)
    rows = list(db.session.scalars(query))
    return [e for e in rows if kind is None or e.kind == kind]


# --- assign ---------------------------------------------------------------------------


def test_assign_writes_an_internal_event_with_names(ticket, agent, colleague) -> None:
    event = service.assign(ticket, actor=agent, assignee=colleague)
    assert ticket.assignee_id == colleague.id
    assert event.kind == EventKind.ASSIGNED and not event.is_public
    assert event.data == {
        "from": None,
        "from_name": None,
        "to": colleague.id,
        "to_name": "Sam Senior",
    }
    unassigned = service.assign(ticket, actor=agent, assignee=None)
    assert unassigned.data["from_name"] == "Sam Senior" and unassigned.data["to"] is None


def test_assigning_the_same_person_again_changes_nothing(ticket, agent) -> None:
    service.assign(ticket, actor=agent, assignee=agent)
    version = ticket.version
    assert service.assign(ticket, actor=agent, assignee=agent) is None
    assert ticket.version == version
    assert len(events(ticket, EventKind.ASSIGNED)) == 1


def test_only_active_agents_take_tickets(ticket, agent, customer) -> None:
    with pytest.raises(TicketError, match="only active agents"):
        service.assign(ticket, actor=agent, assignee=customer)
    with pytest.raises(TicketError, match="Only the support team"):
        service.assign(ticket, actor=customer, assignee=agent)


def test_assign_with_an_old_version_is_stale(ticket, agent, colleague) -> None:
    old = ticket.version
    service.assign(ticket, actor=colleague, assignee=colleague)
    with pytest.raises(StaleTicket, match="just changed by Sam Senior"):
        service.assign(ticket, actor=agent, assignee=agent, expected_version=old)
    assert ticket.assignee_id == colleague.id


# --- update_fields --------------------------------------------------------------------


def test_update_fields_writes_one_internal_event_per_changed_field(ticket, agent, make, teams):
    shipping = make.category("shipping")
    changed = service.update_fields(
        ticket, actor=agent, priority=Priority.HIGH, category=shipping, team=teams[0]
    )
    kinds = [e.kind for e in changed]
    assert kinds == [EventKind.PRIORITY_CHANGED, EventKind.CATEGORY_CHANGED, EventKind.TEAM_CHANGED]
    assert all(not e.is_public for e in changed)
    assert changed[0].data["from"] == "normal" and changed[0].data["to_name"] == "High"
    assert changed[1].data["from"] == "payments" and changed[1].data["to_name"] == "Shipping"
    assert changed[2].data["to_name"] == "Customer Care"


def test_fields_left_out_stay_and_none_clears(ticket, agent) -> None:
    category = ticket.category
    assert service.update_fields(ticket, actor=agent, priority=ticket.priority) == []
    assert ticket.category is category
    [cleared] = service.update_fields(ticket, actor=agent, category=None)
    assert ticket.category is None and cleared.data["to"] is None


def test_a_new_priority_brings_new_sla_targets(ticket, agent) -> None:
    before = ticket.first_response_due
    service.update_fields(ticket, actor=agent, priority=Priority.URGENT)
    assert ticket.first_response_due == ticket.created_at + timedelta(hours=1)
    assert ticket.first_response_due < before
    assert ticket.resolution_due == ticket.created_at + timedelta(hours=8)


def test_closed_tickets_keep_their_fields(ticket, agent) -> None:
    service.reply(ticket, author=agent, body="Fixed.")
    service.change_status(ticket, Status.RESOLVED, actor=agent)
    service.change_status(ticket, Status.CLOSED, actor=agent)
    with pytest.raises(TicketClosed):
        service.update_fields(ticket, actor=agent, priority=Priority.LOW)


# --- offer_workaround -----------------------------------------------------------------


def test_a_workaround_is_public_and_counts_as_our_answer(ticket, agent) -> None:
    event = service.offer_workaround(ticket, actor=agent, body="Use the web app until then.")
    assert event.kind == EventKind.WORKAROUND and event.is_public
    assert ticket.status == Status.OPEN
    assert ticket.first_responded_at is not None


def test_no_workaround_on_a_resolved_ticket(ticket, agent) -> None:
    service.offer_workaround(ticket, actor=agent, body="Try this.")
    service.change_status(ticket, Status.RESOLVED, actor=agent)
    with pytest.raises(TicketError, match="reopen it"):
        service.offer_workaround(ticket, actor=agent, body="And this.")
    with pytest.raises(TicketError):
        service.offer_workaround(ticket, actor=agent, body="   ")


# --- merge ----------------------------------------------------------------------------


def test_merge_closes_the_duplicate_and_tells_both_timelines(make, customer, agent) -> None:
    keep = make.ticket(customer=customer, subject="Charged twice")
    duplicate = make.ticket(customer=customer, subject="Same again", description="Two charges!")
    service.reply(duplicate, author=agent, body="Looking into it.")
    event = service.merge(duplicate, into=keep, actor=agent)

    assert duplicate.status == Status.CLOSED and duplicate.merged_into_id == keep.id
    [closing] = events(duplicate, EventKind.MERGED)
    assert closing.is_public and closing.data["into"] == keep.ref
    assert keep.ref in closing.body_text
    assert event.ticket_id == keep.id and event.is_public
    assert event.data == {"merged": duplicate.ref} and duplicate.ref in event.body_text
    assert "Two charges!" not in event.body_text  # no copy: the timelines are joined
    # The duplicate's own history is still there.
    assert [e.kind for e in events(duplicate)][:2] == [EventKind.CREATED, EventKind.REPLY]


@pytest.mark.parametrize("problem", ["itself", "closed target", "other customer", "closed dup"])
def test_merges_that_make_no_sense_are_refused(make, customer, agent, problem) -> None:
    duplicate = make.ticket(customer=customer)
    target = make.ticket(customer=customer)
    if problem == "itself":
        target = duplicate
    elif problem == "other customer":
        target = make.ticket()
    elif problem in ("closed target", "closed dup"):
        closing = target if problem == "closed target" else duplicate
        service.offer_workaround(closing, actor=agent, body="Fixed.")
        service.change_status(closing, Status.RESOLVED, actor=agent)
        service.change_status(closing, Status.CLOSED, actor=agent)
    with pytest.raises(TicketError):
        service.merge(duplicate, into=target, actor=agent)


# --- move -----------------------------------------------------------------------------


def test_reordering_writes_no_event_and_keeps_the_version(ticket, agent) -> None:
    before = (ticket.version, len(events(ticket)))
    assert (
        service.move(
            ticket,
            actor=agent,
            to_status=Status.NEW,
            position=42.5,
            expected_version=ticket.version,
        )
        is None
    )
    db.session.refresh(ticket)
    assert ticket.board_position == 42.5
    assert (ticket.version, len(events(ticket))) == before


def test_a_same_column_move_without_a_place_keeps_the_manual_order(ticket, agent) -> None:
    service.move(ticket, actor=agent, to_status=Status.NEW, position=42.5, expected_version=1)
    service.move(ticket, actor=agent, to_status=Status.NEW, position=None, expected_version=1)
    db.session.refresh(ticket)
    assert ticket.board_position == 42.5


def test_a_move_changes_status_like_change_status(ticket, agent) -> None:
    event = service.move(
        ticket, actor=agent, to_status=Status.OPEN, position=10.0, expected_version=ticket.version
    )
    assert event.kind == EventKind.STATUS_CHANGED and event.is_public
    assert (ticket.status, ticket.board_position) == (Status.OPEN, 10.0)


def test_resolving_needs_a_public_answer_or_a_note(ticket, agent, customer) -> None:
    service.reply(ticket, author=agent, body="Internal only", public=False)
    service.reply(ticket, author=customer, body="Hello?")
    with pytest.raises(TicketError, match="reply to the customer or add a resolution note"):
        service.move(
            ticket,
            actor=agent,
            to_status=Status.RESOLVED,
            position=None,
            expected_version=ticket.version,
        )
    event = service.move(
        ticket,
        actor=agent,
        to_status=Status.RESOLVED,
        position=None,
        expected_version=ticket.version,
        note="Refunded the duplicate charge.",
    )
    assert event.body_text == "Refunded the duplicate charge." and event.is_public


def test_moves_refuse_escalation_and_forbidden_transitions(ticket, agent) -> None:
    with pytest.raises(TicketError, match="give a reason"):
        service.move(
            ticket,
            actor=agent,
            to_status=Status.ESCALATED,
            position=None,
            expected_version=ticket.version,
        )
    with pytest.raises(TicketError, match="can't go from new to closed"):
        service.move(
            ticket,
            actor=agent,
            to_status=Status.CLOSED,
            position=None,
            expected_version=ticket.version,
        )
    assert ticket.status == Status.NEW


def test_a_move_on_an_old_version_is_stale(ticket, agent, colleague) -> None:
    old = ticket.version
    service.reply(ticket, author=colleague, body="On it.")
    with pytest.raises(StaleTicket, match=f"{ticket.ref} was just changed by Sam Senior"):
        service.move(
            ticket, actor=agent, to_status=Status.PENDING, position=None, expected_version=old
        )


def test_a_customer_reply_to_a_merged_duplicate_lands_on_the_surviving_ticket(make):
    customer, agent = make.customer(), make.agent()
    duplicate = make.ticket(customer, subject="Charged twice (again)")
    original = make.ticket(customer)
    service.merge(duplicate, into=original, actor=agent)

    landed = service.customer_reply(duplicate, customer=customer, body="Any news?")

    assert landed.id == original.id
    bodies = db.session.scalars(
        select(TicketEvent.body_text).where(TicketEvent.ticket_id == original.id)
    )
    assert "Any news?" in list(bodies)
