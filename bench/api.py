"""The JSON API with 10,000 tickets: the ticket list and a ticket read with 500 events.

Run from the repo root: .venv/bin/python bench/api.py
                   or: .venv/bin/python bench/api.py --database postgresql
Budget (issue 16): the list (50 a page) and the read (500 events) p95 under 30 ms,
and the same number of queries whatever the page size (no N+1).

SQLite in a temporary directory by default; `--database postgresql` recreates the
database `support_bench_api` on 127.0.0.1:5432 (trust auth, user postgres) and
drops it afterwards. The people and tickets are board.py's (bulk-inserted with
SQLAlchemy Core, then `due.refresh`), each with its opening event and a third with
tags; one ticket has a 500-event timeline of replies, notes and status changes,
every tenth event with an attachment row. Requests go through the Flask test
client with a read-only token of an agent, as an integration would send them.
"""

from __future__ import annotations

import argparse
import random
from datetime import timedelta

import psycopg
from board import _people, _ticket_rows
from common import QueryCounter, bench_app, report, timed
from sqlalchemy import insert, select

from support.api import tokens
from support.extensions import db
from support.models import (
    Attachment,
    EventKind,
    Status,
    Tag,
    Ticket,
    TicketEvent,
    TokenScope,
    User,
    ticket_tags,
)
from support.text import plain_to_html
from support.tickets import due

REQUESTS = 200
TIMELINE = 500  # events on the busy ticket, its opening event included
LIMIT = 50
DEEP_PAGE = 100  # the "further along" page: about half way down 10,000 tickets
TAGS = ["refund", "vip", "chargeback", "fraud", "shipping", "login", "payout", "bug"]
SEARCH = "?q=refund"  # one subject in eight
FILTERED = "?status=open&priority=high"
PG_ADMIN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"
PG_DATABASE = "support_bench_api"


def _tags(rng: random.Random, ticket_ids: list[int]) -> None:
    db.session.execute(insert(Tag), [{"name": name} for name in TAGS])
    tag_ids = list(db.session.scalars(select(Tag.id)))
    rows = [
        {"ticket_id": ticket_id, "tag_id": tag_id}
        for ticket_id in ticket_ids
        if rng.random() < 0.33
        for tag_id in rng.sample(tag_ids, rng.randint(1, 2))
    ]
    db.session.execute(insert(ticket_tags), rows)


def _timeline(rng: random.Random, busy: Ticket, agent_ids: list[int]) -> None:
    """TIMELINE - 1 events after the opening one: replies both ways, notes, status changes."""
    body = "Thanks, we are looking into it and will write again soon. " * 3
    html = str(plain_to_html(body))
    rows = []
    for n in range(1, TIMELINE):
        roll = rng.random()
        kind = EventKind.REPLY if roll < 0.75 else EventKind.NOTE
        kind = EventKind.STATUS_CHANGED if roll >= 0.92 else kind
        by_customer = kind == EventKind.REPLY and n % 2
        rows.append(
            {
                "ticket_id": busy.id,
                "kind": kind,
                "actor_id": busy.customer_id if by_customer else rng.choice(agent_ids),
                "is_public": kind != EventKind.NOTE,
                "body_text": None if kind == EventKind.STATUS_CHANGED else body,
                "body_html": None if kind == EventKind.STATUS_CHANGED else html,
                "data": {"from": "pending", "to": "open"}
                if kind == EventKind.STATUS_CHANGED
                else None,
                "created_at": busy.created_at + timedelta(minutes=5 * n),
            }
        )
    db.session.execute(insert(TicketEvent), rows)
    event_ids = db.session.scalars(
        select(TicketEvent.id)
        .where(TicketEvent.ticket_id == busy.id, TicketEvent.kind != EventKind.STATUS_CHANGED)
        .order_by(TicketEvent.id)
    ).all()
    attachments = [
        {
            "ticket_id": busy.id,
            "event_id": event_id,
            "filename": f"screenshot-{i}.png",
            "content_type": "image/png",
            "size": 48_000 + i,
            "sha256": f"{i:064x}",
            "storage_key": f"bench-{i:08d}",
            "uploaded_by_id": busy.customer_id,
            "created_at": busy.created_at,
        }
        for i, event_id in enumerate(event_ids[::10])
    ]
    db.session.execute(insert(Attachment), attachments)


