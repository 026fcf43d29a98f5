"""Tickets waiting in "unassigned" go to agents who become free (the minute sweep)."""

from __future__ import annotations

from sqlalchemy import select

from support.extensions import db
from support.jobs import tasks
from support.models import EventKind, Skill, TicketEvent


def routed_events(ticket) -> list[TicketEvent]:
    query = select(TicketEvent).where(
        TicketEvent.ticket_id == ticket.id, TicketEvent.kind == EventKind.ROUTED
    )
    return list(db.session.scalars(query.order_by(TicketEvent.id)))


def test_a_waiting_ticket_goes_to_the_agent_who_frees_up(make, teams) -> None:
    team = teams.team("Shipping crew", "shipping")
    (sam,) = teams.agents(team, 1, max_open=1, name="Sam Agent")
    first, second, third = (make.ticket(category=make.category("shipping")) for _ in range(3))
    assert (first.assignee, second.assignee, third.assignee) == (sam, None, None)
    assert tasks.sweep()["routed"] == 0  # still nobody free: nothing written

    sam.max_open = 2
    db.session.commit()
    assert tasks.sweep()["routed"] == 1
    db.session.refresh(second)
    db.session.refresh(third)
    assert second.assignee == sam and third.assignee is None  # oldest first
    *_, event = routed_events(second)
    assert event.data["to_name"] == "Sam Agent"
    assert event.data["reason"].startswith("it was waiting; routed to Shipping crew")
    assert not event.is_public


def test_a_kind_nobody_can_take_does_not_block_the_others(make, teams) -> None:
    team = teams.team("Payments & Trust", "payments", "refunds")
    refunds = make.category("refunds")
    refunds.skill = Skill(name="Chargebacks")
    db.session.commit()
    waiting_refund = make.ticket(category=refunds)  # nobody has the skill
    (robin,) = teams.agents(team, 1)
    robin.is_available = False
    db.session.commit()
    waiting_payment = make.ticket(category=make.category("payments"))  # Robin is off duty
    assert waiting_refund.assignee is None and waiting_payment.assignee is None

    robin.is_available = True
    db.session.commit()
    assert tasks.sweep()["routed"] == 1
    db.session.refresh(waiting_refund)
    db.session.refresh(waiting_payment)
    assert waiting_payment.assignee == robin
    assert waiting_refund.assignee is None


def test_the_sweep_does_not_query_per_waiting_ticket(make, teams, count_queries) -> None:
    team = teams.team("Shipping crew", "shipping")
    teams.agents(team, 1, max_open=0)
    shipping = make.category("shipping")
    for _ in range(3):
        make.ticket(category=shipping)
    with count_queries() as few:
        tasks.sweep()
    for _ in range(30):
        make.ticket(category=shipping)
    with count_queries() as many:
        tasks.sweep()
    assert many.count == few.count
