"""Canned responses: placeholders filled safely, unknown ones flagged, admins manage them."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from support.extensions import db
from support.models import CannedResponse, EventKind, TicketEvent
from support.tickets import canned
from tests.board.conftest import HX, said, text_of, words

VALUES = {
    "customer.first_name": "Casey",
    "customer.name": "Casey Customer",
    "ticket.ref": "SUP-7KQ2MX",
    "ticket.subject": "Charged twice",
    "agent.name": "Alex Agent",
    "agent.first_name": "Alex",
}


@pytest.mark.parametrize(
    ("text", "filled"),
    [
        ("Hi {{ customer.first_name }}!", "Hi Casey!"),
        ("Hi {{customer.first_name}}!", "Hi Casey!"),
        ("{{ ticket.ref }}: {{ ticket.subject }}", "SUP-7KQ2MX: Charged twice"),
        (
            "{{ customer.name }} / {{ agent.name }} / {{ agent.first_name }}",
            "Casey Customer / Alex Agent / Alex",
        ),
        ("No placeholders at all.", "No placeholders at all."),
    ],
)
def test_known_placeholders_are_filled(text, filled) -> None:
    result = canned.fill(text, VALUES)
    assert (result.text, result.unknown) == (filled, [])


def test_unknown_placeholders_stay_visible_and_are_reported() -> None:
    result = canned.fill(
        "Order {{ order.id }} for {{ customer.first_name }}, {{ order.id }}", VALUES
    )
    assert result.text == "Order {{ order.id }} for Casey, {{ order.id }}"
    assert result.unknown == ["{{ order.id }}"]


@pytest.mark.parametrize(
    "text", ["{{", "}}", "{{ }}", "{{{ customer.name }}}", "{{ 7*7 }}", "{{ config }}", "{{\n}}"]
)
def test_odd_braces_never_crash_and_nothing_is_evaluated(text) -> None:
    result = canned.fill(text, VALUES)
    assert "49" not in result.text and "SECRET" not in result.text


def test_values_are_not_filled_again() -> None:
    result = canned.fill("Hi {{ customer.name }}", {**VALUES, "customer.name": "{{ ticket.ref }}"})
    assert result.text == "Hi {{ ticket.ref }}" and result.unknown == []


# --- in the panel ---------------------------------------------------------------------


@pytest.fixture
def refund(admin) -> CannedResponse:
    return canned.create(
        title="Refund on its way",
        body="Hi {{ customer.first_name }}, {{ ticket.ref }} is refunded. {{ order.id }}\n"
        "{{ agent.first_name }}",
        by=admin,
    )


def insert(client, ticket, response_id, body=""):
    data = {"action": "insert", "canned": response_id, "body": body, "version": ticket.version}
    return client.post(f"/board/tickets/{ticket.ref}/reply", data=data, headers=HX)


def test_insert_fills_the_text_into_the_reply_box_and_flags_unknowns(
    client, as_agent, ticket, refund
) -> None:
    response = insert(client, ticket, refund.id, body="Thanks for waiting.")
    assert response.status_code == 200
    page = said(response)
    expected = (
        f"Thanks for waiting.\n\nHi Casey, {ticket.ref} is refunded. {{{{ order.id }}}}\nAlex"
    )
    assert expected in page
    assert "Check before sending" in page and "<mark>{{ order.id }}</mark>" in page
    assert (
        db.session.scalar(select(TicketEvent.id).where(TicketEvent.kind == EventKind.REPLY)) is None
    )


def test_insert_without_a_choice_is_422(client, as_agent, ticket) -> None:
    response = insert(client, ticket, "")
    assert response.status_code == 422 and "Choose a canned response to insert." in said(response)
    assert insert(client, ticket, "999").status_code == 422


def test_sending_with_an_unknown_placeholder_needs_a_yes(client, as_agent, auth, ticket) -> None:
    url = f"/board/tickets/{ticket.ref}/reply"
    data = {
        "action": "reply",
        "body": "Your order {{ order.id }}, {{ customer.first_name }}",
        "version": 1,
    }
    response = client.post(url, data=data, headers=HX)
    assert response.status_code == 422
    assert "<mark>{{ order.id }}</mark>" in said(response)
    assert "Your order {{ order.id }}, Casey" in said(response)  # known ones filled in already
    assert (
        db.session.scalar(select(TicketEvent.id).where(TicketEvent.kind == EventKind.REPLY)) is None
    )
    response = client.post(url, data={**data, "send_as_written": "y"}, headers=HX)
    assert response.status_code == 200
    auth.logout()
    auth.login(ticket.customer)
    assert "Your order {{ order.id }}, Casey" in words(client.get(f"/tickets/{ticket.ref}"))


def test_html_in_canned_text_and_names_is_escaped(client, as_agent, auth, make, admin) -> None:
    customer = make.customer(name="<img src=x onerror=alert(1)> Eve")
    ticket = make.ticket(customer=customer)
    trap = canned.create(title="Bold", body="<b>Hello</b> {{ customer.name }}", by=admin)
    page = text_of(insert(client, ticket, trap.id))
    assert "<b>Hello</b>" not in page and "&lt;b&gt;Hello&lt;/b&gt;" in page
    assert "<img src=x" not in page
    url = f"/board/tickets/{ticket.ref}/reply"
    client.post(
        url,
        data={
            "action": "reply",
            "body": "<b>Hello</b> {{ customer.name }}",
            "version": ticket.version,
        },
    )
    auth.logout()
    auth.login(customer)
    timeline = text_of(client.get(f"/tickets/{ticket.ref}"))
    assert "<b>Hello</b>" not in timeline and "<img src=x" not in timeline
    assert "&lt;b&gt;Hello&lt;/b&gt; &lt;img src=x onerror=alert(1)&gt; Eve" in timeline


def test_the_panel_lists_canned_responses(client, as_agent, ticket, refund) -> None:
    page = said(client.get(f"/board/tickets/{ticket.ref}"))
    assert f'<option value="{refund.id}">Refund on its way</option>' in page


# --- admin CRUD -----------------------------------------------------------------------


@pytest.fixture
def as_admin(auth, admin):
    auth.login(admin)
    return admin


def test_admin_index_lists_the_sections(client, as_admin) -> None:
    page = words(client.get("/admin/"))
    assert "Canned responses" in page and "SLA policies" in page


def test_create_edit_and_delete(client, as_admin) -> None:
    response = client.post(
        "/admin/canned/new",
        data={"title": "Screenshot please", "body": "Hi {{ customer.first_name }}"},
    )
    assert response.status_code == 303 and response.location == "/admin/canned/"
    created = db.session.scalar(select(CannedResponse))
    assert created.created_by_id == as_admin.id
    assert "Screenshot please" in said(client.get("/admin/canned/"))

    response = client.post(
        f"/admin/canned/{created.id}/edit", data={"title": "Screenshot", "body": "Hello"}
    )
    assert response.status_code == 303
    db.session.refresh(created)
    assert (created.title, created.body) == ("Screenshot", "Hello")

    confirm = client.get(f"/admin/canned/{created.id}/delete")
    assert confirm.status_code == 200 and "Delete “Screenshot”?" in said(confirm)
    assert client.post(f"/admin/canned/{created.id}/delete").status_code == 303
    assert db.session.scalar(select(CannedResponse)) is None


def test_titles_are_unique_and_required(client, as_admin, admin) -> None:
    canned.create(title="Thanks", body="Thanks!", by=admin)
    response = client.post("/admin/canned/new", data={"title": "Thanks", "body": "Again"})
    assert response.status_code == 422 and "already a canned response called “Thanks”" in said(
        response
    )
    response = client.post("/admin/canned/new", data={"title": "", "body": ""})
    assert response.status_code == 422 and "Give it a title." in said(response)


def test_preview_fills_sample_values_and_flags_unknowns(client, as_admin) -> None:
    response = client.post(
        "/admin/canned/new",
        data={"action": "preview", "title": "", "body": "Hi {{ customer.first_name }} {{ oops }}"},
        headers=HX,
    )
    assert response.status_code == 200
    html = said(response)
    assert html.lstrip().startswith('<section id="canned-preview"')
    assert "Hi Casey {{ oops }}" in html and "<mark>{{ oops }}</mark>" in html
    assert db.session.scalar(select(CannedResponse)) is None  # a preview saves nothing


def test_unknown_canned_response_is_404(client, as_admin) -> None:
    assert client.get("/admin/canned/999/edit").status_code == 404
    assert client.post("/admin/canned/999/delete").status_code == 404
