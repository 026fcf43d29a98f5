"""/admin/webhooks: admins register receivers, see their secret and delivery log, and
send a delivery again; bad URLs get an error next to the field; others are refused."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select

from support import clock
from support.extensions import db
from support.models import DeliveryStatus, Webhook, WebhookDelivery
from support.webhooks import subscriptions
from tests.conftest import make_app, running

ALL_EVENTS = [
    "ticket.created",
    "ticket.replied",
    "ticket.status_changed",
    "ticket.assigned",
    "survey.answered",
]


@pytest.fixture
def admin(make, auth):
    user = make.admin()
    auth.login(user)
    return user


def hooks() -> list[Webhook]:
    return list(db.session.scalars(select(Webhook).order_by(Webhook.id)))


def field_error(html: str, field: str) -> str:
    found = re.search(rf'id="{field}-error"[^>]*>([^<]*)<', html)
    assert found, f"no error shown next to {field}"
    return found.group(1)


def add(client, **form):
    data = {"url": "http://127.0.0.1:9000/hooks", "events": ALL_EVENTS, "is_active": "y"}
    data.update(form)
    return client.post("/admin/webhooks/new", data=data)


def test_admin_adds_a_webhook_and_sees_its_secret(app, client, admin) -> None:
    app.config["WEBHOOKS_ALLOW_PRIVATE"] = True
    page = client.get("/admin/webhooks/")
    assert page.status_code == 200 and "No webhooks yet" in page.text
    assert "/admin/webhooks/" in client.get("/admin/").text  # linked from the admin home

    response = add(client, description="CRM sync", events=["ticket.created", "ticket.replied"])
    assert response.status_code == 303
    (hook,) = hooks()
    assert response.headers["Location"].endswith(f"/admin/webhooks/{hook.id}")
    assert (hook.url, hook.description, hook.events, hook.is_active) == (
        "http://127.0.0.1:9000/hooks",
        "CRM sync",
        ["ticket.created", "ticket.replied"],
        True,
    )
    assert hook.created_by_id == admin.id and hook.secret.startswith("whsec_")

    detail = client.get(f"/admin/webhooks/{hook.id}").text
    assert hook.secret in detail and "Roll secret" in detail
    listing = client.get("/admin/webhooks/").text
    assert "http://127.0.0.1:9000/hooks" in listing and "Nothing sent yet" in listing


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://example.com/hooks", "Use an http:// or https:// URL."),
        ("https://user:secret@example.com/hooks", "Leave the user name and password out"),
        ("http://127.0.0.1:9000/hooks", "127.0.0.1 is a loopback address"),
        ("http://10.0.0.7/hooks", "10.0.0.7 is a private address"),
        ("http://[::ffff:192.168.0.1]/hooks", "carries 192.168.0.1 is a private address"),
        ("", "Enter the URL that receives the events."),
    ],
)
def test_bad_urls_get_an_error_next_to_the_field(app, client, admin, url, message) -> None:
    response = add(client, url=url)
    assert response.status_code == 422
    assert message in field_error(response.text, "url")
    assert hooks() == []


def test_no_events_is_an_error(app, client, admin) -> None:
    app.config["WEBHOOKS_ALLOW_PRIVATE"] = True
    response = add(client, events=[])
    assert response.status_code == 422
    assert "Pick at least one event." in field_error(response.text, "events")


def test_htmx_form_errors_return_the_form_alone(app, client, admin) -> None:
    response = client.post(
        "/admin/webhooks/new",
        data={"url": "gopher://example.com", "events": ALL_EVENTS},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 422
    assert response.text.lstrip().startswith("<form") and "<html" not in response.text
    assert "http:// or https://" in response.text


@pytest.fixture
def hook(app: Flask, admin) -> Webhook:
    app.config["WEBHOOKS_ALLOW_PRIVATE"] = True
    return subscriptions.create(url="http://127.0.0.1:9000/hooks", events=ALL_EVENTS, by=admin)


def test_edit_roll_secret_and_delete(app, client, hook) -> None:
    response = client.post(
        f"/admin/webhooks/{hook.id}",
        data={"url": "http://127.0.0.1:9001/new", "events": ["survey.answered"], "description": ""},
    )
    assert response.status_code == 303
    db.session.refresh(hook)
    assert (hook.url, hook.events, hook.is_active) == (
        "http://127.0.0.1:9001/new",
        ["survey.answered"],
        False,
    )

    old = hook.secret
    assert client.post(f"/admin/webhooks/{hook.id}/secret").status_code == 303
    db.session.refresh(hook)
    assert hook.secret != old and hook.secret in client.get(f"/admin/webhooks/{hook.id}").text

    confirm = client.get(f"/admin/webhooks/{hook.id}/delete")
    assert confirm.status_code == 200 and "Delete it" in confirm.text
    assert hooks() == [hook]  # asking is not deleting
    assert client.post(f"/admin/webhooks/{hook.id}/delete").status_code == 303
    assert hooks() == []


def deliveries_for(hook: Webhook, count: int, **state) -> list[WebhookDelivery]:
    rows = [
        WebhookDelivery(
            webhook_id=hook.id,
            event="ticket.replied",
            event_key=f"event-{n}",
            body="{}",
            created_at=clock.now(),
            next_attempt_at=clock.now(),
            **state,
        )
        for n in range(count)
    ]
    db.session.add_all(rows)
    db.session.commit()
    return rows


def test_delivery_log_is_paged_latest_first(app, client, hook) -> None:
    rows = deliveries_for(hook, 25, status=DeliveryStatus.DELIVERED, response_code=200)
    first = client.get(f"/admin/webhooks/{hook.id}").text
    shown = [int(i) for i in re.findall(r'id="delivery-(\d+)"', first)]
    assert shown == [r.id for r in reversed(rows)][:20]
    assert "Page 1 of 2" in first

    fragment = client.get(f"/admin/webhooks/{hook.id}?page=2", headers={"HX-Request": "true"})
    assert fragment.text.lstrip().startswith('<section id="deliveries"')
    assert [int(i) for i in re.findall(r'id="delivery-(\d+)"', fragment.text)] == [
        r.id for r in reversed(rows[:5])
    ]
    assert "Delivered" in client.get("/admin/webhooks/").text  # the last delivery's status


def test_send_again_puts_a_failed_delivery_back_in_line(app, client, hook) -> None:
    (row,) = deliveries_for(
        hook, 1, status=DeliveryStatus.FAILED, attempts=8, response_code=500, last_error="HTTP 500."
    )
    page = client.get(f"/admin/webhooks/{hook.id}").text
    assert "Send again" in page and "HTTP 500." in page
    response = client.post(f"/admin/webhooks/deliveries/{row.id}/send-again")
    assert response.status_code == 303
    db.session.refresh(row)
    assert (row.status, row.attempts) == (DeliveryStatus.PENDING, 0)


@pytest.mark.parametrize("role", ["customer", "agent"])
def test_customers_and_agents_are_refused(app, client, auth, make, role) -> None:
    auth.login(make.customer() if role == "customer" else make.agent())
    assert client.get("/admin/webhooks/").status_code == 403
    assert add(client).status_code == 403
    assert db.session.scalar(select(func.count(Webhook.id))) == 0


@pytest.fixture
def csrf_app(tmp_path: Path, redis_url: str) -> Iterator[Flask]:
    with running(make_app(tmp_path, redis_url, WTF_CSRF_ENABLED=True)) as app:
        yield app


def test_posts_without_a_csrf_token_are_refused(csrf_app: Flask, make) -> None:
    client = csrf_app.test_client()
    admin = make.admin()
    html = client.get("/login").text
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)
    client.post(
        "/login",
        data={"email": admin.email, "password": "a-long-test-password", "csrf_token": token},
    )
    csrf_app.config["WEBHOOKS_ALLOW_PRIVATE"] = True
    response = client.post(
        "/admin/webhooks/new", data={"url": "http://127.0.0.1:9/", "events": ALL_EVENTS}
    )
    assert response.status_code == 400
    assert db.session.scalar(select(func.count(Webhook.id))) == 0
    page = client.get("/admin/webhooks/new").text
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    response = client.post(
        "/admin/webhooks/new",
        data={"url": "http://127.0.0.1:9/", "events": ALL_EVENTS, "csrf_token": token},
    )
    assert response.status_code == 303
