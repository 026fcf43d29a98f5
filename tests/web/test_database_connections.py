"""The pool's connections (support/database.py): no round trip to check one out, and one
that PostgreSQL closed is replaced before a request uses it."""

from __future__ import annotations

import os
import time

import psycopg
import pytest
from sqlalchemy.engine import make_url

from support.extensions import db

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
