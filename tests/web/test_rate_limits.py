"""Rate limits on login, registration, ticket filing and search, counted in a real Redis.

Everywhere else the shared test config turns them off (RATELIMIT_ENABLED=False).
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from support.extensions import db
from support.models import AuditEntry, Ticket
from support.privacy import audit
from support.privacy.audit import Action
from support.ratelimit import limiter
from tests.conftest import Auth, close_database, make_app
from tests.factories import PASSWORD, Factory
from tests.web.portal import file_ticket

HTMX = {"HX-Request": "true"}


def address(ip: str) -> dict:
    return {"REMOTE_ADDR": ip}


def unused_loopback_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def limited_app(
    tmp_path: Path, redis_url: str, *, reset: bool = True, **overrides
) -> Iterator[Flask]:
    app = make_app(tmp_path, redis_url, RATELIMIT_ENABLED=True, **overrides)
    with app.app_context():
        if reset:
            limiter.reset()  # counts from earlier tests sharing this Redis
        yield app
        if reset:
            limiter.reset()
        close_database()


@pytest.fixture
def app(tmp_path: Path, redis_url: str) -> Iterator[Flask]:
    yield from limited_app(
        tmp_path, redis_url, RATELIMIT_TICKETS="3/hour", RATELIMIT_SEARCH="5/minute"
    )


def bad_login(client: FlaskClient, email: str, ip: str = "10.0.0.1"):
    return client.post(
        "/login", data={"email": email, "password": "wrong-password"}, environ_base=address(ip)
    )


def test_counts_are_kept_in_redis(app: Flask, redis_url: str) -> None:
    assert app.config["RATELIMIT_STORAGE_URI"].startswith(("redis://", "redis+unix://"))
    assert type(limiter.storage).__name__ == "RedisStorage"


def test_defaults_are_the_documented_ones(tmp_path: Path) -> None:
    from support.config import load_config

    config = load_config(tmp_path, {"SUPPORT_ENV": "testing", "SECRET_KEY": "x"})
    assert config["RATELIMIT_ENABLED"] is True
    assert config["RATELIMIT_LOGIN"] == "10/minute"
    assert config["RATELIMIT_LOGIN_ADDRESS"] == "30/minute"
    assert config["RATELIMIT_REGISTER"] == "10/hour"
    assert config["RATELIMIT_RESET"] == "5/hour"
    assert config["RATELIMIT_RESET_ADDRESS"] == "20/hour"
    assert config["RATELIMIT_TICKETS"] == "20/hour"
    assert config["RATELIMIT_SEARCH"] == "120/minute"


def test_login_is_limited_per_address(client: FlaskClient) -> None:
    for attempt in range(30):
        assert bad_login(client, f"user{attempt}@example.com").status_code == 422
    response = bad_login(client, "someone-else@example.com")
    assert response.status_code == 429
    assert "Too many requests" in response.text
    assert "try again in" in response.text
    assert 1 <= int(response.headers["Retry-After"]) <= 60
    # Another address is not affected, and showing the form is never limited.
    assert bad_login(client, "fresh@example.com", ip="10.0.0.2").status_code == 422
    assert client.get("/login", environ_base=address("10.0.0.1")).status_code == 200


def test_wrong_passwords_from_many_addresses_do_not_lock_the_owner_out(
    client: FlaskClient, make: Factory
) -> None:
    user = make.customer()
    for attempt in range(10):
        assert bad_login(client, user.email, ip=f"10.0.1.{attempt}").status_code == 422
    assert bad_login(client, user.email.upper(), ip="10.0.1.99").status_code == 422
    response = client.post(
        "/login",
        data={"email": user.email, "password": PASSWORD},
        environ_base=address("10.0.1.100"),
    )
    assert response.status_code == 303


def test_login_is_limited_per_address_and_email(client: FlaskClient, make: Factory) -> None:
    user = make.customer()
    for _ in range(10):
        assert bad_login(client, user.email, ip="10.0.3.1").status_code == 422
    # Other spellings of the same email count as the same email...
    assert bad_login(client, f" {user.email.upper()} ", ip="10.0.3.1").status_code == 429
    # ...while the address may still try other accounts (its own wider budget).
    assert bad_login(client, "colleague@example.com", ip="10.0.3.1").status_code == 422


def throttled_entries() -> list[AuditEntry]:
    query = select(AuditEntry).where(AuditEntry.action == Action.SIGN_IN_THROTTLED.value)
    return list(db.session.scalars(query.order_by(AuditEntry.id)))


def test_refused_sign_ins_are_audited_once_per_window(client: FlaskClient, make: Factory) -> None:
    user = make.customer()
    for _ in range(10):
        bad_login(client, user.email, ip="10.0.4.1")
    for _ in range(5):  # someone keeps going past the limit
        assert bad_login(client, user.email, ip="10.0.4.1").status_code == 429
    [entry] = throttled_entries()
    assert (entry.target_type, entry.target_id) == ("users", str(user.id))
    assert entry.address == "10.0.4.1"
    assert entry.details == {"limit": "login-email"}
    # A refusal for another key is noted on its own; the log holds no email address.
    for n in range(20):
        bad_login(client, f"guess{n}@example.com", ip="10.0.4.1")
    assert bad_login(client, "ghost@example.com", ip="10.0.4.1").status_code == 429
    assert bad_login(client, "ghost2@example.com", ip="10.0.4.1").status_code == 429
    entries = throttled_entries()
    assert len(entries) == 2
    assert entries[1].target_id is None
    assert entries[1].details["limit"] == "login-address"
    assert "ghost" not in str(entries[1].details)
    assert entries[1].details["email_fingerprint"] == audit.email_fingerprint("ghost@example.com")


def test_a_refusal_in_a_new_window_is_audited_again(tmp_path: Path, redis_url: str) -> None:
    for app in limited_app(tmp_path, redis_url, RATELIMIT_LOGIN="2/2 seconds"):
        client = app.test_client()
        for _ in range(2):
            bad_login(client, "someone@example.com", ip="10.0.5.1")
        assert bad_login(client, "someone@example.com", ip="10.0.5.1").status_code == 429
        assert bad_login(client, "someone@example.com", ip="10.0.5.1").status_code == 429
        assert len(throttled_entries()) == 1
        time.sleep(2.2)  # the window (and the note of its refusal) expired
        for _ in range(2):
            assert bad_login(client, "someone@example.com", ip="10.0.5.1").status_code == 422
        assert bad_login(client, "someone@example.com", ip="10.0.5.1").status_code == 429
        assert len(throttled_entries()) == 2


def test_registration_is_limited_per_address(client: FlaskClient) -> None:
    def register(n: int):
        return client.post(
            "/register",
            data={"name": "Ann", "email": f"ann{n}@example.com", "password": "x"},
            environ_base=address("10.0.2.1"),
        )

    for n in range(10):
        assert register(n).status_code == 422  # a weak password: refused, but counted
    assert register(10).status_code == 429
    assert client.get("/register", environ_base=address("10.0.2.1")).status_code == 200


def ask_for_reset(client: FlaskClient, email: str, ip: str):
    return client.post("/password/reset", data={"email": email}, environ_base=address(ip))


def test_password_reset_is_limited_per_address_and_email(
    client: FlaskClient, make: Factory
) -> None:
    user = make.customer()
    for _ in range(5):
        assert ask_for_reset(client, user.email, "10.0.4.1").status_code == 303
    response = ask_for_reset(client, f" {user.email.upper()} ", "10.0.4.1")
    assert response.status_code == 429
    assert "Too many requests" in response.text
    assert int(response.headers["Retry-After"]) > 60  # counted per hour
    # The owner, from their own address, still gets a link: never a limit per email alone.
    assert ask_for_reset(client, user.email, "10.0.4.2").status_code == 303
    # The form still shows, and the address may ask for another email.
    assert client.get("/password/reset", environ_base=address("10.0.4.1")).status_code == 200
    assert ask_for_reset(client, "other@example.com", "10.0.4.1").status_code == 303


def test_password_reset_is_limited_per_address(client: FlaskClient) -> None:
    for n in range(20):
        assert ask_for_reset(client, f"someone{n}@example.com", "10.0.5.1").status_code == 303
    assert ask_for_reset(client, "one-more@example.com", "10.0.5.1").status_code == 429
    assert ask_for_reset(client, "one-more@example.com", "10.0.5.2").status_code == 303


def test_ticket_filing_is_limited_per_user(client: FlaskClient, make: Factory, auth: Auth) -> None:
    auth.login(make.customer())
    for n in range(3):
        assert file_ticket(client, subject=f"Problem {n}").status_code == 303
    response = file_ticket(client, subject="One too many")
    assert response.status_code == 429
    assert db.session.scalar(select(func.count(Ticket.id))) == 3
    assert client.get("/tickets/new").status_code == 200  # the form still shows

    auth.logout()
    auth.login(make.customer())  # same address, another customer: their own budget
    assert file_ticket(client, subject="Someone else").status_code == 303


def test_search_and_suggest_share_a_limit_per_address(client: FlaskClient) -> None:
    for n in range(3):
        assert client.get(f"/kb/search?q=refund{n}").status_code == 200
    for _ in range(2):
        assert client.get("/kb/suggest?subject=refund").status_code == 200
    assert client.get("/kb/search?q=refund").status_code == 429
    assert client.get("/kb/suggest?subject=refund").status_code == 429
    assert client.get("/kb/search?q=refund", environ_base=address("10.0.3.1")).status_code == 200


def test_a_limited_request_costs_one_redis_round_trip(
    client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The count, and nothing else: no second script call for X-RateLimit-* headers on
    every search (bench/request_cost.py; issue 17). A refusal still says when to retry."""
    from redis.client import Redis

    commands: list[object] = []
    plain = Redis.execute_command

    def counted(redis: Redis, *args: object, **options: object) -> object:
        commands.append(args[0])
        return plain(redis, *args, **options)

    client.get("/kb/search?q=refund")  # the first one loads the limiter's script
    monkeypatch.setattr(Redis, "execute_command", counted)
    response = client.get("/kb/search?q=refund")
    assert response.status_code == 200
    assert commands == ["EVALSHA"], commands
    assert "X-RateLimit-Remaining" not in response.headers
    for _ in range(3):
        client.get("/kb/search?q=refund")
    refused = client.get("/kb/search?q=refund")
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["Retry-After"]) <= 60


def test_htmx_gets_a_toast_saying_when_to_retry(client: FlaskClient) -> None:
    for _ in range(5):
        client.get("/kb/suggest?subject=refund", headers=HTMX)
    response = client.get("/kb/suggest?subject=refund", headers=HTMX)
    assert response.status_code == 429
    assert "<html" not in response.text
    assert "Too many requests" in response.text
    assert "try again in" in response.text
    assert "Retry-After" in response.headers


def test_limits_are_off_in_the_shared_test_config(tmp_path: Path, redis_url: str) -> None:
    app = make_app(tmp_path, redis_url)
    try:
        client = app.test_client()
        for n in range(12):
            assert bad_login(client, f"user{n}@example.com").status_code == 422
    finally:
        with app.app_context():
            close_database()


def test_unreachable_redis_fails_open(tmp_path: Path, redis_url: str) -> None:
    dead = f"redis://127.0.0.1:{unused_loopback_port()}/0"
    for app in limited_app(tmp_path, redis_url, reset=False, RATELIMIT_STORAGE_URI=dead):
        client = app.test_client()
        for n in range(12):
            assert bad_login(client, f"user{n}@example.com").status_code == 422
        assert client.get("/kb/search?q=refund").status_code == 200
