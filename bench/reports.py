"""The reports page and its CSV export at 200,000 tickets and 2,000,000 events.

Run from the repo root: .venv/bin/python bench/reports.py
                   or: .venv/bin/python bench/reports.py --database postgresql
                   a small run: .venv/bin/python bench/reports.py --tickets 20000
Budget (SPEC §9): /reports for a 90-day range p95 under 300 ms; a year's CSV export
streamed in constant memory (its peak is printed next to a 90-day export's).

SQLite in a temporary directory by default; `--database postgresql` recreates the
database `support_bench_reports` on 127.0.0.1:5432 (trust auth, user postgres) and
drops it afterwards. Seeding the full size takes a quarter of an hour or more, so
`--keep` keeps the data for the next run: `--keep FILE` (SQLite: a database file,
seeded when it has no tickets yet) or `--keep [NAME]` with PostgreSQL (that database,
`support_bench_reports` by default, is seeded once and never dropped; `--fresh`
recreates it). A kept run prints each figure the same.
`--copy-from FILE` fills an empty kept PostgreSQL database from a kept SQLite file (COPY:
the same data on both engines, in minutes rather than a seeding's hour on a busy machine).

Before measuring, the sweep's roll-up (support/reports/facts.py) brings the per-ticket
facts up to date, timed (`facts_refresh_seconds`); `--raw` skips it, so the page works
every figure out from the tickets and their timelines, as it did before the facts.

Tickets span the 400 days before now, ten events each (filing,
answers, a wait for the customer, notes, resolution, now and then an escalation or
a reopen), a rating on a third of the resolved ones; "high" runs on business hours.
The data is bulk-inserted with SQLAlchemy Core: its shape matters here, not the
service path that tests cover.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import time
import tracemalloc
from datetime import datetime, timedelta

import psutil
import psycopg
import seeding
from common import QueryCounter, bench_app, p95
from sqlalchemy import inspect, select, text

from support import clock
from support.auth import accounts
from support.extensions import db
from support.models import (
    Category,
    EventKind,
    Priority,
    Rating,
    Role,
    SlaPolicy,
    Status,
    Team,
    Ticket,
    TicketEvent,
)
from support.models.ticket import Channel
from support.reports import facts
from support.tickets import due, sla

PASSWORD = "bench-password-1"
AGENTS = 20
CUSTOMERS = 2_000
DAYS = 400
BATCH = 5_000  # tickets per insert batch (their events: ten times as many)
PG_ADMIN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"
PG_DATABASE = "support_bench_reports"
CHANNELS = [Channel.PORTAL] * 5 + [Channel.EMAIL] * 3 + [Channel.PHONE, Channel.CHAT, Channel.API]
COMMENTS = ["Quick and clear, thank you", "Took a while but solved", "Still not happy", None, None]


def _people() -> tuple[str, list[int], list[int]]:
    """Three teams of agents and the customers (bench/seeding.py), a business-hours
    policy for "high" and an admin: the admin's email, the agents' and customers' ids."""
    agents, customers = seeding.people(AGENTS, CUSTOMERS, PASSWORD)
    db.session.add(
        SlaPolicy(
            priority="high",
            first_response_minutes=240,
            update_minutes=480,
            resolution_minutes=960,
            business_hours=True,
        )
    )
    db.session.commit()
    admin = accounts.create_user(
        email="admin@example.com", name="Ada Admin", password=PASSWORD, role=Role.ADMIN, tier=3
    )
    return admin.email, [agent.id for agent in agents], customers


