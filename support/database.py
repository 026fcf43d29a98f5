"""Engine set-up that depends on the database kind."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import event

from support.extensions import db

CACHE_KIB = 64 * 1024  # SQLite's page cache per connection (see _sqlite_pragmas)


def init_app(app: Flask) -> None:
    with app.app_context():
        engine = db.engine
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)


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
