"""Engine settings that depend on the database kind (support/database.py)."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from support.database import CACHE_KIB, only_reads
from support.extensions import db


def test_every_sqlite_connection_has_a_64_mb_page_cache(app) -> None:
    """The default 2 MB held too little of the queue's indexes at 200,000 tickets."""
    if db.engine.dialect.name != "sqlite":
        pytest.skip("a SQLite setting")
    with db.engine.connect() as connection:
        assert connection.scalar(text("PRAGMA cache_size")) == -CACHE_KIB == -65536


@pytest.mark.parametrize(
    ("statement", "reads"),
    [
        ("SELECT users.id, users.updated_at FROM users WHERE users.id = %(id)s", True),
        ("\nWITH RECURSIVE merged(id) AS (SELECT 1) SELECT id FROM merged", True),
        ("select count(*) from tickets", True),
        ("SELECT tickets.id FROM tickets WHERE tickets.merged_into_id = %(id)s", True),
        ("INSERT INTO tickets (ref) VALUES (%(ref)s)", False),
        ("UPDATE tickets SET version=%(v)s", False),
        ("delete from notifications where id = 1", False),
        ("WITH moved AS (UPDATE tickets SET tier = 1 RETURNING id) SELECT id FROM moved", False),
        ("SELECT tickets.id FROM tickets WHERE tickets.id = 1 FOR UPDATE", False),
        ("SELECT * INTO archived FROM tickets", False),
        ("SET LOCAL statement_timeout = 1000", False),
        ("LOCK TABLE tickets", False),
    ],
)
def test_only_a_plain_select_counts_as_reading(statement: str, reads: bool) -> None:
    """A transaction ends in COMMIT instead of ROLLBACK only if every statement it sent
    reads: anything else, or anything unsure, keeps the ROLLBACK."""
    assert only_reads(statement) is reads
