"""Routing is fair and deterministic under load: 1,000 tickets, 20 agents (real database)."""

from __future__ import annotations

import os
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select

from support.extensions import db
from support.models import Category, Impact, Ticket, User
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


@pytest.mark.skipif(
    not os.environ.get("TEST_DATABASE_URL", "").startswith("postgresql"),
    reason="concurrent writers need PostgreSQL (SQLite runs one writer at a time anyway)",
)
def test_concurrent_filings_never_exceed_a_limit(app, make, teams) -> None:
    """Eight web workers filing at once: each agent's last free slot is taken exactly once."""
    team = teams.team("Payments & Trust", "payments")
    agents = teams.agents(team, 5, max_open=4)  # 20 free slots for 40 tickets
    customer_id, category_id = make.customer().id, make.category("payments").id
    start = threading.Barrier(8)

    def file_five() -> None:
        with app.app_context():
            customer, category = (
                db.session.get(User, customer_id),
                db.session.get(Category, category_id),
            )
            start.wait()
            for n in range(5):
                service.open_ticket(
                    customer=customer,
                    subject=f"Charged for order {n}",
                    description="A question about a payment.",
                    category=category,
                    impact=Impact.JUST_ME,
                )
            db.session.remove()

    with ThreadPoolExecutor(8) as pool:
        for future in [pool.submit(file_five) for _ in range(8)]:
            future.result()
    load = Counter(
        db.session.scalars(select(Ticket.assignee_id).where(Ticket.assignee_id.is_not(None)))
    )
    assert load == {agent.id: 4 for agent in agents}
    assert db.session.scalar(select(func.count(Ticket.id))) == 40
