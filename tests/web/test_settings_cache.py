"""Settings kept per process (support/settings_cache.py): pages read them from their copy,
and every kind of writer makes every other process read them again."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient
from redis import Redis
from sqlalchemy import event as sqla_event
from sqlalchemy import func, select, update

from support import create_app, settings_cache
from support.extensions import db
from support.models import (
    Category,
    Impact,
    Priority,
    Role,
    User,
    Webhook,
    WebhookDelivery,
    WebhookEvent,
)
from support.tickets.categories import ensure_default_categories
from support.triage import priority
from tests.conftest import IsolatedClient, QueryCounter
from tests.factories import Factory
from tests.jobs.test_sla import save_policy

SHARED = (
    "TESTING",
    "SUPPORT_ENV",
    "SECRET_KEY",
    "SQLALCHEMY_DATABASE_URI",
    "REDIS_URL",
    "UPLOAD_FOLDER",
    "KB_INDEX_DIR",
    "WTF_CSRF_ENABLED",
    "SERVER_NAME",
    "RATELIMIT_ENABLED",
    "RQ_QUEUE",
)


def another_process(app: Flask, **overrides) -> Flask:
    """A second app on the same database and Redis: another web worker."""
    other = create_app({**{name: app.config[name] for name in SHARED}, **overrides})
    other.test_client_class = IsolatedClient
    return other


@pytest.fixture
def other(app: Flask) -> Iterator[Flask]:
    other = another_process(app)
    yield other
    with other.app_context():
        db.session.remove()
        db.engine.dispose()


def page(client: FlaskClient, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200, path
    return response.get_data(as_text=True)


def statements(app: Flask, client: FlaskClient, path: str) -> int:
    """SQL statements of one request (`app`'s own engine)."""
    with app.app_context():
        engine = db.engine
    counter = QueryCounter()
    from sqlalchemy import event

    event.listen(engine, "before_cursor_execute", counter)
    try:
        page(client, path)
    finally:
        event.remove(engine, "before_cursor_execute", counter)
    return counter.count


def sign_in(client: FlaskClient, user) -> None:
    response = client.post("/login", data={"email": user.email, "password": "a-long-test-password"})
    assert response.status_code == 303


# --- pages read their copy -------------------------------------------------------------------


def test_pages_read_the_settings_once_per_process(app, client, make: Factory) -> None:
    """Home, the new-ticket form and the board read no category, team or SLA policy rows
    while nobody changes them (3 -> 1, 4 -> 1 and 7 -> 2 statements: the user with the
    notifications badge's count, and the page's own (the board's: its cards with their
    tags))."""
    customer, agent = make.customer(), make.agent()
    make.ticket(customer)  # a card: its tags are read, its SLA countdown needs the policies
    db.session.commit()
    agents = app.test_client()
    sign_in(client, customer)
    sign_in(agents, agent)
    for path in ("/", "/tickets/new"):
        page(client, path)  # the process's first look reads them
    page(agents, "/board")
    assert statements(app, client, "/") == 1
    assert statements(app, client, "/tickets/new") == 1
    assert statements(app, agents, "/board") == 2


# --- every writer makes the others read again ------------------------------------------------


def test_an_admin_adding_a_category_shows_on_another_process(app, client, other, make) -> None:
    reader = other.test_client()
    assert "Garden furniture" not in page(reader, "/")
    sign_in(client, make.admin())
    response = client.post(
        "/admin/routing/categories",
        data={"new-category-name": "Garden furniture", "new-category-is_active": "y"},
    )
    assert response.status_code == 303
    assert "Garden furniture" in page(reader, "/")


def test_an_admin_hiding_a_category_hides_it_on_another_process(app, client, other, make) -> None:
    sign_in(client, make.admin())
    reader = other.test_client()
    sign_in(reader, make.customer())
    assert ">Shipping<" in page(reader, "/tickets/new")
    shipping = make.category("shipping")
    response = client.post(
        f"/admin/routing/categories/{shipping.id}",
        data={f"category-{shipping.id}-name": "Shipping"},  # "Customers can choose it" unticked
    )
    assert response.status_code == 303
    assert ">Shipping<" not in page(reader, "/tickets/new")


def test_an_admin_adding_a_team_shows_on_another_process(app, client, other, make) -> None:
    reader = other.test_client()
    sign_in(reader, make.agent())
    assert "Night shift" not in page(reader, "/board")
    sign_in(client, make.admin())
    assert (
        client.post("/admin/routing/teams", data={"new-team-name": "Night shift"}).status_code
        == 303
    )
    assert "Night shift" in page(reader, "/board")
    assert "Night shift" in page(reader, "/queue")


def test_an_admin_changing_a_policy_shows_on_another_process(app, client, other, make) -> None:
    reader = other.test_client()
    sign_in(reader, make.customer())
    assert "8 hours" in page(reader, "/tickets/new")  # the normal priority's first response
    sign_in(client, make.admin())
    assert save_policy(client, "normal", 180, 480, 1440, hours=False).status_code == 303
    assert "3 hours" in page(reader, "/tickets/new")


def test_a_new_priority_rule_reaches_another_process(app, other) -> None:
    """Filing reads the priority rules from the process's copy (no statement once read);
    a rule added anywhere gives the other process's next filing its priority."""

    def decided(subject: str) -> tuple[Priority, int]:
        with other.app_context():
            counter = QueryCounter()
            sqla_event.listen(db.engine, "before_cursor_execute", counter)
            try:
                found = priority.decide(subject, "", Impact.JUST_ME).priority
            finally:
                sqla_event.remove(db.engine, "before_cursor_execute", counter)
                db.session.remove()
            return found, counter.count

    assert decided("The hamster ate the cable") == (Priority.NORMAL, 1)  # first look
    assert decided("The hamster ate the cable") == (Priority.NORMAL, 0)  # its copy
    priority.add_rule(
        name="Hamsters", priority=Priority.URGENT, impact=None, signals="hamster", position=1
    )
    db.session.commit()
    assert decided("The hamster ate the cable") == (Priority.URGENT, 1)


def test_seeding_the_categories_shows_on_another_process(app, other) -> None:
    """`flask setup` and the demo data create missing categories through this function."""
    db.session.execute(Category.__table__.delete().where(Category.slug == "security"))
    db.session.commit()
    reader = other.test_client()
    assert ">Security<" not in page(reader, "/")
    ensure_default_categories()
    assert ">Security<" in page(reader, "/")


def test_a_bulk_statement_shows_on_another_process(app, other) -> None:
    """A writer that passes no flush (`update(Category)`, as removing a skill does)."""
    reader = other.test_client()
    assert "Money matters" not in page(reader, "/")
    db.session.execute(
        update(Category).where(Category.slug == "payments").values(name="Money matters")
    )
    db.session.commit()
    assert "Money matters" in page(reader, "/")


def test_a_rolled_back_write_moves_nothing(app, redis_url) -> None:
    redis = Redis.from_url(redis_url)
    page(app.test_client(), "/")  # a version exists
    before = redis.get(settings_cache.VERSION_KEY)
    make_category = Factory().category("payments")
    make_category.name = "Not kept"
    db.session.flush()
    db.session.rollback()
    Factory().customer()  # the session's next commit wrote no settings
    db.session.commit()
    assert redis.get(settings_cache.VERSION_KEY) == before


def test_a_savepoint_moves_the_version_only_with_the_whole_transaction(app, redis_url) -> None:
    """The version moves after the rows are committed, never before (a reader in between
    would keep the old rows under the new version)."""
    redis = Redis.from_url(redis_url)
    page(app.test_client(), "/")
    before = redis.get(settings_cache.VERSION_KEY)
    with db.session.begin_nested():
        Factory().category("payments").name = "Money matters"
    assert redis.get(settings_cache.VERSION_KEY) == before  # only a savepoint was released
    db.session.commit()
    assert redis.get(settings_cache.VERSION_KEY) != before


def test_a_transaction_that_changed_a_policy_reads_its_own_change(app, make) -> None:
    from support.models import Priority, SlaPolicy
    from support.tickets import sla

    assert sla.targets_for(Priority.NORMAL).first_response.total_seconds() == 8 * 3600
    minutes = {"first_response_minutes": 60, "update_minutes": 120, "resolution_minutes": 240}
    db.session.add(SlaPolicy(priority="normal", business_hours=False, **minutes))
    assert (
        sla.targets_for(Priority.NORMAL).first_response.total_seconds() == 3600
    )  # not yet flushed
    db.session.commit()
    assert sla.targets_for(Priority.NORMAL).first_response.total_seconds() == 3600


# --- without Redis ---------------------------------------------------------------------------


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_without_redis_pages_read_the_database(app) -> None:
    no_redis = another_process(app, REDIS_URL=f"redis://127.0.0.1:{_closed_port()}/0")
    try:
        reader = no_redis.test_client()
        assert ">Payments<" in page(reader, "/")
        db.session.execute(
            update(Category).where(Category.slug == "payments").values(name="Money matters")
        )
        db.session.commit()  # its bump reaches the test's Redis, not the reader's
        assert "Money matters" in page(reader, "/")
    finally:
        with no_redis.app_context():
            db.session.remove()
            db.engine.dispose()


# --- whether any webhook is active: asked by every ticket change --------------------------


def _file_in(process: Flask, subject: str) -> tuple[int, int]:
    """A ticket filed in `process`: the statements that read the webhooks table, and the
    webhook deliveries the filing wrote."""
    with process.app_context():
        reads: list[str] = []

        def note(_conn, _cursor, statement, *_args) -> None:
            if "FROM webhooks" in statement:
                reads.append(statement)

        sqla_event.listen(db.engine, "before_cursor_execute", note)
        try:
            customer = db.session.scalar(select(User).where(User.role == Role.CUSTOMER))
            ticket = Factory().ticket(customer, subject=subject)
            written = db.session.scalar(
                select(func.count(WebhookDelivery.id)).where(WebhookDelivery.ticket_id == ticket.id)
            )
        finally:
            sqla_event.remove(db.engine, "before_cursor_execute", note)
            db.session.remove()
    return len(reads), written


def test_a_webhook_added_or_paused_anywhere_reaches_another_process(app, other, make) -> None:
    """While no webhook is active, a change asks the process's copy (no statement once
    read); one added anywhere gets the other process's next change its delivery."""
    make.customer()
    db.session.commit()
    assert _file_in(other, "First look") == (1, 0)
    assert _file_in(other, "Its copy") == (0, 0)
    hook = Webhook(
        url="https://hooks.example.com/support",
        events=[WebhookEvent.TICKET_CREATED.value],
        secret="s3cret",
        created_by=make.admin(),
    )
    db.session.add(hook)
    db.session.commit()
    reads, written = _file_in(other, "With a webhook")
    assert written == 1 and reads == 2  # whether any is active, then which
    hook.is_active = False
    db.session.commit()
    assert _file_in(other, "Paused") == (1, 0)