def _ticket(rng: random.Random, i: int, now: datetime, people: dict) -> tuple[dict, list, dict]:
    """One ticket's row, its ten events and perhaps its rating, as the service would
    have left them (due times moved on by the wait for the customer)."""
    opened = now - timedelta(minutes=rng.randint(10, DAYS * 24 * 60))
    priority = rng.choices(list(Priority), weights=[2, 6, 3, 1])[0]
    targets = people["targets"][priority]
    bh = targets.business_hours
    agent = rng.choice(people["agents"]) if rng.random() < 0.85 else None
    customer = rng.choice(people["customers"])
    answered = opened + timedelta(minutes=int(rng.expovariate(1 / 240)) + 5)
    waited = timedelta(minutes=int(rng.expovariate(1 / 600)) + 10)
    back = answered + waited
    done = back + timedelta(minutes=int(rng.expovariate(1 / 900)) + 10)
    if answered > now:
        answered = None
    finished = done < now and rng.random() < 0.92
    fr_due = sla.add_time(opened, targets.first_response, bh)
    res_due = sla.add_time(opened, targets.resolution, bh)
    if answered and back < now and res_due > answered:  # the wait moved the due on
        res_due = sla.add_time(back, sla.time_between(answered, res_due, bh), bh)
    status = Status.RESOLVED if finished else (Status.OPEN if answered else Status.NEW)
    row = {
        "id": i,
        "ref": f"SUP-B{i:07d}",
        "subject": f"Bench ticket {i}",
        "description": "Loaded in bulk for the reports benchmark.",
        "customer_id": customer,
        "channel": rng.choice(CHANNELS),
        "category_id": rng.choice(people["categories"]),
        "priority": priority,
        "status": status,
        "assignee_id": agent,
        "team_id": rng.choice(people["teams"]),
        "created_at": opened,
        "updated_at": done if finished else opened,
        "first_response_due": fr_due,
        "next_update_due": fr_due,
        "resolution_due": res_due,
        "first_responded_at": answered,
        "resolved_at": done if finished else None,
        "sla_paused_at": done if finished else None,
        "tier": 1,
    }
    events = [(EventKind.CREATED, opened, customer, None)]
    if answered:
        events += [
            (EventKind.REPLY, answered, agent or people["agents"][0], None),
            (EventKind.STATUS_CHANGED, answered, agent, {"from": "open", "to": "pending"}),
        ]
        if back < now:
            events += [
                (EventKind.REPLY, back, customer, None),
                (EventKind.STATUS_CHANGED, back, None, {"from": "pending", "to": "open"}),
            ]
    if rng.random() < 0.05:
        events.append(
            (
                EventKind.ESCALATED,
                opened + timedelta(hours=2),
                None,
                {"from": "open", "to": "escalated"},
            )
        )
    if finished:
        events.append((EventKind.STATUS_CHANGED, done, agent, {"from": "open", "to": "resolved"}))
    while len(events) < 10:
        events.append((EventKind.NOTE, opened + timedelta(minutes=len(events)), agent, None))
    event_rows = [
        {
            "ticket_id": i,
            "kind": kind,
            "actor_id": actor,
            "is_public": kind != EventKind.NOTE,
            "body_text": "Bench event.",
            "data": data,
            "created_at": at,
        }
        for kind, at, actor, data in events[:10]
    ]
    rating = None
    if finished and rng.random() < 0.33 and done + timedelta(days=1) < now:
        rating = {
            "ticket_id": i,
            "score": rng.choices([1, 2, 3, 4, 5], [1, 1, 2, 4, 6])[0],
            "comment": rng.choice(COMMENTS),
            "created_at": done + timedelta(days=1),
            "updated_at": done + timedelta(days=1),
        }
    return row, event_rows, rating


def seed(tickets: int, seed_value: int = 15) -> str:
    """Bulk-load `tickets` tickets (and ten events each); returns the admin's email."""
    rng = random.Random(seed_value)
    admin, agents, customers = _people()
    people = {
        "agents": agents,
        "customers": customers,
        "teams": list(db.session.scalars(select(Team.id))),
        "categories": list(db.session.scalars(select(Category.id))),
        "targets": {p: sla.targets_for(p) for p in Priority},
    }
    now = clock.now()
    for start in range(1, tickets + 1, BATCH):
        rows, events, ratings = [], [], []
        for i in range(start, min(start + BATCH, tickets + 1)):
            row, event_rows, rating = _ticket(rng, i, now, people)
            rows.append(row)
            events += event_rows
            if rating:
                ratings.append(rating)
        seeding.insert_batched(Ticket, rows)
        seeding.insert_batched(TicketEvent, events)
        seeding.insert_batched(Rating, ratings)
    due.refresh(db.session.connection())
    if db.engine.dialect.name == "postgresql":
        db.session.execute(text("SELECT setval('tickets_id_seq', (SELECT max(id) FROM tickets))"))
        db.session.execute(text("ANALYZE"))
    else:
        db.session.execute(text("ANALYZE"))
    db.session.commit()
    return admin


def postgres(name: str, *, fresh: bool) -> str:
    """The database `name`: recreated when `fresh`, else made (empty) if missing."""
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        if fresh:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        found = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
        if found.fetchone() is None:
            conn.execute(f"CREATE DATABASE {name}")
    return f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"


def drop_postgres(name: str) -> None:
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def _export_peak(client, url: str) -> tuple[int, float, float]:
    """Lines, seconds and the peak Python memory (MiB) while streaming `url`."""
    tracemalloc.start()
    started = time.perf_counter()
    response = client.get(url, buffered=False)
    lines = 0
    for chunk in response.response:
        lines += chunk.count("\n") if isinstance(chunk, str) else chunk.count(b"\n")
    response.close()
    seconds = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return lines, seconds, peak / 2**20