def seed() -> tuple[str, str]:
    """The read token's secret and the busy ticket's reference."""
    rng = random.Random(16)
    agent, agent_ids, customer_ids = _people()
    db.session.execute(insert(Ticket), _ticket_rows(rng, agent_ids, customer_ids))
    due.refresh(db.session.connection())  # a Core insert: work the stored due columns out
    db.session.commit()
    tickets = db.session.execute(select(Ticket.id, Ticket.customer_id, Ticket.created_at)).all()
    opening = [
        {
            "ticket_id": ticket_id,
            "kind": EventKind.CREATED,
            "actor_id": customer_id,
            "is_public": True,
            "body_text": "A realistic description of the problem.",
            "created_at": created,
        }
        for ticket_id, customer_id, created in tickets
    ]
    db.session.execute(insert(TicketEvent), opening)
    _tags(rng, [t.id for t in tickets])
    # The busy ticket: an open one half way down the list, assigned, with a long timeline.
    candidates = db.session.scalars(
        select(Ticket.id)
        .where(Ticket.status == Status.OPEN, Ticket.assignee_id.is_not(None))
        .order_by(Ticket.id)
    ).all()
    busy = db.session.get(Ticket, candidates[len(candidates) // 2])
    _timeline(rng, busy, agent_ids)
    db.session.commit()
    token = tokens.create(db.session.get(User, agent.id), name="bench", scope=TokenScope.READ)
    return token.secret, busy.ref


def recreate_postgres() -> str:
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {PG_DATABASE} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {PG_DATABASE}")
    return f"postgresql+psycopg://postgres@127.0.0.1:5432/{PG_DATABASE}"


def drop_postgres() -> None:
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {PG_DATABASE} WITH (FORCE)")


def queries(app, client, url: str, headers: dict[str, str]) -> int:
    """SQL statements for one request, after one untimed (so the token's last-use
    write, at most once a minute, is not counted)."""
    client.get(url, headers=headers)
    with app.app_context():
        with QueryCounter() as counter:
            response = client.get(url, headers=headers)
        db.session.remove()
    assert response.status_code == 200, (url, response.status_code)
    return counter.count


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    args = parser.parse_args(argv)
    overrides = {}
    if args.database == "postgresql":
        overrides["SQLALCHEMY_DATABASE_URI"] = recreate_postgres()
    app, _tmp = bench_app(**overrides)
    try:
        run(app)
    finally:
        if args.database == "postgresql":
            with app.app_context():
                db.engine.dispose()
            drop_postgres()


def run(app) -> None:
    with app.app_context():
        secret, ref = seed()
        db.session.remove()
    client = app.test_client()
    auth = {"Authorization": f"Bearer {secret}"}

    first = f"/api/v1/tickets?limit={LIMIT}"
    cursor = None
    for _ in range(DEEP_PAGE - 1):  # follow next_cursor as a client paging through would
        page = client.get(first + (f"&cursor={cursor}" if cursor else ""), headers=auth).json
        cursor = page["next_cursor"]
    deep = f"{first}&cursor={cursor}"
    read = f"/api/v1/tickets/{ref}?events_limit={TIMELINE}"
    search = f"/api/v1/tickets{SEARCH}&limit={LIMIT}"
    filtered = f"/api/v1/tickets{FILTERED}&limit={LIMIT}"
    for url in (first, deep, read, search, filtered):
        response = client.get(url, headers=auth)
        assert response.status_code == 200, (url, response.status_code, response.data[:300])
    assert len(client.get(deep, headers=auth).json["items"]) == LIMIT
    detail = client.get(read, headers=auth).json
    assert len(detail["events"]) == TIMELINE, len(detail["events"])
    assert sum(len(e["attachments"]) for e in detail["events"]) > 0

    def get(url: str):
        return lambda: client.get(url, headers=auth)

    report("api_ticket_list", timed(get(first), REQUESTS))
    report("api_ticket_list_deep", timed(get(deep), REQUESTS))
    report("api_ticket_read", timed(get(read), REQUESTS))
    report("api_ticket_search", timed(get(search), REQUESTS))
    report("api_ticket_filtered", timed(get(filtered), REQUESTS))

    # Queries per request, at two page sizes each: the same count means no N+1.
    for name, url, small in (
        ("api_ticket_list", first, first.replace(f"limit={LIMIT}", "limit=5")),
        ("api_ticket_list_deep", deep, deep.replace(f"limit={LIMIT}", "limit=5")),
        ("api_ticket_read", read, read.replace(f"events_limit={TIMELINE}", "events_limit=5")),
        ("api_ticket_search", search, search.replace(f"limit={LIMIT}", "limit=5")),
        ("api_ticket_filtered", filtered, filtered.replace(f"limit={LIMIT}", "limit=5")),
    ):
        print(f"{name}_queries: {queries(app, client, url, auth)} queries")
        print(f"{name}_queries_small_page: {queries(app, client, small, auth)} queries")


if __name__ == "__main__":
    main()
