"""Migrations: they build the schema from nothing, and match the models exactly."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Flask
from sqlalchemy import Connection, create_engine, insert, inspect, select, text
from sqlalchemy.engine import make_url

from support.extensions import db
from support.models.ticket import TICKETS_STORAGE
from support.tickets import search

ROOT = Path(__file__).resolve().parents[2]


def _url(database: Path | str) -> str:
    """A SQLite file of our own, or a database URL (the PostgreSQL test below)."""
    return f"sqlite:///{database}" if isinstance(database, Path) else database


def flask_db(command: list[str], database: Path | str, tmp_path: Path, redis_url: str) -> None:
    """Run `flask db ...` as a user would, against `database`."""
    env = {
        **os.environ,
        "SUPPORT_ENV": "testing",
        "SECRET_KEY": "migration-test",
        "DATABASE_URL": _url(database),
        "INSTANCE_PATH": str(tmp_path / "instance"),
        "UPLOAD_FOLDER": str(tmp_path / "uploads"),
        "REDIS_URL": redis_url,
    }
    result = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "app", "db", *command],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]


@pytest.fixture
def migrated(tmp_path: Path, redis_url: str) -> Path:
    database = tmp_path / "migrated.db"
    flask_db(["upgrade"], database, tmp_path, redis_url)
    return database


def _describe(diff: tuple | list) -> str:
    """One autogenerate difference, readably: "add_column tickets board_position"."""
    if isinstance(diff, list):  # column modifications come grouped
        return "; ".join(_describe(item) for item in diff)
    operation, *details = diff
    names = [
        detail if isinstance(detail, str) else getattr(detail, "name", None) for detail in details
    ]
    return " ".join([operation, *(name for name in names if name)])


def _differences(database: Path | str) -> list[str]:
    """What `flask db migrate` would still generate for this database."""
    engine = create_engine(_url(database))
    try:
        with engine.connect() as connection:
            # As the app's Migrate does: the search table is made by its own SQL.
            opts = {"compare_type": True, "include_name": search.outside_models}
            context = MigrationContext.configure(connection, opts=opts)
            return [_describe(diff) for diff in compare_metadata(context, db.metadata)]
    finally:
        engine.dispose()


def test_upgrade_on_empty_database_creates_every_table(app: Flask, migrated: Path) -> None:
    engine = create_engine(f"sqlite:///{migrated}")
    try:
        tables = set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
    assert set(db.metadata.tables) <= tables
    assert "alembic_version" in tables


def test_migrations_match_the_models(app: Flask, migrated: Path) -> None:
    """Every model change has a migration: autogenerate would find nothing to do."""
    differences = _differences(migrated)
    assert not differences, "Models changed without a migration:\n" + "\n".join(differences)


def test_downgrade_to_base_and_upgrade_again(
    app: Flask, migrated: Path, tmp_path: Path, redis_url: str
) -> None:
    flask_db(["downgrade", "base"], migrated, tmp_path, redis_url)
    flask_db(["upgrade"], migrated, tmp_path, redis_url)
    differences = _differences(migrated)
    assert not differences, "Models changed without a migration:\n" + "\n".join(differences)


def test_migration_history_has_one_head() -> None:
    config = Config()
    config.set_main_option("script_location", str(ROOT / "migrations"))
    assert len(ScriptDirectory.from_config(config).get_heads()) == 1


# --- PostgreSQL (when the suite runs on it) ------------------------------------------------

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "")


@pytest.fixture
def empty_postgres() -> Iterator[str]:
    """A brand-new database on the test server, dropped afterwards."""
    server = make_url(TEST_DATABASE_URL)
    name = f"migrations_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        yield server.set(database=name).render_as_string(hide_password=False)
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


@pytest.mark.skipif(
    not TEST_DATABASE_URL.startswith("postgresql"),
    reason="runs when TEST_DATABASE_URL is a PostgreSQL database",
)
def test_migrations_on_an_empty_postgresql_database(
    empty_postgres: str, tmp_path: Path, redis_url: str
) -> None:
    flask_db(["upgrade"], empty_postgres, tmp_path, redis_url)
    engine = create_engine(empty_postgres)
    try:
        assert set(db.metadata.tables) <= set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
    differences = _differences(empty_postgres)
    assert not differences, "Models changed without a migration:\n" + "\n".join(differences)
    # Storage parameters are beyond autogenerate's comparison: compared here.
    assert _storage_of("tickets", empty_postgres) == TICKETS_STORAGE
    flask_db(["downgrade", "base"], empty_postgres, tmp_path, redis_url)
    flask_db(["upgrade"], empty_postgres, tmp_path, redis_url)
    assert not _differences(empty_postgres)


def _storage_of(table: str, url: str) -> dict[str, str]:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return storage_parameters(connection, table)
    finally:
        engine.dispose()


def storage_parameters(connection: Connection, table: str) -> dict[str, str]:
    """A PostgreSQL table's storage parameters (ALTER TABLE ... SET), by name."""
    options = connection.scalar(
        text("SELECT reloptions FROM pg_class WHERE relname = :table"), {"table": table}
    )
    return dict(option.split("=", 1) for option in options or [])


