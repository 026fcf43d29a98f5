"""Seed the load test's database (DATABASE_URL): 20 agents, 2,000 customers, 10,000
open tickets each with its opening event, then VACUUM (ANALYZE). Called by bench/load.py and
bench/request_cost.py."""

from __future__ import annotations

import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from board import _people, _ticket_rows
from sqlalchemy import insert, select, text

from support import create_app
from support.extensions import db
from support.models import EventKind, Ticket, TicketEvent
from support.tickets import due
from support.tickets.categories import ensure_default_categories


def main() -> None:
    app = create_app()
    with app.app_context():
        ensure_default_categories()
        rng = random.Random(11)
        _, agent_ids, customer_ids = _people()
        db.session.execute(insert(Ticket), _ticket_rows(rng, agent_ids, customer_ids))
        due.refresh(db.session.connection())  # a Core insert: work the stored due columns out
        db.session.commit()
        tickets = db.session.execute(select(Ticket.id, Ticket.customer_id, Ticket.created_at))
        events = [
            {
                "ticket_id": t,
                "kind": EventKind.CREATED,
                "actor_id": c,
                "is_public": True,
                "body_text": "A realistic description of the problem.",
                "created_at": at,
            }
            for t, c, at in tickets
        ]
        db.session.execute(insert(TicketEvent), events)
        db.session.commit()
        analyze()


def analyze() -> None:
    """Planner statistics and a vacuumed table for the bulk-inserted rows, as a live
    database has them (autovacuum does both, after its next nap).

    Without statistics PostgreSQL plans the first minute of the load for empty tables:
    a ticket's timeline hash-joins every ticket instead of reading three rows by index,
    ~6 ms of server CPU a page. Without the vacuum, every ticket has a dead copy (the
    Core insert's due-time UPDATE above) and no page is marked all-visible: the board's
    column counts scan both copies (958 pages) instead of ix_tickets_board alone, 10.5
    ms of server CPU a board instead of 3.5 (pgbench vacuums before a run for the same
    reason). SQLite has no dead copies to clean: ANALYZE alone.
    """
    with db.engine.connect() as connection:
        postgresql = connection.dialect.name == "postgresql"
        statement = "VACUUM (ANALYZE)" if postgresql else "ANALYZE"
        connection.execution_options(isolation_level="AUTOCOMMIT").execute(text(statement))


if __name__ == "__main__":
    main()
