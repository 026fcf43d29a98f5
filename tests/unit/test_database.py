"""Engine settings that depend on the database kind (support/database.py)."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from support.database import CACHE_KIB
from support.extensions import db


def test_every_sqlite_connection_has_a_64_mb_page_cache(app) -> None:
    """The default 2 MB held too little of the queue's indexes at 200,000 tickets."""
    if db.engine.dialect.name != "sqlite":
        pytest.skip("a SQLite setting")
    with db.engine.connect() as connection:
        assert connection.scalar(text("PRAGMA cache_size")) == -CACHE_KIB == -65536
