"""Routing is fair and deterministic under load: 1,000 tickets, 20 agents (real database).

Fairness is checked where no limit binds (a limit that fills everybody makes any
algorithm look even), limits separately, and determinism by replaying the same
filings on a fresh schema. The concurrent test runs on SQLite too: `make run`
puts the web server and a worker on the same file.
"""

from __future__ import annotations

import sqlite3
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import func, select, text
from sqlalchemy.exc import OperationalError

from support.extensions import db
from support.models import (
    Category,
    EventKind,
    Impact,
    Notification,
    Skill,
    Status,
    Ticket,
    TicketEvent,
    User,
)
from support.tickets import service
from support.tickets.categories import ensure_default_categories
from support.triage import routing
from tests.conftest import empty_database


def file(customer: User, category: Category, n: int) -> Ticket:
    return service.open_ticket(
        customer=customer,
        subject=f"Ticket {n}",
        description="A question about my order.",
        category=category,
        impact=Impact.JUST_ME,
    )


def assigned_in_db() -> Counter[int]:
    return Counter(
        db.session.scalars(select(Ticket.assignee_id).where(Ticket.assignee_id.is_not(None)))
    )


def test_a_thousand_tickets_spread_evenly_when_no_limit_binds(make, teams) -> None:
    team = teams.team("Payments & Trust", "payments", "refunds")
    agents = teams.agents(team, 20, max_open=60)  # 1,200 slots for 1,000 tickets: no cap reached
    ids = {a.id for a in agents}
    # Not equals, so never chosen: another tier, and someone off duty.
    senior = teams.agents(team, 1, tier=2)[0]
    away = teams.agents(team, 1)[0]
    away.is_available = False
    db.session.commit()
    customer = make.customer()
    categories = [make.category("payments"), make.category("refunds")]
    load: Counter[int] = Counter()
    for n in range(1, 1001):
        ticket = file(customer, categories[n % 2], n)
        assert ticket.assignee_id in ids
        load[ticket.assignee_id] += 1
        counts = [load[i] for i in ids]
        assert max(counts) - min(counts) <= 1, f"after {n} tickets: {sorted(counts)}"
        if n % 100 == 0:  # the database agrees, and everyone is exactly even
            db.session.expire_all()
            assert assigned_in_db() == load
            assert set(load.values()) == {n // 20}
    assert max(load.values()) == 50 < 60  # the limit never decided anything
    assert senior.id not in load and away.id not in load


def test_limits_bind_nobody_goes_above_and_the_rest_waits_visibly(make, teams) -> None:
    team = teams.team("Shipping crew", "shipping")
    agents = teams.agents(team, 20)
    caps = {agent.id: 2 + i % 4 for i, agent in enumerate(agents)}  # 2..5: 70 slots in all
    for agent in agents:
        agent.max_open = caps[agent.id]
    db.session.commit()
    customer, shipping = make.customer(), make.category("shipping")
    tickets = [file(customer, shipping, n) for n in range(100)]

    load = assigned_in_db()
    assert load == caps  # everybody filled to their own limit, nobody above it
    waiting = [t for t in tickets if t.assignee_id is None]
    assert len(waiting) == 30
    assert all(t.team_id == team.id for t in waiting)  # the team's unassigned list
    assert {ticket_id for ticket_id, _ in routing.waiting()} == {t.id for t in waiting}
    last = waiting[-1]
    reason = db.session.scalar(
        select(TicketEvent.data).where(
            TicketEvent.ticket_id == last.id, TicketEvent.kind == EventKind.ROUTED
        )
    )["reason"]
    assert "every available tier-1 agent is at their limit" in reason
    told = db.session.scalars(select(Notification.user_id).where(Notification.ticket_id == last.id))
    assert set(told) == set(caps)


def _scenario(make, teams) -> list[str | None]:
    """Agents with different limits, a skill only some have, two categories, some
    tickets resolved on the way: who got each ticket, by agent email."""
    team = teams.team("Payments & Trust", "payments", "refunds")
    chargebacks = Skill(name="Chargebacks")
    refunds, payments = make.category("refunds"), make.category("payments")
    refunds.skill = chargebacks
    agents = [
        make.agent(email=f"agent{i}@example.com", name=f"Agent {i}", team_id=team.id)
        for i in range(6)
    ]
    for i, agent in enumerate(agents):
        agent.max_open = 3 + i % 3
        if i % 2:
            agent.skills.append(chargebacks)
    db.session.commit()
    customer = make.customer(email="same-customer@example.com")
    who: list[str | None] = []
    for n in range(60):
        ticket = file(customer, refunds if n % 3 == 0 else payments, n)
        who.append(ticket.assignee.email if ticket.assignee else None)
        if n % 4 == 3 and ticket.assignee is not None:
            service.change_status(ticket, Status.RESOLVED, actor=ticket.assignee)
    return who


def test_the_same_filings_twice_give_the_same_assignments(make, teams) -> None:
    first = _scenario(make, teams)
    empty_database()
    ensure_default_categories()
    second = _scenario(make, teams)
    assert first == second
    assert None in first and len(set(first) - {None}) == 6  # limits and skills both mattered


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
    assert assigned_in_db() == {agent.id: 4 for agent in agents}
    assert db.session.scalar(select(func.count(Ticket.id))) == 40
