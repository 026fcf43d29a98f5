"""The pool's connections (support/database.py): no round trip to check one out, and one
that PostgreSQL closed is replaced before a request uses it."""

from __future__ import annotations

import os
import time

import psycopg
import pytest
from sqlalchemy import select, text, update
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from support.extensions import db
from support.models import User

ON_POSTGRESQL = os.environ.get("TEST_DATABASE_URL", "").startswith("postgresql")


def test_a_request_takes_its_connection_without_a_ping(app, client, customer, monkeypatch) -> None:
    """pool_pre_ping sent a SELECT 1 each time a request took a connection from the pool."""
    pings: list[object] = []
    dialect = type(db.engine.dialect)
    plain = dialect.do_ping

    def counted(self, dbapi_connection) -> bool:
        pings.append(dbapi_connection)
        return plain(self, dbapi_connection)

    monkeypatch.setattr(dialect, "do_ping", counted)
    for _ in range(3):
        assert client.get("/tickets/new").status_code == 200
    assert pings == []


@pytest.mark.skipif(not ON_POSTGRESQL, reason="PostgreSQL's own connections (TEST_DATABASE_URL)")
def test_a_connection_the_server_closed_is_replaced_before_a_request_uses_it(
    app, client, customer
) -> None:
    assert client.get("/tickets/new").status_code == 200  # its connection is in the pool now
    db.session.remove()
    # Only this app's connections: other engines of this process (or of other tests'
    # processes on the same database) must not lose theirs to this test.
    pooled = db.engine.raw_connection()
    try:
        pids = [pooled.driver_connection.info.backend_pid]
    finally:
        pooled.close()  # back to the pool, where the killed connection waits
    url = make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    with psycopg.connect(
        host=url.host, port=url.port, user=url.username, dbname=url.database, autocommit=True
    ) as admin:
        ended = admin.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM unnest(%s::int[]) AS pid", [pids]
        ).fetchone()[0]
        assert ended == 1  # as a restart does to every connection
        for _ in range(100):  # gone (the server's goodbye is on its socket)
            alive = "SELECT count(*) FROM pg_stat_activity WHERE pid = ANY(%s)"
            if not admin.execute(alive, [pids]).fetchone()[0]:
                break
            time.sleep(0.05)
    for _ in range(3):
        assert client.get("/tickets/new").status_code == 200


def _prepared_statements() -> list[str]:
    """The statements prepared on the connection the pool hands out next."""
    db.session.remove()
    pooled = db.engine.raw_connection()
    try:
        rows = pooled.driver_connection.execute("SELECT statement FROM pg_prepared_statements")
        return [statement for (statement,) in rows.fetchall()]
    finally:
        pooled.close()


@pytest.mark.skipif(not ON_POSTGRESQL, reason="psycopg's prepared statements (TEST_DATABASE_URL)")
def test_pages_that_only_read_keep_their_statements_prepared(app, client, customer) -> None:
    """psycopg prepares a statement once a connection has run it 5 times, and forgets them
    all at a ROLLBACK: every page that only read ended in one, so nothing stayed prepared
    and PostgreSQL planned each query again on every request."""
    for _ in range(20):  # at least 5 on each pooled connection, whichever comes next
        assert client.get("/tickets/new").status_code == 200
    assert any("FROM users" in statement for statement in _prepared_statements())


def test_a_transaction_that_wrote_is_rolled_back_not_committed(app, customer) -> None:
    """Only a transaction that sent nothing but reads may end in COMMIT instead: an ORM
    change, a Core UPDATE and a hand-written one are all undone by a rollback."""
    with app.app_context():
        user = db.session.get(User, customer.id)
        user.name = "Changed by a flush"
        db.session.flush()
        db.session.rollback()
        db.session.execute(update(User).where(User.id == customer.id).values(name="By Core"))
        db.session.rollback()
        db.session.execute(text("update users set tier = 9 where id = :id"), {"id": customer.id})
        db.session.rollback()
        db.session.remove()
        stored = db.session.get(User, customer.id)
        assert (stored.name, stored.tier) == (customer.name, customer.tier)


def test_a_failed_statement_leaves_the_connection_usable(app, customer) -> None:
    """An aborted transaction is rolled back as before (it cannot commit), and the pooled
    connection serves the next request."""
    with app.app_context():
        with pytest.raises(DBAPIError):
            db.session.execute(text("SELECT missing FROM no_such_table"))
        db.session.rollback()
        assert db.session.scalar(select(User.name).where(User.id == customer.id)) == customer.name


@pytest.mark.skipif(not ON_POSTGRESQL, reason="psycopg's prepared statements (TEST_DATABASE_URL)")
def test_full_text_searches_are_planned_for_their_own_words(app) -> None:
    """A prepared statement soon runs with one generic plan whatever its parameters, and a
    search's best plan depends on how many tickets its words match: statements with a
    full-text match are never prepared; other statements still are."""
    search = text(
        "SELECT count(*) FROM tickets "
        "WHERE to_tsvector('english', subject) @@ plainto_tsquery('english', :words)"
    )
    plain = select(User.id).where(User.id == 0)
    with app.app_context():
        for words in ("refund", "refund", "password", "refund", "login", "refund", "payout"):
            db.session.execute(search, {"words": words})
            db.session.execute(plain)
        prepared = db.session.execute(text("SELECT statement FROM pg_prepared_statements"))
        statements = [statement for (statement,) in prepared]
        db.session.rollback()
    assert any("FROM users" in statement for statement in statements)
    assert not any("@@" in statement for statement in statements)