@pytest.mark.skipif(
    not TEST_DATABASE_URL.startswith("postgresql"),
    reason="runs when TEST_DATABASE_URL is a PostgreSQL database",
)
def test_tables_made_from_the_models_get_the_same_storage(app: Flask) -> None:
    """The tests' tables come from create_all: the models carry what 0033 sets."""
    assert storage_parameters(db.session.connection(), "tickets") == TICKETS_STORAGE


# --- data migrations ------------------------------------------------------------------------


@pytest.fixture
def fresh_database(tmp_path: Path, request: pytest.FixtureRequest) -> str | Path:
    """An empty database on the engine the suite runs on."""
    if TEST_DATABASE_URL.startswith("postgresql"):
        return request.getfixturevalue("empty_postgres")
    return tmp_path / "fresh.db"


def test_0008_works_out_the_board_keys_of_existing_tickets(
    app: Flask, fresh_database: str | Path, tmp_path: Path, redis_url: str
) -> None:
    """The backfill states the rule in its own SQL: it must agree with support/tickets/due.py."""
    from support.models import Ticket
    from support.tickets import due as ticket_due

    flask_db(["upgrade", "0007"], fresh_database, tmp_path, redis_url)
    engine = create_engine(_url(fresh_database))
    tickets = [  # tier, first response due, next update due, resolution due, responded, position
        (1, "2026-12-02 09:00:00", "2026-12-02 08:00:00", "2026-12-04 09:00:00", None, None),
        (2, "2026-12-02 09:00:00", "2026-12-02 11:00:00", "2026-12-02 10:00:00", None, None),
        (1, "2026-12-02 09:00:00", "2026-12-03 09:00:00", None, "2026-12-01 10:00:00", None),
        (1, None, None, None, None, None),
        (1, "2026-12-02 09:00:00", None, None, None, 1700000000.5),
    ]
    try:
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO users (email, name, password_hash, role, is_active, "
                    "is_available, created_at) VALUES ('c@example.com', 'C', 'x', 'customer', "
                    ":yes, :yes, '2026-12-01 09:00:00')"
                ),
                {"yes": True},
            )
            for n, (tier, first, update, resolution, responded, position) in enumerate(tickets):
                connection.execute(
                    text(
                        "INSERT INTO tickets (ref, subject, description, customer_id, channel, "
                        "priority, impact, status, tier, first_response_due, next_update_due, "
                        "resolution_due, first_responded_at, board_position, created_at, "
                        "updated_at, version) VALUES (:ref, 'S', 'D', 1, 'portal', "
                        "'normal', 'just_me', 'open', :tier, :first, :update, :resolution, "
                        ":responded, :position, '2026-12-01 09:00:00', '2026-12-01 09:00:00', 1)"
                    ),
                    {
                        "ref": f"SUP-MIG{n}",
                        "tier": tier,
                        "first": first,
                        "update": update,
                        "resolution": resolution,
                        "responded": responded,
                        "position": position,
                    },
                )
        flask_db(["upgrade"], fresh_database, tmp_path, redis_url)
        query = select(
            Ticket.next_due_at, ticket_due.due_at(), Ticket.board_sort_key, ticket_due.sort_key()
        ).order_by(Ticket.id)
        with engine.connect() as connection:
            rows = connection.execute(query).all()
    finally:
        engine.dispose()
    assert len(rows) == len(tickets)
    for stored_due, due, stored_key, key in rows:
        assert stored_due == due and stored_key == pytest.approx(key)
    assert [row[2] for row in rows][3:] == [ticket_due.NO_DUE, 1700000000.5]


def _indexes_and_columns(engine) -> tuple[set[str], set[str]]:
    with engine.connect() as connection:
        indexes = set(
            connection.scalars(
                text("SELECT indexname FROM pg_indexes WHERE tablename = :t"), {"t": search.TABLE}
            )
        )
        columns = {column["name"] for column in inspect(connection).get_columns(search.TABLE)}
    return indexes, columns


def _lamp_ticket_with_its_document(connection: Connection, ref: str) -> None:
    """Ann's ticket about a lamp, and its search document, written as the code does now."""
    from support.models import Ticket, User

    customer = connection.execute(
        insert(User.__table__).values(
            email="ann@shop.example", name="Ann Okafor", password_hash="x", role="customer"
        )
    ).inserted_primary_key[0]
    values = {"subject": "Lamp arrived broken", "description": "D", "board_sort_key": 0.0}
    ticket = connection.execute(
        insert(Ticket.__table__).values(ref=ref, customer_id=customer, **values)
    ).inserted_primary_key[0]
    search.refresh(connection, [ticket])


