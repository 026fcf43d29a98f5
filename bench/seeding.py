"""Seeding shared by the benches that fill a desk in bulk (board.py, agent_queue.py).

Rows go in with SQLAlchemy Core, in batches: the point is the data's shape (many
customers, agents in three teams, long timelines of replies, notes and status
changes), not the service path that tests cover.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime, timedelta
from typing import Any

import common  # noqa: F401 - first: puts this checkout ahead of an installed one on sys.path
from sqlalchemy import insert, select

from support.auth import accounts
from support.extensions import db
from support.models import EventKind, Role, Team, User
from support.tickets import refs

BATCH = 20_000
TEAMS = ("Customer Care", "Payments & Trust", "Logistics")
EVENT_KINDS = [EventKind.REPLY, EventKind.REPLY, EventKind.NOTE, EventKind.STATUS_CHANGED]


def people(agents: int, customers: int, password: str) -> tuple[list[User], list[int]]:
    """Three teams, `agents` agents spread over them and tiers 1–3, and `customers`
    customers; returns the agents and the customers' ids."""
    teams = [Team(name=name) for name in TEAMS]
    db.session.add_all(teams)
    db.session.commit()
    made = [
        accounts.create_user(
            email=f"agent{i}@example.com",
            name=f"Agent {i}",
            password=password,
            role=Role.AGENT,
            tier=1 + i % 3,
            team_id=teams[i % len(teams)].id,
        )
        for i in range(agents)
    ]
    # Customers by Core, sharing one hash: hashing thousands of passwords would only time scrypt.
    password_hash = made[0].password_hash
    insert_batched(
        User,
        (
            {"email": f"c{i}@example.com", "name": f"Customer {i}", "password_hash": password_hash}
            for i in range(customers)
        ),
    )
    customer_ids = list(db.session.scalars(select(User.id).where(User.role == Role.CUSTOMER)))
    return made, customer_ids


def insert_batched(table: Any, rows: Iterable[dict[str, Any]]) -> int:
    """Insert rows (a model or a Table) BATCH at a time, then commit; how many went in."""
    batch: list[dict[str, Any]] = []
    total = 0
    for row in rows:
        batch.append(row)
        if len(batch) == BATCH:
            db.session.execute(insert(table), batch)
            total += len(batch)
            batch = []
    if batch:
        db.session.execute(insert(table), batch)
        total += len(batch)
    db.session.commit()
    return total


def unique_refs(count: int) -> list[str]:
    """`count` distinct ticket references, sorted (random ones collide now and then)."""
    found: set[str] = set()
    while len(found) < count:
        found.add(refs.new_ref())
    return sorted(found)


def event_rows(
    rng: random.Random,
    tickets: Iterable[tuple[int, int, datetime, str]],
    per_ticket: int,
    agent_ids: list[int],
    said: Callable[[random.Random], str],
) -> Iterator[dict[str, Any]]:
    """Each ticket's timeline: its opening message (the ticket's text), then replies
    both ways, internal notes and status changes ten minutes apart.

    `tickets`: (id, customer id, created at, opening text); `said` makes a message.
    """
    for ticket_id, customer_id, created, opening in tickets:
        for n in range(per_ticket):
            kind = EventKind.CREATED if n == 0 else rng.choice(EVENT_KINDS)
            by_customer = kind == EventKind.CREATED or (kind == EventKind.REPLY and n % 2)
            body = opening if n == 0 else said(rng)
            has_text = kind != EventKind.STATUS_CHANGED
            yield {
                "ticket_id": ticket_id,
                "kind": kind,
                "actor_id": customer_id if by_customer else rng.choice(agent_ids),
                "is_public": kind != EventKind.NOTE,
                "body_text": body if has_text else None,
                "body_html": f"<p>{body}</p>" if has_text else None,
                "data": {"from": "new", "to": "open"} if not has_text else None,
                "created_at": created + timedelta(minutes=10 * n),
            }
