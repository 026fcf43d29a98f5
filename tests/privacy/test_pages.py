"""The privacy pages: who may use them, CSRF, bad input answered clearly."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from support import clock
from support.extensions import db
from support.models import (
    Attachment,
    ErasureRequest,
    ErasureState,
    PrivacySettings,
    Status,
    Ticket,
    User,
)
from support.privacy import retention
from support.tickets import service
from tests.conftest import Auth, make_app, running
from tests.factories import PASSWORD, Factory
from tests.privacy.conftest import run_jobs, stored


@pytest.fixture
def admin(make: Factory) -> User:
    return make.admin()


def test_the_notice_is_public_and_linked_from_every_page(client: FlaskClient) -> None:
    page = client.get("/privacy")
    assert page.status_code == 200 and "Your rights" in page.get_data(as_text=True)
    assert 'href="/privacy"' in client.get("/").get_data(as_text=True)


def test_your_data_needs_a_sign_in(client: FlaskClient) -> None:
    assert client.get("/account/privacy").status_code == 302
    assert client.post("/account/privacy/export").status_code == 302
    assert client.post("/account/privacy/erase", data={"understood": "y"}).status_code == 302


def test_customer_asks_cancels_and_asks_again(client: FlaskClient, auth: Auth, zelda: User) -> None:
    auth.login(zelda)
    refused = client.post("/account/privacy/erase", data={})
    assert refused.status_code == 422 and "Tick the box" in refused.get_data(as_text=True)
    assert client.post("/account/privacy/erase", data={"understood": "y"}).status_code == 303
    page = client.get("/account/privacy").get_data(as_text=True)
    assert "Cancel my request" in page
    client.post("/account/privacy/erase/cancel")
    assert db.session.scalar(select(ErasureRequest.state)) == ErasureState.CANCELLED
    client.post("/account/privacy/erase", data={"understood": "y"})
    client.post("/account/privacy/erase", data={"understood": "y"})  # twice: one request
    assert (
        db.session.scalar(
            select(func.count()).where(ErasureRequest.state == ErasureState.REQUESTED)
        )
        == 1
    )


def test_admin_confirms_and_the_customer_is_signed_out(
    app: Flask, client: FlaskClient, make: Factory, auth: Auth, zelda: User, admin: User
) -> None:
    make.ticket(zelda, subject="Zelda's lamp")
    auth.login(zelda)
    client.post("/account/privacy/erase", data={"understood": "y"})
    auth.logout()
    auth.login(admin)
    page = client.get("/admin/privacy").get_data(as_text=True)
    assert "Zelda Quimby" in page and "Erase now" in page
    request_id = db.session.scalar(select(ErasureRequest.id))
    assert client.post(f"/admin/privacy/erasures/{request_id}/confirm").status_code == 303
    run_jobs(app)
    assert client.post(f"/admin/privacy/erasures/{request_id}/confirm").status_code == 303
    assert client.post(f"/admin/privacy/erasures/{request_id}/decline").status_code == 303
    assert "already started" in client.get("/admin/privacy").get_data(as_text=True)
    auth.logout()
    assert (
        client.post(
            "/login", data={"email": "zelda.quimby@example.com", "password": PASSWORD}
        ).status_code
        == 422
    )


def test_admin_erases_directly_twice_and_never_an_agent(
    app: Flask, client: FlaskClient, make: Factory, auth: Auth, zelda: User, admin: User
) -> None:
    auth.login(admin)
    agent = make.agent()
    refused = client.post("/admin/privacy/erasures", data={"who": agent.email})
    assert refused.status_code == 422 and "Deactivate them" in refused.get_data(as_text=True)
    unknown = client.post("/admin/privacy/erasures", data={"who": "ghost@example.com"})
    assert unknown.status_code == 422 and "No account" in unknown.get_data(as_text=True)
    assert client.post("/admin/privacy/erasures", data={"who": zelda.email}).status_code == 303
    run_jobs(app)
    again = client.post(
        "/admin/privacy/erasures", data={"who": str(zelda.id)}, follow_redirects=True
    )
    assert "already erased" in again.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(ErasureRequest)) == 1


def test_tampered_ids_are_404(client: FlaskClient, auth: Auth, admin: User) -> None:
    auth.login(admin)
    for path in ("/admin/privacy/erasures/999/confirm", "/admin/privacy/erasures/999/decline"):
        assert client.post(path).status_code == 404
    assert client.get("/account/privacy/exports/999").status_code == 404
    assert client.get("/account/privacy/exports/999/download").status_code == 404


@pytest.mark.parametrize("role", ["customer", "agent"])
def test_non_admins_cannot_erase_or_set_retention(
    client: FlaskClient, make: Factory, auth: Auth, zelda: User, role: str
) -> None:
    auth.login(make.customer() if role == "customer" else make.agent())
    request = ErasureRequest(customer_id=zelda.id, requested_by_id=zelda.id)
    db.session.add(request)
    db.session.commit()
    for path, data in [
        (f"/admin/privacy/erasures/{request.id}/confirm", {}),
        ("/admin/privacy/erasures", {"who": zelda.email}),
        ("/admin/privacy/retention", {"anonymise_closed_after_days": "1", "audit_days": "90"}),
    ]:
        assert client.post(path, data=data).status_code == 403
    assert db.session.get(ErasureRequest, request.id).state == ErasureState.REQUESTED


def test_an_agent_has_no_erase_button(client: FlaskClient, make: Factory, auth: Auth) -> None:
    agent = make.agent()
    auth.login(agent)
    page = client.get("/account/privacy").get_data(as_text=True)
    assert "Staff accounts aren't erased" in page and "Ask to erase" not in page
    assert client.post("/account/privacy/erase", data={"understood": "y"}).status_code == 422


@pytest.mark.parametrize("value", ["0", "-5", "abc", "1.5", "99999999"])
def test_retention_refuses_bad_days(
    client: FlaskClient, auth: Auth, admin: User, value: str
) -> None:
    auth.login(admin)
    for action in ("save", "preview"):
        response = client.post(
            "/admin/privacy/retention",
            data={
                "anonymise_closed_after_days": value,
                "delete_files_after_days": "",
                "audit_days": "365",
                "action": action,
            },
        )
        assert response.status_code == 422, (value, action)
        assert 'class="field-error"' in response.get_data(as_text=True)
    assert db.session.scalar(select(PrivacySettings)) is None
    with pytest.raises(retention.RetentionError, match="0 or a negative"):
        retention.check_days("x", 0)


def test_dry_run_counts_and_saving_applies_at_the_sweep(
    client: FlaskClient, make: Factory, auth: Auth, admin: User
) -> None:
    agent = make.agent()
    old = make.ticket(files=[stored("old.txt", b"old file")])
    service.change_status(old, to=Status.RESOLVED, actor=agent)
    service.change_status(old, to=Status.CLOSED, actor=agent)
    make.ticket(files=[stored("new.txt", b"new file")])
    auth.login(admin)
    clock.freeze(clock.now() + timedelta(days=10))
    try:
        form = {
            "anonymise_closed_after_days": "5",
            "delete_files_after_days": "5",
            "audit_days": "365",
        }
        dry = client.post(
            "/admin/privacy/retention",
            data={**form, "action": "preview"},
            headers={"HX-Request": "true"},
        )
        text = dry.get_data(as_text=True)
        assert dry.status_code == 200 and "<html" not in text
        assert re.search(r"anonymise <strong>1</strong> closed\s+ticket ", text)
        assert "<strong>2</strong>" in text and "Nothing has been changed yet" in text
        assert db.session.get(Ticket, old.id).anonymised_at is None
        assert client.post("/admin/privacy/retention", data=form).status_code == 303
        retention.apply()
    finally:
        clock.freeze(None)
    assert db.session.get(Ticket, old.id).anonymised_at is not None
    assert db.session.scalar(select(func.count()).select_from(Attachment)) == 0


def test_csrf_guards_every_privacy_form(tmp_path: Path, redis_url: str) -> None:
    app = make_app(tmp_path, redis_url, WTF_CSRF_ENABLED=True)
    with running(app):
        from tests.factories import Factory as F

        customer, admin = F().customer(), F().admin()
        client = app.test_client()
        for user, posts in [
            (
                customer,
                [
                    "/account/privacy/export",
                    "/account/privacy/erase",
                    "/account/privacy/erase/cancel",
                ],
            ),
            (
                admin,
                [
                    "/admin/privacy/retention",
                    "/admin/privacy/erasures",
                    "/admin/privacy/erasures/1/confirm",
                    "/admin/privacy/erasures/1/decline",
                ],
            ),
        ]:
            html = client.get("/login").get_data(as_text=True)
            token = re.search(
                r'name="csrf_token" type="hidden" value="([^"]+)"', html
            ) or re.search(r'"X-CSRFToken": "([^"]+)"', html)
            client.post(
                "/login",
                data={"email": user.email, "password": PASSWORD, "csrf_token": token.group(1)},
            )
            for path in posts:
                assert client.post(path, data={"understood": "y", "who": "1"}).status_code == 400, (
                    path
                )
            client.post(
                "/logout",
                headers={
                    "X-CSRFToken": re.search(
                        r'"X-CSRFToken": "([^"]+)"', client.get("/privacy").get_data(as_text=True)
                    ).group(1)
                },
            )
        assert db.session.scalar(select(func.count()).select_from(ErasureRequest)) == 0
