"""Engine set-up that depends on the database kind."""

from __future__ import annotations

import select

from flask import Flask
from sqlalchemy import event
from sqlalchemy.exc import DisconnectionError

from support.extensions import db

CACHE_KIB = 64 * 1024  # SQLite's page cache per connection (see _sqlite_pragmas)


def init_app(app: Flask) -> None:
    with app.app_context():
        engine = db.engine
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    pre_ping = app.config["SQLALCHEMY_ENGINE_OPTIONS"].get("pool_pre_ping")
    if engine.dialect.name == "postgresql" and not pre_ping:
        event.listen(engine, "checkout", _closed_by_the_server)


def _closed_by_the_server(dbapi_connection, _record, _proxy) -> None:
    """A pooled connection PostgreSQL has closed (a restart, a killed backend, an idle
    timeout) is replaced before a request uses it, without a round trip: the server's
    goodbye (its FATAL message, then the end of the stream) makes the socket readable,
    and an idle connection that is still open has nothing to read. Raising
    DisconnectionError makes the pool discard it and check out another (SQLAlchemy's
    "pessimistic disconnect handling", what `pool_pre_ping` does with a SELECT 1).
    A connection cut silently (no FIN ever arrives) is not seen here, nor by a ping,
    which would wait for TCP to give up just the same; pool_recycle (support/config.py)
    keeps connections from getting old enough for a firewall to forget them."""
    if dbapi_connection.closed or dbapi_connection.broken:
        raise DisconnectionError("the connection is closed")
    if select.select([dbapi_connection.fileno()], [], [], 0)[0]:
        raise DisconnectionError("PostgreSQL closed the connection")


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    # WAL lets the web server read while a worker writes; the busy timeout waits
    # for a lock instead of failing; foreign keys are off in SQLite by default.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    # A 64 MB page cache (negative: in KiB), not the default 2 MB: at 200,000 tickets
    # the queue's and the board's indexes no longer fit in 2 MB, and counting a common
    # tag's tickets read the same pages from the OS again (15 ms, 7.5 ms with 64 MB).
    # It is a ceiling per connection, filled only as pages are read.
    cursor.execute(f"PRAGMA cache_size=-{CACHE_KIB}")
    cursor.close()
