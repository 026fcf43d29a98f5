"""Routing is fair and deterministic under load: 1,000 tickets, 20 agents (real database)."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import func, select

from support.extensions import db
from support.models import Impact, Ticket
from support.tickets import service


def test_a_thousand_tickets_across_twenty_agents(make, teams) -> None:
    team = teams.team("Payments & Trust", "payments", "refunds")
    agents = teams.agents(team, 20, max_open=45)  # room for 900 of the 1,000
    customer = make.customer()
    categories = [make.category("payments"), make.category("refunds")]
    for n in range(1000):
        service.open_ticket(
            customer=customer,
            subject=f"Ticket {n}",
            description="A question about my order.",
            category=categories[n % 2],
            impact=Impact.JUST_ME,
        )
    load = Counter(
        db.session.scalars(select(Ticket.assignee_id).where(Ticket.assignee_id.is_not(None)))
    )
    assert set(load) == {a.id for a in agents}
    assert max(load.values()) <= 45  # nobody above the limit
    assert max(load.values()) - min(load.values()) <= 1  # spread within ±1
    unassigned = db.session.scalar(
        select(func.count(Ticket.id)).where(Ticket.assignee_id.is_(None))
    )
    assert unassigned == 100  # the rest waits, visibly


def test_equals_take_turns_in_a_fixed_order(make, teams) -> None:
    team = teams.team("Shipping crew", "shipping")
    agents = teams.agents(team, 4)
    shipping = make.category("shipping")
    order = [make.ticket(category=shipping).assignee_id for _ in range(8)]
    ids = [a.id for a in agents]
    assert order == ids + ids
