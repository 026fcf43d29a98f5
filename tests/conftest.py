"""Fixtures: a real database (SQLite file, or TEST_DATABASE_URL), a real Redis
(REDIS_URL, else an embedded redis-server), the app, clients and factories."""

from __future__ import annotations

import atexit
import os
import shutil
import sqlite3
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from flask import Flask, has_app_context
from flask.testing import FlaskClient
from sqlalchemy import event
from sqlalchemy.exc import DBAPIError

from support import create_app
from support.extensions import db
from support.jobs.embedded import EmbeddedRedis
from support.notify import mailer
from support.tickets.categories import ensure_default_categories
from tests.factories import Factory
from tests.smtp import SmtpServer


def database_engine() -> str:
    """Which engine this run uses, for the pytest header (and .ci/run's log)."""
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        return "SQLite (a fresh file per test; set TEST_DATABASE_URL for another engine)"
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    name = {"postgresql": "PostgreSQL", "sqlite": "SQLite"}.get(
        parsed.get_backend_name(), parsed.get_backend_name()
    )
    return f"{name} ({parsed.render_as_string(hide_password=True)}, from TEST_DATABASE_URL)"


def pytest_report_header() -> str:
    return f"database: {database_engine()}"


def _worker() -> str | None:
    """This process's pytest-xdist worker id ("gw0", "gw1", ...), or None when run serially."""
    return os.environ.get("PYTEST_XDIST_WORKER")


def pytest_configure(config: pytest.Config) -> None:
    """Under pytest-xdist each worker gets a PostgreSQL database of its own, since every
    test drops and creates the tables: TEST_DATABASE_URL then names that database, for
    the tests and for the processes they start."""
    url = os.environ.get("TEST_DATABASE_URL", "")
    if _worker() and url.startswith("postgresql"):
        os.environ["TEST_DATABASE_URL"] = _database_of_this_worker(url)


