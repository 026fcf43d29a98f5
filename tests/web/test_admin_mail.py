"""/admin/mail: admins see every message that could not be filed and act on it, with and
without JavaScript; nobody else gets in; bad input gets a clear answer and changes nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from support.extensions import db
from support.mail.inbound import quarantine
from support.mail.inbound.settings import Rules
from support.models import InboundMessage, InboundStatus, Outcome, Role, Ticket, TicketEvent, User
from tests.mail.conftest import email, ingest

HTMX = {"HX-Request": "true"}


@pytest.fixture
def admin(make, auth):
    user = make.admin(name="Ada Admin")
    auth.login(user)
    return user


def held(n: int = 1, **fields) -> list[InboundMessage]:
    """Messages from strangers while "only known customers" is on: quarantined."""
    actor = db.session.scalar(select(User).where(User.role == Role.ADMIN).limit(1))
    quarantine.save_settings(Rules(only_known_customers=True), actor)
    rows = [
        ingest(
            email(sender=f"Stranger {i} <stranger{i}@example.net>", subject=f"Help {i}", **fields)
        )
        for i in range(n)
    ]
    assert all(r.status == InboundStatus.QUARANTINED for r in rows)
    return rows


def fresh(message: InboundMessage) -> InboundMessage:
    db.session.expire_all()
    return db.session.get(InboundMessage, message.id)


def tickets() -> int:
    return db.session.scalar(select(func.count(Ticket.id)))


@pytest.mark.parametrize("role", ["customer", "agent"])
def test_only_admins(client, auth, make, role) -> None:
    make.admin()
    (message,) = held()
    assert client.get("/admin/mail/").status_code == 302  # anonymous: log in first
    auth.login(make.customer() if role == "customer" else make.agent())
    assert client.get("/admin/mail/").status_code == 403
    assert client.get(f"/admin/mail/messages/{message.id}.eml").status_code == 403
    for action in ("retry", "file-as-new", "discard"):
        assert client.post(f"/admin/mail/messages/{message.id}/{action}").status_code == 403
    assert (
        client.post(f"/admin/mail/messages/{message.id}/attach", data={"ref": "x"}).status_code
        == 403
    )
    assert (
        client.post("/admin/mail/settings", data={"max_new_tickets_per_hour": "0"}).status_code
        == 403
    )
    assert fresh(message).status == InboundStatus.QUARANTINED
    assert quarantine.current_settings().only_known_customers


def test_lists_each_message_with_its_reason_and_links_from_the_admin_home(client, admin) -> None:
    (message,) = held()
    page = client.get("/admin/mail/").text
    assert "Help 0" in page and "stranger0@example.net" in page
    assert message.reason and message.reason in page
    assert f"/admin/mail/messages/{message.id}.eml" in page
    assert 'href="/admin/mail/"' in client.get("/admin/").text


def test_calm_empty_state(client, admin) -> None:
    page = client.get("/admin/mail/").text
    assert "Nothing is waiting" in page


def test_the_original_is_a_download_never_rendered(client, admin) -> None:
    (message,) = held(body="<script>alert(1)</script>")
    response = client.get(f"/admin/mail/messages/{message.id}.eml")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/octet-stream"
    assert (
        response.headers["Content-Disposition"]
        == f'attachment; filename="message-{message.id}.eml"'
    )
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response.headers["Content-Security-Policy"]
    assert response.data == db.session.get(InboundMessage, message.id).raw


def test_retry_after_a_settings_change_files_it_and_records_who(client, admin) -> None:
    (message,) = held()
    response = client.post(
        "/admin/mail/settings",
        data={"max_new_tickets_per_hour": "10", "max_acknowledgements_per_hour": "5"},
    )
    assert response.status_code == 303
    assert not quarantine.current_settings().only_known_customers

    response = client.post(f"/admin/mail/messages/{message.id}/retry")
    assert response.status_code == 303 and response.location.endswith("/admin/mail/")
    row = fresh(message)
    assert row.status == InboundStatus.FILED and row.outcome == Outcome.NEW
    assert (row.handled_action, row.handled_by_id) == ("retry", admin.id) and row.handled_at
    page = client.get("/admin/mail/").text
    assert "filed as a new ticket" in page  # the flash
    assert "Nothing is waiting" in page and "Ada Admin" in page  # recently handled


def test_retry_that_fails_again_says_why_in_place(client, admin) -> None:
    (message,) = held()
    response = client.post(f"/admin/mail/messages/{message.id}/retry", headers=HTMX)
    assert response.status_code == 200
    assert "Still not filed" in response.text and f'id="inbound-{message.id}"' in response.text
    assert fresh(message).status == InboundStatus.QUARANTINED


def test_file_as_new_with_htmx_replaces_the_row_with_the_result(client, admin) -> None:
    (message,) = held()
    response = client.post(f"/admin/mail/messages/{message.id}/file-as-new", headers=HTMX)
    assert response.status_code == 200
    assert "<html" not in response.text  # just the row
    row = fresh(message)
    assert row.status == InboundStatus.FILED and row.ticket is not None
    assert "✓ Message filed as a new ticket" in response.text and row.ticket.ref in response.text
    assert row.handled_action == "file-as-new" and row.handled_by_id == admin.id


def test_attach_to_a_ticket_by_its_reference(client, admin, make) -> None:
    ticket = make.ticket()
    (message,) = held()
    typed = ticket.ref.lower().removeprefix("sup-")  # as people type it
    response = client.post(f"/admin/mail/messages/{message.id}/attach", data={"ref": typed})
    assert response.status_code == 303
    row = fresh(message)
    assert row.status == InboundStatus.FILED and row.ticket_id == ticket.id
    assert row.outcome == Outcome.NOTE and row.handled_by_id == admin.id
    assert db.session.get(TicketEvent, row.event_id).ticket_id == ticket.id


@pytest.mark.parametrize("typed", ["SUP-ZZZZZZ", "not a ref", "", "<b>x</b>"])
def test_attach_to_an_unknown_ticket_is_an_error_next_to_the_field(client, admin, typed) -> None:
    (message,) = held()
    count = tickets()
    plain = client.post(f"/admin/mail/messages/{message.id}/attach", data={"ref": typed})
    assert plain.status_code == 422
    assert f'id="ref-{message.id}-error"' in plain.text and "like SUP-7KQ2MX" in plain.text
    assert "<b>x</b>" not in plain.text  # escaped
    fragment = client.post(
        f"/admin/mail/messages/{message.id}/attach", data={"ref": typed}, headers=HTMX
    )
    assert fragment.status_code == 422 and "<html" not in fragment.text
    assert f'id="ref-{message.id}-error"' in fragment.text
    assert fresh(message).status == InboundStatus.QUARANTINED and tickets() == count


def test_discard_keeps_the_message_and_records_who(client, admin) -> None:
    (message,) = held()
    response = client.post(f"/admin/mail/messages/{message.id}/discard", headers=HTMX)
    assert response.status_code == 200 and "Discarded" in response.text
    row = fresh(message)
    assert row.status == InboundStatus.DISCARDED and row.raw
    assert (row.handled_action, row.handled_by_id) == ("discard", admin.id)
    assert "Help 0" not in client.get("/admin/mail/").text.split("Recently handled")[0]


def test_tampered_or_stale_ids(client, admin) -> None:
    (message,) = held()
    for action in ("retry", "file-as-new", "discard"):
        assert client.post(f"/admin/mail/messages/999999/{action}").status_code == 404
    assert client.get("/admin/mail/messages/999999.eml").status_code == 404
    assert client.post("/admin/mail/messages/abc/retry").status_code == 404
    # Handled meanwhile (another admin, another tab): said so, nothing changes.
    client.post(f"/admin/mail/messages/{message.id}/discard")
    count = tickets()
    stale = client.post(f"/admin/mail/messages/{message.id}/file-as-new", headers=HTMX)
    assert stale.status_code == 409 and "discarded, not quarantined" in stale.text
    plain = client.post(f"/admin/mail/messages/{message.id}/retry")
    assert plain.status_code == 303
    assert "Nothing was changed" in client.get("/admin/mail/").text
    assert fresh(message).status == InboundStatus.DISCARDED and tickets() == count


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("max_new_tickets_per_hour", "-1"),
        ("max_new_tickets_per_hour", "lots"),
        ("max_acknowledgements_per_hour", "99999999"),
        ("max_acknowledgements_per_hour", ""),
    ],
)
def test_settings_errors_next_to_the_field(client, admin, field, value) -> None:
    data = {"max_new_tickets_per_hour": "7", "max_acknowledgements_per_hour": "3", field: value}
    for headers in ({}, HTMX):
        response = client.post("/admin/mail/settings", data=data, headers=headers)
        assert response.status_code == 422
        assert f'id="{field}-error"' in response.text
    assert quarantine.current_settings() == Rules()


def test_settings_saved_with_htmx_say_so(client, admin) -> None:
    response = client.post(
        "/admin/mail/settings",
        data={
            "only_known_customers": "y",
            "max_new_tickets_per_hour": "0",
            "max_acknowledgements_per_hour": "2",
        },
        headers=HTMX,
    )
    assert response.status_code == 200 and "Saved." in response.text
    assert 'id="mail-settings"' in response.text and "<html" not in response.text
    assert quarantine.current_settings() == Rules(True, 0, 2)


def test_paging_and_one_page_whatever_the_count(client, admin, count_queries) -> None:
    held(2)
    with count_queries() as few:
        client.get("/admin/mail/")
    rows = held(30)
    with count_queries() as many:
        first = client.get("/admin/mail/").text
    assert many.count == few.count
    assert first.count('class="mail-message"') == 25
    newest = max(r.id for r in rows)
    assert f'id="inbound-{newest}"' in first and "Older messages" in first
    older = db.session.scalars(
        select(InboundMessage.id).order_by(InboundMessage.id.desc()).offset(24).limit(1)
    ).one()
    second = client.get(f"/admin/mail/?before={older}").text
    assert second.count('class="mail-message"') == 7 and "Newest" in second
    assert client.get("/admin/mail/?before=1").status_code == 200
    assert "No older messages" in client.get("/admin/mail/?before=1").text
