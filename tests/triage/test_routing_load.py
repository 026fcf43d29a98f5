"""Routing is fair and deterministic under load: 1,000 tickets, 20 agents (real database).

The concurrent test runs on SQLite too: `make run` puts the web server and a
worker on the same file.
"""

from __future__ import annotations

import sqlite3
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import func, select, text
from sqlalchemy.exc import OperationalError

from support.extensions import db
from support.models import Category, Impact, Ticket, User
from support.tickets import service
from support.triage import routing


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


def test_a_routing_holds_its_lock_until_the_filing_commits(make, teams) -> None:
    """The mechanism behind the next test: another connection can neither take the
    team (PostgreSQL: the row lock) nor write at all (SQLite: the write lock)."""
    team = teams.team("Payments & Trust", "payments")
    teams.agents(team, 1)
    payments = make.category("payments")
    db.session.commit()

    def others_blocked() -> bool:
        if db.engine.dialect.name == "sqlite":
            other = sqlite3.connect(db.engine.url.database, timeout=0, isolation_level=None)
            try:
                other.execute("BEGIN IMMEDIATE")
                other.execute("ROLLBACK")
                return False
            except sqlite3.OperationalError as error:
                assert "locked" in str(error)
                return True
            finally:
                other.close()
        with db.engine.connect() as other:
            try:
                other.execute(
                    text("SELECT id FROM teams WHERE id = :id FOR UPDATE NOWAIT"), {"id": team.id}
                )
                return False
            except OperationalError:
                return True
            finally:
                other.rollback()

    assert not others_blocked()
    routing.route(payments, lock=True)
    assert others_blocked()
    db.session.commit()
    assert not others_blocked()


def test_concurrent_filings_never_exceed_a_limit(app, make, teams) -> None:
    """Eight writers filing at once (threads with their own connections; on SQLite one
    file with a busy timeout): each agent's last free slot is taken exactly once."""
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
    db.session.expire_all()
    load = Counter(
        db.session.scalars(select(Ticket.assignee_id).where(Ticket.assignee_id.is_not(None)))
    )
    assert load == {agent.id: 4 for agent in agents}
    assert db.session.scalar(select(func.count(Ticket.id))) == 40