def _database_of_this_worker(url: str) -> str:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    shared = make_url(url)
    name = f"{shared.database}_{_worker()}"
    admin = create_engine(shared, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            exists = connection.scalar(
                text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
            )
            if not exists:
                connection.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        admin.dispose()
    return shared.set(database=name).render_as_string(hide_password=False)


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    """A real SMTP server on loopback; `**smtp.settings` points an app's mail at it."""
    server = SmtpServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    if os.environ.get("REDIS_URL"):
        yield _redis_of_this_worker(os.environ["REDIS_URL"])
        return
    with EmbeddedRedis() as embedded:
        yield embedded.url


def _redis_of_this_worker(url: str) -> str:
    """A shared Redis (REDIS_URL) gives each xdist worker a logical database of its own, so
    rate-limit counters and locks of tests running side by side never meet."""
    from urllib.parse import urlsplit

    worker, parts = _worker(), urlsplit(url)
    if not worker or parts.scheme not in ("redis", "rediss"):
        return url
    base = int(parts.path.strip("/") or 0)
    number = (base + 1 + int(worker.removeprefix("gw"))) % 16
    return parts._replace(path=f"/{number}").geturl()


class IsolatedClient(FlaskClient):
    """Each request gets its own app context — its own `g` and database session — as
    in production, even though the test itself holds one open; afterwards the test's
    session forgets what it had loaded, so it reads what the request wrote."""

    def open(self, *args, **kwargs):
        with self.application.app_context():
            response = super().open(*args, **kwargs)
        if has_app_context():
            db.session.expire_all()
        return response


_apps_made: list[Flask] = []


@pytest.fixture(autouse=True)
def _close_smtp() -> Iterator[None]:
    """A worker keeps its SMTP connection for the next email; a test's ends with the test
    (its SMTP server does too), so none is left for the interpreter to find at exit."""
    yield
    mailer.close()


@pytest.fixture(autouse=True)
def _dispose_engines() -> Iterator[None]:
    """Close the pooled connections of every app a test made, whatever the test did: a
    connection left to the garbage collector is a ResourceWarning (an error here) on PostgreSQL."""
    yield
    while _apps_made:
        with _apps_made.pop().app_context():
            db.engine.dispose()


def make_app(tmp_path: Path, redis_url: str, **overrides) -> Flask:
    """A new app on empty tables: a SQLite file of its own in `tmp_path`, or the emptied
    tables of TEST_DATABASE_URL (whatever an earlier app in this test had there is gone)."""
    database_url = os.environ.get("TEST_DATABASE_URL") or f"sqlite:///{tmp_path / 'test.db'}"
    copied = database_url.startswith("sqlite") and _copy_schema_to(tmp_path / "test.db")
    config = {
        "TESTING": True,
        "SUPPORT_ENV": "testing",
        "SECRET_KEY": "test-secret-key",
        "SQLALCHEMY_DATABASE_URI": database_url,
        "REDIS_URL": redis_url,
        "UPLOAD_FOLDER": str(tmp_path / "uploads"),
        "KB_INDEX_DIR": str(tmp_path / "kb_index"),  # never the repository's instance/
        "WTF_CSRF_ENABLED": False,
        "SERVER_NAME": None,
        # Limits are proven in tests/web/test_rate_limits.py; elsewhere they would get in the way.
        "RATELIMIT_ENABLED": False,
        # Each app gets its own RQ queue, so tests sharing one Redis never see each other's jobs.
        "RQ_QUEUE": f"test-{uuid.uuid4().hex[:12]}",
    }
    config.update(overrides)
    app = create_app(config)
    app.test_client_class = IsolatedClient
    _apps_made.append(app)
    with app.app_context():
        if not copied:
            empty_database()
        ensure_default_categories()
    return app


# --- empty tables, quickly ------------------------------------------------------------------
# Making the 43 tables and their indexes costs 0.05 s on SQLite and 0.3 s on PostgreSQL;
# over ~1,800 tests that was a fifth of the suite's time. So a test's SQLite file is a
# copy of the first one this process made, and a server database keeps its tables and
# has its rows deleted.

_schema: dict[str, Path] = {}  # "sqlite": the template file, once this process has made one
_server_schemas_made: set[str] = set()  # server databases whose tables this process made


def _copy_schema_to(path: Path) -> bool:
    """Copy the template to `path`, if there is a template and nothing at `path` yet (a
    file already there is an open database: it is emptied in place instead)."""
    if "sqlite" not in _schema or path.exists():
        return False
    shutil.copyfile(_schema["sqlite"], path)
    return True


def _keep_as_template(database: Path) -> None:
    """A copy of a freshly made SQLite database (through SQLite's backup, which includes
    what still sits in its write-ahead log), for the next tests to start from."""
    folder = Path(tempfile.mkdtemp(prefix="support-test-schema-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    source, target = sqlite3.connect(database), sqlite3.connect(folder / "schema.db")
    try:
        source.backup(target)
    finally:
        source.close()
        target.close()
    _schema["sqlite"] = folder / "schema.db"


def empty_database() -> None:
    """Empty tables with the models' schema, in the current app's database. A server
    database's tables are made once per process (and again if a test dropped them); after
    that their rows are deleted, which takes a twentieth of the time."""
    url = db.engine.url
    server = url.render_as_string(hide_password=False)
    if url.get_backend_name() == "postgresql" and server in _server_schemas_made:
        try:
            _delete_every_row()
            return
        except DBAPIError:  # a table is missing: a test dropped them
            db.session.rollback()
    db.session.remove()
    db.drop_all()
    db.create_all()
    if url.get_backend_name() == "postgresql":
        _server_schemas_made.add(server)
    elif "sqlite" not in _schema and url.database:
        _keep_as_template(Path(url.database))


def _delete_every_row() -> None:
    from support.tickets import search

    tables = [f'"{table.name}"' for table in reversed(db.metadata.sorted_tables)]
    statements = [f"DELETE FROM {name}" for name in [*tables, search.TABLE, search.TITLES]]  # noqa: S608 - our names
    with db.engine.begin() as connection:
        # No triggers, so no foreign-key checks row by row and no audit-log guard (it
        # refuses to delete recent entries). Needs a superuser, as the test server's is.
        connection.exec_driver_sql("SET LOCAL session_replication_role = replica")
        connection.exec_driver_sql("; ".join(statements))
        connection.exec_driver_sql("SELECT setval(oid, 1, false) FROM pg_class WHERE relkind = 'S'")


def close_database() -> None:
    """The end of a test's app: its session and pooled connections closed. The tables stay
    for the next test's make_app to empty (or, on SQLite, for tmp_path's clean-up)."""
    db.session.remove()
    db.engine.dispose()


@contextmanager
def running(app: Flask) -> Iterator[Flask]:
    """The app's context for one test, its connections closed afterwards."""
    with app.app_context():
        yield app
        close_database()


@pytest.fixture
def app(tmp_path: Path, redis_url: str) -> Iterator[Flask]:
    with running(make_app(tmp_path, redis_url)) as app:
        yield app


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def make(app: Flask) -> Factory:
    return Factory()


class Auth:
    def __init__(self, client: FlaskClient) -> None:
        self.client = client

    def login(self, user, password: str = "a-long-test-password") -> None:
        response = self.client.post("/login", data={"email": user.email, "password": password})
        assert response.status_code == 303, response.get_data(as_text=True)[:500]

    def logout(self) -> None:
        self.client.post("/logout")


@pytest.fixture
def auth(client: FlaskClient) -> Auth:
    return Auth(client)


class QueryCounter:
    def __init__(self) -> None:
        self.count = 0

    def __call__(self, *args) -> None:
        self.count += 1


@pytest.fixture
def count_queries(app: Flask):
    """Use as `with count_queries() as counter:`; counter.count is the SQL statements run."""
    from contextlib import contextmanager

    @contextmanager
    def counting() -> Iterator[QueryCounter]:
        counter = QueryCounter()
        event.listen(db.engine, "before_cursor_execute", counter)
        try:
            yield counter
        finally:
            event.remove(db.engine, "before_cursor_execute", counter)

    return counting
