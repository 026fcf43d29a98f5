"""The agents' queue at 200,000 tickets and 2,000,000 events (SPEC §9).

Run from the repo root: .venv/bin/python bench/agent_queue.py [--database postgresql]
                        [--tickets 200000] [--events-per-ticket 10] [--requests 200]
Budget: queue page p95 under 50 ms (default and filtered), search p95 under 100 ms,
a bulk action on 100 tickets under 2 s, the same number of queries whatever the size.

SQLite in a temporary directory by default; `--database postgresql` recreates the
database support_bench_queue on 127.0.0.1:5432 (trust auth) and drops it afterwards.
The data is bulk-inserted with SQLAlchemy Core, then the search documents are built
in one statement (support/tickets/search.py's rebuild): most tickets are history
(resolved or closed), as at a desk that has run for a year. The bulk action goes
through the ticket service, one transaction per ticket, with a real (embedded) Redis.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from datetime import timedelta

import psycopg
from common import QueryCounter, bench_app, report, timed
from sqlalchemy import func, insert, select

from support import clock
from support.auth import accounts
from support.extensions import db
from support.jobs.embedded import EmbeddedRedis
from support.models import (
    Category,
    EventKind,
    Priority,
    Role,
    Status,
    Team,
    Ticket,
    TicketEvent,
    User,
)
from support.tickets import due, refs, search

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
PG_DATABASE = "support_bench_queue"
HTMX = {"HX-Request": "true"}
PASSWORD = "bench-password-1"
AGENTS = 40
CUSTOMERS = 20_000
BATCH = 20_000
BULK_SIZE = 100
BULK_RUNS = 6
STATUSES = [  # a year of work: most of it done
    (Status.CLOSED, 55),
    (Status.RESOLVED, 15),
    (Status.NEW, 4),
    (Status.OPEN, 12),
    (Status.PENDING, 8),
    (Status.ON_HOLD, 3),
    (Status.ESCALATED, 3),
]
SUBJECTS = [
    "Refund not received after return",
    "Charged twice for one order",
    "Parcel shows delivered but nothing arrived",
    "Can't sign in after changing my phone",
    "Listing removed without explanation",
    "Payout still pending after 7 days",
    "Shipping label won't print",
    "Someone changed my account email",
    "Item arrived damaged",
    "Seller not responding to messages",
    "Coupon code rejected at checkout",
    "Two-factor code never arrives",
]
PLACES = [
    "Rotterdam",
    "Lyon",
    "Leeds",
    "Porto",
    "Gdansk",
    "Malmo",
    "Bilbao",
    "Graz",
    "Cork",
    "Turin",
]
THINGS = ["lamp", "blender", "jacket", "headphones", "kettle", "sofa", "camera", "bicycle", "vase"]
SENTENCES = [
    "The courier says the parcel was left in {place} but I never got it.",
    "I returned the {thing} two weeks ago and the refund is still not here.",
    "Order {order} was charged twice on my card statement.",
    "We have asked the seller to confirm the tracking number for order {order}.",
    "Thanks for your patience, we are looking into the {thing} with the carrier.",
    "The payout for order {order} is held while we check the chargeback.",
    "Could you send a photo of the damaged {thing} and the box it came in?",
    "Internal: customer has three open disputes, check before refunding.",
    "The seller in {place} confirmed the {thing} left their warehouse on Monday.",
    "I changed my phone and now the sign-in code goes to the old number.",
    "Your refund of the {thing} was approved and should arrive within 5 working days.",
    "Escalating: possible account takeover, email changed from {place}.",
]
SEARCHES = [
    "refund",
    "parcel rotterdam",
    '"tracking number"',
    "chargeback blender",
    "damaged kettle photo",
    "sign-in code phone",
    "order {order}",
    "{email}",
    "{ref}",
    "bicycle (lyon",
    '"account takeover" -graz',
]


def _text(rng: random.Random, sentences: int) -> str:
    return " ".join(
        rng.choice(SENTENCES).format(
            place=rng.choice(PLACES), thing=rng.choice(THINGS), order=rng.randint(10_000, 99_999)
        )
        for _ in range(sentences)
    )


def _people() -> tuple[list[User], list[int], list[int]]:
    teams = [Team(name=name) for name in ("Customer Care", "Payments & Trust", "Logistics")]
    db.session.add_all(teams)
    db.session.commit()
    agents = [
        accounts.create_user(
            email=f"agent{i}@example.com",
            name=f"Agent {i}",
            password=PASSWORD,
            role=Role.AGENT,
            tier=1 + i % 3,
            team_id=teams[i % len(teams)].id,
        )
        for i in range(AGENTS)
    ]
    password_hash = agents[0].password_hash
    for start in range(0, CUSTOMERS, BATCH):
        rows = [
            {"email": f"c{i}@example.com", "name": f"Customer {i}", "password_hash": password_hash}
            for i in range(start, min(start + BATCH, CUSTOMERS))
        ]
        db.session.execute(insert(User), rows)
    db.session.commit()
    customers = list(db.session.scalars(select(User.id).where(User.role == Role.CUSTOMER)))
    return agents, [a.id for a in agents], customers


def _ticket_rows(rng: random.Random, count: int, agent_ids: list[int], customers: list[int]):
    categories = list(db.session.scalars(select(Category.id)))
    team_ids = list(db.session.scalars(select(Team.id)))
    statuses, weights = zip(*STATUSES, strict=True)
    now = clock.now()
    unique: set[str] = set()
    while len(unique) < count:
        unique.add(refs.new_ref())
    for i, ref in enumerate(sorted(unique)):
        opened = now - timedelta(minutes=rng.randint(5, 60 * 24 * 365))
        status = rng.choices(statuses, weights)[0]
        done = not status.is_active
        yield {
            "ref": ref,
            "subject": f"{rng.choice(SUBJECTS)} #{i}",
            "description": _text(rng, 2),
            "customer_id": rng.choice(customers),
            "category_id": rng.choice(categories),
            "priority": rng.choices(list(Priority), weights=[2, 6, 3, 1])[0],
            "status": status,
            "assignee_id": rng.choice(agent_ids) if rng.random() < 0.75 else None,
            "team_id": rng.choice(team_ids),
            "created_at": opened,
            "updated_at": opened + timedelta(minutes=rng.randint(0, 60 * 24 * 3)),
            "first_response_due": opened + timedelta(hours=rng.choice([1, 4, 8, 24])),
            "first_responded_at": opened + timedelta(minutes=30) if rng.random() < 0.8 else None,
            "next_update_due": now + timedelta(minutes=rng.randint(-600, 3000)),
            "resolution_due": opened + timedelta(days=rng.choice([1, 3, 5])),
            "resolved_at": opened + timedelta(days=2) if done else None,
            "closed_at": opened + timedelta(days=9) if status == Status.CLOSED else None,
            "sla_paused_at": now if status in (Status.PENDING, Status.RESOLVED) else None,
        }


def _event_rows(rng: random.Random, tickets, per_ticket: int, agent_ids: list[int]):
    kinds = [EventKind.REPLY, EventKind.REPLY, EventKind.NOTE, EventKind.STATUS_CHANGED]
    for ticket_id, customer_id, created, description in tickets:
        for n in range(per_ticket):
            kind = EventKind.CREATED if n == 0 else rng.choice(kinds)
            by_customer = kind == EventKind.CREATED or (kind == EventKind.REPLY and n % 2)
            body = description if n == 0 else _text(rng, rng.randint(1, 3))
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


def _insert(model, rows) -> int:
    batch, total = [], 0
    for row in rows:
        batch.append(row)
        if len(batch) == BATCH:
            db.session.execute(insert(model), batch)
            total += len(batch)
            batch = []
    if batch:
        db.session.execute(insert(model), batch)
        total += len(batch)
    db.session.commit()
    return total


def seed(tickets: int, per_ticket: int) -> dict:
    rng = random.Random(14)
    started = time.perf_counter()
    agents, agent_ids, customers = _people()
    _insert(Ticket, _ticket_rows(rng, tickets, agent_ids, customers))
    due.refresh(db.session.connection())
    db.session.commit()
    rows = db.session.execute(
        select(Ticket.id, Ticket.customer_id, Ticket.created_at, Ticket.description)
    )
    events = _insert(TicketEvent, _event_rows(rng, rows.all(), per_ticket, agent_ids))
    seeded = time.perf_counter() - started
    search.rebuild(db.session.connection())
    db.session.commit()
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql("VACUUM ANALYZE")
    else:
        db.session.execute(select(func.count()).select_from(Ticket))
        with db.engine.connect() as connection:
            connection.exec_driver_sql("ANALYZE")
    indexed = time.perf_counter() - started - seeded
    print(f"seeded_tickets: {tickets} tickets")
    print(f"seeded_events: {events} events")
    print(f"seed_seconds: {seeded:.1f} s")
    print(f"search_index_build_seconds: {indexed:.1f} s")
    team = db.session.scalar(select(Team.id).where(Team.name == "Payments & Trust"))
    sample = db.session.execute(
        select(Ticket.ref, User.email).join(User, User.id == Ticket.customer_id).limit(1)
    ).one()
    return {
        "agent": agents[0].email,
        "agent_ids": agent_ids[:2],
        "team": team,
        "ref": sample.ref,
        "email": sample.email,
    }


def measured(name: str, call, runs: int, warmup: int = 20) -> None:
    """Wall-clock p95 (the budget), and this process's CPU time per request beside it: on
    a shared, loaded machine the wall clock mostly measures waiting for a core, while the
    CPU time is the work (for SQLite, the database's included; PostgreSQL's is its own)."""
    cpu_before = time.process_time()
    report(name, timed(call, runs, warmup))
    cpu = (time.process_time() - cpu_before) / (runs + warmup) * 1000
    print(f"{name}_cpu_mean: {cpu:.2f} ms")


def searches(rng: random.Random, facts: dict) -> list[str]:
    typed = []
    for pattern in SEARCHES:
        text = pattern.format(
            order=rng.randint(10_000, 99_999), email=facts["email"], ref=facts["ref"]
        )
        typed.append(f"/queue?q={text}")
    return typed


def run(app, tickets: int, per_ticket: int, requests: int) -> None:
    with app.app_context():
        facts = seed(tickets, per_ticket)
        open_refs = list(
            db.session.scalars(
                select(Ticket.ref)
                .where(Ticket.status.in_([Status.OPEN, Status.NEW, Status.ON_HOLD]))
                .limit(BULK_SIZE * 2)
            )
        )
        db.session.remove()
    client = app.test_client()
    client.post("/login", data={"email": facts["agent"], "password": PASSWORD})
    filtered = f"/queue?team={facts['team']}&priority=high&sort=due"
    filtered_more = "/queue?unassigned=1&status=open&sort=-priority&page=3"
    for url in ("/queue", filtered, filtered_more):
        assert client.get(url).status_code == 200, url

    measured("queue", lambda: client.get("/queue"), requests)
    measured("queue_fragment", lambda: client.get("/queue", headers=HTMX), requests)
    measured("queue_filtered", lambda: client.get(filtered), requests)
    measured("queue_filtered_unassigned_open_page3", lambda: client.get(filtered_more), requests)
    typed = searches(random.Random(3), facts)
    for url in typed:
        assert client.get(url).status_code == 200, url
    cycle = iter(typed * (requests // len(typed) + 2))
    measured("search", lambda: client.get(next(cycle), headers=HTMX), requests, len(typed))
    for url in typed:  # each on its own, so a slow kind of search shows
        name = url.split("=", 1)[1].replace('"', "'")
        median = statistics.median(timed(lambda u=url: client.get(u), 10, 2))
        print(f"search_one[{name}]: {median:.2f} ms")

    with app.app_context():
        for name, url in (("queue", "/queue"), ("queue_filtered", filtered), ("search", typed[1])):
            with QueryCounter() as counter:
                client.get(url)
            print(f"{name}_queries: {counter.count} queries")
        db.session.remove()

    durations, cpu = [], []
    for run_number in range(BULK_RUNS):
        chosen = open_refs[:BULK_SIZE]
        with app.app_context():
            versions = dict(
                db.session.execute(
                    select(Ticket.ref, Ticket.version).where(Ticket.ref.in_(chosen))
                ).all()
            )
            db.session.remove()
        form = {
            "action": "assign",
            "assignee": str(facts["agent_ids"][run_number % 2]),
            "ticket": [f"{ref}:{versions[ref]}" for ref in chosen],
        }
        start, cpu_start = time.perf_counter(), time.process_time()
        response = client.post("/queue/bulk", data=form, headers=HTMX)
        durations.append(time.perf_counter() - start)
        cpu.append(time.process_time() - cpu_start)
        assert response.status_code == 200, response.status_code
        assert f"{BULK_SIZE} changed" in response.get_data(as_text=True) or run_number == 0
    print(f"bulk_assign_{BULK_SIZE}_median: {statistics.median(durations):.2f} s")
    print(f"bulk_assign_{BULK_SIZE}_max: {max(durations):.2f} s")
    print(f"bulk_assign_{BULK_SIZE}_cpu_median: {statistics.median(cpu):.2f} s")


def recreate_postgres() -> str:
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {PG_DATABASE} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {PG_DATABASE}")
    return f"postgresql+psycopg://postgres@127.0.0.1:5432/{PG_DATABASE}"


def drop_postgres() -> None:
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {PG_DATABASE} WITH (FORCE)")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--tickets", type=int, default=200_000)
    parser.add_argument("--events-per-ticket", type=int, default=10)
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args(argv)
    with EmbeddedRedis() as redis:
        overrides = {"REDIS_URL": redis.url}
        if args.database == "postgresql":
            overrides["SQLALCHEMY_DATABASE_URI"] = recreate_postgres()
        app, _tmp = bench_app(**overrides)
        print(f"database: {args.database}")
        try:
            run(app, args.tickets, args.events_per_ticket, args.requests)
        finally:
            if args.database == "postgresql":
                with app.app_context():
                    db.engine.dispose()
                drop_postgres()


if __name__ == "__main__":
    main()
