"""People and tickets for the board tests, plus a bulk loader for the scale tests."""

from __future__ import annotations

import html
import itertools
import re
from datetime import timedelta

import pytest
from sqlalchemy import delete, insert, select, text

from support import clock
from support.extensions import db
from support.models import Category, Priority, Status, Team, Ticket, User
from support.tickets import due, refs, search

HX = {"HX-Request": "true"}
BULK_DESCRIPTION = "Loaded in bulk for a scale test."
_bulk_seq = itertools.count(1)


@pytest.fixture
def customer(make) -> User:
    return make.customer(name="Casey Customer")


@pytest.fixture
def agent(make) -> User:
    return make.agent(name="Alex Agent")


@pytest.fixture
def colleague(make) -> User:
    return make.agent(name="Sam Senior", tier=2)


@pytest.fixture
def admin(make) -> User:
    return make.admin(name="Ada Admin")


@pytest.fixture
def ticket(make, customer) -> Ticket:
    return make.ticket(customer=customer)


@pytest.fixture
def teams() -> list[Team]:
    care, trust = Team(name="Customer Care"), Team(name="Payments & Trust")
    db.session.add_all([care, trust])
    db.session.commit()
    return [care, trust]


@pytest.fixture
def as_agent(auth, agent) -> User:
    auth.login(agent)
    return agent


def text_of(response) -> str:
    return response.get_data(as_text=True)


def said(response) -> str:
    """The response with entities decoded."""
    return html.unescape(text_of(response))


def words(response) -> str:
    """The text a reader sees: no tags, entities decoded, whitespace collapsed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", text_of(response))).split())


def bulk_customers(count: int, like: User) -> list[User]:
    """Customers by a Core insert too, sharing `like`'s password hash: hashing one
    password per customer would only time scrypt."""
    n = next(_bulk_seq)
    emails = [f"bulk{n}-{i}@example.com" for i in range(count)]
    rows = [
        {"email": email, "name": f"Bulk Customer {n}-{i}", "password_hash": like.password_hash}
        for i, email in enumerate(emails)
    ]
    db.session.execute(insert(User.__table__), rows)
    db.session.commit()
    return list(db.session.scalars(select(User).where(User.email.in_(emails))))


def bulk_tickets(count: int, customers: list[User], agents: list[User]) -> None:
    """Many tickets at once with a SQLAlchemy Core insert (the data shape, not the service
    path): ten thousand take a second or two."""
    categories = list(db.session.scalars(select(Category)))
    teams = list(db.session.scalars(select(Team))) or [None]
    statuses = [s for s in Status if s != Status.CLOSED]
    now = clock.now()
    taken = set(db.session.scalars(select(Ticket.ref)))
    new_refs: set[str] = set()
    while len(new_refs) < count:  # thousands of random references collide now and then
        if (ref := refs.new_ref()) not in taken:
            new_refs.add(ref)
    rows = []
    for i, ref in enumerate(sorted(new_refs)):
        n = next(_bulk_seq)
        opened = now - timedelta(minutes=7 * n)
        team = teams[i % len(teams)]
        rows.append(
            {
                "ref": ref,
                "subject": f"Bulk ticket {n}",
                "description": BULK_DESCRIPTION,
                "customer_id": customers[i % len(customers)].id,
                "category_id": categories[i % len(categories)].id,
                "priority": list(Priority)[i % 4],
                "status": statuses[i % len(statuses)],
                "assignee_id": agents[i % len(agents)].id if i % 3 else None,
                "team_id": team.id if team else None,
                "created_at": opened,
                "updated_at": opened,
                "first_response_due": opened + timedelta(hours=4),
                "next_update_due": opened + timedelta(hours=4),
                "resolution_due": opened + timedelta(days=2),
            }
        )
    db.session.execute(insert(Ticket.__table__), rows)
    due.refresh(db.session.connection())  # a Core insert: work the stored due columns out
    search.rebuild(db.session.connection())  # …and the search documents (the board searches)
    db.session.commit()


def forget_bulk_tickets() -> None:
    """Delete the bulk tickets again, cheaply. On SQLite, dropping the tables after the
    test would check each deleted ticket against tickets.parent_id (not indexed): ten
    thousand tickets take many seconds that way, and none without the foreign-key checks."""
    db.session.remove()
    with db.engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:  # outside a transaction, or SQLite ignores it
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
        connection.execute(delete(Ticket).where(Ticket.description == BULK_DESCRIPTION))
        if sqlite:  # FTS5 has no foreign key (PostgreSQL's search rows go with the ticket)
            connection.execute(
                text("DELETE FROM ticket_search WHERE rowid NOT IN (SELECT id FROM tickets)")
            )
        connection.commit()
        if sqlite:
            connection.exec_driver_sql("PRAGMA foreign_keys=ON")
