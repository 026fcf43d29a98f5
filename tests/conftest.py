"""Fixtures: a real database (SQLite file, or TEST_DATABASE_URL), a real Redis
(REDIS_URL, else an embedded redis-server), the app, clients and factories."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from flask import Flask, has_app_context
from flask.testing import FlaskClient
from sqlalchemy import event

from support import create_app
from support.extensions import db
from support.jobs.embedded import EmbeddedRedis
from support.notify import mailer
from support.tickets.categories import ensure_default_categories
from tests.factories import Factory


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


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    if os.environ.get("REDIS_URL"):
        yield os.environ["REDIS_URL"]
        return
    with EmbeddedRedis() as embedded:
        yield embedded.url


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
    database_url = os.environ.get("TEST_DATABASE_URL") or f"sqlite:///{tmp_path / 'test.db'}"
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
        db.drop_all()
        db.create_all()
        ensure_default_categories()
    return app


@contextmanager
def running(app: Flask) -> Iterator[Flask]:
    """The app's context for one test, and its tables dropped afterwards."""
    with app.app_context():
        yield app
        db.session.remove()
        db.drop_all()
        db.engine.dispose()


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
