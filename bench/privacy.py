"""Export and erasure of one customer with 1,000 tickets and 20,000 events (issue 13).

Seeds (by bulk insert, as the other benches do) a customer with 1,000 tickets, 20
events each (replies both ways, internal notes, status changes), 200 attachments on
disk, ratings and notifications, plus another customer's tickets that must stay. Then
builds the export zip (support/privacy/export.py, the job's code) and runs the
erasure (support/privacy/erasure.py), timing each and counting SQL statements; the
statements per ticket batch come from the difference between two customers of
different sizes, so the fixed part cancels out. Budget: each under 10 s, constant
statements per batch.
"""

from __future__ import annotations

import io
import os
import secrets
import time
import zipfile
from datetime import timedelta

from common import QueryCounter, bench_app
from sqlalchemy import insert, select

from support import clock
from support.extensions import db
from support.models import (
    Attachment,
    DataExport,
    EventKind,
    Notification,
    Rating,
    Role,
    Status,
    Ticket,
    TicketEvent,
    User,
)
from support.privacy import erasure, export
from support.tickets import attachments

TICKETS = 1_000
EVENTS_PER_TICKET = 20
FILES = 200


def seed_customer(name: str, tickets: int, agent_id: int, files: int) -> User:
    user = User(
        email=f"{name.lower()}@example.com",
        name=f"{name} Example",
        password_hash="x",
        role=Role.CUSTOMER,
    )
    db.session.add(user)
    db.session.flush()
    now = clock.now() - timedelta(days=30)
    rows = [
        {
            "ref": f"SUP-{secrets.token_hex(5).upper()}",
            "subject": f"{name}'s order {n}",
            "description": f"Order {n} for {name} Example went missing.",
            "customer_id": user.id,
            "status": Status.CLOSED if n % 2 else Status.OPEN,
            "created_at": now,
            "updated_at": now,
            "closed_at": now if n % 2 else None,
        }
        for n in range(tickets)
    ]
    db.session.execute(insert(Ticket), rows)
    ids = list(db.session.scalars(select(Ticket.id).where(Ticket.customer_id == user.id)))
    events = []
    for ticket_id in ids:
        for k in range(EVENTS_PER_TICKET):
            kind, public, actor = EventKind.REPLY, True, user.id if k % 2 else agent_id
            if k % 7 == 3:
                kind, public, actor = EventKind.NOTE, False, agent_id
            body = f"Message {k} about {name} Example's order " + "words " * 30
            events.append(
                {
                    "ticket_id": ticket_id,
                    "kind": kind,
                    "actor_id": actor,
                    "is_public": public,
                    "body_text": body,
                    "body_html": f"<p>{body}</p>",
                    "created_at": now,
                }
            )
    for start in range(0, len(events), 20_000):
        db.session.execute(insert(TicketEvent), events[start : start + 20_000])
    first_events = dict(
        db.session.execute(
            select(TicketEvent.ticket_id, TicketEvent.id)
            .where(TicketEvent.ticket_id.in_(ids[:files]), TicketEvent.is_public.is_(True))
            .order_by(TicketEvent.id.desc())
        ).all()
    )
    attachment_rows = []
    for ticket_id in ids[:files]:
        stored = attachments.store("photo.txt", io.BytesIO(os.urandom(20_000)))
        attachment_rows.append(
            {
                "ticket_id": ticket_id,
                "event_id": first_events[ticket_id],
                "filename": stored.filename,
                "content_type": stored.content_type,
                "size": stored.size,
                "sha256": stored.sha256,
                "storage_key": stored.storage_key,
                "uploaded_by_id": user.id,
            }
        )
    if attachment_rows:
        db.session.execute(insert(Attachment), attachment_rows)
    db.session.execute(
        insert(Rating),
        [
            {
                "ticket_id": i,
                "score": 4,
                "comment": f"{name} likes it",
                "created_at": now,
                "updated_at": now,
            }
            for i in ids[::2]
        ],
    )
    db.session.execute(
        insert(Notification),
        [{"user_id": user.id, "ticket_id": i, "text": f"Reply on your order, {name}"} for i in ids],
    )
    db.session.commit()
    return user


def timed_export(user: User) -> tuple[float, int, DataExport]:
    built = export.ask(user)
    with QueryCounter() as counter:
        start = time.perf_counter()
        export.build(built.id)
        seconds = time.perf_counter() - start
    return seconds, counter.count, db.session.get(DataExport, built.id)


def timed_erasure(user: User, admin: User) -> tuple[float, int]:
    request = erasure.ask(user, by=admin)
    erasure.confirm(request, by=admin)
    with QueryCounter() as counter:
        start = time.perf_counter()
        erasure.run(request.id)
        seconds = time.perf_counter() - start
    return seconds, counter.count


def main() -> None:
    app, tmp = bench_app()
    with app.app_context():
        app.config["EXPORT_FOLDER"] = os.path.join(tmp.name, "exports")
        agent = User(
            email="agent@example.com", name="Agent", password_hash="x", role=Role.AGENT, tier=1
        )
        admin = User(
            email="admin@example.com", name="Admin", password_hash="x", role=Role.ADMIN, tier=3
        )
        db.session.add_all([agent, admin])
        db.session.commit()
        big = seed_customer("Dana", TICKETS, agent.id, FILES)
        small = seed_customer("Sam", TICKETS // 2, agent.id, FILES // 2)
        seed_customer("Olga", 100, agent.id, 10)  # someone else, who must stay

        seconds, queries, built = timed_export(big)
        _, small_queries, _ = timed_export(small)
        batches = (TICKETS - TICKETS // 2) / export.BATCH
        with zipfile.ZipFile(export.path_of(built)) as zf:
            entries = len(zf.namelist())
        print(f"export_seconds: {seconds:.2f} s")
        print(f"export_zip_size: {built.size / 1_048_576:.1f} MB")
        print(f"export_zip_entries: {entries} files")
        print(f"export_queries: {queries} statements")
        print(
            f"export_queries_per_batch: {(queries - small_queries) / batches:.1f} statements "
            f"(batch of {export.BATCH} tickets)"
        )

        seconds, queries = timed_erasure(big, admin)
        _, small_queries = timed_erasure(small, admin)
        batches = (TICKETS - TICKETS // 2) / erasure.BATCH
        print(f"erasure_seconds: {seconds:.2f} s")
        print(f"erasure_queries: {queries} statements")
        print(
            f"erasure_queries_per_batch: {(queries - small_queries) / batches:.1f} statements "
            f"(batch of {erasure.BATCH} tickets)"
        )
        left = db.session.scalar(
            select(TicketEvent.id).where(TicketEvent.body_text.contains("Dana"))
        )
        print(f"erasure_rows_left_with_name: {0 if left is None else 1} rows")
    tmp.cleanup()


if __name__ == "__main__":
    main()
