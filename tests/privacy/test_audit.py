"""The audit log: each listed action is recorded (who, what, when, from where), nothing
edits or deletes an entry, only admins read it, filters and CSV work."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import delete, select, text, update
from sqlalchemy.exc import DatabaseError

from support import clock
from support.extensions import db
from support.models import AuditEntry, User
from support.privacy import audit
from support.privacy.audit import Action
from tests.conftest import Auth
from tests.factories import PASSWORD, Factory


def actions() -> list[str]:
    db.session.expire_all()
    return [e.action for e in db.session.scalars(select(AuditEntry).order_by(AuditEntry.id))]


def last(action: Action) -> AuditEntry:
    return db.session.scalar(
        select(AuditEntry).where(AuditEntry.action == action.value).order_by(AuditEntry.id.desc())
    )


@pytest.fixture
def admin(make: Factory, auth: Auth) -> User:
    user = make.admin()
    auth.login(user)
    return user


def test_sign_ins_both_ways_without_storing_an_email(
    client: FlaskClient, make: Factory, auth: Auth
) -> None:
    user = make.customer(email="sam@example.com")
    client.post("/login", data={"email": "sam@example.com", "password": "wrong-password"})
    client.post("/login", data={"email": "nobody@example.com", "password": "wrong-password"})
    auth.login(user)
    failed_known, failed_unknown = db.session.scalars(
        select(AuditEntry).where(AuditEntry.action == Action.SIGN_IN_FAILED.value)
    ).all()
    assert failed_known.target_id == str(user.id) and failed_known.actor_id is None
    assert failed_unknown.target_id is None and failed_unknown.details["email_fingerprint"]
    ok = last(Action.SIGN_IN)
    assert ok.actor_id == user.id and ok.address == "127.0.0.1"
    everything = " ".join(str(e.details) for e in db.session.scalars(select(AuditEntry)))
    assert "example.com" not in everything


def test_access_settings_and_tokens_are_recorded(
    client: FlaskClient, make: Factory, admin: User
) -> None:
    person = make.customer()
    client.post(f"/admin/people/{person.id}", data={"role": "agent", "tier": "2", "is_active": "y"})
    entry = last(Action.ACCESS_CHANGED)
    assert entry.actor_id == admin.id and entry.target_id == str(person.id)
    assert entry.details == {
        "before": {"role": "customer", "tier": None, "active": True},
        "after": {"role": "agent", "tier": 2, "active": True},
    }
    client.post(
        "/admin/sla/high",
        data={
            "high-first_response_minutes": "30",
            "high-update_minutes": "60",
            "high-resolution_minutes": "600",
        },
    )
    assert last(Action.SETTINGS_CHANGED).details == {
        "page": "operations.save_sla_policy",
        "priority": "high",
    }
    client.post("/admin/routing/teams", data={"new-team-name": "Night shift"})
    assert last(Action.SETTINGS_CHANGED).target_id == "routing"
    client.post("/admin/triage/preview", data={"text": "charged twice"})
    assert last(Action.SETTINGS_CHANGED).target_id == "routing"  # a preview changes nothing
    client.post(
        "/admin/webhooks/new",
        data={"url": "http://127.0.0.1:9/x", "events": "ticket.created", "is_active": "y"},
    )
    client.post("/account/tokens", data={"name": "Reports", "scope": "read", "expires": "30"})
    created = last(Action.TOKEN_CREATED)
    assert created.actor_id == admin.id and created.target_type == "api_tokens"
    client.post(f"/account/tokens/{created.target_id}/revoke")
    assert last(Action.TOKEN_REVOKED).target_id == created.target_id


def test_privacy_actions_are_recorded(
    app: Flask, client: FlaskClient, make: Factory, auth: Auth
) -> None:
    from tests.privacy.conftest import run_jobs

    customer = make.customer()
    auth.login(customer)
    client.post("/account/privacy/export")
    run_jobs(app)
    export_id = last(Action.EXPORT_REQUESTED).target_id
    client.get(f"/account/privacy/exports/{export_id}/download").close()
    client.post("/account/privacy/erase", data={"understood": "y"})
    auth.logout()
    admin = make.admin()
    auth.login(admin)
    client.post(
        "/admin/privacy/retention",
        data={
            "anonymise_closed_after_days": "30",
            "delete_files_after_days": "",
            "audit_days": "365",
        },
    )
    request_id = last(Action.ERASURE_REQUESTED).details["request"]
    client.post(f"/admin/privacy/erasures/{request_id}/confirm")
    run_jobs(app)
    recorded = actions()
    for action in (
        Action.EXPORT_REQUESTED,
        Action.EXPORT_DOWNLOADED,
        Action.ERASURE_REQUESTED,
        Action.RETENTION_CHANGED,
        Action.ERASURE_CONFIRMED,
        Action.ERASED,
    ):
        assert action.value in recorded, action
    assert last(Action.ERASED).actor_id == admin.id
    # A retention run that removes something is recorded too.
    closed = make.ticket()
    from support.models import Status
    from support.tickets import service

    agent = make.agent()
    service.change_status(closed, to=Status.RESOLVED, actor=agent)
    service.change_status(closed, to=Status.CLOSED, actor=agent)
    clock.freeze(clock.now() + timedelta(days=40))
    try:
        from support.privacy.jobs import sweep_work

        assert sweep_work()["anonymised"] == 1
    finally:
        clock.freeze(None)
    assert last(Action.RETENTION_RUN).details["tickets"] == 1


def test_nothing_edits_or_deletes_an_entry(make: Factory) -> None:
    entry = audit.record(Action.SIGN_IN, make.customer(), address="10.0.0.1")
    entry.address = "10.9.9.9"
    with pytest.raises(audit.AuditLogIsAppendOnly):
        db.session.commit()
    db.session.rollback()
    with pytest.raises(audit.AuditLogIsAppendOnly):
        db.session.delete(db.session.get(AuditEntry, entry.id))
        db.session.flush()
    db.session.rollback()
    for statement in (
        update(AuditEntry).values(address="x"),
        delete(AuditEntry),
        text("UPDATE audit_log SET action = 'x'"),
        text("DELETE FROM audit_log"),
    ):
        with pytest.raises(DatabaseError, match="append-only"):
            db.session.execute(statement)
        db.session.rollback()
    assert db.session.get(AuditEntry, entry.id).address == "10.0.0.1"


def test_old_entries_expire_by_their_own_setting(make: Factory) -> None:
    user = make.customer()
    clock.freeze(clock.now() - timedelta(days=400))
    try:
        old = audit.record(Action.SIGN_IN, user).id
    finally:
        clock.freeze(None)
    recent = audit.record(Action.SIGN_IN, user).id
    assert audit.expire(365) == 1
    db.session.commit()
    assert db.session.get(AuditEntry, old) is None and db.session.get(AuditEntry, recent)
    assert audit.expire(1) == 0  # never younger than the minimum age


@pytest.mark.parametrize("role", ["customer", "agent"])
def test_only_admins_read_it(client: FlaskClient, make: Factory, auth: Auth, role: str) -> None:
    for path in ("/admin/audit", "/admin/audit.csv", "/admin/privacy"):
        assert client.get(path).status_code == 302  # signed out: the login page
    auth.login(make.customer() if role == "customer" else make.agent())
    for path in ("/admin/audit", "/admin/audit.csv", "/admin/privacy"):
        assert client.get(path).status_code == 403


def test_filters_paging_and_csv(client: FlaskClient, make: Factory, admin: User) -> None:
    someone = make.customer()
    for n in range(60):
        audit.record(Action.SIGN_IN_FAILED, None, someone, address=f"10.0.0.{n % 3}")
    page = client.get("/admin/audit?action=auth.sign_in_failed&address=10.0.0.1")
    body = page.get_data(as_text=True)
    assert page.status_code == 200 and "20 entries" in body and someone.name in body
    first = client.get("/admin/audit?action=auth.sign_in_failed").get_data(as_text=True)
    assert "page 1 of 2" in first and "Older →" in first
    fragment = client.get(
        "/admin/audit?action=auth.sign_in_failed", headers={"HX-Request": "true"}
    ).get_data(as_text=True)
    assert "<html" not in fragment and 'id="audit-results"' in fragment
    response = client.get("/admin/audit.csv?action=auth.sign_in_failed&address=10.0.0.2")
    assert response.is_streamed and response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0] == audit.CSV_COLUMNS and len(rows) == 21
    assert {r[6] for r in rows[1:]} == {"10.0.0.2"}


@pytest.mark.parametrize(
    "query",
    [
        "action=<script>",
        "actor=²",
        "since=2026-13-45",
        "until=x",
        "page=-1",
        "address=" + "9" * 300,
        "_external=1",
        "actor=99999999999999999999",
    ],
)
def test_odd_filters_are_ignored_not_500(client: FlaskClient, admin: User, query: str) -> None:
    assert client.get(f"/admin/audit?{query}").status_code == 200
    assert client.get(f"/admin/audit.csv?{query}").status_code == 200


def test_audit_page_queries_do_not_grow_with_entries(
    client: FlaskClient, make: Factory, admin: User, count_queries
) -> None:
    counts = []
    for n in (5, 45):
        for _ in range(n):
            audit.record(Action.SIGN_IN, make.customer() if n == 5 else admin)
        with count_queries() as counter:
            client.get("/admin/audit")
        counts.append(counter.count)
    assert counts[0] == counts[1], counts
    assert PASSWORD
