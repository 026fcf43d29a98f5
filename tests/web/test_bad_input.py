"""Odd, broken and hostile input gets a clear answer (4xx), never a 500."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from support.extensions import db
from support.models import Rating, Ticket, TicketEvent, User
from support.tickets import service
from support.tickets.service import BODY_MAX, SUBJECT_MAX
from tests.conftest import Auth
from tests.factories import Factory

HUGE = str(2**70)


@pytest.fixture
def customer(make: Factory, auth: Auth) -> User:
    user = make.customer()
    auth.login(user)
    return user


@pytest.fixture
def ticket(make: Factory, customer: User) -> Ticket:
    return make.ticket(customer)


def tickets() -> int:
    return db.session.scalar(select(func.count(Ticket.id)))


def new_ticket(client: FlaskClient, **fields: str):
    data = {"subject": "Subject", "description": "Description", "impact": "just_me"}
    data.update(fields)
    return client.post("/tickets/new", data=data)


# --- numbers in URLs ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/tickets/{ref}?before=abc", 200),
        ("/tickets/{ref}?before=" + HUGE, 200),
        ("/tickets/{ref}?before=-1", 200),
        ("/tickets/{ref}/events?after=abc", 200),
        ("/tickets/{ref}/events?after=", 200),
        ("/tickets/{ref}/events?after=" + HUGE, 200),
        ("/tickets/{ref}/events?after=-" + HUGE, 200),
        ("/tickets/{ref}/events?after=1e9", 200),
        ("/tickets/{ref}/earlier", 200),
        ("/tickets/{ref}/earlier?before=0", 200),
        ("/tickets/{ref}/earlier?before=" + HUGE, 200),
        ("/tickets/{ref}/attachments/0/x.png", 404),
        ("/tickets/{ref}/attachments/999999/x.png", 404),
        ("/tickets/{ref}/attachments/" + HUGE + "/x.png", 404),
        ("/tickets/{ref}/attachments/-1/x.png", 404),
        ("/tickets/{ref}/attachments/abc/x.png", 404),
    ],
)
def test_odd_numbers_in_urls_are_handled(
    client: FlaskClient, ticket: Ticket, path: str, status: int
) -> None:
    response = client.get(path.format(ref=ticket.ref))
    assert response.status_code == status


def test_out_of_range_after_polls_from_the_start(client: FlaskClient, ticket: Ticket) -> None:
    response = client.get(f"/tickets/{ticket.ref}/events?after={HUGE}")
    assert ticket.description in response.text
    assert response.headers["HX-Trigger"] == "timeline-advanced"


# --- form fields -------------------------------------------------------------------------


def test_subject_at_the_limit_is_accepted(client: FlaskClient, customer: User) -> None:
    assert new_ticket(client, subject="s" * SUBJECT_MAX).status_code == 303


def test_description_at_the_limit_is_accepted(client: FlaskClient, customer: User) -> None:
    assert new_ticket(client, description="d" * BODY_MAX).status_code == 303


def test_description_one_over_the_limit_is_refused(client: FlaskClient, customer: User) -> None:
    response = new_ticket(client, description="d" * (BODY_MAX + 1))
    assert response.status_code == 422
    assert tickets() == 0


def test_missing_impact_means_just_me(client: FlaskClient, customer: User) -> None:
    response = client.post("/tickets/new", data={"subject": "S", "description": "D"})
    assert response.status_code == 303
    assert db.session.scalar(select(Ticket.impact)).value == "just_me"


def test_unknown_fields_are_ignored(client: FlaskClient, customer: User) -> None:
    response = new_ticket(
        client, status="closed", priority="urgent", customer_id="1", is_public="0"
    )
    assert response.status_code == 303
    created = db.session.scalars(select(Ticket)).one()
    assert created.status.value == "new"
    assert created.priority.value == "normal"
    assert created.customer_id == customer.id


def test_repeated_field_uses_the_first_value(client: FlaskClient, customer: User) -> None:
    response = client.post(
        "/tickets/new",
        data={"subject": ["First", "Second"], "description": "D", "impact": "just_me"},
    )
    assert response.status_code == 303
    assert db.session.scalar(select(Ticket.subject)) == "First"


def test_files_field_with_plain_text_is_ignored(client: FlaskClient, customer: User) -> None:
    response = client.post(
        "/tickets/new",
        data={"subject": "S", "description": "D", "impact": "just_me", "files": "not a file"},
        content_type="multipart/form-data",
    )
    assert response.status_code == 303


def test_garbled_multipart_body_is_a_form_error(client: FlaskClient, customer: User) -> None:
    response = client.post(
        "/tickets/new", data=b"--nonsense\r\n", content_type="multipart/form-data; boundary=xyz"
    )
    assert response.status_code == 422
    assert tickets() == 0


def test_invalid_utf8_is_a_form_error_not_a_crash(client: FlaskClient, customer: User) -> None:
    response = client.post(
        "/tickets/new",
        data=b"subject=\xff\xfe&description=\xc3",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code in (303, 422)


def test_whitespace_is_trimmed_from_the_subject(client: FlaskClient, customer: User) -> None:
    new_ticket(client, subject="   Refund missing   ")
    assert db.session.scalar(select(Ticket.subject)) == "Refund missing"


def test_description_keeps_its_line_breaks(client: FlaskClient, customer: User) -> None:
    new_ticket(client, description="Line one\r\nLine two\r\n\r\nNew paragraph")
    html = client.get(f"/tickets/{db.session.scalar(select(Ticket.ref))}").text
    assert "Line one<br>\nLine two</p><p>New paragraph" in html


def test_reply_over_the_limit_is_refused(client: FlaskClient, ticket: Ticket) -> None:
    response = client.post(f"/tickets/{ticket.ref}/reply", data={"body": "x" * (BODY_MAX + 1)})
    assert response.status_code == 422
    assert "a message can be at most 50,000" in response.text
    assert db.session.scalar(select(func.count(TicketEvent.id))) == 1


def test_rating_comment_over_the_limit_is_refused(client: FlaskClient, ticket: Ticket) -> None:
    service.resolve_by_customer(ticket, customer=ticket.customer)
    response = client.post(
        f"/tickets/{ticket.ref}/rating", data={"score": "5", "comment": "c" * 5001}
    )
    assert response.status_code == 422
    assert "Keep it under 5,000 characters." in response.text
    assert db.session.scalar(select(func.count(Rating.id))) == 0


# --- accounts ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fields",
    [
        {"email": "a" * 250 + "@example.com"},
        {"name": "n" * 121},
        {"password": "p" * 201, "confirm": "p" * 201},
        {"email": "two@@example.com"},
        {"email": "<script>@example.com"},
    ],
)
def test_register_rejects_out_of_bounds_values(client: FlaskClient, fields: dict) -> None:
    data = {
        "name": "Casey",
        "email": "casey@example.com",
        "password": "plenty of unrelated words",
        "confirm": "plenty of unrelated words",
    }
    data.update(fields)
    response = client.post("/register", data=data)
    assert response.status_code == 422
    assert db.session.scalar(select(func.count(User.id))) == 0
    assert "<script>@" not in response.text


def test_login_with_huge_values_is_just_a_failed_login(client: FlaskClient) -> None:
    response = client.post("/login", data={"email": "e" * 10_000, "password": "p" * 10_000})
    assert response.status_code == 422


@pytest.mark.parametrize("user_id", ["abc", "-1", "", "999999"])
def test_forged_session_user_id_is_anonymous(client: FlaskClient, user_id: str) -> None:
    with client.session_transaction() as session:
        session["_user_id"] = user_id
    response = client.get("/tickets/")
    assert response.status_code == 302
