"""The agent board with 10,000 open tickets, 200,000 events and 20 agents.

Run from the repo root: .venv/bin/python bench/board.py
Budget (SPEC §9): board p95 under 75 ms (default and filtered), card panel p95
under 40 ms, and the same number of queries whatever the number of tickets.

The data is bulk-inserted with SQLAlchemy Core: the point is its shape (many
customers, agents, teams, priorities, due times on both sides of now, long
timelines), not the service path that tests cover.
"""

from __future__ import annotations

import random
from datetime import timedelta

import queue_texts
import seeding
from common import QueryCounter, bench_app, report, timed
from sqlalchemy import func, insert, select

from support import clock
from support.extensions import db
from support.models import (
    Category,
    Priority,
    Status,
    Team,
    Ticket,
    TicketEvent,
    User,
)
from support.tickets import due, search

HTMX = {"HX-Request": "true"}
TICKETS = 10_000
EVENTS = 200_000
AGENTS = 20
CUSTOMERS = 2_000
REQUESTS = 200
PASSWORD = "bench-password-1"
ACTIVE = [Status.NEW, Status.OPEN, Status.PENDING, Status.ON_HOLD, Status.ESCALATED]
SUBJECTS = queue_texts.SUBJECTS[:8]  # the queue bench's first eight, as before
# What an agent filters by on a busy day: one team's overdue refund tickets.
FILTERED = "?team={team}&overdue=1&q=refund"


def _people() -> tuple[User, list[int], list[int]]:
    """The first agent (who signs in), every agent's id and the customers' ids."""
    agents, customer_ids = seeding.people(AGENTS, CUSTOMERS, PASSWORD)
    return agents[0], [a.id for a in agents], customer_ids


def _ticket_rows(rng: random.Random, agent_ids: list[int], customer_ids: list[int]) -> list[dict]:
    categories = list(db.session.scalars(select(Category)))
    team_ids = list(db.session.scalars(select(Team.id)))
    now = clock.now()
    rows = []
    for i, ref in enumerate(seeding.unique_refs(TICKETS)):
        opened = now - timedelta(minutes=rng.randint(5, 60 * 24 * 20))
        priority = rng.choices(list(Priority), weights=[2, 6, 3, 1])[0]
        responded = opened + timedelta(minutes=30) if rng.random() < 0.7 else None
        rows.append(
            {
                "ref": ref,
                "subject": f"{rng.choice(SUBJECTS)} #{i}",
                "description": "A realistic description of the problem. " * 4,
                "customer_id": rng.choice(customer_ids),
                "category_id": rng.choice(categories).id,
                "priority": priority,
                "status": rng.choice(ACTIVE),
                "assignee_id": rng.choice(agent_ids) if rng.random() < 0.7 else None,
                "team_id": rng.choice(team_ids),
                "created_at": opened,
                "updated_at": opened + timedelta(minutes=rng.randint(0, 600)),
                "first_response_due": opened + timedelta(hours=rng.choice([1, 4, 8, 24])),
                "first_responded_at": responded,
                "next_update_due": now + timedelta(minutes=rng.randint(-600, 3000)),
                "resolution_due": opened + timedelta(days=rng.choice([1, 3, 5])),
                "board_position": None if rng.random() < 0.9 else rng.uniform(1.7e9, 1.8e9),
            }
        )
    return rows


def _message(rng: random.Random) -> str:
    return "Thanks, we are looking into it. " * 3


def seed() -> tuple[str, str, int]:
    rng = random.Random(4)
    agent, agent_ids, customer_ids = _people()
    db.session.execute(insert(Ticket), _ticket_rows(rng, agent_ids, customer_ids))
    due.refresh(db.session.connection())  # a Core insert: work the stored due columns out
    db.session.commit()
    tickets = db.session.execute(
        select(Ticket.id, Ticket.customer_id, Ticket.created_at, Ticket.description)
    ).all()
    rows = seeding.event_rows(rng, tickets, EVENTS // TICKETS, agent_ids, _message)
    seeding.insert_batched(TicketEvent, rows)
    search.rebuild(db.session.connection())  # the board's search reads these documents
    db.session.commit()
    busiest = db.session.scalar(
        select(Ticket.ref)
        .join(TicketEvent, TicketEvent.ticket_id == Ticket.id)
        .group_by(Ticket.id)
        .order_by(func.count().desc())
    )
    team_id = db.session.scalar(select(Team.id).where(Team.name == "Payments & Trust"))
    return agent.email, busiest, team_id


def main() -> None:
    app, _tmp = bench_app()
    with app.app_context():
        email, ref, team_id = seed()
        db.session.remove()
    client = app.test_client()
    client.post("/login", data={"email": email, "password": PASSWORD})
    filtered = "/board" + FILTERED.format(team=team_id)
    panel = f"/board/tickets/{ref}"
    for url in ("/board", filtered, panel):
        assert client.get(url).status_code == 200, url

    report("board", timed(lambda: client.get("/board"), REQUESTS))
    report("board_filtered", timed(lambda: client.get(filtered), REQUESTS))
    # The card panel as the board opens it (an htmx fragment; its articles follow in a
    # request of their own), then the same ticket opened directly as a full page.
    report("panel", timed(lambda: client.get(panel, headers=HTMX), REQUESTS))
    report("panel_page", timed(lambda: client.get(panel), REQUESTS))
    report("panel_articles", timed(lambda: client.get(f"{panel}/articles", headers=HTMX), REQUESTS))

    with app.app_context():
        with QueryCounter() as counter:
            client.get("/board")
        print(f"board_queries: {counter.count} queries")
        with QueryCounter() as counter:
            client.get(panel, headers=HTMX)
        print(f"panel_queries: {counter.count} queries")
        with QueryCounter() as counter:
            client.get(panel)
        print(f"panel_page_queries: {counter.count} queries")
        db.session.remove()


if __name__ == "__main__":
    main()