def _backend() -> psutil.Process | None:
    """The PostgreSQL server process serving the app's one connection (its CPU is the
    database's share of a request), or None on SQLite (in process: already counted)."""
    if db.engine.dialect.name != "postgresql":
        return None
    return psutil.Process(db.session.scalar(text("SELECT pg_backend_pid()")))


def _cpu(process: psutil.Process | None) -> float:
    if process is None:
        return 0.0
    times = process.cpu_times()
    return times.user + times.system


def timed_cpu(app, name: str, call, runs: int, warmup: int = 3) -> None:
    """Wall-clock and CPU milliseconds per request: ours (process time) plus, on
    PostgreSQL, the server process's. On a loaded machine the wall clock mostly
    measures the wait for a core; the CPU figures are the steadier ones."""
    with app.app_context():
        backend = _backend()
        db.session.remove()
    for _ in range(warmup):
        call()
    wall, ours, server = [], [], []
    for _ in range(runs):
        started, cpu, db_cpu = time.perf_counter(), time.process_time(), _cpu(backend)
        call()
        wall.append((time.perf_counter() - started) * 1000)
        ours.append((time.process_time() - cpu) * 1000)
        server.append((_cpu(backend) - db_cpu) * 1000)
    cpu_total = [a + b for a, b in zip(ours, server, strict=True)]
    print(f"{name}_median: {statistics.median(wall):.2f} ms")
    print(f"{name}_p95: {p95(wall):.2f} ms")
    print(f"{name}_cpu_p95: {p95(cpu_total):.2f} ms")
    if backend is not None:
        print(f"{name}_cpu_p95_app_db: {p95(ours):.2f} ms + {p95(server):.2f} ms")


def measure(app, email: str, requests: int, export: bool = True) -> None:
    client = app.test_client()
    client.post("/login", data={"email": email, "password": PASSWORD})
    today = clock.now().date()
    quarter = f"from={today - timedelta(days=89)}&to={today}"
    year = f"from={today - timedelta(days=365)}&to={today}"
    page = f"/reports?{quarter}"
    assert client.get(page).status_code == 200
    print(f"load_average: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    timed_cpu(app, "reports_90d", lambda: client.get(page), requests)
    weekly = f"/reports?{quarter}&group=week&channel=email"
    timed_cpu(app, "reports_90d_filtered", lambda: client.get(weekly), requests)
    with app.app_context():
        with QueryCounter() as counter:
            client.get(page)
        print(f"reports_queries: {counter.count} queries")
        db.session.remove()
    for name, span in (("90d", quarter), ("year", year)) if export else ():
        lines, seconds, peak = _export_peak(client, f"/reports/export/tickets.csv?{span}")
        print(f"csv_tickets_{name}_rows: {lines - 1} rows")
        print(f"csv_tickets_{name}_seconds: {seconds:.2f} s")
        print(f"csv_tickets_{name}_peak_memory: {peak:.1f} MiB")
    print(f"load_average_after: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")


def copy_from_sqlite(path: str) -> None:
    """Every table the SQLite file has rows in and the (new) PostgreSQL database has
    none in, by COPY in the tables' dependency order; then the id sequences and ANALYZE."""
    import sqlite3

    source = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    connection = db.engine.raw_connection()
    try:
        cursor = connection.cursor()
        for table in db.metadata.sorted_tables:
            if table.name.startswith("report_"):
                continue  # the kept facts: worked out here, by refresh_facts
            names = [column.name for column in table.columns]
            cursor.execute(f"SELECT count(*) FROM {table.name}")
            if cursor.fetchone()[0]:
                continue
            found = source.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (table.name,)
            ).fetchone()
            if not found:
                continue
            rows = source.execute(f"SELECT {', '.join(names)} FROM {table.name}")
            columns = ", ".join(names)
            copied = 0
            with cursor.copy(f"COPY {table.name} ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row([None if v is None else str(v) for v in row])
                    copied += 1
            if copied and "id" in names and table.c.id.autoincrement is not False:
                cursor.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                    f"(SELECT max(id) FROM {table.name}))"
                )
            print(f"copied_{table.name}: {copied} rows")
        connection.commit()
        cursor.execute("ANALYZE")
        connection.commit()
    finally:
        connection.close()
        source.close()


def fit_kept_tables(app) -> None:
    """Data kept by an older version: the sweep's tables (report_*, all made again from
    the tickets) are made anew when any of them has other columns or indexes than the
    models."""
    with app.app_context():
        inspector = inspect(db.engine)
        kept = [table for table in db.metadata.sorted_tables if table.name.startswith("report_")]
        if any(
            {column["name"] for column in inspector.get_columns(table.name)} != set(table.c.keys())
            or _indexes(inspector.get_indexes(table.name)) != _indexes(table.indexes)
            for table in kept
        ):
            db.metadata.drop_all(db.engine, tables=kept)
            db.metadata.create_all(db.engine, tables=kept)
            print("kept_tables_remade: yes")
        db.session.remove()
        added = _add_missing_indexes()
        print(f"kept_indexes_added: {', '.join(added) or 'none'}")
        db.session.remove()