def test_0026_stores_the_titles_vector_of_documents_written_before_it(
    app: Flask, fresh_database: str | Path, tmp_path: Path, redis_url: str
) -> None:
    """PostgreSQL: upgrading fills the stored title vector of the documents already there,
    and a downgrade goes back to 0025's index on the expression. SQLite: nothing changes
    (FTS5 indexes the title column itself), and the documents survive both ways."""
    flask_db(["upgrade", "0025"], fresh_database, tmp_path, redis_url)
    engine = create_engine(_url(fresh_database))
    postgresql = engine.dialect.name == "postgresql"
    try:
        with engine.begin() as connection:
            _lamp_ticket_with_its_document(connection, "SUP-MIG26")
        flask_db(["upgrade", "0027"], fresh_database, tmp_path, redis_url)
        if postgresql:
            indexes, columns = _indexes_and_columns(engine)
            assert "title_vector" in columns and "ix_ticket_search_title_vector" in indexes
            assert "ix_ticket_search_title" not in indexes  # 0025's, read by nothing now
        flask_db(["downgrade", "0025"], fresh_database, tmp_path, redis_url)
        if postgresql:
            indexes, columns = _indexes_and_columns(engine)
            assert "title_vector" not in columns and "ix_ticket_search_title" in indexes
            assert "ix_ticket_search_title_vector" not in indexes
        flask_db(["upgrade", "0027"], fresh_database, tmp_path, redis_url)  # the column made anew
        with engine.connect() as connection:
            assert connection.scalar(text("SELECT count(*) FROM ticket_search")) == 1
            if postgresql:
                stored = connection.scalar(text("SELECT title_vector::text FROM ticket_search"))
                assert "'lamp'" in stored
    finally:
        engine.dispose()


def test_0030_moves_the_titles_vectors_to_their_own_table(
    app: Flask, fresh_database: str | Path, tmp_path: Path, redis_url: str
) -> None:
    """PostgreSQL: upgrading fills ticket_search_titles from the documents already there
    (a database from before 0030 has no such table) and drops 0026's column; a downgrade
    brings the column back, filled. SQLite: nothing changes, the documents survive."""
    flask_db(["upgrade", "0029"], fresh_database, tmp_path, redis_url)
    engine = create_engine(_url(fresh_database))
    postgresql = engine.dialect.name == "postgresql"
    titles = "SELECT title_vector::text FROM ticket_search_titles"
    try:
        with engine.begin() as connection:
            _lamp_ticket_with_its_document(connection, "SUP-MIG28")
            if postgresql:  # as 0029 left it (migration 0013 makes today's tables)
                connection.execute(text("DROP TABLE ticket_search_titles"))
        flask_db(["upgrade"], fresh_database, tmp_path, redis_url)
        with engine.connect() as connection:
            assert connection.scalar(text("SELECT count(*) FROM ticket_search")) == 1
            if postgresql:
                assert "'lamp'" in connection.scalar(text(titles))
        if postgresql:
            indexes, columns = _indexes_and_columns(engine)
            assert "title_vector" not in columns and "ix_ticket_search_title_vector" not in indexes
        flask_db(["downgrade", "0029"], fresh_database, tmp_path, redis_url)
        if postgresql:
            indexes, columns = _indexes_and_columns(engine)
            assert "title_vector" in columns and "ix_ticket_search_title_vector" in indexes
            with engine.connect() as connection:
                stored = connection.scalar(text("SELECT title_vector::text FROM ticket_search"))
                assert "'lamp'" in stored
                assert not inspect(connection).has_table("ticket_search_titles")
        flask_db(["upgrade"], fresh_database, tmp_path, redis_url)
        with engine.connect() as connection:
            assert connection.scalar(text("SELECT count(*) FROM ticket_search")) == 1
            if postgresql:
                assert "'lamp'" in connection.scalar(text(titles))
    finally:
        engine.dispose()


def test_upgrading_makes_every_process_read_its_settings_again(
    tmp_path: Path, redis_url: str
) -> None:
    """A migration may rewrite categories, teams or policies without the ORM: the settings
    each process keeps (support/settings_cache.py) are read again after it."""
    from redis import Redis

    from support.settings_cache import VERSION_KEY

    redis = Redis.from_url(redis_url)
    redis.set(VERSION_KEY, 5)
    flask_db(["upgrade"], tmp_path / "upgraded.db", tmp_path, redis_url)
    assert redis.get(VERSION_KEY) != b"5"
