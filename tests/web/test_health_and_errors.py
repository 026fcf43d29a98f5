"""The health check, and error pages that help instead of showing a stack trace."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from support.extensions import db
from support.models import Role, User
from support.tickets.service import StaleTicket, TicketError
from tests.conftest import Auth, close_database, make_app
from tests.factories import Factory

HTMX = {"HX-Request": "true"}
SECRET = "kaboom: internal detail that must not leak"


def unused_loopback_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# --- /healthz ----------------------------------------------------------------------------


def test_healthz_reports_database_and_redis_ok(client: FlaskClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.is_json
    assert response.json["database"] == "ok"
    assert response.json["redis"] == "ok"
    assert response.json["status"] == "ok"


def test_healthz_needs_no_login(client: FlaskClient) -> None:
    assert client.get("/healthz").status_code == 200


@pytest.fixture
def app_without_redis(tmp_path: Path) -> Iterator[Flask]:
    app = make_app(tmp_path, f"redis://127.0.0.1:{unused_loopback_port()}/0")
    with app.app_context():
        yield app
        close_database()


def test_healthz_is_503_when_redis_is_unreachable(app_without_redis: Flask) -> None:
    response = app_without_redis.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.json["database"] == "ok"
    assert response.json["redis"].startswith("error")
    assert response.json["status"] != "ok"


# --- error pages -------------------------------------------------------------------------


def test_unknown_url_gets_friendly_404(client: FlaskClient) -> None:
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert "find that page" in response.text
    assert "Go to the help centre" in response.text
    assert "Traceback" not in response.text
    assert "werkzeug" not in response.text.lower()


def test_htmx_404_gets_short_toast(client: FlaskClient) -> None:
    response = client.get("/no/such/page", headers=HTMX)
    assert response.status_code == 404
    assert "find that page" in response.text
    assert "<html" not in response.text
    assert len(response.text) < 300


def test_wrong_method_gets_friendly_405(client: FlaskClient, auth: Auth, make: Factory) -> None:
    customer = make.customer()
    ticket = make.ticket(customer)
    auth.login(customer)
    response = client.get(f"/tickets/{ticket.ref}/resolve")
    assert response.status_code == 405
    assert "available here" in response.text
    assert "Traceback" not in response.text


def test_logged_in_error_page_links_to_my_tickets(
    client: FlaskClient, auth: Auth, make: Factory
) -> None:
    auth.login(make.customer())
    page = client.get("/no/such/page").text
    assert 'href="/tickets/"' in page


@pytest.fixture
def failing_app(app: Flask) -> Flask:
    """The app plus routes that fail the way real code can."""

    def boom() -> str:
        raise RuntimeError(SECRET)

    def broken_transaction() -> str:
        db.session.add(
            User(email="dup@example.com", name="A", password_hash="x", role=Role.CUSTOMER)
        )
        db.session.add(
            User(email="dup@example.com", name="B", password_hash="x", role=Role.CUSTOMER)
        )
        db.session.flush()
        return "unreachable"

    def lost_race() -> str:
        raise StaleTicket("SUP-TEST1 was just changed by Sam. Reload to see the latest version.")

    def refused() -> str:
        raise TicketError("Closed tickets can't be escalated.")

    app.add_url_rule("/__test/boom", "boom", boom, methods=["GET", "POST"])
    app.add_url_rule("/__test/lost-race", "lost_race", lost_race, methods=["POST"])
    app.add_url_rule("/__test/refused", "refused", refused, methods=["POST"])
    app.add_url_rule("/__test/broken-transaction", "broken_transaction", broken_transaction)
    return app


def test_unexpected_error_gets_friendly_500(failing_app: Flask) -> None:
    response = failing_app.test_client().get("/__test/boom")
    assert response.status_code == 500
    assert "Something went wrong on our side" in response.text
    assert "Nothing you sent was half-saved" in response.text
    assert SECRET not in response.text
    assert "Traceback" not in response.text


def test_a_lost_race_a_view_did_not_catch_is_a_409_that_says_reload(failing_app: Flask) -> None:
    response = failing_app.test_client().post("/__test/lost-race")
    assert response.status_code == 409
    assert "Someone changed this request first" in response.text
    assert "was just changed by Sam. Reload to see the latest version." in response.text


def test_a_refused_change_a_view_did_not_catch_is_a_422_with_its_reason(
    failing_app: Flask,
) -> None:
    response = failing_app.test_client().post("/__test/refused", headers=HTMX)
    assert response.status_code == 422
    assert "Closed tickets can&#39;t be escalated." in response.text
    assert "<html" not in response.text


def test_unexpected_error_is_logged_with_its_traceback(
    failing_app: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    failing_app.test_client().get("/__test/boom")
    assert any(
        record.levelname == "ERROR" and record.exc_info and SECRET in str(record.exc_info[1])
        for record in caplog.records
    )


def test_htmx_request_to_failing_route_gets_short_toast(failing_app: Flask) -> None:
    response = failing_app.test_client().post("/__test/boom", headers=HTMX)
    assert response.status_code == 500
    assert response.text.strip() == (
        "<strong>Something went wrong on our side</strong> "
        "Nothing you sent was half-saved. Please try again in a moment."
    )


def test_error_in_a_broken_transaction_still_gets_friendly_page(
    failing_app: Flask, auth: Auth, make: Factory
) -> None:
    client = auth.client
    auth.login(make.customer())
    response = client.get("/__test/broken-transaction")
    assert response.status_code == 500
    assert "Something went wrong on our side" in response.text
    assert "IntegrityError" not in response.text


def test_too_large_request_gets_friendly_413(
    client: FlaskClient, auth: Auth, make: Factory
) -> None:
    auth.login(make.customer())
    response = client.post(
        "/tickets/new",
        data=b"x" * (64 * 1024 * 1024 + 1),
        content_type="multipart/form-data; boundary=zzz",
    )
    assert response.status_code == 413
    assert "That upload is too large" in response.text
    assert "Traceback" not in response.text


def test_htmx_too_large_request_gets_toast(client: FlaskClient, auth: Auth, make: Factory) -> None:
    auth.login(make.customer())
    response = client.post(
        "/tickets/new",
        data=b"x" * (64 * 1024 * 1024 + 1),
        content_type="multipart/form-data; boundary=zzz",
        headers=HTMX,
    )
    assert response.status_code == 413
    assert "That upload is too large" in response.text
    assert "<html" not in response.text