def _add_missing_indexes() -> list[str]:
    """Indexes the models gained since the data was kept, made on it (then ANALYZE)."""
    added = []
    with db.engine.begin() as connection:  # one connection: the bench's pool has one
        inspector = inspect(connection)
        for table in db.metadata.sorted_tables:
            existing = {index["name"] for index in inspector.get_indexes(table.name)}
            for index in table.indexes:
                if index.name not in existing:
                    index.create(connection)
                    added.append(index.name)
        if added:
            connection.execute(text("ANALYZE"))
    return added


def _indexes(found) -> set[tuple]:
    """Indexes by name and columns, as the database reports them or the models have them."""
    return {
        (i["name"], tuple(i["column_names"]))
        if isinstance(i, dict)
        else (i.name, tuple(c.name for c in i.columns))
        for i in found
    }


KEPT_TABLES = ("report_ticket_facts", "report_backlog_spans", "report_event_counts")


def refresh_facts(app) -> None:
    """What the sweep does every minute, all at once: the per-ticket facts up to date."""
    with app.app_context():
        started, cpu = time.perf_counter(), time.process_time()
        worked = facts.refresh(clock.now(), max_batches=10_000)
        print(f"facts_refresh_tickets: {worked} tickets")
        print(f"facts_refresh_seconds: {time.perf_counter() - started:.1f} s")
        print(f"facts_refresh_cpu_seconds: {time.process_time() - cpu:.1f} s")
        db.session.execute(text("ANALYZE"))  # the new tables' statistics, for the planner
        db.session.commit()
        db.session.remove()
        if db.engine.dialect.name == "postgresql":
            # What autovacuum does after that many inserts: the visibility map set, so
            # the kept tables' covering indexes are read without visiting the rows.
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
                c.execute(text(f"VACUUM (ANALYZE) {', '.join(KEPT_TABLES)}"))


def _seeded(app, tickets: int) -> str:
    """Seed unless the (kept) database already has tickets; the admin's email."""
    with app.app_context():
        found = db.session.scalar(select(db.func.count(Ticket.id)))
        if found:
            print(f"seed_reused: {found} tickets")
            db.session.remove()
            return "admin@example.com"
        started = time.perf_counter()
        email = seed(tickets)
        print(f"seed_tickets: {tickets} tickets")
        print(f"seed_events: {db.session.scalar(select(db.func.count(TicketEvent.id)))} events")
        print(f"seed_seconds: {time.perf_counter() - started:.1f} s")
        db.session.remove()
        return email


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--tickets", type=int, default=200_000)
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument(
        "--keep",
        nargs="?",
        const="",
        default=None,
        metavar="FILE",
        help="keep the seeded data: SQLite, the database file to use; PostgreSQL, "
        f"a database name (none: {PG_DATABASE})",
    )
    parser.add_argument("--fresh", action="store_true", help="with --keep: seed again")
    parser.add_argument("--copy-from", metavar="FILE", help="PostgreSQL: load a kept SQLite file")
    parser.add_argument("--raw", action="store_true", help="measure without the kept facts")
    parser.add_argument("--no-export", action="store_true", help="measure the page only")
    args = parser.parse_args()
    overrides: dict = {}
    keep = args.keep is not None
    pg_name = args.keep or PG_DATABASE
    if args.database == "postgresql":
        fresh = args.fresh or not keep
        overrides["SQLALCHEMY_DATABASE_URI"] = postgres(pg_name, fresh=fresh)
        # One connection, so one server process whose CPU time is the database's share.
        overrides["SQLALCHEMY_ENGINE_OPTIONS"] = {"pool_size": 1, "max_overflow": 0}
    elif keep:
        if not args.keep:
            parser.error("--keep needs the SQLite file to keep the data in")
        if args.fresh and os.path.exists(args.keep):
            os.remove(args.keep)
        overrides["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{os.path.abspath(args.keep)}"
    try:
        app, _tmp = bench_app(**overrides)
        if args.copy_from:
            with app.app_context():
                copy_from_sqlite(args.copy_from)
        fit_kept_tables(app)
        email = _seeded(app, args.tickets)
        if not args.raw:
            refresh_facts(app)
        measure(app, email, args.requests, export=not args.no_export)
        with app.app_context():
            db.engine.dispose()
    finally:
        if args.database == "postgresql" and not keep:
            drop_postgres(pg_name)


if __name__ == "__main__":
    main()
