"""Engine set-up that depends on the database kind."""

from __future__ import annotations

import contextlib
import functools
import re
import select

import psycopg
from flask import Flask
from psycopg.pq import TransactionStatus
from sqlalchemy import event
from sqlalchemy.engine import Connection
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
    if engine.dialect.name == "postgresql":
        event.listen(engine, "before_cursor_execute", _note_writes)
        event.listen(engine, "commit", _forget_writes)
        event.listen(engine, "rollback", _commit_if_read_only)
        event.listen(engine, "do_execute", _plan_searches_each_time)


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


# Prepared statements on PostgreSQL. psycopg prepares a statement once a connection has
# run it 5 times, so PostgreSQL parses and plans it once instead of every time (the
# timeline's query: 0.49 ms of planning for 0.1 ms of work). But psycopg forgets every
# prepared statement at each ROLLBACK, and every page that only reads ends in one
# (the session closes its transaction at the end of a request), so none ever reached 5.
# A transaction that wrote nothing ends the same whichever way it ends; these listeners
# end such a transaction with COMMIT instead, and the statements stay prepared.
# Anything that may have written (or failed) still rolls back.
WROTE = "support_wrote"  # in Connection.info: this transaction sent a statement that may write
_READ = re.compile(r"\s*(SELECT|WITH)\b", re.IGNORECASE)
_WRITE = re.compile(r"\b(INSERT|UPDATE|DELETE|MERGE|INTO)\b", re.IGNORECASE)


@functools.lru_cache(maxsize=4096)
def only_reads(statement: str) -> bool:
    """A SELECT (or WITH ... SELECT) with no data-changing clause anywhere in it. Any
    other statement counts as a write; so do SELECT ... INTO (it makes a table) and,
    to be safe, SELECT ... FOR UPDATE."""
    return _READ.match(statement) is not None and _WRITE.search(statement) is None


def _note_writes(conn: Connection, _cursor, statement: str, *_args) -> None:
    if not only_reads(statement):
        conn.info[WROTE] = True


def _forget_writes(conn: Connection) -> None:
    conn.info.pop(WROTE, None)


def _commit_if_read_only(conn: Connection) -> None:
    """Runs just before SQLAlchemy's ROLLBACK: a transaction that only read commits
    instead, so psycopg has nothing left to roll back and keeps its prepared statements."""
    if conn.closed or conn.invalidated or conn.info.pop(WROTE, False):
        return
    driver = conn.connection.driver_connection
    if driver.info.transaction_status != TransactionStatus.INTRANS:
        return  # nothing begun, a failed statement, or autocommit: ROLLBACK as usual
    # A connection that broke just now fails the ROLLBACK that follows too, and
    # SQLAlchemy handles that one as it always has.
    with contextlib.suppress(psycopg.Error):
        driver.commit()


def _plan_searches_each_time(cursor, statement: str, parameters, _context) -> bool:
    """A statement with a full-text match is never prepared. A prepared statement soon
    runs with one generic plan for any parameters, and a search's best plan depends on
    its words: a common one matches half the tickets, a rare one a handful. Generic plans
    made the queue's search with filters cost PostgreSQL 24-28 ms of CPU instead of 15
    (bench/README.md). True: executed here, SQLAlchemy does not execute it again."""
    if "@@" not in statement:  # no full-text match (`document @@ tsquery`)
        return False
    cursor.execute(statement, parameters, prepare=False)
    return True


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
